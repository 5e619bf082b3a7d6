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

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use warden_core::clock::Clock;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_store::Store;

use super::serve::{UiArgs, describe, file_sha256, start_ui};
use super::whatif::scenario::{self, Actual};
use super::{CliResult, EXIT_INVALID, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE};
use crate::engine::clocks::AcceleratedClock;
use crate::engine::exec::SimulatedDurations;
use crate::engine::run::{RunEnd, RunOptions, resume_time, run_cycle, usable_data_dir};
use crate::load::load_workflow;

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
}

/// The demo's plan and what it injects.
struct Injected {
    workflow: warden_core::workflow::Workflow,
    plan: warden_core::plan::Plan,
    volumes: Vec<(String, warden_core::plan::VolumeChange)>,
    simulated: SimulatedDurations,
    /// The scenario's `actual:` durations (after holding them under a timeout), by job.
    overrides: Vec<(usize, chrono::TimeDelta)>,
    /// Jobs that take their estimate at the injected volume instead of the planned one.
    scaled: Vec<usize>,
    waits: Vec<String>,
    capped: Vec<String>,
    title: String,
    date: DateSpec,
    mode: warden_core::workflow::Mode,
}

/// Where a relative path given on the command line was looked for.
fn looked_at(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

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
    let raw = scenario::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    if raw.looks.is_empty() {
        return Err(format!("{path}: `looks` is empty: give at least one"));
    }
    let date: DateSpec = raw.date.parse().map_err(|e| format!("{path}: date: {e}"))?;
    let volumes = scenario::volumes(&raw).map_err(|e| format!("{path}: {e}"))?;
    let mode = scenario::look_mode(&raw, 0, workflow.mode).map_err(|e| format!("{path}: {e}"))?;
    // The plan knows the declared volumes: the acquisition's claims arrive without a batch
    // impact test. What the jobs really take is what the larger volume needs.
    let instantiate = |volumes: Vec<(String, warden_core::plan::VolumeChange)>| {
        workflow
            .instantiate(
                date,
                &PlanOptions {
                    mode: Some(mode),
                    volumes,
                },
            )
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut plan = instantiate(Vec::new())?;
    let grown = instantiate(volumes.clone())?;
    let resolved = scenario::resolve_look(&raw, 0, &plan).map_err(|e| format!("{path}: {e}"))?;
    for &(job, behind) in &resolved.waits {
        if !plan.add_dependency(job, behind) {
            return Err(format!(
                "{path}: waits: `{}` cannot wait behind `{}`: that would close a cycle",
                plan.jobs[job].id, plan.jobs[behind].id
            ));
        }
    }
    let mut simulated: SimulatedDurations = grown
        .jobs
        .iter()
        .zip(&plan.jobs)
        .enumerate()
        .filter(|(_, (g, p))| g.duration != p.duration)
        .map(|(j, (g, _))| (j, g.duration))
        .collect();
    let mut capped = Vec::new();
    let mut overrides = Vec::new();
    for (j, a) in resolved.actual.iter().enumerate() {
        if let Some(Actual::Took(d)) = a {
            // A job that overruns its timeout is killed and retried until it fails for
            // good, and the demo would stop there waiting for an operator. It is held just
            // under its timeout instead, and the demo says so.
            let took = match plan.jobs[j].timeout {
                Some(limit) if *d >= limit => {
                    let under = limit * 19 / 20;
                    capped.push(format!(
                        "{} is held at {} min: the scenario's {} min would pass its {} min timeout",
                        plan.jobs[j].id,
                        under.num_minutes(),
                        d.num_minutes(),
                        limit.num_minutes()
                    ));
                    under
                }
                _ => *d,
            };
            simulated.insert(j, took);
            overrides.push((j, took));
        }
    }
    let mut scaled: Vec<usize> = simulated
        .keys()
        .copied()
        .filter(|j| !overrides.iter().any(|(o, _)| o == j))
        .collect();
    scaled.sort_unstable();
    Ok(Injected {
        workflow,
        plan,
        volumes,
        simulated,
        overrides,
        scaled,
        waits: resolved.waits_text,
        capped,
        title: raw.scenario,
        date,
        mode,
    })
}

fn minutes(d: chrono::TimeDelta) -> i64 {
    d.num_minutes()
}

/// How many of the volume-scaled jobs belong to a stream, and how many serve every stream.
fn scaled_summary(i: &Injected) -> String {
    let plan = &i.plan;
    let mut per_stream: Vec<(String, usize)> = Vec::new();
    let mut shared = 0;
    for &j in &i.scaled {
        match plan.jobs[j].stream {
            Some(s) => {
                let id = &plan.streams[s].id;
                match per_stream.iter_mut().find(|(x, _)| x == id) {
                    Some((_, n)) => *n += 1,
                    None => per_stream.push((id.clone(), 1)),
                }
            }
            None => shared += 1,
        }
    }
    let mut parts: Vec<String> = per_stream
        .iter()
        .map(|(id, n)| format!("{n} of stream {id}"))
        .collect();
    if shared > 0 {
        parts.push(format!("{shared} shared by every stream"));
    }
    parts.join(", ")
}

/// The honesty block: what runs for real and what is simulated.
fn describe_injection(
    i: &Injected,
    args: &DemoArgs,
    impact: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let plan = &i.plan;
    writeln!(
        out,
        "warden demo: {} for {} ({} jobs, {} mode) with the scenario \"{}\"",
        plan.cycle,
        plan.date,
        plan.jobs.len(),
        plan.mode.as_str(),
        i.title
    )?;
    writeln!(
        out,
        "  real: the orchestrator, the store ({}), crash-safe resume, deadline projection, P(miss), escalation ladders, the alerts outbox ({}), the web UI",
        warden_store::redact_url(&args.db),
        args.data.join("alerts.log").display()
    )?;
    writeln!(
        out,
        "  simulated: every job's work: the {} jobs are `builtin: sleep` and take their estimate on a clock {}x real time, except:",
        plan.cycle, args.speed
    )?;
    for (stream, change) in &i.volumes {
        let amount = match change {
            warden_core::plan::VolumeChange::Set(n) => format!("set to {n}"),
            warden_core::plan::VolumeChange::Add(n) => format!("{n:+}"),
        };
        writeln!(
            out,
            "  injected volume: stream {stream} claims {amount} that the plan does not know of (it went live without its batch impact test, as in 2025): its jobs take what that volume needs"
        )?;
    }
    for line in impact {
        writeln!(out, "{line}")?;
    }
    if !i.scaled.is_empty() {
        let extra: chrono::TimeDelta = i
            .scaled
            .iter()
            .filter_map(|j| {
                i.simulated
                    .get(j)
                    .map(|took| *took - plan.jobs[*j].duration)
            })
            .sum();
        let mut largest: Vec<usize> = i.scaled.clone();
        largest.sort_by_key(|j| {
            std::cmp::Reverse(
                i.simulated
                    .get(j)
                    .map(|took| *took - plan.jobs[*j].duration),
            )
        });
        let examples: Vec<String> = largest
            .iter()
            .take(4)
            .filter_map(|j| {
                i.simulated.get(j).map(|took| {
                    format!(
                        "{} {} min (estimate {})",
                        plan.jobs[*j].id,
                        minutes(*took),
                        minutes(plan.jobs[*j].duration)
                    )
                })
            })
            .collect();
        writeln!(
            out,
            "    so {} jobs run longer than planned ({}), {} more work in all; the most: {}",
            i.scaled.len(),
            scaled_summary(i),
            super::plan_table::signed(chrono::TimeDelta::minutes(extra.num_minutes())),
            examples.join(", ")
        )?;
    }
    for (j, took) in &i.overrides {
        writeln!(
            out,
            "  injected overrun: {} takes {} min (estimate {} min), the scenario's `actual:`",
            plan.jobs[*j].id,
            minutes(*took),
            minutes(plan.jobs[*j].duration)
        )?;
    }
    for c in &i.capped {
        writeln!(out, "  note: {c}")?;
    }
    for w in &i.waits {
        writeln!(out, "  injected wait: {w}")?;
    }
    writeln!(
        out,
        "  the watcher is not told these durations: it projects from the plan's estimates and sees each overrun as it happens (the waits are dependencies of the plan it projects)"
    )?;
    Ok(())
}

/// What `--fresh` may delete: a SQLite file (or nothing) at `--db`, and a data directory
/// holding only what a run writes there. Anything else is refused, so a mistyped `--data .`
/// or `--db README.md` deletes nothing.
fn check_fresh(args: &DemoArgs) -> Result<(), String> {
    if args.db.contains("://") {
        return Err(format!(
            "--fresh deletes the demo's SQLite file; {} is not one (drop that database yourself)",
            warden_store::redact_url(&args.db)
        ));
    }
    let db = Path::new(&args.db);
    if db.exists() {
        let mut head = [0u8; 16];
        let is_sqlite = std::fs::File::open(db)
            .and_then(|mut f| {
                use std::io::Read;
                let n = f.read(&mut head)?;
                Ok(n == 0 || (n == 16 && &head == b"SQLite format 3\0"))
            })
            .unwrap_or(false);
        if !is_sqlite {
            return Err(format!(
                "--fresh would delete {}, which is not a SQLite store; give the demo's own --db",
                args.db
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir(&args.data) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name == "runs"
                || name == "alerts.log"
                || name == "impact-test"
                || name.starts_with(".warden-probe-"))
            {
                return Err(format!(
                    "--fresh would delete {}, which holds `{name}`, not written by a run; give the demo's own --data",
                    args.data.display()
                ));
            }
        }
    }
    Ok(())
}

fn remove_demo_files(args: &DemoArgs) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let f = format!("{}{suffix}", args.db);
        match std::fs::remove_file(&f) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match std::fs::remove_dir_all(&args.data) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

pub(super) fn run(args: &DemoArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    if let Err(message) = super::serve::check_ui(&args.listen, args.ui.auth.as_deref()) {
        writeln!(err, "error: {message}")?;
        return Ok(EXIT_USAGE);
    }
    let injected = match prepare(args) {
        Ok(i) => i,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(EXIT_USAGE);
        }
    };
    if args.fresh
        && let Err(message) = check_fresh(args)
    {
        writeln!(err, "error: {message}")?;
        return Ok(EXIT_USAGE);
    }
    if args.fresh
        && let Err(e) = remove_demo_files(args)
    {
        writeln!(err, "error: cannot remove the old demo files: {e}")?;
        return Ok(EXIT_UNAVAILABLE);
    }
    let outbox = match super::run::alert_outbox(
        None,
        None,
        &args.data,
        &args.workflow,
        &injected.workflow,
        err,
    ) {
        Ok(o) => o,
        Err(message) => {
            writeln!(err, "{message}")?;
            return Ok(EXIT_USAGE);
        }
    };
    // What the impact test would have said (measured before the run; stored with it below).
    let preview = match super::demo_impact::preview(
        &injected.workflow,
        &args.workflow,
        injected.date,
        injected.mode,
        &injected.volumes,
        &args.data,
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        if let Err(e) = usable_data_dir(&args.data) {
            writeln!(err, "error: {e}")?;
            return Ok(EXIT_UNAVAILABLE);
        }
        let store = match Store::connect(&args.db).await {
            Ok(s) => s,
            Err(e) => {
                writeln!(
                    err,
                    "error: cannot open the store {}: {e}",
                    warden_store::redact_url(&args.db)
                )?;
                return Ok(EXIT_UNAVAILABLE);
            }
        };
        // The preview's report, stored once per demo store (a resumed demo keeps the first).
        let mut impact = Vec::new();
        if let Some(p) = &preview {
            let stored = match store.impact_tests(&plan.cycle).await {
                Ok(tests) if !tests.is_empty() => Ok(tests[0].id),
                _ => super::impact::store_report(&store, &p.report).await,
            };
            impact = super::demo_impact::summary(p, stored.ok());
        }
        describe_injection(&injected, args, &impact, out)?;
        if let Ok(Some(run)) = store.find_run(&new.cycle, &new.business_date).await
            && run.status == "complete"
        {
            writeln!(
                err,
                "error: {} already holds a finished demo run (run {}); pass --fresh to start over, or `warden serve --db {}` to look at it",
                warden_store::redact_url(&args.db),
                run.id,
                warden_store::redact_url(&args.db)
            )?;
            return Ok(EXIT_USAGE);
        }
        let resumed = match resume_time(&store, &new).await {
            Ok(t) => t,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                return Ok(EXIT_UNAVAILABLE);
            }
        };
        let origin = resumed.map_or(plan.start, |t| t.max(plan.start));
        let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(origin, args.speed));
        let catalog = Arc::new(warden_ui::Catalog::default());
        catalog.pin(plan.clone());
        let ui = match start_ui(
            store.clone(),
            catalog,
            args.listen,
            &args.ui,
            Some(args.data.clone()),
        )
        .await
        {
            Ok(ui) => ui,
            Err(message) => {
                writeln!(err, "error: {message}")?;
                return Ok(EXIT_USAGE);
            }
        };
        writeln!(out, "{}", describe(&ui, args.ui.auth.as_deref()))?;
        writeln!(
            out,
            "running{}: watch the Day 1 margin shrink as Stream A overruns, and the escalations fire",
            if resumed.is_some() { " (resumed)" } else { "" }
        )?;
        out.flush()?;
        let mut options = RunOptions::new(args.data.clone());
        options.outbox = Some(outbox);
        options.simulated = Arc::new(injected.simulated);
        let end = run_cycle(store.clone(), plan.clone(), &new, clock, &options).await;
        let code = match &end {
            Ok(RunEnd::Complete { run_id }) => {
                writeln!(out, "run {run_id}: {} for {} complete", plan.cycle, plan.date)?;
                summary(&store, &plan, *run_id, &options.simulated, args, out).await?;
                EXIT_OK
            }
            Ok(RunEnd::Stuck { run_id, failed }) => {
                writeln!(out, "run {run_id} is stuck: {} failed for good", failed.join(", "))?;
                summary(&store, &plan, *run_id, &options.simulated, args, out).await?;
                EXIT_INVALID
            }
            Err(e) => {
                writeln!(err, "error: {e}")?;
                EXIT_UNAVAILABLE
            }
        };
        if !args.exit_when_done && end.is_ok() {
            writeln!(out, "{} still serves the run; Ctrl-C stops", ui.url)?;
            out.flush()?;
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = ui.stop.send(());
        let _ = ui.task.await;
        Ok(code)
    })
}

