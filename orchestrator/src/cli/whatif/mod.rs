//! `warden whatif`: margins, critical path and P(miss) before and after a change.
//!
//! Two forms:
//! - edits (`--delay JOB=+90m`, `--volume A=+12M`, `--mode serial`) against the plan, or
//!   against a stored run's live state (`--state-of RUN`): prints before and after;
//! - a scenario file (`--scenario`): a night as it really went, looked at several times,
//!   each look adding recovery moves (see [`scenario`]); prints every look.
//!
//! Both are projections: the same scheduling core run forward from a state, so they honour
//! dependencies, resources, windows, not-before times and pipelining as a run does.

mod report;
pub(super) mod scenario;

use std::io::Write;

use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, ValueEnum};
use warden_core::plan::{DateSpec, Plan, PlanOptions, VolumeChange};
use warden_core::sched::{Machine, Timeline, simulate_until};
use warden_core::workflow::{Mode, Workflow, values};
use warden_deadlines::{Estimates, HistorySample, JobProgress, LiveRun, breach_risk, project};
use warden_store::redact_url;

use super::cycle_args::invalid_workflow;
use super::cycle_args::{ModeArg, parse_volume};
use super::open_run::{open_existing_store, store_failed};
use super::{CliError, CliResult, runtime};
use crate::engine::driver::replay;
use crate::load::load_workflow;
use report::{Look, write_json, write_table};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct WhatifArgs {
    /// The workflow file.
    pub file: String,
    /// Business date (YYYY-MM or YYYY-MM-DD); a scenario may give its own.
    #[arg(long, value_parser = |s: &str| s.parse::<DateSpec>())]
    pub date: Option<DateSpec>,
    /// A job (or every instance of a template) takes this much longer: `ADJUD-PHASE1.A=+90m`
    /// (repeatable).
    #[arg(long = "delay", value_name = "JOB=+DURATION", value_parser = parse_delay)]
    pub delays: Vec<(String, TimeDelta)>,
    /// Change a stream's volume: `A=34M` sets it, `A=+12M` adds to it (repeatable).
    #[arg(long = "volume", value_name = "STREAM=N", value_parser = parse_volume)]
    pub volumes: Vec<(String, VolumeChange)>,
    /// Run the other mode.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Start from this stored run's live state (its id, as `warden status` shows it).
    #[arg(long = "state-of", value_name = "RUN", value_parser = super::limits::signed(1, i64::MAX))]
    pub state_of: Option<i64>,
    /// The store holding `--state-of`'s run: a SQLite file, or a postgres:// URL.
    #[arg(long, default_value = "warden.db", env = "WARDEN_DB")]
    pub db: String,
    /// A scenario file (e.g. workflows/scenarios/february-2025.yaml).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Monte Carlo samples for P(miss), 1 to 100,000 (each is a projection of the whole
    /// cycle; 100,000 takes minutes).
    #[arg(long, default_value_t = warden_deadlines::DEFAULT_SAMPLES, value_parser = super::limits::count(super::limits::MAX_SAMPLES))]
    pub samples: usize,
    /// Seed of the Monte Carlo draws: the same seed gives the same P(miss).
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// 12000000 → `12M`, 500000 → `500K`.
fn claims(n: i64) -> String {
    if n != 0 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n != 0 && n % 1_000 == 0 {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}

/// `JOB=+90m` (a delay may also be negative: `JOB=-10m`).
fn parse_delay(s: &str) -> Result<(String, TimeDelta), String> {
    let (job, amount) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not JOB=+DURATION (e.g. `ADJUD-PHASE1.A=+90m`)"))?;
    let text = |t: &str| warden_core::workflow::raw::Scalar::Text(t.to_string());
    let delta = if let Some(rest) = amount.strip_prefix('-') {
        -values::duration(&text(rest))?
    } else {
        values::duration(&text(amount.strip_prefix('+').unwrap_or(amount)))?
    };
    Ok((job.trim().to_string(), delta))
}

pub fn run(args: &WhatifArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = load_workflow(&args.file).map_err(CliError::usage)?;
    let Some(workflow) = loaded.compilation.workflow else {
        return Err(invalid_workflow(
            err,
            &args.file,
            &loaded.sources,
            &loaded.compilation.diagnostics,
        ));
    };
    let looks = match &args.scenario {
        Some(path) => scenario_looks(&workflow, args, path),
        None => edit_looks(&workflow, args),
    };
    let (title, looks) = looks?;
    match args.format {
        Format::Table => write_table(out, &title, &looks)?,
        Format::Json => write_json(out, &title, &looks)?,
    }
    Ok(())
}

fn instantiate(workflow: &Workflow, date: DateSpec, options: &PlanOptions) -> CliResult<Plan> {
    workflow
        .instantiate(date, options)
        .map_err(|e| CliError::usage(e.to_string()))
}

/// Projects `plan` from a state and draws its breach risk.
#[allow(clippy::too_many_arguments)]
fn look(
    name: String,
    note: Option<String>,
    waits: Vec<String>,
    plan: Plan,
    machine: &Machine,
    timeline: &Timeline,
    now: DateTime<Utc>,
    progress: &[Option<JobProgress>],
    estimates: &Estimates,
    args: &WhatifArgs,
) -> Look {
    let live = LiveRun {
        machine,
        timeline,
        now,
        progress,
    };
    let projection = project(&plan, &live, estimates);
    let risk = breach_risk(&plan, &live, estimates, args.samples, args.seed);
    Look {
        name,
        note,
        waits,
        at: now,
        projection,
        risk,
        plan,
    }
}

/// Before and after the edits on the command line.
fn edit_looks(workflow: &Workflow, args: &WhatifArgs) -> CliResult<(String, Vec<Look>)> {
    let date = args
        .date
        .ok_or_else(|| CliError::usage("give --date (or a --scenario that names its date)"))?;
    if args.state_of.is_some() && args.mode.is_some() {
        return Err(CliError::usage(
            "--mode cannot be combined with --state-of: a run's past cannot be replayed under \
             another mode; write a scenario (--scenario) for that question",
        ));
    }
    let before_plan = instantiate(workflow, date, &PlanOptions::default())?;
    let after_options = PlanOptions {
        mode: args.mode.map(Mode::from),
        volumes: args.volumes.clone(),
    };
    let after_plan = instantiate(workflow, date, &after_options)?;
    let mut delays = Vec::new();
    for (name, delta) in &args.delays {
        for j in scenario::jobs_named(&after_plan, name)
            .map_err(|e| CliError::usage(format!("--delay {e}")))?
        {
            delays.push((j, *delta));
        }
    }
    let mut edits: Vec<String> = args
        .delays
        .iter()
        .map(|(j, d)| format!("{j} {}", super::plan_table::signed(*d)))
        .collect();
    edits.extend(args.volumes.iter().map(|(s, v)| match v {
        VolumeChange::Set(n) => format!("{s}={}", claims(*n as i64)),
        VolumeChange::Add(n) if *n >= 0 => format!("{s} +{}", claims(*n)),
        VolumeChange::Add(n) => format!("{s} -{}", claims(-*n)),
    }));
    if let Some(m) = args.mode {
        edits.push(format!("mode {}", Mode::from(m).as_str()));
    }
    let what = if edits.is_empty() {
        "no change".to_string()
    } else {
        edits.join(", ")
    };

    let (state, history) = match args.state_of {
        Some(run_id) => live_state(args, &before_plan, run_id)?,
        None => (None, Vec::new()),
    };
    let before_estimates = Estimates::from_history(&before_plan, &history);
    let mut after_estimates = Estimates::from_history(&after_plan, &history);
    for (j, delta) in &delays {
        after_estimates.add(*j, *delta);
    }
    let title;
    let looks = match state {
        Some(s) => {
            title = format!(
                "What if {what}? {} {} (run {}), from its state at {}",
                before_plan.cycle,
                before_plan.date,
                s.run_id,
                super::plan_table::when(s.now, before_plan.timezone)
            );
            let (after_machine, after_timeline) = replay(&after_plan, &s.events);
            vec![
                look(
                    "before".into(),
                    None,
                    Vec::new(),
                    before_plan,
                    &s.machine,
                    &s.timeline,
                    s.now,
                    &s.progress,
                    &before_estimates,
                    args,
                ),
                look(
                    format!("after: {what}"),
                    None,
                    Vec::new(),
                    after_plan,
                    &after_machine,
                    &after_timeline,
                    s.now,
                    &s.progress,
                    &after_estimates,
                    args,
                ),
            ]
        }
        None => {
            title = format!(
                "What if {what}? {} {}, from the plan",
                before_plan.cycle, before_plan.date
            );
            let (bm, bt) = (Machine::new(&before_plan), Timeline::new(&before_plan));
            let (am, at) = (Machine::new(&after_plan), Timeline::new(&after_plan));
            let (bs, as_) = (before_plan.start, after_plan.start);
            vec![
                look(
                    "before".into(),
                    None,
                    Vec::new(),
                    before_plan,
                    &bm,
                    &bt,
                    bs,
                    &[],
                    &before_estimates,
                    args,
                ),
                look(
                    format!("after: {what}"),
                    None,
                    Vec::new(),
                    after_plan,
                    &am,
                    &at,
                    as_,
                    &[],
                    &after_estimates,
                    args,
                ),
            ]
        }
    };
    Ok((title, looks))
}

struct State {
    run_id: i64,
    events: Vec<warden_store::StoredEvent>,
    machine: Machine,
    timeline: Timeline,
    now: DateTime<Utc>,
    progress: Vec<Option<JobProgress>>,
}

/// A stored run's live state (at its last logged step) and its cycle's history.
fn live_state(
    args: &WhatifArgs,
    plan: &Plan,
    run_id: i64,
) -> CliResult<(Option<State>, Vec<HistorySample>)> {
    runtime::block_on(async {
        let store_err = store_failed(&args.db);
        let store = open_existing_store(&args.db).await.map_err(store_err)?;
        let events = store.load_events(run_id).await.map_err(store_err)?;
        let Some(last) = events.last() else {
            return Err(CliError::usage(format!(
                "run {run_id} has no events in {} (is it the right store and run?)",
                redact_url(&args.db)
            )));
        };
        let now = last.at;
        let (machine, timeline) = replay(plan, &events);
        let mut progress = vec![None; plan.jobs.len()];
        for row in store.load_progress(run_id).await.map_err(store_err)? {
            if let Some(p) = usize::try_from(row.job_idx)
                .ok()
                .and_then(|j| progress.get_mut(j))
            {
                *p = Some(JobProgress {
                    done: u64::try_from(row.done).unwrap_or(0),
                    total: u64::try_from(row.total).unwrap_or(0),
                });
            }
        }
        let history = crate::engine::watch::history_samples(
            store.load_history(&plan.cycle).await.map_err(store_err)?,
        );
        Ok((
            Some(State {
                run_id,
                events,
                machine,
                timeline,
                now,
                progress,
            }),
            history,
        ))
    })?
}

/// Every look of a scenario file.
fn scenario_looks(
    workflow: &Workflow,
    args: &WhatifArgs,
    path: &str,
) -> CliResult<(String, Vec<Look>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read `{path}`: {e}")))?;
    let raw = scenario::parse(&text).map_err(|e| CliError::usage(format!("{path}: {e}")))?;
    let date: DateSpec = match args.date {
        Some(d) => d,
        None => raw
            .date
            .parse()
            .map_err(|e| CliError::usage(format!("{path}: date: {e}")))?,
    };
    if raw.looks.is_empty() {
        return Err(CliError::usage(format!(
            "{path}: `looks` is empty: give at least one"
        )));
    }
    let volumes = scenario::volumes(&raw).map_err(|e| CliError::usage(format!("{path}: {e}")))?;
    let mut looks = Vec::new();
    for i in 0..raw.looks.len() {
        let mode = scenario::look_mode(&raw, i, workflow.mode)
            .map_err(|e| CliError::usage(format!("{path}: {e}")))?;
        let options = PlanOptions {
            mode: Some(mode),
            volumes: volumes.clone(),
        };
        let mut plan = instantiate(workflow, date, &options)?;
        let resolved = scenario::resolve_look(&raw, i, &plan)
            .map_err(|e| CliError::usage(format!("{path}: {e}")))?;
        for &(job, behind) in &resolved.waits {
            if !plan.add_dependency(job, behind) {
                return Err(CliError::usage(format!(
                    "{path}: waits: `{}` cannot wait behind `{}`: that would close a cycle",
                    plan.jobs[job].id, plan.jobs[behind].id
                )));
            }
        }
        // What really happened until the look: the actual durations where the scenario says,
        // the estimates elsewhere.
        let actual: Vec<TimeDelta> = (0..plan.jobs.len())
            .map(|j| match resolved.actual[j] {
                Some(scenario::Actual::Took(d)) => d,
                Some(scenario::Actual::Finished(_)) | None => plan.jobs[j].duration,
            })
            .collect();
        // A job with an actual finish time ran until then from when it started: a first
        // pass finds the starts, a second runs with those durations.
        let (_, first) = simulate_until(&plan, resolved.at, |j| actual[j]);
        let actual: Vec<TimeDelta> = (0..plan.jobs.len())
            .map(|j| match (resolved.actual[j], first.dispatched(j)) {
                (Some(scenario::Actual::Finished(f)), Some(d)) => f - d.at,
                _ => actual[j],
            })
            .collect();
        let (machine, timeline) = simulate_until(&plan, resolved.at, |j| actual[j]);
        // Jobs that report progress tell the projection their real rate: claims done so far
        // over their actual run (elapsed / actual duration).
        let progress: Vec<Option<JobProgress>> = (0..plan.jobs.len())
            .map(|j| match machine.status(j) {
                warden_core::sched::JobStatus::Running { since, .. }
                    if resolved.reports_progress[j] =>
                {
                    let total = actual[j];
                    let elapsed = resolved.at - since;
                    (total > TimeDelta::zero()).then(|| JobProgress {
                        done: elapsed.num_seconds().clamp(0, total.num_seconds()) as u64,
                        total: total.num_seconds() as u64,
                    })
                }
                _ => None,
            })
            .collect();
        let estimates = Estimates::from_plan(&plan);
        looks.push(look(
            resolved.name.clone(),
            resolved.note.clone(),
            resolved.waits_text.clone(),
            plan,
            &machine,
            &timeline,
            resolved.at,
            &progress,
            &estimates,
            args,
        ));
    }
    let title = format!(
        "Scenario: {}{}",
        raw.scenario,
        raw.description
            .as_deref()
            .map_or(String::new(), |d| format!("\n{}", d.trim()))
    );
    Ok((title, looks))
}
