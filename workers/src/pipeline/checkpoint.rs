//! A partition's checkpoint: one small JSON file, replaced atomically (write a temporary
//! file, sync, rename, sync the directory). It is the commit point: it names how many input
//! claims are done and how long each output file was at that moment, and every output file
//! was synced before it was written. On restart the outputs are cut back to those lengths
//! and the run goes on from `position`; accumulator changes are a log whose committed length
//! is here too, so a change is applied once or, if after the checkpoint, not at all and
//! made again.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{At, PipelineError, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Input claims consumed (adjudicated or deferred).
    pub position: u64,
    /// Bytes of results.csv.
    pub results_bytes: u64,
    /// Records of deferred.bin.
    pub deferred_records: u64,
    /// Bytes of exceptions.csv.
    pub exceptions_bytes: u64,
    /// Records of changes.bin (the accumulator change log).
    pub change_records: u64,
    /// Bytes of events.jsonl.
    pub events_bytes: u64,
    /// Claims adjudicated (not deferred) so far, and how many were exceptions: the
    /// exception-rate monitor's state.
    pub adjudicated: u64,
    pub exceptions: u64,
    pub high_exception_mode: bool,
    /// How many times this partition started over from a checkpoint (operations' view).
    pub restarts: u64,
    pub done: bool,
}

pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| PipelineError::Corrupt {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

pub fn commit(path: &Path, c: &Checkpoint) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(c).map_err(|e| PipelineError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    crate::io::write_atomic(path, &bytes).at(path)
}
