//! Operator commands: hold, release, rerun, skip, kill, force-complete. Each is recorded in
//! the store with who and why and applied exactly once by the run's orchestrator (now, if
//! one is running; otherwise when the run resumes).

use std::io::Write;

use clap::Args;
use warden_core::sched::{
    Command, command_fits, command_name, command_needs_reason, reason_needed_because,
};

use super::cycle_args::CycleArgs;
use super::open_run::{find_job, open_run, store_failed};
use super::{CliError, CliResult, runtime};
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
        return Err(CliError::usage(format!(
            "{} needs --reason: {}",
            command_name(command),
            reason_needed_because(command)
        )));
    }
    let loaded = args.cycle.load(err)?;
    let plan = loaded.plan;
    let job = find_job(&plan, &args.job)?;
    let run_id = runtime::block_on(async {
        let (store, run) = open_run(&args.db, &plan).await?;
        let failed = store_failed(&args.db);
        let (machine, _) = replay(&plan, &store.load_events(run.id).await.map_err(&failed)?);
        if let Err(why) = command_fits(command, machine.statuses()[job], machine.is_held(job)) {
            return Err(CliError::usage(format!(
                "cannot {} `{}`: it {why}",
                command_name(command),
                args.job
            )));
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
            .await
            .map_err(&failed)?;
        Ok(run.id)
    })??;
    writeln!(
        out,
        "run {run_id}: {} {} by {} queued; the orchestrator applies it now if it is running, else at the next `warden run`",
        command_name(command),
        args.job,
        args.actor
    )?;
    Ok(())
}
