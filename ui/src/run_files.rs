//! What the UI reads from a run's directory: a job's log tail and its checkpoint, where the
//! engine and the workers put them (`warden_workers::run_layout`, `pipeline::layout`).

use std::path::{Path, PathBuf};

use warden_workers::pipeline::checkpoint::{self, Checkpoint};
use warden_workers::pipeline::layout;
use warden_workers::run_layout::job_work_dir;

/// The last `bytes` of a file, from a line start.
pub fn tail(path: &Path, bytes: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let from = len.saturating_sub(bytes);
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    // Cut to the first line start unless the file was read whole.
    Some(match text.split_once('\n') {
        Some((_, rest)) if from > 0 => rest.to_string(),
        _ => text,
    })
}

/// A job's checkpoint file, in the work directory its attempts share.
fn checkpoint_path(data_dir: &Path, run_id: i64, job_id: &str) -> PathBuf {
    job_work_dir(data_dir, run_id, job_id).join(layout::CHECKPOINT)
}

/// A partition's checkpoint as the pipeline committed it; `None` when there is none or it
/// cannot be read (the page then shows no counts).
pub fn checkpoint(data_dir: &Path, run_id: i64, job_id: &str) -> Option<Checkpoint> {
    checkpoint::load(&checkpoint_path(data_dir, run_id, job_id))
        .ok()
        .flatten()
}

/// The checkpoint file as written, whatever its shape: the job page shows it as it stands
/// (a command job may keep a checkpoint of its own there).
pub fn checkpoint_json(data_dir: &Path, run_id: i64, job_id: &str) -> Option<serde_json::Value> {
    let bytes = std::fs::read(checkpoint_path(data_dir, run_id, job_id)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
