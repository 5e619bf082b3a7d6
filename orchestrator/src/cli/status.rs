//! `warden status FILE --date D [--job JOB]`: every job's state, attempt and time, rebuilt
//! from the event log; with `--job`, that job's attempts (worker, process group, times,
//! outcome, exit code, log) and its audit trail (who did what to it, and why).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use warden_core::sched::{JobStatus, Machine};

use super::cycle_args::CycleArgs;
use super::open_run::{find_job, open_run, store_failed};
use super::{CliError, CliResult, runtime};
use crate::engine::attempt_paths::AttemptPaths;
use crate::engine::driver::replay;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The store: a SQLite file, or a postgres:// URL (as given to `warden run`).
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// The run's data directory (as given to `warden run`): where `--job` finds the logs.
    #[arg(long, default_value = "warden-data")]
    pub data: PathBuf,
    /// Show one job in detail: every attempt (with the end of its log) and every recorded
    /// event about it.
    #[arg(long)]
    pub job: Option<String>,
}

pub(super) fn run(args: &StatusArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = args.cycle.load(err)?;
    let plan = loaded.plan;
    let job = args
        .job
        .as_deref()
        .map(|id| find_job(&plan, id))
        .transpose()?;
    let (run, events, attempts, projections, impact) = runtime::block_on(async {
        let (store, run) = open_run(&args.db, &plan).await?;
        let failed = store_failed(&args.db);
        let events = store.load_events(run.id).await.map_err(&failed)?;
        let attempts = store.load_attempts(run.id).await.map_err(&failed)?;
        let projections = store.load_projections(run.id).await.map_err(&failed)?;
        let impact = match cleared_by(&run.options) {
            Some(id) => store.impact_test(id).await.map_err(&failed)?,
            None => None,
        };
        Ok::<_, CliError>((run, events, attempts, projections, impact))
    })??;
    let (machine, _) = replay(&plan, &events);
    let tz = plan.timezone;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%m-%d %H:%M:%S").to_string()
    };
    if let Some(j) = job {
        let logs =
            |job_id: &str, attempt: i64| AttemptPaths::new(&args.data, run.id, job_id, attempt).log;
        return job_detail(&plan, j, &machine, &events, &attempts, &logs, out);
    }
    writeln!(
        out,
        "run {}: {} for {} · {} · {} events",
        run.id,
        run.cycle,
        run.business_date,
        run.status,
        events.len()
    )?;
    write_deadlines(&plan, &projections, out)?;
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
        let (state, attempt, since) = describe(machine.status(j));
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
    if let Some(test) = impact {
        write_impact(&plan, &test, &attempts, speed_of(&run.options), out)?;
    }
    Ok(())
}

/// The impact test that cleared the run at its start (`warden run` keeps its id).
fn cleared_by(options: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(options)
        .ok()?
        .get("impact_test")?
        .as_i64()
}

/// The run's clock speed (1: the real clock).
fn speed_of(options: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(options)
        .ok()
        .and_then(|o| o.get("speed")?.as_f64())
        .unwrap_or(1.0)
}

/// After go-live: the test's projection of each adjudication stage against the run's.
fn write_impact(
    plan: &warden_core::plan::Plan,
    test: &warden_store::ImpactTestRecord,
    attempts: &[warden_store::AttemptRecord],
    speed: f64,
    out: &mut dyn Write,
) -> CliResult {
    let report = match super::impact::review::report_of(test) {
        Ok(r) => r,
        Err(message) => {
            writeln!(out, "batch impact test #{}: {message}", test.id)?;
            return Ok(());
        }
    };
    let rows = super::impact::golive::compare(plan, &report, attempts, speed);
    writeln!(
        out,
        "batch impact test #{} ({}) cleared this run: projected against actual (real seconds)",
        test.id, test.verdict
    )?;
    if rows.is_empty() {
        writeln!(
            out,
            "  nothing to compare: the test measured no claims, or the cycle has no adjudication jobs"
        )?;
    }
    for r in &rows {
        writeln!(
            out,
            "  {:<28} projected {:>9.3} s  actual {:>11}  {}",
            r.stages.join(" + "),
            r.projected_s,
            r.actual_s
                .map_or("not yet".to_string(), |a| format!("{a:.3} s")),
            r.error()
                .map_or(String::new(), |e| format!("{:+.1}%", 100.0 * e))
        )?;
    }
    Ok(())
}

/// Each deadline's latest projection: margin, P(miss), escalation level.
fn write_deadlines(
    plan: &warden_core::plan::Plan,
    projections: &[warden_store::ProjectionRow],
    out: &mut dyn Write,
) -> CliResult {
    let Some(last_at) = projections.iter().map(|p| p.at).max() else {
        return Ok(());
    };
    let tz = plan.timezone;
    let local =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%m-%d %H:%M").to_string();
    writeln!(out, "deadlines, as projected at {} {}:", local(last_at), tz)?;
    for d in &plan.deadlines {
        let Some(p) = projections.iter().rev().find(|p| p.deadline_id == d.id) else {
            continue;
        };
        // To the minute: seconds are noise from volume scaling and the accelerated clock.
        let margin = chrono::TimeDelta::minutes((p.margin_seconds as f64 / 60.0).round() as i64);
        writeln!(
            out,
            "  {:<16} at {}  {} {}  margin {:>9}  P(miss) {:>4}  {}",
            d.id,
            local(p.deadline_at),
            if p.settled { "finished" } else { "projected" },
            local(p.finish),
            super::plan_table::signed(margin),
            p.p_miss
                .map_or("-".to_string(), |x| format!("{:.0}%", x * 100.0)),
            p.level.replace('_', " ")
        )?;
    }
    Ok(())
}

