//! What-if scenario files: a night as it really went (how long jobs actually took, the
//! contention that held streams back), looked at several times, each look adding moves.
//!
//! ```yaml
//! scenario: February 2025 month-end crisis
//! date: 2025-02
//! mode: serial
//! volumes: { A: +12M }
//! reports_progress: [ADJUD-PHASE1, RX-ADJUD]   # jobs (or templates) that report claims done
//! actual:                                      # what really happened (job or template)
//!   CLAIM-EXTRACT.A: 118m                      # took this long
//!   ADJUD-PHASE1.A: { finish: "d1 +1d 03:10" } # or ended then
//! waits:                                       # dependencies the night imposed
//!   - { jobs: [CLAIM-EXTRACT.B], behind: ADJUD-PHASE1.A, why: DB2 lock escalation }
//! looks:
//!   - { name: "01:45", at: "d1 +1d 01:45" }
//!   - { name: Move 1, at: "d1 +1d 02:30", actual: { ... } }
//!   - { name: Move 2, clear_waits: true }      # `at` defaults to the previous look's
//!   - { name: Move 3, mode: pipelined }
//! ```
//!
//! Each look inherits everything before it. Its live state is synthesised by running the
//! cycle from its start to `at` with the actual durations (estimates for jobs the scenario
//! does not mention), and the projection from there uses the estimates: Warden at that
//! moment knows what has happened and what jobs report of their progress, not the future.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use serde::Deserialize;
use warden_core::plan::{Plan, VolumeChange};
use warden_core::workflow::raw::Scalar;
use warden_core::workflow::{Mode, values};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub scenario: String,
    #[serde(default)]
    pub description: Option<String>,
    pub date: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub volumes: BTreeMap<String, String>,
    #[serde(default)]
    pub reports_progress: Vec<String>,
    #[serde(default)]
    pub actual: BTreeMap<String, RawActual>,
    #[serde(default)]
    pub waits: Vec<RawWait>,
    pub looks: Vec<RawLook>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawActual {
    Took(String),
    Finished { finish: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWait {
    pub jobs: Vec<String>,
    pub behind: String,
    #[serde(default)]
    pub why: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLook {
    pub name: String,
    #[serde(default)]
    pub at: Option<String>,
    #[serde(default)]
    pub actual: BTreeMap<String, RawActual>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub clear_waits: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// A job's actual run: a duration, or the instant it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Actual {
    Took(TimeDelta),
    Finished(DateTime<Utc>),
}

/// One look, resolved against a plan of its mode.
#[derive(Debug, Clone)]
pub struct ResolvedLook {
    pub name: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
    /// Per job: the actual run, if the scenario says.
    pub actual: Vec<Option<Actual>>,
    /// (job, waits behind) pairs in force.
    pub waits: Vec<(usize, usize)>,
    /// The waits in force, in words.
    pub waits_text: Vec<String>,
    pub reports_progress: Vec<bool>,
}

pub fn parse(text: &str) -> Result<RawScenario, String> {
    serde_saphyr::from_str(text)
        .map_err(|e| e.to_string().trim_start_matches("error: ").to_string())
}

pub fn parse_mode(text: &str) -> Result<Mode, String> {
    match text {
        "pipelined" => Ok(Mode::Pipelined),
        "serial" => Ok(Mode::Serial),
        other => Err(format!(
            "`{other}` is not a mode: write `pipelined` or `serial`"
        )),
    }
}

pub fn volumes(raw: &RawScenario) -> Result<Vec<(String, VolumeChange)>, String> {
    raw.volumes
        .iter()
        .map(|(stream, amount)| {
            super::super::cycle_args::parse_volume(&format!("{stream}={amount}"))
                .map_err(|e| format!("volumes: {e}"))
        })
        .collect()
}

/// The jobs a name means: the job with that id, or every instance of that template.
pub fn jobs_named(plan: &Plan, name: &str) -> Result<Vec<usize>, String> {
    if let Some(j) = plan.job_index(name) {
        return Ok(vec![j]);
    }
    let of_template: Vec<usize> = (0..plan.jobs.len())
        .filter(|j| plan.jobs[*j].template == name)
        .collect();
    if of_template.is_empty() {
        let closest = plan
            .jobs
            .iter()
            .map(|j| j.id.as_str())
            .min_by_key(|id| strsim::levenshtein(id, name));
        let hint = closest.map_or(String::new(), |c| format!(" (did you mean `{c}`?)"));
        Err(format!(
            "`{name}` is not a job or template of `{}`{hint}",
            plan.cycle
        ))
    } else {
        Ok(of_template)
    }
}

/// `DAY [+Nd] HH:MM` (e.g. `d1 +1d 01:45`): a local time on a night's date, in the cycle's
/// zone.
pub fn instant(plan: &Plan, text: &str) -> Result<DateTime<Utc>, String> {
    let usage = || {
        format!(
            "`{text}` is not a time: write `DAY HH:MM` or `DAY +1d HH:MM` (e.g. `d1 +1d 01:45`)"
        )
    };
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (day, plus, time) = match parts.as_slice() {
        [day, time] => (*day, 0, *time),
        [day, plus, time] => {
            let n = plus
                .strip_prefix('+')
                .and_then(|p| p.strip_suffix('d'))
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(usage)?;
            (*day, n, *time)
        }
        _ => return Err(usage()),
    };
    let night = plan
        .nights
        .iter()
        .find(|n| n.day_id == day)
        .ok_or_else(|| format!("`{day}` is not a day of `{}`", plan.cycle))?;
    let time = NaiveTime::parse_from_str(time, "%H:%M").map_err(|_| usage())?;
    let local = (night.date + TimeDelta::days(plus)).and_time(time);
    plan.timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "`{text}` does not exist in {} (a daylight-saving gap)",
                plan.timezone
            )
        })
}

