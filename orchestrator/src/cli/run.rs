//! `warden run FILE --date D`: runs (or resumes) a cycle durably, with in-process workers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use warden_core::clock::Clock;
use warden_store::Store;

use super::cycle_args::CycleArgs;
use super::open_run::store_failed;
use super::{CliError, CliResult, Exit, count, runtime};
use crate::alerts::{Outbox, load_channels, load_templates};
use crate::engine::clocks::{AcceleratedClock, SystemClock};
use crate::engine::run::{RunEnd, RunError, RunOptions, resume_time, run_cycle, usable_data_dir};
use crate::engine::timing;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The store: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// Where job work directories and logs go.
    #[arg(long, default_value = "warden-data")]
    pub data: PathBuf,
    /// Run an accelerated clock, this many times real time, starting at the cycle's first
    /// window (600: a minute passes in 0.1 s). Without it the real clock is used and jobs wait
    /// for their windows. Above 0, at most 1,000,000.
    #[arg(long, value_parser = super::limits::speed)]
    pub speed: Option<f64>,
    /// In-process workers: how many jobs may run at once in this process. Limits that
    /// matter to the cycle belong in `resources`, so keep this above the widest fan-out.
    /// 0 to 1024; 0 runs the orchestrator only, its jobs left to `warden worker` processes
    /// on any host sharing the store (docs/deployment.md). `warden worker` processes help
    /// with any number.
    #[arg(long, default_value_t = 16, value_parser = super::limits::count_or_none(super::limits::MAX_WORKERS))]
    pub workers: usize,
    /// The alert channel file (channels per role; docs/alerts.md). Without it every role's
    /// alerts are appended to DATA/alerts.log.
    #[arg(long, value_name = "FILE")]
    pub channels: Option<PathBuf>,
    /// The alert template directory. Default: `templates/` beside the workflow file, else
    /// the built-in copies of the shipped templates.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Serve the web UI while the cycle runs, on this address (e.g. 127.0.0.1:8080; port 0
    /// picks a free one). The URL is printed.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Run on the real clock although some of the cycle's deadlines are already past: a late
    /// cycle run for real. Its past deadlines are recorded as breached and escalate at once.
    /// Without it such a run is refused (rehearse it with `--speed` instead).
    #[arg(long)]
    pub late: bool,
    /// Start the run although a stream carries more than its approved volume plus the
    /// workflow's impact trigger and no batch impact test cleared it. The reason is kept in
    /// the store's audit of overrides and sent to on-call and compliance.
    #[arg(long = "override-impact-gate", value_name = "REASON")]
    pub override_gate: Option<String>,
    /// Who overrides (default: $USER).
    #[arg(long = "as", value_name = "NAME", requires = "override_gate")]
    pub actor: Option<String>,
    #[command(flatten)]
    pub ui: super::serve::UiArgs,
    #[command(flatten)]
    pub objects: super::objects_args::ObjectArgs,
    /// The built-in jobs' claim input, plans and intervals (engine::builtins).
    #[command(flatten)]
    pub builtins: crate::engine::builtins::BuiltinSettings,
}

