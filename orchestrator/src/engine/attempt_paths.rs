//! Where an attempt runs and logs, and the progress file a job may write as it goes.
//!
//! The layout under the data directory is `warden_workers::run_layout`'s, which the UI
//! shares: `DATA/runs/RUN/work/JOB/` and `DATA/runs/RUN/logs/JOB.N.log`.

use std::path::{Path, PathBuf};

use warden_workers::run_layout;

pub use warden_workers::run_layout::run_dir;

/// Where an attempt runs and logs.
///
/// `DATA/runs/RUN/work/JOB/` is the job's work directory, shared by its attempts so that a
/// rerun can pick up a checkpoint its predecessor left; `DATA/runs/RUN/logs/JOB.N.log` is
/// attempt N's log, stdout and stderr together in the order they were written (as a
/// scheduler's job output usually is). One directory and one file per job: creating inodes
/// is a real part of a short job's cost.
#[derive(Debug, Clone)]
pub struct AttemptPaths {
    /// `DATA/runs/RUN`: every process of the run carries it as `WARDEN_RUN_DIR`, so a
    /// restarted orchestrator can find what a dead one left running.
    pub run_dir: PathBuf,
    pub work_dir: PathBuf,
    pub log: PathBuf,
    /// `WORK/.warden-progress`: where a job may write `DONE TOTAL` (claims done, claims to
    /// do) as it goes; its worker passes it on with each heartbeat, and the deadline
    /// projection estimates the job's remainder from the observed rate.
    pub progress: PathBuf,
    /// Where the attempt's supervisor records its pid and how the command ended
    /// (`engine::supervise`).
    pub supervised: super::supervise::SupervisedFiles,
}

impl AttemptPaths {
    pub fn new(data_dir: &Path, run_id: i64, job_id: &str, attempt: i64) -> Self {
        let run_dir = run_dir(data_dir, run_id);
        let work_dir = run_layout::job_work_dir(data_dir, run_id, job_id);
        Self {
            progress: work_dir.join(PROGRESS_FILE),
            work_dir,
            log: run_layout::attempt_log(&run_dir, job_id, attempt),
            supervised: super::supervise::SupervisedFiles::new(&run_dir, job_id, attempt),
            run_dir,
        }
    }

    /// `RUN_DIR/logs`: the directory of the attempt's log.
    pub fn log_dir(&self) -> &Path {
        self.log.parent().unwrap_or(&self.run_dir)
    }

    /// `RUN_DIR/work/JOB` for another job of the same run (an upstream stage's).
    pub fn work_dir_of(&self, job_id: &str) -> PathBuf {
        run_layout::work_root(&self.run_dir).join(job_id)
    }
}

/// The progress file's name in a job's work directory.
pub const PROGRESS_FILE: &str = ".warden-progress";

/// Reads a progress file: two whole numbers, `DONE TOTAL` (or `DONE/TOTAL`). Anything else
/// (missing, half-written, nonsense) is no progress: the projection then uses the estimate.
pub fn read_progress(path: &Path) -> Option<(i64, i64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut parts = text
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|p| !p.is_empty());
    let done: i64 = parts.next()?.parse().ok()?;
    let total: i64 = parts.next()?.parse().ok()?;
    (parts.next().is_none() && done >= 0 && total > 0).then_some((done.min(total), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_works_in_its_jobs_directory_and_logs_beside_the_others() {
        let p = AttemptPaths::new(Path::new("/srv/warden"), 7, "CLMSETUP.A", 2);
        assert_eq!(p.run_dir, Path::new("/srv/warden/runs/7"));
        assert_eq!(p.work_dir, Path::new("/srv/warden/runs/7/work/CLMSETUP.A"));
        assert_eq!(
            p.progress,
            Path::new("/srv/warden/runs/7/work/CLMSETUP.A/.warden-progress")
        );
        assert_eq!(p.log, Path::new("/srv/warden/runs/7/logs/CLMSETUP.A.2.log"));
        assert_eq!(p.log_dir(), Path::new("/srv/warden/runs/7/logs"));
        assert_eq!(
            p.work_dir_of("CLMADJUD.A.1"),
            Path::new("/srv/warden/runs/7/work/CLMADJUD.A.1")
        );
    }

    #[test]
    fn progress_is_two_whole_numbers_or_nothing() {
        let dir = std::env::temp_dir().join(format!("warden-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join(PROGRESS_FILE);
        let read = |text: &str| {
            std::fs::write(&file, text).expect("writes");
            read_progress(&file)
        };
        assert_eq!(read("10 100\n"), Some((10, 100)));
        assert_eq!(read("10/100"), Some((10, 100)));
        assert_eq!(read("150 100"), Some((100, 100)));
        assert_eq!(read("10"), None);
        assert_eq!(read("10 0"), None);
        assert_eq!(read("10 100 7"), None);
        assert_eq!(read("ten 100"), None);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(read_progress(&file), None);
    }
}
