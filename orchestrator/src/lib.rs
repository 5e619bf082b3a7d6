//! Warden: a batch-cycle controller for health-insurance claims processing.
//!
//! This crate is the `warden` command line; the pure core (workflow language, compiler,
//! calendars, scheduling) is `warden-core`, deadline analysis is `warden-deadlines`.

pub mod alerts;
pub mod bench;
pub mod cli;
pub mod engine;
pub mod intake_batch;
pub mod load;