fn actual(plan: &Plan, raw: &RawActual) -> Result<Actual, String> {
    match raw {
        RawActual::Took(d) => values::duration(&Scalar::Text(d.clone())).map(Actual::Took),
        RawActual::Finished { finish } => instant(plan, finish).map(Actual::Finished),
    }
}

/// Resolves look `index` (with everything before it) against `plan`, which must be the
/// plan of that look's mode.
pub fn resolve_look(raw: &RawScenario, index: usize, plan: &Plan) -> Result<ResolvedLook, String> {
    let n = plan.jobs.len();
    let mut actuals: Vec<Option<Actual>> = vec![None; n];
    let mut apply = |map: &BTreeMap<String, RawActual>, where_: &str| -> Result<(), String> {
        for (name, a) in map {
            let a = actual(plan, a).map_err(|e| format!("{where_}actual.{name}: {e}"))?;
            for j in jobs_named(plan, name).map_err(|e| format!("{where_}actual: {e}"))? {
                actuals[j] = Some(a);
            }
        }
        Ok(())
    };
    apply(&raw.actual, "")?;
    let mut waits = Vec::new();
    let mut waits_text = Vec::new();
    for (i, w) in raw.waits.iter().enumerate() {
        waits_text.push(format!(
            "{} wait behind {}{}",
            w.jobs.join(", "),
            w.behind,
            w.why
                .as_deref()
                .map_or(String::new(), |why| format!(" ({why})"))
        ));
        let behind = jobs_named(plan, &w.behind).map_err(|e| format!("waits[{i}].behind: {e}"))?;
        for name in &w.jobs {
            for j in jobs_named(plan, name).map_err(|e| format!("waits[{i}].jobs: {e}"))? {
                waits.extend(behind.iter().map(|b| (j, *b)));
            }
        }
    }
    let mut at = None;
    for (i, look) in raw.looks.iter().enumerate().take(index + 1) {
        let where_ = format!("looks[{i}] ({}): ", look.name);
        apply(&look.actual, &where_)?;
        if let Some(t) = &look.at {
            at = Some(instant(plan, t).map_err(|e| format!("{where_}at: {e}"))?);
        }
        if look.clear_waits {
            waits.clear();
            waits_text.clear();
        }
    }
    let look = &raw.looks[index];
    let at = at.ok_or_else(|| {
        format!(
            "looks[0] ({}): give `at`, the time of the first look",
            raw.looks[0].name
        )
    })?;
    let mut reports_progress = vec![false; n];
    for name in &raw.reports_progress {
        for j in jobs_named(plan, name).map_err(|e| format!("reports_progress: {e}"))? {
            reports_progress[j] = true;
        }
    }
    Ok(ResolvedLook {
        name: look.name.clone(),
        note: look.note.clone(),
        at,
        actual: actuals,
        waits,
        waits_text,
        reports_progress,
    })
}

/// The mode a look runs in (to build its plan before resolving it).
pub fn look_mode(raw: &RawScenario, index: usize, default: Mode) -> Result<Mode, String> {
    let mut mode = match &raw.mode {
        Some(m) => parse_mode(m).map_err(|e| format!("mode: {e}"))?,
        None => default,
    };
    for look in raw.looks.iter().take(index + 1) {
        if let Some(m) = &look.mode {
            mode = parse_mode(m).map_err(|e| format!("looks ({}): mode: {e}", look.name))?;
        }
    }
    Ok(mode)
}
