//! The supervisor every shell job runs under (`warden supervise`), and what it leaves.
//!
//! A worker starts `warden supervise --pid-file P --exit-file E -- /bin/sh -c CMD` in a
//! process group of its own. The supervisor writes its pid before it starts the command,
//! waits for it, writes how it ended beside the attempt, and exits the way
//! the command did. So when the worker (or the orchestrator it runs in) dies, the attempt is
//! not lost with it: a restarted orchestrator or worker *adopts* it (`engine::adopt`),
//! taking the recorded result of a command that finished, or re-attaching to a supervisor
//! that still runs. Only an attempt whose supervisor died too is lost (Control-M's agents
//! and Slurm's step daemons work this way).
//!
//! A worker that kills an attempt kills the whole group, supervisor included: a killed
//! attempt leaves no exit file, and its fate is what the worker reported.

use std::io::Write;
use std::path::{Path, PathBuf};

use warden_core::sched::Outcome;

/// The `warden` binary to supervise shell jobs with: this process's executable when it is
/// `warden` (not a test harness driving the CLI in-process), else `WARDEN_SUPERVISOR` if
/// set; `None` runs shell jobs directly (no adoption after a crash).
pub fn supervisor_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok();
    if let Some(exe) = exe
        && exe.file_name().is_some_and(|n| n == "warden")
    {
        return Some(exe);
    }
    std::env::var_os("WARDEN_SUPERVISOR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Where an attempt's supervisor records itself: `DATA/runs/RUN/supervised/JOB.N.pid` and
/// `JOB.N.exit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisedFiles {
    pub pid: PathBuf,
    pub exit: PathBuf,
}

impl SupervisedFiles {
    pub fn new(run_dir: &Path, job_id: &str, attempt: i64) -> Self {
        let dir = run_dir.join("supervised");
        Self {
            pid: dir.join(format!("{job_id}.{attempt}.pid")),
            exit: dir.join(format!("{job_id}.{attempt}.exit")),
        }
    }
}

/// Runs `program args` to its end as the supervisor: pid file first, exit file last, each
/// whole or absent. Returns the exit code to end with (the command's; 128 + signal when a signal
/// ended it).
pub fn supervise(files: &SupervisedFiles, program: &str, args: &[String]) -> std::io::Result<i32> {
    if let Some(dir) = files.pid.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_durably(&files.pid, &format!("{}\n", std::process::id()))?;
    let status = std::process::Command::new(program).args(args).status()?;
    let (line, code) = match (status.code(), signal_of(&status)) {
        (Some(code), _) => (format!("exit {code}\n"), code),
        (None, Some(signal)) => (format!("signal {signal}\n"), 128 + signal),
        (None, None) => ("signal 0\n".to_string(), 128),
    };
    write_durably(&files.exit, &line)?;
    Ok(code)
}

fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

/// Writes `text` to `path` whole or not at all: a temporary file renamed over `path`. Not
/// fsynced: what adoption reads survives any crash of Warden's processes (the page cache
/// outlives them); an OS crash or power cut kills the job too, and an exit file lost with
/// it only makes the attempt lost and run again (as SQLite's `synchronous=NORMAL`). The
/// fsyncs cost 2.5 ms a job on the 757-job DAG (docs/benchmarks.md).
fn write_durably(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
    }
    std::fs::rename(&tmp, path)
}

/// How a supervised attempt ended, from its exit file; `None` while there is none (or it
/// cannot be read: it is written whole or not at all).
pub fn read_exit(files: &SupervisedFiles) -> Option<Outcome> {
    parse_exit(&std::fs::read_to_string(&files.exit).ok()?)
}

/// `exit 0` → succeeded; `exit N` → failed with N; `signal N` → failed without a code.
pub fn parse_exit(text: &str) -> Option<Outcome> {
    let (kind, value) = text.trim().split_once(' ')?;
    let value: i32 = value.parse().ok()?;
    match kind {
        "exit" if value == 0 => Some(Outcome::Succeeded),
        "exit" => Some(Outcome::Failed {
            exit_code: Some(value),
        }),
        "signal" => Some(Outcome::Failed { exit_code: None }),
        _ => None,
    }
}

/// The supervisor's pid, if its pid file names a live process of this run (its environment
/// carries the run's directory, so a reused pid is not mistaken for it).
pub fn live_supervisor(files: &SupervisedFiles, run_dir: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(&files.pid)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let needle = format!("WARDEN_RUN_DIR={}", run_dir.display());
    // A zombie (exited, not yet reaped by its dead parent's successor) is not alive.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    (!zombie && environ.split(|b| *b == 0).any(|v| v == needle.as_bytes())).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_files_read_back_as_outcomes() {
        assert_eq!(parse_exit("exit 0\n"), Some(Outcome::Succeeded));
        assert_eq!(
            parse_exit("exit 3"),
            Some(Outcome::Failed { exit_code: Some(3) })
        );
        assert_eq!(
            parse_exit("signal 9"),
            Some(Outcome::Failed { exit_code: None })
        );
        assert_eq!(parse_exit(""), None);
        assert_eq!(parse_exit("exit x"), None);
        assert_eq!(parse_exit("done 0"), None);
    }

    #[test]
    fn the_supervisor_records_its_pid_and_how_the_command_ended() {
        let dir = std::env::temp_dir().join(format!("warden-supervise-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = SupervisedFiles::new(&dir, "JOB", 2);
        let code = supervise(&files, "/bin/sh", &["-c".into(), "exit 7".into()]).expect("runs");
        assert_eq!(code, 7);
        assert_eq!(
            std::fs::read_to_string(&files.pid).expect("pid").trim(),
            std::process::id().to_string()
        );
        assert_eq!(
            read_exit(&files),
            Some(Outcome::Failed { exit_code: Some(7) })
        );
        let code = supervise(&files, "/bin/sh", &["-c".into(), "kill -9 $$".into()]).expect("runs");
        assert_eq!(code, 128 + 9);
        assert_eq!(read_exit(&files), Some(Outcome::Failed { exit_code: None }));
        // This test process does not carry the run's directory: not taken for a supervisor.
        assert_eq!(live_supervisor(&files, &dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
