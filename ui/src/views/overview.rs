//! The cycles overview: each run's summary and its deadline cards (margin, P(miss), state,
//! why, history), also the header of every run page; which deadlines are at risk; and the
//! title's alarm, so a background tab says which deadline is in trouble.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use warden_core::sched::JobStatus;

use super::why;
use crate::charts;
use crate::format::{local, signed};
use crate::snapshot::RunSnapshot;
use crate::state::AllRuns;

/// A deadline as the overview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineCard {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub at: String,
    pub at_utc: DateTime<Utc>,
    pub finish: String,
    pub finish_utc: DateTime<Utc>,
    pub margin_seconds: i64,
    pub margin: String,
    /// ok | warning | escalated | breach_projected | breached | met
    pub state: String,
    pub state_label: String,
    pub p_miss: Option<f64>,
    pub p_miss_text: String,
    pub settled: bool,
    /// Where the figure comes from: the watcher's last stored projection, or this page's own.
    pub source: String,
    pub penalty: Option<String>,
    /// "Regulatory deadline", "Window", "Business deadline".
    pub kind_label: String,
    /// For ordering: breached 5, breach projected 4, escalated 3, warning 2, ok 1, met 0.
    pub severity: u8,
    /// The watcher's 50th and 90th percentile finishes (empty before it drew any).
    pub p50: String,
    pub p90: String,
    /// The job to look at first, in one sentence (empty when the deadline's work is done).
    pub why: String,
    pub why_job: Option<String>,
    /// The chain's step furthest over its estimate, when not the job to look at first.
    pub why_cause: String,
    /// The margin over the night (SVG; empty before two projections).
    pub sparkline_svg: String,
    /// The same history, larger, for the cycle page (empty before two projections).
    pub history_svg: String,
    /// The history's range in words: lowest and highest margin, first and last projection.
    pub history_range: String,
    pub margin_history: Vec<MarginPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MarginPoint {
    pub at: DateTime<Utc>,
    pub margin_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub mode: String,
    pub status: String,
    pub timezone: String,
    pub as_of: String,
    pub as_of_utc: DateTime<Utc>,
    pub jobs_total: usize,
    pub jobs_done: usize,
    pub jobs_running: usize,
    pub jobs_failed: usize,
    pub deadlines: Vec<DeadlineCard>,
    pub plan_warning: Option<String>,
}

/// The deadlines of a run: the watcher's latest decision where it made one (margin, P(miss),
/// ladder level), else the snapshot's own projection.
pub fn deadline_cards(s: &RunSnapshot) -> Vec<DeadlineCard> {
    let tz = s.plan.timezone;
    let whys = why::whys(s, &[], false);
    let mut cards: Vec<DeadlineCard> = s
        .plan
        .deadlines
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let history: Vec<MarginPoint> = s
                .projections
                .iter()
                .filter(|p| p.deadline_id == d.id)
                .map(|p| MarginPoint {
                    at: p.at,
                    margin_seconds: p.margin_seconds,
                })
                .collect();
            let own = s.projection.margins.iter().find(|m| m.deadline == i);
            let latest = s.latest(&d.id);
            let percentile = |t: Option<DateTime<Utc>>| t.map_or(String::new(), |t| local(tz, t));
            let (finish, margin, p_miss, state, settled, source) = match latest {
                Some(p) => (
                    p.finish,
                    TimeDelta::seconds(p.margin_seconds),
                    p.p_miss,
                    p.level.clone(),
                    p.settled,
                    "watcher".to_string(),
                ),
                None => {
                    let (finish, margin) =
                        own.map_or((d.at, TimeDelta::zero()), |m| (m.finish, m.margin));
                    let state = if margin < TimeDelta::zero() {
                        "breach_projected"
                    } else {
                        "ok"
                    };
                    (
                        finish,
                        margin,
                        None,
                        state.to_string(),
                        false,
                        "page".to_string(),
                    )
                }
            };
            // A settled deadline is met or breached, whatever the ladder's last level.
            let state = match (settled, margin < TimeDelta::zero()) {
                (true, true) => "breached".to_string(),
                (true, false) => "met".to_string(),
                (false, _) => state,
            };
            let points: Vec<(DateTime<Utc>, i64)> =
                history.iter().map(|p| (p.at, p.margin_seconds)).collect();
            let rank = severity(&state);
            // A card says why only for a deadline at risk.
            let quiet = settled || (rank < 2 && margin >= TimeDelta::zero());
            DeadlineCard {
                id: d.id.clone(),
                name: d.name.clone().unwrap_or_else(|| d.id.clone()),
                kind: format!("{:?}", d.kind).to_lowercase(),
                at: local(tz, d.at),
                at_utc: d.at,
                finish: local(tz, finish),
                finish_utc: finish,
                margin_seconds: margin.num_seconds(),
                margin: signed(margin),
                state_label: state.replace('_', " "),
                severity: rank,
                state,
                p_miss,
                p_miss_text: p_miss.map_or("–".into(), |p| format!("{:.0}%", p * 100.0)),
                settled,
                source,
                penalty: d.penalty.clone(),
                kind_label: match d.kind {
                    warden_core::workflow::DeadlineKind::Regulatory => "Regulatory deadline",
                    warden_core::workflow::DeadlineKind::Window => "Window",
                    warden_core::workflow::DeadlineKind::Business => "Business deadline",
                }
                .to_string(),
                p50: percentile(latest.and_then(|p| p.p50_finish)),
                p90: percentile(latest.and_then(|p| p.p90_finish)),
                why: if quiet {
                    String::new()
                } else {
                    whys.get(i).map(|w| w.headline.clone()).unwrap_or_default()
                },
                why_cause: if quiet {
                    String::new()
                } else {
                    whys.get(i).map(|w| w.cause.clone()).unwrap_or_default()
                },
                why_job: if settled {
                    None
                } else {
                    whys.get(i).and_then(|w| w.first_job.clone())
                },
                sparkline_svg: charts::sparkline(&points, 160, 36),
                history_svg: charts::margin_chart(&points, tz, 520, 150),
                history_range: match (points.first(), points.last()) {
                    (Some(first), Some(last)) if points.len() > 1 => {
                        let lo = points.iter().map(|p| p.1).min().unwrap_or(0);
                        let hi = points.iter().map(|p| p.1).max().unwrap_or(0);
                        format!(
                            "{} projections, {} to {}; margin between {} and {}",
                            points.len(),
                            local(tz, first.0),
                            local(tz, last.0),
                            signed(TimeDelta::seconds(lo)),
                            signed(TimeDelta::seconds(hi))
                        )
                    }
                    _ => "not projected yet".to_string(),
                },
                margin_history: history,
            }
        })
        .collect();
    // The most severe first; among equals, the least margin.
    cards.sort_by_key(|c| (std::cmp::Reverse(c.severity), c.margin_seconds));
    cards
}

