//! Typed view models: what every page shows, and exactly what the JSON API returns for it
//! (one struct serves both, so the API never lags the pages). Built from a
//! [`RunSnapshot`] without I/O, except where a view reads a job's log tail or checkpoint
//! (`job_view`, `partitions_view`, given the data directory). The batch impact test's
//! pages have theirs in [`impact`].

pub mod confirm;
pub mod impact;
pub mod why;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use warden_core::plan::Plan;
use warden_core::sched::{Command, JobStatus, command_fits, command_name};
use warden_deadlines::Phase;

use crate::charts;
use crate::gantt::{self, GanttFilter};
use crate::mask::Masking;
use crate::snapshot::RunSnapshot;

/// The operator commands, in the order the pages offer them.
pub const COMMANDS: [Command; 6] = [
    Command::Hold,
    Command::Release,
    Command::Rerun,
    Command::Skip,
    Command::Kill,
    Command::ForceComplete,
];

/// A job's state in one word.
pub fn state_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Waiting => "waiting",
        JobStatus::Ready => "ready",
        JobStatus::Dispatched { .. } => "queued",
        JobStatus::Running { .. } => "running",
        JobStatus::RetryWait { .. } => "retry-wait",
        JobStatus::Succeeded { .. } => "succeeded",
        JobStatus::Failed { .. } => "failed",
        JobStatus::Skipped { .. } => "skipped",
    }
}

/// `+19h38m`, `-2h05m`, `+0m`: margins to the minute.
pub fn signed(d: TimeDelta) -> String {
    let minutes = (d.num_seconds() as f64 / 60.0).round() as i64;
    let sign = if minutes < 0 { "-" } else { "+" };
    let m = minutes.abs();
    if m >= 60 {
        format!("{sign}{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{sign}{m}m")
    }
}

/// A time in the cycle's zone, with its year: `Sat 2025-03-01 06:00`.
pub fn local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string()
}

