//! Warden's claims work: the canonical claim model, benefit plans, the adjudication rules,
//! a deterministic synthetic generator, and the partitioned two-pass engine whose results
//! equal a serial run (issue #5, `docs/adjudication.md`).
//!
//! The rules (`rules/`) are pure: a claim, a plan and the accumulator state in, an outcome
//! out. Files are read and written only at the edges (`io/`, `pipeline/`), so the same rules
//! run in the serial audit and in every partition.

pub mod generate;
pub mod impact;
pub mod intake;
pub mod io;
pub mod located;
pub mod model;
pub mod pipeline;
pub mod plans;
pub mod routing;
pub mod rules;
pub mod run_layout;
