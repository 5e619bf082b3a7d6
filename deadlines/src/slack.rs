//! Slack: how late each job could finish without pushing any deadline it feeds past its time.

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::plan::Plan;
use warden_core::sched::Schedule;

/// For each job, the latest finish that still meets every deadline downstream of it, minus
/// its scheduled finish (a backward pass over the DAG from each deadline, ignoring resource
/// contention; each job takes as long as its bar in `schedule`, so a projection's slack uses
/// its estimates and actual times). `None` for jobs no deadline depends on.
pub fn slack(plan: &Plan, schedule: &Schedule) -> Vec<Option<TimeDelta>> {
    let n = plan.jobs.len();
    let mut latest: Vec<Option<DateTime<Utc>>> = vec![None; n];
    for d in &plan.deadlines {
        for &j in &d.covers {
            latest[j] = Some(latest[j].map_or(d.at, |l| l.min(d.at)));
        }
    }
    let Ok(order) = petgraph::algo::toposort(&plan.graph, None) else {
        return vec![None; n];
    };
    let successors = plan.successors();
    for node in order.into_iter().rev() {
        let j = plan.graph[node];
        for &s in &successors[j] {
            if let Some(ls) = latest[s] {
                let need = ls - (schedule.jobs[s].finish - schedule.jobs[s].start);
                latest[j] = Some(latest[j].map_or(need, |l| l.min(need)));
            }
        }
    }
    latest
        .iter()
        .enumerate()
        .map(|(j, l)| l.map(|l| l - schedule.jobs[j].finish))
        .collect()
}