/// The worst deadline of `cards` for a tab's title ("BREACH PROJECTED Day 1 window
/// -2h11m"), when one is at warning or worse.
pub fn alarm<'a>(cards: impl IntoIterator<Item = &'a DeadlineCard>) -> Option<String> {
    let c = cards
        .into_iter()
        .max_by_key(|c| (c.severity, std::cmp::Reverse(c.margin_seconds)))?;
    (c.severity >= 2).then(|| format!("{} {} {}", c.state_label.to_uppercase(), c.name, c.margin))
}

/// A page title with the alarm in front, so a background tab says what is wrong.
pub fn titled(alarm: Option<String>, title: String) -> String {
    match alarm {
        Some(a) => format!("{a} · {title}"),
        None => title,
    }
}

/// A deadline state's rank, most severe highest.
pub fn severity(state: &str) -> u8 {
    match state {
        "breached" => 5,
        "breach_projected" => 4,
        "escalated" => 3,
        "warning" => 2,
        "met" => 0,
        _ => 1,
    }
}

pub fn run_summary(s: &RunSnapshot) -> RunSummary {
    let statuses = s.machine.statuses();
    let count = |f: fn(&JobStatus) -> bool| statuses.iter().filter(|x| f(x)).count();
    RunSummary {
        id: s.run.id,
        cycle: s.run.cycle.clone(),
        business_date: s.run.business_date.clone(),
        mode: s.run.mode.clone(),
        status: s.run.status.clone(),
        timezone: s.plan.timezone.name().to_string(),
        as_of: local(s.plan.timezone, s.now),
        as_of_utc: s.now,
        jobs_total: statuses.len(),
        jobs_done: count(|x| matches!(x, JobStatus::Succeeded { .. } | JobStatus::Skipped { .. })),
        jobs_running: count(|x| {
            matches!(x, JobStatus::Running { .. } | JobStatus::Dispatched { .. })
        }),
        jobs_failed: count(|x| matches!(x, JobStatus::Failed { .. })),
        deadlines: deadline_cards(s),
        plan_warning: s.plan_warning.clone(),
    }
}

/// Whether each deadline of the run is at risk: below zero margin, or its ladder above ok.
pub fn at_risk(cards: &[DeadlineCard], s: &RunSnapshot) -> Vec<bool> {
    s.plan
        .deadlines
        .iter()
        .map(|d| {
            cards.iter().any(|c| {
                c.id == d.id
                    && !c.settled
                    && (c.margin_seconds < 0 || !matches!(c.state.as_str(), "ok" | "met"))
            })
        })
        .collect()
}

/// A run that cannot be shown (no workflow for it): listed with why.
#[derive(Debug, Serialize)]
pub struct Unshowable {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub status: String,
    pub problem: String,
}

/// The overview page: every run the server can show, and those it cannot with why.
#[derive(Debug, Serialize)]
pub struct Overview {
    pub runs: Vec<RunSummary>,
    pub unshowable: Vec<Unshowable>,
}

pub fn overview_view(all: AllRuns) -> Overview {
    Overview {
        runs: all.shown.iter().map(run_summary).collect(),
        unshowable: all
            .unshowable
            .into_iter()
            .map(|(run, problem)| Unshowable {
                id: run.id,
                cycle: run.cycle,
                business_date: run.business_date,
                status: run.status,
                problem,
            })
            .collect(),
    }
}