pub(super) fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    if args
        .override_gate
        .as_ref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return Err(CliError::usage(
            "--override-impact-gate needs a reason (it goes to the audit log and to compliance)",
        ));
    }
    let builtins = super::builtin_settings(&args.builtins)?;
    let loaded = args.cycle.load(err)?;
    // Usage first: a refused --listen creates no store and writes nothing (exit 2, as `serve`).
    if let Some(listen) = &args.listen
        && let Err(message) = super::serve::check_ui(listen, args.ui.auth.as_deref())
    {
        return Err(CliError::usage(message));
    }
    let mut new = loaded.new_run(&args.cycle);
    // Kept with the run (written once, when it is created): the clock's speed turns the
    // run's durations of real work back into real time for `warden status`'s comparison
    // with the batch impact test that cleared the run.
    set_option(&mut new, "speed", serde_json::json!(args.speed));
    let outbox = alert_outbox(
        args.channels.as_deref(),
        args.templates.as_deref(),
        &args.data,
        &args.cycle.file,
        &loaded.workflow,
        err,
    )?;
    let loaded_sources = loaded.sources;
    let plan = Arc::new(loaded.plan);
    let runtime = runtime::multi_thread()?;
    // A new run on the real clock whose deadlines are past would breach and escalate them at
    // once: refused unless `--late` says it is meant (engine::timing). A run that already
    // exists resumes as it was started.
    if args.speed.is_none() && !args.late {
        let past = timing::past_deadlines(&plan, SystemClock.now());
        if !past.is_empty() && !runtime.block_on(run_exists(&args.db, &new)) {
            writeln!(err, "{}", timing::past_deadlines_refusal(&plan, &past))?;
            return Err(CliError::Reported(Exit::Usage));
        }
    }
    if let Some(speed) = args.speed {
        let real = timing::real_work_jobs(&plan, &builtins);
        if real > 0 {
            writeln!(
                err,
                "note: {} real work (shell commands, or adjudication with claim input): on this {speed}x clock the run's clock shows {speed} times its real duration, and its timeouts count real time",
                if real == 1 {
                    "1 job does".to_string()
                } else {
                    format!("{real} jobs do")
                },
            )?;
        }
    }
    // Jobs that need a kind of host run only on `warden worker` processes carrying its labels.
    let mut labelled: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for j in plan.jobs.iter().filter(|j| !j.runs_on.is_empty()) {
        *labelled.entry(j.runs_on.join(", ")).or_default() += 1;
    }
    for (labels, n) in &labelled {
        writeln!(
            err,
            "note: {} only on workers labelled {labels}: start `warden worker --label ...` with them (docs/deployment.md)",
            if *n == 1 {
                "1 job runs".to_string()
            } else {
                format!("{n} jobs run")
            }
        )?;
    }
    match runtime.block_on(impact_gate(args, &plan, &new)) {
        Ok(super::impact::GateVerdict::Go { note, test }) => {
            if let Some(note) = note {
                writeln!(out, "{note}")?;
            }
            set_option(&mut new, "impact_test", serde_json::json!(test));
        }
        Ok(super::impact::GateVerdict::Refused(message)) => {
            writeln!(err, "{message}")?;
            return Err(CliError::Reported(Exit::Usage));
        }
        Err(e) => return Err(store_failed(&args.db)(e)),
    }
    let result = runtime.block_on(async {
        // Before the store: a run that cannot write its jobs' directories does not start.
        usable_data_dir(&args.data)?;
        let store = Store::connect(&args.db).await.map_err(|e| {
            RunError::Store(warden_store::StoreError::Invalid(format!(
                "cannot open the store {}: {e}",
                warden_store::redact_url(&args.db)
            )))
        })?;
        // A run that had finished is resumed all the same (alerts still pending are
        // delivered), but the operator is told that nothing ran.
        let finished = finished_at(&store, &new).await?;
        let clock: Arc<dyn Clock> = match args.speed {
            Some(speed) => {
                let resumed = resume_time(&store, &new).await?;
                let origin = resumed.map_or(plan.start, |t| t.max(plan.start));
                Arc::new(AcceleratedClock::new(origin, speed))
            }
            None => Arc::new(SystemClock),
        };
        let ui = match args.listen {
            None => None,
            Some(listen) => {
                let ui = super::serve::start_run_ui(
                    store.clone(),
                    plan.clone(),
                    listen,
                    &args.ui,
                    &args.data,
                )
                .await
                .map_err(|e| RunError::Store(warden_store::StoreError::Invalid(e)))?;
                let _ = ui.announce(args.ui.auth.as_deref(), out);
                Some(ui)
            }
        };
        let staging = args
            .objects
            .open()
            .await
            .map_err(|e| RunError::Store(warden_store::StoreError::Invalid(e)))?;
        args.objects.describe(&staging, out);
        let mut options = RunOptions::new(args.data.clone());
        options.staging = staging;
        options.workers = args.workers;
        options.outbox = Some(outbox);
        options.sources = loaded_sources;
        // Shell jobs run under `warden supervise`, so a restarted `warden run` adopts them.
        options.supervisor = crate::engine::supervise::supervisor_binary();
        options.builtins = builtins;
        let end = run_cycle(store, plan.clone(), &new, clock, &options).await;
        if let Some(ui) = ui {
            ui.shut_down().await;
        }
        end.map(|end| (end, finished))
    });
    match result {
        Ok((RunEnd::Complete { run_id }, Some(at))) => {
            writeln!(
                out,
                "run {run_id}: {} for {} was already complete at {}; no job to run",
                plan.cycle,
                plan.date,
                at.with_timezone(&plan.timezone).format("%Y-%m-%d %H:%M %Z")
            )?;
            Ok(())
        }
        Ok((RunEnd::Complete { run_id }, None)) => {
            writeln!(
                out,
                "run {run_id}: {} for {} complete, {}",
                plan.cycle,
                plan.date,
                count(plan.jobs.len(), "job")
            )?;
            Ok(())
        }
        Ok((RunEnd::Stuck { run_id, failed }, _)) => {
            writeln!(
                out,
                "run {run_id}: {} for {} is stuck: these jobs failed for good:",
                plan.cycle, plan.date
            )?;
            for job in &failed {
                writeln!(out, "  {job}")?;
            }
            writeln!(
                out,
                "fix the cause, then `warden rerun` or `warden skip --reason ...` each job and run the same `warden run` again"
            )?;
            Err(CliError::Reported(Exit::Invalid))
        }
        Err(e) => Err(CliError::unavailable(e)),
    }
}

