//! The two-pass partitioned run and the serial run it must equal.
//!
//! ```text
//! setup      claims.csv, members.csv → rejects, partition files, accumulator pre-load,
//!            the families deferred to pass 2 (and why)
//! pass 1     each partition, in parallel, checkpointed: adjudicate what is local, defer the rest
//! merge      deferred files merged in claim order; accumulators refreshed with pass 1's changes
//! pass 2     the deferred claims, serially, in received order, checkpointed the same way
//! finish     canonical output (claim-id order) and reconciliation
//! ```

pub mod checkpoint;
pub mod defer;
pub mod driver;
pub mod equivalence;
pub mod error;
pub mod finish;
pub mod layout;
pub mod member_index;
pub mod merge;
pub mod monitor;
pub mod partition;
pub mod progress;
pub mod runner;
pub mod setup;
pub mod ytd;

pub use driver::{Options, adjudicate_partitioned, adjudicate_serial};
pub use error::PipelineError;
pub use progress::{NoProgress, Progress};
