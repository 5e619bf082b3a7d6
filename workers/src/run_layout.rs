//! Where a run keeps its files under a data directory: the one definition the engine (which
//! writes them) and the UI (which reads logs and checkpoints) share.
//!
//! ```text
//! DATA/runs/RUN/              run_dir: every process of the run carries it as WARDEN_RUN_DIR
//!     work/JOB/               job_work_dir: shared by the job's attempts (a rerun resumes
//!                             from the checkpoint its predecessor left)
//!     logs/JOB.N.log          attempt_log: attempt N's stdout and stderr, interleaved
//! ```

use std::path::{Path, PathBuf};

/// `DATA/runs/RUN`.
pub fn run_dir(data_dir: &Path, run_id: i64) -> PathBuf {
    data_dir.join("runs").join(run_id.to_string())
}

/// `RUN_DIR/work`: the parent of every job's work directory.
pub fn work_root(run_dir: &Path) -> PathBuf {
    run_dir.join("work")
}

/// `DATA/runs/RUN/work/JOB`.
pub fn job_work_dir(data_dir: &Path, run_id: i64, job_id: &str) -> PathBuf {
    work_root(&run_dir(data_dir, run_id)).join(job_id)
}

/// `RUN_DIR/logs/JOB.N.log`.
pub fn attempt_log(run_dir: &Path, job_id: &str, attempt: i64) -> PathBuf {
    run_dir.join("logs").join(format!("{job_id}.{attempt}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_works_under_its_run() {
        let data = Path::new("/srv/warden");
        assert_eq!(
            job_work_dir(data, 7, "CLMSETUP.A"),
            Path::new("/srv/warden/runs/7/work/CLMSETUP.A")
        );
        assert_eq!(
            attempt_log(&run_dir(data, 7), "CLMSETUP.A", 2),
            Path::new("/srv/warden/runs/7/logs/CLMSETUP.A.2.log")
        );
    }
}
