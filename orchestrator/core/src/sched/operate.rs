//! Which operator commands fit which job states: one rule for the CLI and the web UI.

use super::{Command, JobStatus};

/// Whether `command` makes sense for a job in `status` now; if not, what the job is doing
/// (the command would be ignored by the orchestrator, so the operator is told at once).
pub fn command_fits(command: Command, status: JobStatus, held: bool) -> Result<(), String> {
    use JobStatus as S;
    let state = match status {
        S::Waiting => "is waiting",
        S::Ready => "is ready to run",
        S::Dispatched { .. } => "is being started",
        S::Running { .. } => "is running",
        S::RetryWait { .. } => "is waiting to retry",
        S::Succeeded { .. } => "has succeeded",
        S::Failed { .. } => "has failed",
        S::Skipped { .. } => "was skipped",
    };
    let live = matches!(status, S::Dispatched { .. } | S::Running { .. });
    let done = matches!(status, S::Succeeded { .. } | S::Skipped { .. });
    let ok = match command {
        Command::Hold => !done && !held,
        Command::Release => held,
        Command::Rerun => matches!(status, S::Failed { .. }),
        Command::Skip => !done && !live,
        Command::Kill => live,
        // Marks an attempt's work done: something must have run. A job that never started
        // is skipped instead.
        Command::ForceComplete => live || matches!(status, S::Failed { .. } | S::RetryWait { .. }),
    };
    if ok {
        return Ok(());
    }
    Err(match command {
        Command::Hold if held => "is already held".to_string(),
        Command::Release => format!("is not held ({state})"),
        Command::Rerun => format!("{state}; only a failed job can be rerun"),
        Command::Skip if live => format!("{state}; kill it first, or force-complete it"),
        Command::Kill => format!("{state}; only a running job can be killed"),
        Command::ForceComplete if !done => {
            format!("{state} and has not run; skip it instead (with a reason)")
        }
        _ => state.to_string(),
    })
}

/// Whether an operator must say why (CLI `--reason`, the UI's reason field): every command
/// that stops work or marks it done without it running. Release and rerun put work back on
/// its way and need none.
pub fn command_needs_reason(command: Command) -> bool {
    matches!(
        command,
        Command::Hold | Command::Kill | Command::Skip | Command::ForceComplete
    )
}

/// Why a command needs a reason, in the words the refusal uses.
pub fn reason_needed_because(command: Command) -> &'static str {
    match command {
        Command::Hold => "a hold stops work the cycle's deadlines wait on",
        Command::Kill => "a kill throws away the attempt's work",
        _ => "it marks work done that did not run",
    }
}

/// The command as an operator types it.
pub fn command_name(command: Command) -> &'static str {
    match command {
        Command::Hold => "hold",
        Command::Release => "release",
        Command::Rerun => "rerun",
        Command::Skip => "skip",
        Command::Kill => "kill",
        Command::ForceComplete => "force-complete",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn commands_that_do_not_fit_the_state_are_refused_with_the_state() {
        let now = Utc::now();
        let running = JobStatus::Running {
            attempt: 1,
            since: now,
        };
        let failed = JobStatus::Failed {
            attempt: 2,
            at: now,
        };
        let done = JobStatus::Succeeded {
            attempt: 1,
            at: now,
        };
        assert!(command_fits(Command::Rerun, failed, false).is_ok());
        assert_eq!(
            command_fits(Command::Rerun, running, false),
            Err("is running; only a failed job can be rerun".into())
        );
        assert!(command_fits(Command::Kill, running, false).is_ok());
        assert!(command_fits(Command::Kill, done, false).is_err());
        assert!(command_fits(Command::Skip, running, false).is_err());
        assert!(command_fits(Command::Skip, failed, false).is_ok());
        assert_eq!(
            command_fits(Command::Release, JobStatus::Waiting, false),
            Err("is not held (is waiting)".into())
        );
        assert!(command_fits(Command::Release, JobStatus::Waiting, true).is_ok());
        assert_eq!(
            command_fits(Command::Hold, JobStatus::Waiting, true),
            Err("is already held".into())
        );
        assert_eq!(
            command_fits(Command::ForceComplete, JobStatus::Waiting, false),
            Err("is waiting and has not run; skip it instead (with a reason)".into())
        );
        assert!(command_fits(Command::ForceComplete, running, false).is_ok());
        assert!(command_fits(Command::ForceComplete, failed, false).is_ok());
        assert!(command_needs_reason(Command::Hold) && command_needs_reason(Command::Kill));
        assert!(!command_needs_reason(Command::Release) && !command_needs_reason(Command::Rerun));
        assert_eq!(
            command_fits(Command::ForceComplete, done, false),
            Err("has succeeded".into())
        );
    }
}