/// Each deadline's outcome and margin (first projection → last), every escalation the
/// ladders notified (the margin then, re-notifications folded into one line), and the alerts
/// raised and delivered: all read back from the store.
async fn summary(
    store: &Store,
    plan: &warden_core::plan::Plan,
    run_id: i64,
    simulated: &SimulatedDurations,
    args: &DemoArgs,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let read = async {
        Ok::<_, warden_store::StoreError>((
            store.load_projections(run_id).await?,
            store.load_deadline_events(run_id).await?,
            store.run_alerts(run_id).await?,
            store.load_attempts(run_id).await?,
        ))
    };
    let (projections, events, alerts, attempts) = match read.await {
        Ok(read) => read,
        Err(e) => {
            writeln!(
                out,
                "  cannot read the run's deadlines back from the store: {e}; `warden status` shows them"
            )?;
            return Ok(());
        }
    };
    keeping_up(plan, &attempts, simulated, args.speed, out)?;
    let tz = plan.timezone;
    let local =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %H:%M").to_string();
    // Rounded to the minute as `warden status` does.
    let minutes_of =
        |seconds: i64| chrono::TimeDelta::minutes((seconds as f64 / 60.0).round() as i64);
    let margin = |seconds: i64| super::plan_table::signed(minutes_of(seconds));
    writeln!(
        out,
        "deadlines (margin at the first projection → at the end):"
    )?;
    for d in &plan.deadlines {
        let mine: Vec<_> = projections
            .iter()
            .filter(|p| p.deadline_id == d.id)
            .collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else {
            writeln!(out, "  {:<14} never projected", d.id)?;
            continue;
        };
        let outcome = events
            .iter()
            .rev()
            .find(|e| e.deadline_id == d.id && (e.kind == "met" || e.kind == "breached"))
            .map_or("not settled", |e| e.kind.as_str());
        let late = if outcome == "breached" && last.margin_seconds < 0 {
            format!(
                " ({} late)",
                super::plan_table::signed(minutes_of(-last.margin_seconds)).trim_start_matches('+')
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<14} {:<9} {} → {}{late}, finished {} (deadline {})",
            d.id,
            outcome,
            margin(first.margin_seconds),
            margin(last.margin_seconds),
            local(last.finish),
            local(d.at)
        )?;
    }
    // One line per (deadline, level): first notice and the margin then, re-notifications.
    let mut notified: Vec<(&str, &str, Vec<&warden_store::DeadlineEventRow>)> = Vec::new();
    for e in events.iter().filter(|e| e.kind == "notify") {
        let level = e.level.as_deref().unwrap_or("");
        match notified
            .iter_mut()
            .find(|(d, l, _)| *d == e.deadline_id && *l == level)
        {
            Some((_, _, rows)) => rows.push(e),
            None => notified.push((&e.deadline_id, level, vec![e])),
        }
    }
    let margin_at = |deadline: &str, at: chrono::DateTime<chrono::Utc>| {
        projections
            .iter()
            .rfind(|p| p.deadline_id == deadline && p.at <= at)
            .map_or_else(|| "?".to_string(), |p| margin(p.margin_seconds))
    };
    let trigger = |e: &warden_store::DeadlineEventRow| {
        serde_json::from_str::<serde_json::Value>(&e.payload)
            .ok()
            .and_then(|v| v.get("trigger")?.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    if notified.is_empty() {
        writeln!(out, "escalations: none")?;
    } else {
        writeln!(out, "escalations (the ladders' notices):")?;
    }
    for (deadline, level, rows) in &notified {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            continue;
        };
        let mut line = format!(
            "  {deadline:<14} {level:<17} {} at margin {} ({})",
            local(first.at),
            margin_at(deadline, first.at),
            trigger(first)
        );
        if rows.len() > 1 {
            let times = match rows.len() - 1 {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            line.push_str(&format!(
                ", re-notified {times} until {} (margin {})",
                local(last.at),
                margin_at(deadline, last.at)
            ));
        }
        writeln!(out, "{line}")?;
    }
    let delivered = alerts
        .iter()
        .filter(|a| {
            !a.deliveries.is_empty() && a.deliveries.iter().all(|d| d.status == "delivered")
        })
        .count();
    writeln!(
        out,
        "  {} alert(s) raised, {delivered} delivered to every role; see {} or the UI's Alerts page",
        alerts.len(),
        args.data.join("alerts.log").display()
    )?;
    Ok(())
}

/// How far past its simulated duration an attempt may end, on the run's clock, before the
/// demo says the machine did not keep up with the accelerated clock.
const LAG_ALLOWED: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// Whether the machine kept up with the clock. On an accelerated clock every real
/// millisecond the orchestrator is late is `speed` milliseconds of cycle time: a loaded
/// machine makes jobs run long and leases expire, and the margins then show that lag on top
/// of the scenario. Every finished attempt is compared with what it was to take.
fn keeping_up(
    plan: &warden_core::plan::Plan,
    attempts: &[warden_store::AttemptRecord],
    simulated: &SimulatedDurations,
    speed: f64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut late = 0;
    let mut worst: Option<(usize, chrono::TimeDelta)> = None;
    for a in attempts
        .iter()
        .filter(|a| a.outcome.as_deref() == Some("succeeded"))
    {
        let (Ok(j), Some(finished)) = (usize::try_from(a.job_idx), a.finished_at) else {
            continue;
        };
        let Some(job) = plan.jobs.get(j) else {
            continue;
        };
        if !matches!(job.action, warden_core::workflow::Action::Builtin(_)) {
            continue;
        }
        let intended = simulated.get(&j).copied().unwrap_or(job.duration);
        let over = finished - a.started_at - intended;
        if over > LAG_ALLOWED {
            late += 1;
        }
        if worst.is_none_or(|(_, w)| over > w) {
            worst = Some((j, over));
        }
    }
    let lost = attempts
        .iter()
        .filter(|a| a.outcome.as_deref() == Some("lost"))
        .count();
    let worst_text = worst.map_or_else(String::new, |(j, over)| {
        format!(
            "{} {}",
            plan.jobs[j].id,
            super::plan_table::signed(chrono::TimeDelta::seconds(over.num_seconds()))
        )
    });
    if late == 0 && lost == 0 {
        writeln!(
            out,
            "the machine kept up with the {speed}x clock: every attempt ended within {} min of its simulated duration (the most: {worst_text})",
            LAG_ALLOWED.num_minutes()
        )
    } else {
        writeln!(
            out,
            "warning: the machine did not keep up with the {speed}x clock: {late} attempt(s) ended more than {} min past their simulated duration (the most: {worst_text}), {lost} attempt(s) lost their lease and ran again; the margins below include that lag on top of the scenario: run again with --fresh and a lower --speed",
            LAG_ALLOWED.num_minutes()
        )
    }
}
