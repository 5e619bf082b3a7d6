//! The cycle page: the run's summary, the Gantt, the critical path, why each deadline stands
//! where it does, and the jobs table (search, order, pages).

use chrono::{DateTime, Utc};
use serde::Serialize;
use warden_core::plan::Plan;
use warden_deadlines::Phase;

use super::overview::{RunSummary, at_risk, run_summary};
use super::why;
use crate::format::{local, signed, state_word};
use crate::gantt::{self, GanttFilter};
use crate::snapshot::RunSnapshot;

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
    let risky = at_risk(&run.deadlines, s);
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

pub(crate) fn job_row(s: &RunSnapshot, j: usize, critical: bool) -> JobRow {
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
