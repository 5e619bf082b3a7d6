//! After go-live (issue #12): a run that a batch impact test cleared shows, per adjudication
//! stage, what the test projected (the engine's full-volume seconds, from the sample) against
//! what the run's jobs really took, so the test's accuracy is visible over time. Pure: the
//! plan, the report, the attempts and the run's clock speed in, rows out.

use chrono::{DateTime, Utc};
use warden_core::plan::Plan;
use warden_deadlines::impact_report::ImpactReport;
use warden_deadlines::reproject::{STAGES, measured_jobs};
use warden_store::AttemptRecord;

/// One group of jobs running the same stages (a stage's partitions together).
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    pub stages: Vec<String>,
    pub jobs: Vec<String>,
    /// The test's full-volume seconds for these stages.
    pub projected_s: f64,
    /// Real seconds from the group's first start to its last successful finish (`None`:
    /// not all of its jobs have finished).
    pub actual_s: Option<f64>,
}

impl StageRow {
    /// `actual ÷ projected − 1`.
    pub fn error(&self) -> Option<f64> {
        self.actual_s
            .filter(|_| self.projected_s > 0.0)
            .map(|a| a / self.projected_s - 1.0)
    }
}

/// The rows, in plan order, and the whole (first start to last finish) as a last row.
/// `speed`: the run's clock speed (its durations of real work are real × speed).
pub fn compare(
    plan: &Plan,
    report: &ImpactReport,
    attempts: &[AttemptRecord],
    speed: f64,
) -> Vec<StageRow> {
    let Some(measured) = &report.measured else {
        return Vec::new();
    };
    let Some(stream) = report.volumes.first().map(|v| v.stream.as_str()) else {
        return Vec::new();
    };
    let projected: Vec<f64> = STAGES
        .iter()
        .map(|name| {
            measured
                .stages
                .iter()
                .find(|s| s.stage == *name)
                .map_or(0.0, |s| s.full_after_s)
        })
        .collect();
    let mut groups: Vec<(&'static [usize], Vec<usize>)> = Vec::new();
    for (j, stages) in measured_jobs(plan, stream) {
        match groups.iter_mut().find(|(s, _)| *s == stages) {
            Some((_, jobs)) => jobs.push(j),
            None => groups.push((stages, vec![j])),
        }
    }
    let span = |jobs: &[usize]| -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let mut first: Option<DateTime<Utc>> = None;
        let mut last: Option<DateTime<Utc>> = None;
        for &j in jobs {
            let done = attempts
                .iter()
                .rev()
                .find(|a| a.job_idx == j as i64 && a.outcome.as_deref() == Some("succeeded"))?;
            let end = done.finished_at?;
            first = Some(first.map_or(done.started_at, |f| f.min(done.started_at)));
            last = Some(last.map_or(end, |l| l.max(end)));
        }
        Some((first?, last?))
    };
    let real = |(a, b): (DateTime<Utc>, DateTime<Utc>)| {
        (b - a).num_milliseconds() as f64 / 1000.0 / speed.max(f64::MIN_POSITIVE)
    };
    let mut rows: Vec<StageRow> = groups
        .iter()
        .map(|(stages, jobs)| StageRow {
            stages: stages.iter().map(|s| STAGES[*s].to_string()).collect(),
            jobs: jobs.iter().map(|j| plan.jobs[*j].id.clone()).collect(),
            projected_s: stages.iter().map(|s| projected[*s]).sum(),
            actual_s: span(jobs).map(real),
        })
        .collect();
    if rows.len() > 1 {
        let all: Vec<usize> = groups.iter().flat_map(|(_, j)| j.iter().copied()).collect();
        rows.push(StageRow {
            stages: vec!["all".to_string()],
            jobs: Vec::new(),
            projected_s: projected.iter().sum(),
            actual_s: span(&all).map(real),
        });
    }
    rows
}