/// One job: its state, every attempt as it ran (with the end of its log), and the events
/// that concern it. `log_of(job, attempt)` is where an attempt's log is under `--data`.
fn job_detail(
    plan: &warden_core::plan::Plan,
    j: usize,
    machine: &Machine,
    events: &[warden_store::StoredEvent],
    attempts: &[warden_store::AttemptRecord],
    log_of: &dyn Fn(&str, i64) -> PathBuf,
    out: &mut dyn Write,
) -> CliResult {
    let tz = plan.timezone;
    let when = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%m-%d %H:%M:%S %Z").to_string()
    };
    let (state, attempt, since) = describe(machine.status(j));
    writeln!(
        out,
        "{} · {state}{}{}{}",
        plan.jobs[j].id,
        attempt
            .map(|a| format!(" (attempt {a})"))
            .unwrap_or_default(),
        since
            .map(|t| format!(" since {}", when(t)))
            .unwrap_or_default(),
        if machine.is_held(j) { " · held" } else { "" }
    )?;
    writeln!(out, "Attempts")?;
    let mine: Vec<_> = attempts.iter().filter(|a| a.job_idx == j as i64).collect();
    if mine.is_empty() {
        writeln!(out, "  none yet")?;
    }
    for a in mine {
        writeln!(
            out,
            "  #{} {} → {}  {}{}  worker {}{}",
            a.attempt,
            when(a.started_at),
            a.finished_at.map(when).unwrap_or_else(|| "running".into()),
            a.outcome.as_deref().unwrap_or("-"),
            a.exit_code
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default(),
            a.worker,
            a.pgid
                .map(|g| format!(", process group {g}"))
                .unwrap_or_default(),
        )?;
        // A shell job records its log's path; a built-in runs inside its worker and
        // records none, but may write the same file (what it simulated, what it did).
        let log = a
            .log_path
            .as_ref()
            .map_or_else(|| log_of(&plan.jobs[j].id, a.attempt), PathBuf::from);
        write_log(&log, out)?;
    }
    writeln!(out, "Audit")?;
    for e in events.iter().filter(|e| e.job_idx == Some(j as i64)) {
        writeln!(
            out,
            "  {}  {:<9} {}{}  by {}{}",
            when(e.at),
            e.kind,
            e.attempt.map(|a| format!("#{a} ")).unwrap_or_default(),
            match &e.event {
                Some(warden_core::sched::Event::Finished { outcome, .. }) => format!("{outcome:?}"),
                Some(warden_core::sched::Event::Operator { command, .. }) => format!("{command:?}"),
                _ => String::new(),
            },
            e.actor,
            e.reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// Lines of an attempt's log shown by `status --job`; the whole file is named above them.
const LOG_LINES: usize = 20;

/// An attempt's log: its path and its last [`LOG_LINES`] lines, or that there is none.
fn write_log(path: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => {
            // DATA/runs/RUN/logs/JOB.N.log: if the run's directory is there, the job wrote
            // no log (a simulated `sleep`); if not, --data is not the run's.
            let run_dir = path.parent().and_then(Path::parent);
            let why = if run_dir.is_some_and(Path::is_dir) {
                "none: the job wrote no output"
            } else {
                "not found: is --data the run's data directory?"
            };
            writeln!(out, "     log {} ({why})", path.display())?;
            return Ok(());
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let shown = &lines[lines.len().saturating_sub(LOG_LINES)..];
    if shown.len() < lines.len() {
        writeln!(
            out,
            "     log {} (its last {} of {} lines):",
            path.display(),
            shown.len(),
            lines.len()
        )?;
    } else {
        writeln!(out, "     log {}:", path.display())?;
    }
    for line in shown {
        writeln!(out, "       | {line}")?;
    }
    Ok(())
}

/// A job's state in words, its attempt, and since when.
fn describe(
    status: JobStatus,
) -> (
    &'static str,
    Option<u32>,
    Option<chrono::DateTime<chrono::Utc>>,
) {
    match status {
        JobStatus::Waiting => ("waiting", None, None),
        JobStatus::Ready => ("ready", None, None),
        JobStatus::Dispatched { attempt, at } => ("queued", Some(attempt), Some(at)),
        JobStatus::Running { attempt, since } => ("running", Some(attempt), Some(since)),
        JobStatus::RetryWait { attempt, until } => ("retry-wait", Some(attempt), Some(until)),
        JobStatus::Succeeded { attempt, at } => ("succeeded", Some(attempt), Some(at)),
        JobStatus::Failed { attempt, at } => ("failed", Some(attempt), Some(at)),
        JobStatus::Skipped { at } => ("skipped", None, Some(at)),
    }
}
