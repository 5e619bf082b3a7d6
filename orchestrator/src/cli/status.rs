//! `warden status FILE --date D`: every job's state, attempt and time, from the event log.

use std::io::Write;

use clap::Args;
use warden_core::sched::{JobStatus, Machine};
use warden_store::Store;

use super::cycle_args::CycleArgs;
use super::{CliResult, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE};
use crate::engine::driver::replay;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

pub(super) fn run(args: &StatusArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = match args.cycle.load(err) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let plan = loaded.plan;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let found = runtime.block_on(async {
        let store = Store::connect(&args.db).await?;
        let Some(run) = store.find_run(&plan.cycle, &plan.date).await? else {
            return Ok(None);
        };
        let events = store.load_events(run.id).await?;
        Ok::<_, warden_store::StoreError>(Some((run, events)))
    });
    let (run, events) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            writeln!(
                err,
                "no run of `{}` for {} in {}; start one with `warden run`",
                plan.cycle, plan.date, args.db
            )?;
            return Ok(EXIT_USAGE);
        }
        Err(e) => {
            writeln!(err, "error: {}: {e}", args.db)?;
            return Ok(EXIT_UNAVAILABLE);
        }
    };
    let mut machine = Machine::new(&plan);
    replay(&mut machine, &plan, &events);
    let tz = plan.timezone;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%m-%d %H:%M:%S").to_string()
    };
    writeln!(
        out,
        "run {}: {} for {} · {} · {} events",
        run.id,
        run.cycle,
        run.business_date,
        run.status,
        events.len()
    )?;
    let width = plan
        .jobs
        .iter()
        .map(|j| j.id.len())
        .max()
        .unwrap_or(3)
        .max(3);
    writeln!(
        out,
        "  {:<width$}  {:<11} {:>7}  {:<14}  HELD",
        "JOB", "STATE", "ATTEMPT", "SINCE"
    )?;
    let mut counts = std::collections::BTreeMap::new();
    for (j, job) in plan.jobs.iter().enumerate() {
        let (state, attempt, since) = match machine.status(j) {
            JobStatus::Waiting => ("waiting", None, None),
            JobStatus::Ready => ("ready", None, None),
            JobStatus::Dispatched { attempt, at } => ("queued", Some(attempt), Some(at)),
            JobStatus::Running { attempt, since } => ("running", Some(attempt), Some(since)),
            JobStatus::RetryWait { attempt, until } => ("retry-wait", Some(attempt), Some(until)),
            JobStatus::Succeeded { attempt, at } => ("succeeded", Some(attempt), Some(at)),
            JobStatus::Failed { attempt, at } => ("failed", Some(attempt), Some(at)),
            JobStatus::Skipped { at } => ("skipped", None, Some(at)),
        };
        *counts.entry(state).or_insert(0) += 1;
        writeln!(
            out,
            "  {:<width$}  {:<11} {:>7}  {:<14}  {}",
            job.id,
            state,
            attempt.map(|a| a.to_string()).unwrap_or_default(),
            since.map(when).unwrap_or_default(),
            if machine.is_held(j) { "held" } else { "" }
        )?;
    }
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(out, "{}", summary.join(", "))?;
    Ok(EXIT_OK)
}