/// A time with its zone's abbreviation, for lists that mix runs: `Sat 2025-03-01 06:00 EST`.
pub fn zoned(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

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

/// A job's line in the cycle detail.
#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub id: String,
    pub template: String,
    pub day: String,
    pub stream: String,
    pub state: String,
    pub held: bool,
    /// done | running | projected
    pub phase: String,
    pub start: String,
    pub finish: String,
    pub start_utc: DateTime<Utc>,
    pub finish_utc: DateTime<Utc>,
    pub slack: String,
    pub slack_seconds: Option<i64>,
    pub critical: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainStep {
    pub job: String,
    pub finish: String,
    pub link: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DetailView {
    pub run: RunSummary,
    pub gantt: gantt::Gantt,
    pub days: Vec<Choice>,
    pub streams: Vec<Choice>,
    pub zooms: Vec<Choice>,
    /// The chain binding the whole cycle's finish.
    pub critical_path: Vec<ChainStep>,
    pub critical_path_length: usize,
    /// Per deadline (most severe first): its binding chain, the job to look at first, and
    /// for a deadline at risk the moves that fit that job with their projected effect.
    pub whys: Vec<why::Why>,
    /// The jobs table: this page of the matching jobs, in the asked order.
    pub jobs: Vec<JobRow>,
    pub jobs_table: JobsTable,
    /// Every job id (for the what-if form's list).
    pub job_ids: Vec<String>,
    pub assumptions: Vec<String>,
}

/// The jobs table's search, order and page.
#[derive(Debug, Clone, Serialize)]
pub struct JobsTable {
    pub q: String,
    pub sort: String,
    pub sorts: Vec<Choice>,
    pub matching: usize,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub first: usize,
    pub last: usize,
    /// Links to the pages before and after (empty at either end).
    pub prev: String,
    pub next: String,
}

/// Rows per page of the jobs table.
pub const JOBS_PER_PAGE: usize = 50;

fn phase_word(p: Phase) -> &'static str {
    match p {
        Phase::Done => "done",
        Phase::Running => "running",
        Phase::Projected => "projected",
    }
}

/// The critical chain's jobs (the chain that binds the cycle's finish).
pub fn critical_jobs(s: &RunSnapshot) -> Vec<usize> {
    s.projection
        .critical
        .as_ref()
        .map(|c| c.jobs.clone())
        .unwrap_or_default()
}

/// The cycle page; its jobs table holds `jobs_per_page` rows ([`JOBS_PER_PAGE`] on the page,
/// every job for the API).
pub fn detail_view(s: &RunSnapshot, filter: &GanttFilter, jobs_per_page: usize) -> DetailView {
    let plan: &Plan = &s.plan;
    let tz = plan.timezone;
    let critical = critical_jobs(s);
    let (jobs, jobs_table) = jobs_table(s, &critical, filter, jobs_per_page.max(1));
    let critical_path: Vec<ChainStep> = s
        .projection
        .critical
        .as_ref()
        .map(|c| {
            c.jobs
                .iter()
                .zip(&c.links)
                .map(|(&j, link)| ChainStep {
                    job: plan.jobs[j].id.clone(),
                    finish: local(tz, s.projection.schedule.jobs[j].finish),
                    link: match link {
                        warden_deadlines::ChainLink::Start { reason } => {
                            format!("starts at its earliest ({reason:?})").to_lowercase()
                        }
                        warden_deadlines::ChainLink::Dependency => "after the previous".into(),
                        warden_deadlines::ChainLink::Resource { resource } => format!(
                            "waits for {}",
                            plan.resources
                                .get(*resource)
                                .map_or("a resource", |r| r.id.as_str())
                        ),
                        warden_deadlines::ChainLink::Retry => "a retry".into(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let days = plan
        .nights
        .iter()
        .map(|n| Choice {
            value: n.day_id.clone(),
            selected: filter.day.as_deref() == Some(n.day_id.as_str()),
        })
        .collect();
    let streams = plan
        .streams
        .iter()
        .map(|st| Choice {
            value: st.id.clone(),
            selected: filter.stream.as_deref() == Some(st.id.as_str()),
        })
        .collect();
    let assumptions = s
        .projection
        .assumptions
        .iter()
        .map(|a| match a {
            warden_deadlines::Assumption::RerunNow { job } => {
                format!("{} failed: projected as rerun now", plan.jobs[*job].id)
            }
            warden_deadlines::Assumption::ReleasedNow { job } => {
                format!("{} is held: projected as released now", plan.jobs[*job].id)
            }
        })
        .collect();
    let run = run_summary(s);
    let risky = why::at_risk(&run.deadlines, s);
    let mut whys = why::whys(s, &risky, true);
    // In the cards' order: the most severe first.
    whys.sort_by_key(|w| {
        run.deadlines
            .iter()
            .position(|c| c.id == w.deadline)
            .unwrap_or(usize::MAX)
    });
    let zoom = filter.zoom.as_deref().unwrap_or("cycle");
    DetailView {
        gantt: gantt::render(s, &critical, filter),
        zooms: ["cycle", "night", "now"]
            .iter()
            .map(|z| Choice {
                value: z.to_string(),
                selected: *z == zoom,
            })
            .collect(),
        run,
        days,
        streams,
        critical_path_length: critical_path.len(),
        critical_path,
        whys,
        jobs,
        jobs_table,
        job_ids: plan.jobs.iter().map(|j| j.id.clone()).collect(),
        assumptions,
    }
}

/// The jobs that match the search, in the asked order, one page of them.
fn jobs_table(
    s: &RunSnapshot,
    critical: &[usize],
    filter: &GanttFilter,
    per_page: usize,
) -> (Vec<JobRow>, JobsTable) {
    let plan = &s.plan;
    let q = filter.q.as_deref().unwrap_or("").trim().to_lowercase();
    let sort = ["finish", "slack", "job", "state"]
        .into_iter()
        .find(|k| filter.sort.as_deref() == Some(*k))
        .unwrap_or("start");
    let mut rows: Vec<JobRow> = (0..plan.jobs.len())
        .filter(|&j| filter.keeps(plan, j))
        .map(|j| job_row(s, j, critical.contains(&j)))
        .filter(|r| {
            q.is_empty()
                || [&r.id, &r.template, &r.day, &r.stream, &r.state]
                    .iter()
                    .any(|f| f.to_lowercase().contains(&q))
        })
        .collect();
    match sort {
        "finish" => rows.sort_by_key(|r| (r.finish_utc, r.id.clone())),
        "slack" => rows.sort_by_key(|r| (r.slack_seconds.unwrap_or(i64::MAX), r.id.clone())),
        "job" => rows.sort_by(|a, b| a.id.cmp(&b.id)),
        "state" => rows.sort_by(|a, b| (&a.state, a.start_utc).cmp(&(&b.state, b.start_utc))),
        _ => rows.sort_by_key(|r| (r.start_utc, r.id.clone())),
    }
    let total = (0..plan.jobs.len())
        .filter(|&j| filter.keeps(plan, j))
        .count();
    let matching = rows.len();
    let pages = matching.div_ceil(per_page).max(1);
    let page = filter.page.unwrap_or(1).clamp(1, pages);
    let first = (page - 1).saturating_mul(per_page);
    let shown: Vec<JobRow> = rows.into_iter().skip(first).take(per_page).collect();
    let link = |p: usize| {
        let mut parts = Vec::new();
        for (k, v) in [
            ("day", filter.day.as_deref()),
            ("stream", filter.stream.as_deref()),
            ("zoom", filter.zoom.as_deref()),
            ("expand", filter.expand.as_deref()),
            ("q", filter.q.as_deref()),
            ("sort", Some(sort)),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", v.replace('&', "%26").replace(' ', "+")));
            }
        }
        parts.push(format!("page={p}"));
        format!("?{}#jobs", parts.join("&"))
    };
    let table = JobsTable {
        q: filter.q.clone().unwrap_or_default(),
        sort: sort.into(),
        sorts: ["start", "finish", "slack", "job", "state"]
            .iter()
            .map(|k| Choice {
                value: k.to_string(),
                selected: *k == sort,
            })
            .collect(),
        matching,
        total,
        page,
        pages,
        first: if matching == 0 { 0 } else { first + 1 },
        last: first + shown.len(),
        prev: if page > 1 {
            link(page - 1)
        } else {
            String::new()
        },
        next: if page < pages {
            link(page + 1)
        } else {
            String::new()
        },
    };
    (shown, table)
}

fn job_row(s: &RunSnapshot, j: usize, critical: bool) -> JobRow {
    let plan = &s.plan;
    let tz = plan.timezone;
    let pj = &plan.jobs[j];
    let bar = s.projection.schedule.jobs[j];
    JobRow {
        id: pj.id.clone(),
        template: pj.template.clone(),
        day: plan.nights[pj.day].day_id.clone(),
        stream: pj
            .stream
            .map(|st| plan.streams[st].id.clone())
            .unwrap_or_default(),
        state: state_word(s.machine.status(j)).to_string(),
        held: s.machine.is_held(j),
        phase: phase_word(s.projection.phases[j]).to_string(),
        start: local(tz, bar.start),
        finish: local(tz, bar.finish),
        start_utc: bar.start,
        finish_utc: bar.finish,
        slack: s.projection.slack[j].map_or("–".into(), signed),
        slack_seconds: s.projection.slack[j].map(|d| d.num_seconds()),
        critical,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    pub attempt: i64,
    pub worker: String,
    pub started: String,
    pub finished: String,
    pub outcome: String,
    pub exit_code: Option<i64>,
    pub log_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DurationPoint {
    pub business_date: String,
    pub minutes: f64,
    pub volume: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    pub command: String,
    pub allowed: bool,
    pub why_not: String,
    pub needs_reason: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub run: RunSummary,
    pub row: JobRow,
    pub template: String,
    /// How the job is doing now, in one line ("203 of 110 min, 65% done, at this rate
    /// finishes 03:10 · +1h33m over its estimate"); empty when it is not running.
    pub now_line: String,
    /// The deadlines whose binding chain runs through it, and when each needs it.
    pub binds: Vec<String>,
    pub deps: Vec<String>,
    pub deps_count: usize,
    /// The dependency that finishes last (the one it waits for).
    pub last_dep: Option<String>,
    pub estimate: String,
    pub estimate_minutes: f64,
    pub attempts: Vec<AttemptView>,
    pub log_tail: Option<String>,
    pub log_masked: bool,
    pub history: Vec<DurationPoint>,
    pub history_svg: String,
    pub checkpoint: Option<serde_json::Value>,
    pub actions: Vec<ActionView>,
    pub audit: Vec<AuditEntry>,
}

/// The last `bytes` of a file, from a line start.
fn tail(path: &Path, bytes: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let from = len.saturating_sub(bytes);
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some(if from > 0 {
        text.split_once('\n')
            .map_or(text.clone(), |(_, rest)| rest.to_string())
    } else {
        text
    })
}

/// A job's work directory (as the engine lays it out: `DATA/runs/RUN/work/JOB`).
pub fn work_dir(data_dir: &Path, run_id: i64, job_id: &str) -> std::path::PathBuf {
    data_dir
        .join("runs")
        .join(run_id.to_string())
        .join("work")
        .join(job_id)
}

/// A running job in one line: how long it has run against its estimate, its progress, when
/// it finishes at this rate, and its overrun. Empty when it is not running.
fn now_line(s: &RunSnapshot, j: usize) -> String {
    let JobStatus::Running { since, .. } = s.machine.status(j) else {
        return String::new();
    };
    let tz = s.plan.timezone;
    let minutes = |d: TimeDelta| (d.num_seconds() as f64 / 60.0).round() as i64;
    let elapsed = s.now - since;
    let estimate = s.estimates.central(j);
    let finish = s.projection.schedule.jobs[j].finish;
    let projected = finish - since;
    let mut line = format!("running {} of {} min", minutes(elapsed), minutes(estimate));
    match s.progress.get(j).copied().flatten().filter(|p| p.total > 0) {
        Some(p) => line.push_str(&format!(
            ", {:.0}% done, at this rate finishes {}",
            p.done as f64 / p.total as f64 * 100.0,
            local(tz, finish)
        )),
        None => line.push_str(&format!(", projected to finish {}", local(tz, finish))),
    }
    let over = projected - estimate;
    if minutes(over) > 0 {
        line.push_str(&format!(" · {} over its estimate", signed(over)));
    }
    line
}

/// A job's page. Its free text (log tail, the audit trail's reasons) as `masking` allows.
pub fn job_view(s: &RunSnapshot, j: usize, data_dir: Option<&Path>, masking: Masking) -> JobView {
    let plan = &s.plan;
    let tz = plan.timezone;
    let pj = &plan.jobs[j];
    let critical = critical_jobs(s).contains(&j);
    let attempts: Vec<AttemptView> = s
        .attempts
        .iter()
        .filter(|a| a.job_idx == j as i64)
        .map(|a| AttemptView {
            attempt: a.attempt,
            worker: a.worker.clone(),
            started: local(tz, a.started_at),
            finished: a.finished_at.map_or("running".into(), |t| local(tz, t)),
            outcome: a.outcome.clone().unwrap_or_else(|| "–".into()),
            exit_code: a.exit_code,
            log_path: a.log_path.clone(),
        })
        .collect();
    let log_tail = attempts
        .last()
        .and_then(|a| a.log_path.as_deref())
        .and_then(|p| tail(Path::new(p), 4096))
        .map(|t| masking.text(&t));
    let history: Vec<DurationPoint> = s
        .history
        .iter()
        .enumerate()
        .filter(|(_, h)| h.job_id == pj.id)
        .map(|(i, h)| DurationPoint {
            business_date: s.history_dates.get(i).cloned().unwrap_or_default(),
            minutes: h.seconds / 60.0,
            volume: i64::try_from(h.volume).unwrap_or(i64::MAX),
        })
        .collect();
    let estimate_minutes = pj.duration.num_seconds() as f64 / 60.0;
    let checkpoint = data_dir
        .map(|d| work_dir(d, s.run.id, &pj.id).join("checkpoint.json"))
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let status = s.machine.status(j);
    let held = s.machine.is_held(j);
    let actions = COMMANDS
        .iter()
        .map(|&c| {
            let fits = command_fits(c, status, held);
            ActionView {
                command: command_name(c).to_string(),
                allowed: fits.is_ok(),
                why_not: fits
                    .err()
                    .map(|w| format!("{} {w}", pj.id))
                    .unwrap_or_default(),
                needs_reason: warden_core::sched::command_needs_reason(c),
            }
        })
        .collect();
    let audit = audit_entries(s, masking)
        .into_iter()
        .filter(|e| e.job.as_deref() == Some(pj.id.as_str()))
        .collect();
    JobView {
        run: run_summary(s),
        row: job_row(s, j, critical),
        template: pj.template.clone(),
        now_line: now_line(s, j),
        binds: s
            .diagnoses
            .iter()
            .filter_map(|d| {
                let step = d.steps.iter().find(|st| st.job == j)?;
                let dl = &plan.deadlines[d.deadline];
                Some(format!(
                    "on the binding chain of {}: needed by {} (margin {})",
                    dl.name.as_deref().unwrap_or(&dl.id),
                    local(tz, step.needed_by),
                    signed(d.margin)
                ))
            })
            .collect(),
        deps_count: pj.deps.len(),
        last_dep: pj
            .deps
            .iter()
            .max_by_key(|&&d| s.projection.schedule.jobs[d].finish)
            .map(|&d| plan.jobs[d].id.clone()),
        deps: pj.deps.iter().map(|&d| plan.jobs[d].id.clone()).collect(),
        estimate: format!("{} min", estimate_minutes.round()),
        estimate_minutes,
        history_svg: charts::durations(
            &history
                .iter()
                .map(|h| (h.business_date.as_str(), h.minutes))
                .collect::<Vec<_>>(),
            estimate_minutes,
            480,
            140,
        ),
        history,
        attempts,
        log_tail,
        log_masked: masking == Masking::Masked,
        checkpoint,
        actions,
        audit,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionRow {
    pub job: String,
    pub stream: String,
    pub index: u32,
    pub count: u32,
    pub state: String,
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub percent: Option<f64>,
    pub claims_per_second: Option<f64>,
    pub exceptions: Option<u64>,
    pub exception_rate: Option<f64>,
    pub deferred: Option<u64>,
    /// Where the counts come from: `progress` (live), `checkpoint`, or `none` (a simulated job).
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionGroup {
    pub template: String,
    pub stream: String,
    pub count: usize,
    /// Partitions by state: done, running, not started.
    pub done: usize,
    pub running: usize,
    pub waiting: usize,
    pub partitions: Vec<PartitionRow>,
    /// Largest partition's claims over the mean (1.0: perfectly balanced).
    pub imbalance: Option<f64>,
    pub imbalance_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionsView {
    pub run: RunSummary,
    pub groups: Vec<PartitionGroup>,
    pub simulated: bool,
}

#[derive(Debug, serde::Deserialize)]
struct CheckpointCounts {
    #[serde(default)]
    position: u64,
    #[serde(default)]
    deferred_records: u64,
    #[serde(default)]
    adjudicated: u64,
    #[serde(default)]
    exceptions: u64,
}

pub fn partitions_view(s: &RunSnapshot, data_dir: Option<&Path>) -> PartitionsView {
    let plan = &s.plan;
    let mut groups: BTreeMap<(String, String), Vec<PartitionRow>> = BTreeMap::new();
    for (j, pj) in plan.jobs.iter().enumerate() {
        let Some(part) = pj.partition else { continue };
        let status = s.machine.status(j);
        let checkpoint: Option<CheckpointCounts> = data_dir
            .map(|d| work_dir(d, s.run.id, &pj.id).join("checkpoint.json"))
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let live = s.progress.get(j).copied().flatten();
        let (done, total, source) = match (live, &checkpoint) {
            (Some(p), _) => (Some(p.done), Some(p.total), "progress"),
            (None, Some(c)) => (Some(c.position), None, "checkpoint"),
            (None, None) => (None, None, "none"),
        };
        let elapsed = match status {
            JobStatus::Running { since, .. } => Some((s.now - since).num_seconds()),
            _ => s
                .attempts
                .iter()
                .rev()
                .find(|a| a.job_idx == j as i64)
                .and_then(|a| a.finished_at.map(|f| (f - a.started_at).num_seconds())),
        };
        let stream = pj
            .stream
            .map(|st| plan.streams[st].id.clone())
            .unwrap_or_default();
        groups
            .entry((pj.template.clone(), stream.clone()))
            .or_default()
            .push(PartitionRow {
                job: pj.id.clone(),
                stream,
                index: part.index,
                count: part.count,
                state: state_word(status).to_string(),
                done,
                total,
                percent: done.zip(total).and_then(|(d, t)| {
                    (t > 0).then(|| (d as f64 / t as f64 * 1000.0).round() / 10.0)
                }),
                claims_per_second: done
                    .zip(elapsed)
                    .and_then(|(d, e)| (e > 0).then(|| (d as f64 / e as f64).round())),
                exceptions: checkpoint.as_ref().map(|c| c.exceptions),
                exception_rate: checkpoint.as_ref().and_then(|c| {
                    (c.adjudicated > 0).then(|| {
                        (c.exceptions as f64 / c.adjudicated as f64 * 10_000.0).round() / 100.0
                    })
                }),
                deferred: checkpoint.as_ref().map(|c| c.deferred_records),
                source: source.to_string(),
            });
    }
    let simulated = groups.values().flatten().all(|p| p.source == "none");
    let groups = groups
        .into_iter()
        .map(|((template, stream), partitions)| {
            let sizes: Vec<f64> = partitions
                .iter()
                .filter_map(|p| p.total.or(p.done))
                .map(|n| n as f64)
                .collect();
            let imbalance = (sizes.len() == partitions.len() && !sizes.is_empty())
                .then(|| {
                    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
                    let max = sizes.iter().cloned().fold(0.0, f64::max);
                    (mean > 0.0).then(|| (max / mean * 100.0).round() / 100.0)
                })
                .flatten();
            let count = |w: &[&str]| {
                partitions
                    .iter()
                    .filter(|p| w.contains(&p.state.as_str()))
                    .count()
            };
            PartitionGroup {
                count: partitions.len(),
                done: count(&["succeeded", "skipped"]),
                running: count(&["running", "queued"]),
                waiting: count(&["waiting", "ready", "retry-wait", "failed"]),
                template,
                stream,
                imbalance_text: imbalance.map_or("–".into(), |i| format!("{i:.2}×")),
                imbalance,
                partitions,
            }
        })
        .collect();
    PartitionsView {
        run: run_summary(s),
        groups,
        simulated,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub role: String,
    pub channel: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AckView {
    pub actor: String,
    pub note: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: i64,
    pub deadline: String,
    pub level: String,
    pub key: String,
    pub raised: String,
    pub roles: Vec<String>,
    pub summary: String,
    pub deliveries: Vec<DeliveryView>,
    pub acks: Vec<AckView>,
    pub acknowledged: bool,
}

/// One incident: a deadline at one level, with every notification it raised folded in.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub deadline: String,
    pub deadline_name: String,
    pub level: String,
    pub level_label: String,
    pub severity: u8,
    pub first_raised: String,
    pub last_raised: String,
    pub notifications: usize,
    /// Every notification acknowledged.
    pub acknowledged: bool,
    pub unacknowledged: usize,
    /// The deadline's state now (the ladder may have moved on).
    pub deadline_state: String,
    pub summary: String,
    pub acks: Vec<AckView>,
    /// Newest first.
    pub alerts: Vec<AlertView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertsView {
    pub run: RunSummary,
    /// Incidents, unacknowledged and most severe first.
    pub incidents: Vec<IncidentView>,
    pub incidents_total: usize,
    pub unacknowledged_total: usize,
    /// Only unacknowledged incidents are listed.
    pub only_unacknowledged: bool,
    /// Every notification, newest first.
    pub alerts: Vec<AlertView>,
    pub ladder: Vec<AuditEntry>,
}

/// A run's alerts. Their free text (summaries, delivery errors, acknowledgement notes) as
/// `masking` allows.
pub fn alerts_view(s: &RunSnapshot, masking: Masking, only_unacknowledged: bool) -> AlertsView {
    let tz = s.plan.timezone;
    let alerts: Vec<AlertView> = s
        .alerts
        .iter()
        .rev()
        .map(|a| AlertView {
            id: a.id,
            deadline: a.deadline_id.clone(),
            level: a.level.clone(),
            key: a.idempotency_key.clone(),
            raised: local(tz, a.raised_at),
            roles: a.roles.clone(),
            summary: masking.text(&alert_summary(&a.view)),
            deliveries: a
                .deliveries
                .iter()
                .map(|d| DeliveryView {
                    role: d.role.clone(),
                    channel: d.channel.clone(),
                    status: d.status.clone(),
                    attempts: d.attempts,
                    last_error: masking.optional(d.last_error.as_deref()),
                    delivered_at: d.delivered_at.map(|t| local(tz, t)),
                })
                .collect(),
            acknowledged: !a.acks.is_empty(),
            acks: a
                .acks
                .iter()
                .map(|k| AckView {
                    actor: k.actor.clone(),
                    note: masking.optional(k.note.as_deref()),
                    at: local(tz, k.at),
                })
                .collect(),
        })
        .collect();
    let mut ladder: Vec<AuditEntry> = audit_entries(s, masking)
        .into_iter()
        .filter(|e| e.source == "ladder")
        .collect();
    ladder.reverse();
    let run = run_summary(s);
    let mut incidents = incidents(s, &alerts, &run.deadlines);
    let incidents_total = incidents.len();
    let unacknowledged_total = incidents.iter().filter(|i| !i.acknowledged).count();
    if only_unacknowledged {
        incidents.retain(|i| !i.acknowledged);
    }
    AlertsView {
        run,
        incidents,
        incidents_total,
        unacknowledged_total,
        only_unacknowledged,
        alerts,
        ladder,
    }
}

/// The alerts grouped by (deadline, level): unacknowledged first, then the most severe,
/// then the most recent.
fn incidents(s: &RunSnapshot, alerts: &[AlertView], cards: &[DeadlineCard]) -> Vec<IncidentView> {
    let mut groups: Vec<IncidentView> = Vec::new();
    for a in alerts {
        if let Some(i) = groups
            .iter_mut()
            .find(|i| i.deadline == a.deadline && i.level == a.level)
        {
            i.first_raised = a.raised.clone();
            i.notifications += 1;
            if !a.acknowledged {
                i.unacknowledged += 1;
                i.acknowledged = false;
            }
            i.acks.extend(a.acks.iter().cloned());
            i.alerts.push(a.clone());
            continue;
        }
        let name = s
            .plan
            .deadlines
            .iter()
            .find(|d| d.id == a.deadline)
            .map_or(a.deadline.clone(), |d| {
                d.name.clone().unwrap_or_else(|| d.id.clone())
            });
        groups.push(IncidentView {
            deadline: a.deadline.clone(),
            deadline_name: name,
            level: a.level.clone(),
            level_label: a.level.replace('_', " "),
            severity: severity(&a.level),
            first_raised: a.raised.clone(),
            last_raised: a.raised.clone(),
            notifications: 1,
            acknowledged: a.acknowledged,
            unacknowledged: usize::from(!a.acknowledged),
            deadline_state: cards
                .iter()
                .find(|c| c.id == a.deadline)
                .map_or(String::new(), |c| {
                    format!("{} · margin {}", c.state_label, c.margin)
                }),
            summary: a.summary.clone(),
            acks: a.acks.clone(),
            alerts: vec![a.clone()],
        });
    }
    groups.sort_by_key(|i| (i.acknowledged, std::cmp::Reverse(i.severity)));
    groups
}

/// One line of an alert, from its stored view (margin, trigger) when it has them.
fn alert_summary(view: &serde_json::Value) -> String {
    let text = |k: &str| view.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let mut parts = Vec::new();
    if let Some(t) = text("trigger") {
        parts.push(t);
    }
    if let Some(m) = text("margin") {
        parts.push(format!("margin {m}"));
    }
    if let Some(p) = text("p_miss") {
        parts.push(format!("P(miss) {p}"));
    }
    if parts.is_empty() {
        parts.push(text("subject").unwrap_or_default());
    }
    parts.join(" · ")
}

/// One entry of the audit trail: an operator's command, an acknowledgement, a ladder
/// decision, or the UI's own (sign-ins, refusals).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub at: String,
    pub at_utc: DateTime<Utc>,
    pub run: Option<i64>,
    pub job: Option<String>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    /// event | ack | ladder | ui
    pub source: String,
}

/// A run's audit trail: operator events, acknowledgements and ladder decisions, in time
/// order. Reasons and notes as `masking` allows.
pub fn audit_entries(s: &RunSnapshot, masking: Masking) -> Vec<AuditEntry> {
    let tz = s.plan.timezone;
    let mut out = Vec::new();
    for e in &s.events {
        let Some(warden_core::sched::Event::Operator { job, command }) = e.event else {
            continue;
        };
        out.push(AuditEntry {
            at: zoned(tz, e.at),
            at_utc: e.at,
            run: Some(s.run.id),
            job: s.plan.jobs.get(job).map(|j| j.id.clone()),
            actor: e.actor.clone(),
            action: command_name(command).to_string(),
            detail: masking.text(e.reason.as_deref().unwrap_or_default()),
            source: "event".into(),
        });
    }
    for a in &s.alerts {
        for k in &a.acks {
            out.push(AuditEntry {
                at: zoned(tz, k.at),
                at_utc: k.at,
                run: Some(s.run.id),
                job: None,
                actor: k.actor.clone(),
                action: "acknowledge".into(),
                detail: format!(
                    "{} {} ({}){}",
                    k.deadline_id,
                    k.level,
                    k.alert_key,
                    k.note
                        .as_deref()
                        .map(|n| format!(": {}", masking.text(n)))
                        .unwrap_or_default()
                ),
                source: "ack".into(),
            });
        }
    }
    for d in &s.ladder {
        out.push(AuditEntry {
            at: zoned(tz, d.at),
            at_utc: d.at,
            run: Some(s.run.id),
            job: None,
            actor: d.actor.clone(),
            action: d.kind.clone(),
            detail: format!(
                "{}{}",
                d.deadline_id,
                d.level
                    .as_deref()
                    .map(|l| format!(" → {l}"))
                    .unwrap_or_default()
            ),
            source: "ladder".into(),
        });
    }
    out.sort_by_key(|e| e.at_utc);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_read_to_the_minute_with_their_sign() {
        assert_eq!(signed(TimeDelta::minutes(19 * 60 + 38)), "+19h38m");
        assert_eq!(signed(TimeDelta::minutes(-125)), "-2h05m");
        assert_eq!(signed(TimeDelta::seconds(29)), "+0m");
        assert_eq!(signed(TimeDelta::minutes(-7)), "-7m");
    }
}
