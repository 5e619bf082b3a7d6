//! `warden demo`: Warden's main job in one command (docs/demo.md). The shipped month-end
//! cycle for February 2025, run durably on the embedded store on an accelerated clock, with
//! the February crisis injected from its scenario file (12M more claims, the old serial
//! model, Stream A's overrun, Streams B and C stuck behind it), the deadline watcher and
//! escalation ladders live, alerts delivered to a log file, and the web UI serving it all.
//!
//! What is real: the orchestrator, the store, crash-safety (stop it and run it again: it
//! resumes), the projections, P(miss), the ladders, the alerts outbox, the UI. What is
//! simulated: every job's work (the month-end's jobs are `builtin: sleep`, taking their
//! estimate), and the overrunning jobs, which take the durations the scenario gives.
//!
//! `inject.rs` works out what is injected (no I/O, unit-tested); `describe.rs` prints it
//! before the run, `summary.rs` what happened after it; `fresh.rs` is `--fresh`;
//! `impact_preview.rs` is the batch impact test the cycle went live without.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use warden_core::clock::Clock;
use warden_store::Store;

use super::serve::{UiArgs, file_sha256, start_run_ui};
use super::{CliError, CliResult, Exit, runtime};
use crate::engine::clocks::AcceleratedClock;
use crate::engine::run::{RunEnd, RunOptions, resume_time, run_cycle, usable_data_dir};
use crate::load::load_workflow;
use describe::describe_injection;
use fresh::{check_fresh, remove_demo_files};
use inject::{Injected, inject};
use summary::summary;

mod describe;
mod fresh;
mod impact_preview;
mod inject;
mod summary;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's own store (SQLite).
    #[arg(long, default_value = "warden-demo.db")]
    pub db: String,
    /// The demo's data directory (job logs, alerts.log).
    #[arg(long, default_value = "warden-demo-data")]
    pub data: PathBuf,
    /// Clock speed: this many times real time (1200: an hour passes in 3 s; the cycle
    /// takes about 1.5 minutes). Above 0, at most 1,000,000.
    #[arg(long, default_value_t = 1200.0, value_parser = super::limits::speed)]
    pub speed: f64,
    /// Where the web UI listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The cycle.
    #[arg(long, default_value = "workflows/month-end.yaml")]
    pub workflow: String,
    /// What is injected (volumes, mode, overrunning jobs, waits).
    #[arg(long, default_value = "workflows/scenarios/february-2025.yaml")]
    pub scenario: String,
    /// Start over: delete the demo's store and data directory first.
    #[arg(long)]
    pub fresh: bool,
    /// Stop when the cycle ends instead of serving the UI until Ctrl-C.
    #[arg(long)]
    pub exit_when_done: bool,
    #[command(flatten)]
    pub ui: UiArgs,
    /// The built-in jobs' claim input, plans and intervals (engine::builtins).
    #[command(flatten)]
    pub builtins: crate::engine::builtins::BuiltinSettings,
}

/// Where a relative path given on the command line was looked for.
fn looked_at(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// The workflow and scenario files, read, and the scenario injected into the workflow.
fn prepare(args: &DemoArgs) -> Result<Injected, String> {
    let loaded = load_workflow(&args.workflow).map_err(|e| {
        format!(
            "{e}; looked at {} (run the demo from the repository's root, where workflows/ is, or give --workflow)",
            looked_at(&args.workflow)
        )
    })?;
    let workflow = loaded.compilation.workflow.ok_or_else(|| {
        format!(
            "{}: invalid; run `warden validate {}`",
            args.workflow, args.workflow
        )
    })?;
    let path = &args.scenario;
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the scenario `{path}`: {e}; looked at {}",
            looked_at(path)
        )
    })?;
    inject(workflow, path, &text)
}

