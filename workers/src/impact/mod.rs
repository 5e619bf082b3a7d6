//! The batch impact test's measurement (issue #12, "measure, don't assume"; `docs/impact.md`):
//! a stratified, seeded sample of the baseline claims and of the new volume, the real
//! two-pass engine run on both, and what it measured.
//!
//! ```text
//! claims_dir  read a claims directory whole (file:line errors), write a sample back
//! sample      pure: whole families, strata (partition, stream), seeded order
//! combine     pure: baseline + new as one intake (new ids above the baseline's)
//! timing      stage wall times from the pipeline's own progress calls
//! measure     run (a) baseline sample, run (b) + new sample → ImpactMeasurement
//! ```

pub mod claims_dir;
pub mod combine;
pub mod measure;
pub mod sample;
pub mod timing;

pub use measure::{ImpactMeasurement, Options, SAMPLE_DIRS, measure};

use crate::pipeline::PipelineError;

/// Why a measurement could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    /// The input given is unusable (a missing, empty or malformed claims directory, a share
    /// out of range): the caller's to fix.
    #[error("{0}")]
    Input(String),
    /// A sample could not be written.
    #[error("{0}")]
    Io(String),
    /// The engine stopped.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A run did not reconcile: its figures would not be trusted.
    #[error("{0}")]
    NotReconciled(String),
}

#[cfg(test)]
mod tests;