/// Sets `key` in the run's options (a JSON object).
fn set_option(new: &mut warden_store::NewRun, key: &str, value: serde_json::Value) {
    let mut options: serde_json::Value =
        serde_json::from_str(&new.options).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(o) = options.as_object_mut() {
        o.insert(key.to_string(), value);
    }
    new.options = options.to_string();
}

/// The batch impact gate for a new run (`cli/impact/gate.rs`).
async fn impact_gate(
    args: &RunArgs,
    plan: &warden_core::plan::Plan,
    new: &warden_store::NewRun,
) -> Result<super::impact::GateVerdict, warden_store::StoreError> {
    if super::impact::gate::over_limit(plan).is_empty() {
        return Ok(super::impact::GateVerdict::Go {
            note: None,
            test: None,
        });
    }
    let store = Store::connect(&args.db).await?;
    let overriding = args
        .override_gate
        .as_ref()
        .map(|reason| super::impact::Override {
            actor: args
                .actor
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".to_string()),
            reason: reason.clone(),
        });
    super::impact::enforce(
        &store,
        plan,
        &args.cycle.file,
        new,
        overriding.as_ref(),
        SystemClock.now(),
    )
    .await
}

/// When the run had finished, if it had before this command: its log's last event.
async fn finished_at(
    store: &Store,
    new: &warden_store::NewRun,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, warden_store::StoreError> {
    match store.find_run(&new.cycle, &new.business_date).await? {
        Some(run) if run.status == "complete" => {
            Ok(store.load_events(run.id).await?.last().map(|e| e.at))
        }
        _ => Ok(None),
    }
}

/// The alert channels and templates of a run, checked before it starts: a bad channel file,
/// a template that does not parse, or a ladder naming a template that does not exist stop
/// `warden run` (and `warden demo`) with the place to fix: every problem printed, one an
/// `error:` line, then exit 2.
pub(super) fn alert_outbox(
    channels: Option<&std::path::Path>,
    templates: Option<&std::path::Path>,
    data: &std::path::Path,
    file: &str,
    workflow: &warden_core::workflow::Workflow,
    err: &mut dyn Write,
) -> CliResult<Outbox> {
    let data = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    let channels = load_channels(channels, &data).map_err(|e| refused(err, [e]))?;
    let declared: Vec<&str> = workflow.roles.iter().map(|r| r.id.as_str()).collect();
    let (errors, warnings) = channels.check_roles(&declared);
    if !errors.is_empty() {
        return Err(refused(err, errors));
    }
    for w in warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    let (templates, origin) =
        load_templates(templates, std::path::Path::new(file)).map_err(|e| refused(err, [e]))?;
    let problems = warden_deadlines::alert::check_ladder_templates(workflow, &templates);
    if !problems.is_empty() {
        let problems = problems
            .iter()
            .map(|p| format!("{file}: {p} (templates from {origin})"));
        return Err(refused(err, problems));
    }
    Outbox::new(channels, templates, None).map_err(|e| refused(err, [e]))
}

/// Every problem printed, one an `error:` line: exit 2.
fn refused<T: std::fmt::Display>(
    err: &mut dyn Write,
    problems: impl IntoIterator<Item = T>,
) -> CliError {
    for p in problems {
        if let Err(e) = writeln!(err, "error: {p}") {
            return e.into();
        }
    }
    CliError::Reported(Exit::Usage)
}

/// Whether the store already holds this run. A store that is not there is not created (nor
/// migrated): the run may yet be refused.
async fn run_exists(db: &str, new: &warden_store::NewRun) -> bool {
    match Store::open(db, warden_store::OpenMode::MustExist).await {
        Ok(store) => matches!(
            store.find_run(&new.cycle, &new.business_date).await,
            Ok(Some(_))
        ),
        Err(_) => false,
    }
}