pub(super) fn run(args: &DemoArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let builtins = super::builtin_settings(&args.builtins)?;
    super::serve::check_ui(&args.listen, args.ui.auth.as_deref()).map_err(CliError::usage)?;
    let injected = prepare(args).map_err(CliError::usage)?;
    if args.fresh {
        check_fresh(args).map_err(CliError::usage)?;
        remove_demo_files(args)
            .map_err(|e| CliError::unavailable(format!("cannot remove the old demo files: {e}")))?;
    }
    let outbox = super::run::alert_outbox(
        None,
        None,
        &args.data,
        &args.workflow,
        &injected.workflow,
        err,
    )?;
    // What the impact test would have said (measured before the run; stored with it below).
    let preview = match impact_preview::preview(
        &injected,
        &args.workflow,
        &args.data,
        builtins.checkpoint_every(),
        err,
    ) {
        Ok(p) => Some(p),
        Err(message) => {
            writeln!(err, "note: no batch impact preview: {message}")?;
            None
        }
    };
    // The run as it was launched: the declared volumes.
    let new = super::cycle_args::new_run(&injected.plan, &file_sha256(&args.workflow), &[]);
    let plan = Arc::new(injected.plan.clone());
    runtime::multi_thread()?.block_on(async {
        usable_data_dir(&args.data).map_err(CliError::unavailable)?;
        let store = Store::connect(&args.db).await.map_err(|e| {
            CliError::unavailable(format!(
                "cannot open the store {}: {e}",
                warden_store::redact_url(&args.db)
            ))
        })?;
        // The preview's report, stored once per demo store (a resumed demo keeps the first).
        let mut impact = Vec::new();
        if let Some(p) = &preview {
            let stored = match store.impact_tests(&plan.cycle).await {
                Ok(tests) if !tests.is_empty() => Ok(tests[0].id),
                _ => super::impact::store_report(&store, &p.report).await,
            };
            impact = impact_preview::summary(p, stored.ok());
        }
        describe_injection(&injected, args, &impact, out)?;
        if let Ok(Some(run)) = store.find_run(&new.cycle, &new.business_date).await
            && run.status == "complete"
        {
            return Err(CliError::usage(format!("{} already holds a finished demo run (run {}); pass --fresh to start over, or `warden serve --db {}` to look at it", warden_store::redact_url(&args.db),
                run.id,
                warden_store::redact_url(&args.db))));
        }
        let resumed = resume_time(&store, &new)
            .await
            .map_err(CliError::unavailable)?;
        let origin = resumed.map_or(plan.start, |t| t.max(plan.start));
        let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(origin, args.speed));
        let ui = start_run_ui(store.clone(), plan.clone(), args.listen, &args.ui, &args.data)
            .await
            .map_err(CliError::usage)?;
        ui.announce(args.ui.auth.as_deref(), out)?;
        writeln!(
            out,
            "running{}: watch the Day 1 margin shrink as Stream A overruns, and the escalations fire",
            if resumed.is_some() { " (resumed)" } else { "" }
        )?;
        out.flush()?;
        let mut options = RunOptions::new(args.data.clone());
        options.outbox = Some(outbox);
        options.simulated = Arc::new(injected.simulated);
        options.builtins = builtins;
        let end = run_cycle(store.clone(), plan.clone(), &new, clock, &options).await;
        let ended = match &end {
            Ok(RunEnd::Complete { run_id }) => {
                writeln!(out, "run {run_id}: {} for {} complete", plan.cycle, plan.date)?;
                summary(&store, &plan, *run_id, &options.simulated, args, out).await?;
                Ok(())
            }
            Ok(RunEnd::Stuck { run_id, failed }) => {
                writeln!(out, "run {run_id} is stuck: {} failed for good", failed.join(", "))?;
                summary(&store, &plan, *run_id, &options.simulated, args, out).await?;
                Err(CliError::Reported(Exit::Invalid))
            }
            Err(e) => Err(CliError::unavailable(e)),
        };
        if !args.exit_when_done && end.is_ok() {
            writeln!(out, "{} still serves the run; Ctrl-C stops", ui.url)?;
            out.flush()?;
            let _ = tokio::signal::ctrl_c().await;
        }
        ui.shut_down().await;
        ended
    })
}
