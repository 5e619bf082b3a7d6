//! Operator commands: hold, release, rerun, skip, kill, force-complete. Each is recorded in
//! the store with who and why and applied exactly once by the run's orchestrator (now, if
//! one is running; otherwise when the run resumes).

use std::io::Write;

use clap::Args;
use warden_core::sched::{
    Command, command_fits, command_name, command_needs_reason, reason_needed_because,
};
use warden_store::redact_url;

use super::cycle_args::CycleArgs;
use super::{CliResult, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, open_existing_store, store_error};
use crate::engine::driver::replay;

#[derive(Debug, Args)]
pub struct OperateArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The concrete job id (as `warden status` shows it).
    #[arg(long)]
    pub job: String,
    /// Why (kept in the audit log; required for hold, kill, skip and force-complete).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who (defaults to $USER).
    #[arg(long, env = "USER", default_value = "operator")]
    pub actor: String,
    /// The store: a SQLite file, or a postgres:// URL (as given to `warden run`).
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

pub(super) fn run(
    command: Command,
    args: &OperateArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    if command_needs_reason(command) && args.reason.as_deref().is_none_or(str::is_empty) {
        writeln!(
            err,
            "error: {} needs --reason: {}",
            command_name(command),
            reason_needed_because(command)
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
        let store = open_existing_store(&args.db).await?;
        let Some(run) = store.find_run(&plan.cycle, &plan.date).await? else {
            return Ok(None);
        };
        let (machine, _) = replay(&plan, &store.load_events(run.id).await?);
        if let Err(why) = command_fits(command, machine.statuses()[job], machine.is_held(job)) {
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
                command_name(command),
                args.job
            )?;
            Ok(EXIT_USAGE)
        }
        Ok(Some(Ok(run_id))) => {
            writeln!(
                out,
                "run {run_id}: {} {} by {} queued; the orchestrator applies it now if it is running, else at the next `warden run`",
                command_name(command),
                args.job,
                args.actor
            )?;
            Ok(EXIT_OK)
        }
        Ok(None) => {
            writeln!(
                err,
                "no run of `{}` for {} in {}",
                plan.cycle,
                plan.date,
                redact_url(&args.db)
            )?;
            Ok(EXIT_USAGE)
        }
        Err(e) => {
            writeln!(err, "error: {}", store_error(&args.db, &e))?;
            Ok(EXIT_UNAVAILABLE)
        }
    }
}
