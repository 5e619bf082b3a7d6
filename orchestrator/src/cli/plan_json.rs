//! `warden plan --format json`: the plan as data for tools.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use warden_core::plan::start_reason;
use warden_core::workflow::Workflow;

use warden_deadlines::Analysis;

pub(super) fn minutes(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 / 60.0
}

pub(super) fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).fixed_offset().to_rfc3339()
}

/// The JSON document: `nights[]`, `jobs[]`, `critical_path`, `deadlines[]` and more.
pub fn plan_json(workflow: &Workflow, a: &Analysis, mode_origin: &str) -> Value {
    let plan = &a.plan;
    let tz = plan.timezone;
    let critical: std::collections::HashSet<usize> = a
        .critical
        .iter()
        .flat_map(|c| c.jobs.iter().copied())
        .collect();
    let nights: Vec<Value> = plan
        .nights
        .iter()
        .map(|n| {
            json!({
                "day": n.day_id,
                "name": n.name,
                "date": n.date.to_string(),
                "opens": local(n.opens, tz),
                "closes": local(n.closes, tz),
                "window_hours": minutes(n.closes - n.opens) / 60.0,
                "when_ready": n.when_ready,
            })
        })
        .collect();
    let jobs: Vec<Value> = plan
        .jobs
        .iter()
        .enumerate()
        .map(|(j, job)| {
            let s = &a.schedule.jobs[j];
            json!({
                "id": job.id,
                "template": job.template,
                "day": plan.nights[job.day].day_id,
                "stream": job.stream.map(|s| plan.streams[s].id.clone()),
                "partition": job.partition.map(|p| p.index),
                "planned_start": local(s.start, tz),
                "planned_finish": local(s.finish, tz),
                "duration_minutes": minutes(job.duration),
                "has_estimate": job.has_estimate,
                "slack_minutes": a.slack[j].map(minutes),
                "critical": critical.contains(&j),
                "held_by": s.binding,
                "starts_because": start_reason(plan, j, s),
            })
        })
        .collect();
    let chain_ids = |c: &warden_deadlines::Chain| -> Vec<String> {
        c.jobs.iter().map(|j| plan.jobs[*j].id.clone()).collect()
    };
    let critical_path = a.critical.as_ref().map(|c| {
        json!({
            "jobs": chain_ids(c),
            "minutes": minutes(c.length()),
            "work_minutes": minutes(c.work(plan)),
            "start": local(c.start, tz),
            "finish": local(c.finish, tz),
        })
    });
    let deadlines: Vec<Value> = a
        .margins
        .iter()
        .map(|m| {
            let d = &plan.deadlines[m.deadline];
            json!({
                "id": d.id,
                "name": d.name.clone().unwrap_or_else(|| d.id.clone()),
                "kind": d.kind,
                "at": local(m.at, tz),
                "finish": local(m.finish, tz),
                "margin_minutes": minutes(m.margin),
                "missed": m.is_missed(),
                "penalty": d.penalty,
                "critical_path": { "jobs": chain_ids(&m.chain), "minutes": minutes(m.chain.length()) },
            })
        })
        .collect();
    json!({
        "cycle": plan.cycle,
        "description": workflow.description,
        "date": plan.date,
        "mode": plan.mode,
        "mode_origin": mode_origin,
        "timezone": tz.name(),
        "start": local(plan.start, tz),
        "finish": local(a.schedule.finish, tz),
        "elapsed_minutes": minutes(a.schedule.finish - plan.start),
        "jobs_per_day": workflow.jobs_per_day(),
        "streams": plan.streams,
        "nights": nights,
        "jobs": jobs,
        "critical_path": critical_path,
        "deadlines": deadlines,
        "notes": plan.notes,
        "warnings": plan.warnings,
    })
}
