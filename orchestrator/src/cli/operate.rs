//! Operator commands: hold, release, rerun, skip, kill, force-complete. Each is recorded in
//! the store with who and why and applied exactly once by the run's orchestrator (now, if
//! one is running; otherwise when the run resumes).

use std::io::Write;

use clap::Args;
use warden_core::sched::{Command, JobStatus};
use warden_store::Store;

use super::cycle_args::CycleArgs;
use super::{CliResult, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE};
use crate::engine::driver::replay;

#[derive(Debug, Args)]
pub struct OperateArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The concrete job id (as `warden status` shows it).
    #[arg(long)]
    pub job: String,
    /// Why (kept in the audit log; required for skip and force-complete).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who (defaults to $USER).
    #[arg(long, env = "USER", default_value = "operator")]
    pub actor: String,
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

pub(super) fn run(
    command: Command,
    args: &OperateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    if matches!(command, Command::Skip | Command::ForceComplete)
        && args.reason.as_deref().is_none_or(str::is_empty)
    {
        writeln!(
            err,
            "error: {} needs --reason: it marks work done that did not run",
            name(command)
        )?;
        return Ok(EXIT_USAGE);
    }
    let loaded = match args.cycle.load(err) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let plan = loaded.plan;
    let Some(job) = plan.job_index(&args.job) else {
        let known = warden_core::diagnostics::did_you_mean(
            &args.job,
            plan.jobs.iter().map(|j| j.id.as_str()),
        );
        writeln!(
            err,
            "error: `{}` has no job `{}`{}",
            plan.cycle,
            args.job,
            known.map(|k| format!("; {k}")).unwrap_or_default()
        )?;
        return Ok(EXIT_USAGE);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let store = Store::connect(&args.db).await?;
        let Some(run) = store.find_run(&plan.cycle, &plan.date).await? else {
            return Ok(None);
        };
        let (machine, _) = replay(&plan, &store.load_events(run.id).await?);
        if let Err(why) = fits(command, machine.statuses()[job], machine.is_held(job)) {
            return Ok(Some(Err(why)));
        }
        store
            .submit_command(
                run.id,
                job as i64,
                command,
                &args.actor,
                args.reason.as_deref(),
                chrono::Utc::now(),
            )
            .await?;
        Ok::<_, warden_store::StoreError>(Some(Ok(run.id)))
    });
    match result {
        Ok(Some(Err(why))) => {
            writeln!(
                err,
                "error: cannot {} `{}`: it {why}",
                name(command),
                args.job
            )?;
            Ok(EXIT_USAGE)
        }
        Ok(Some(Ok(run_id))) => {
            writeln!(
                out,
                "run {run_id}: {} {} by {} queued; the orchestrator applies it now if it is running, else at the next `warden run`",
                name(command),
                args.job,
                args.actor
            )?;
            Ok(EXIT_OK)
        }
        Ok(None) => {
            writeln!(
                err,
                "no run of `{}` for {} in {}",
                plan.cycle, plan.date, args.db
            )?;
            Ok(EXIT_USAGE)
        }
        Err(e) => {
            writeln!(err, "error: {}: {e}", args.db)?;
            Ok(EXIT_UNAVAILABLE)
        }
    }
}

/// Whether `command` makes sense for a job in `status` now; if not, what the job is doing
/// (the command would be ignored by the orchestrator, so the operator is told at once).
fn fits(command: Command, status: JobStatus, held: bool) -> Result<(), String> {
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
        Command::ForceComplete => !done,
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
        _ => state.to_string(),
    })
}

fn name(command: Command) -> &'static str {
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
        assert!(fits(Command::Rerun, failed, false).is_ok());
        assert_eq!(
            fits(Command::Rerun, running, false),
            Err("is running; only a failed job can be rerun".into())
        );
        assert!(fits(Command::Kill, running, false).is_ok());
        assert!(fits(Command::Kill, done, false).is_err());
        assert!(fits(Command::Skip, running, false).is_err());
        assert!(fits(Command::Skip, failed, false).is_ok());
        assert_eq!(
            fits(Command::Release, JobStatus::Waiting, false),
            Err("is not held (is waiting)".into())
        );
        assert!(fits(Command::Release, JobStatus::Waiting, true).is_ok());
        assert_eq!(
            fits(Command::Hold, JobStatus::Waiting, true),
            Err("is already held".into())
        );
        assert_eq!(
            fits(Command::ForceComplete, done, false),
            Err("has succeeded".into())
        );
    }
}
