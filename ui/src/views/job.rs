//! A job's page: its row, what it is doing now, the deadlines it binds, its attempts and
//! log tail, duration history, checkpoint, the operator actions that fit, and its audit.

use std::path::Path;

use chrono::TimeDelta;
use serde::Serialize;
use warden_core::sched::{JobStatus, command_fits, command_name};

use super::audit::{AuditEntry, audit_entries};
use super::detail::{JobRow, critical_jobs, job_row};
use super::overview::{RunSummary, run_summary};
use crate::charts;
use crate::format::{local, signed};
use crate::mask::Masking;
use crate::params::COMMANDS;
use crate::run_files;
use crate::snapshot::RunSnapshot;

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
        .and_then(|p| run_files::tail(Path::new(p), 4096))
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
    let checkpoint = data_dir.and_then(|d| run_files::checkpoint_json(d, s.run.id, &pj.id));
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
