//! Forward simulation of a plan from estimates.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::{DispatchOrder, ResourcePool, tails};
use crate::plan::{EarliestReason, Plan};
use crate::workflow::JobIdx;

/// Why a job started when it did: what the critical path walks back through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Binding {
    /// It started at its earliest time (window, not-before, cycle start).
    Earliest { reason: EarliestReason },
    /// It started when this dependency finished.
    Dependency { job: JobIdx },
    /// It waited for a resource, released by this job.
    Resource { resource: usize, holder: JobIdx },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledJob {
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
    pub binding: Binding,
}

/// Every job's simulated start and finish.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub jobs: Vec<ScheduledJob>,
    /// When the last job finishes.
    pub finish: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// A job finishes and releases its resources (ordered first at equal times).
    Finish(JobIdx),
    /// A job's dependencies are done and its earliest time has come.
    Ready(JobIdx),
}

/// Runs the plan forward: at each moment, ready jobs are started in [`DispatchOrder`]
/// while their resources fit (a job that does not fit does not block smaller ones behind
/// it). Times are whole seconds from the plan's start.
pub fn simulate(plan: &Plan) -> Schedule {
    let n = plan.jobs.len();
    let base = plan.start;
    let secs = |t: DateTime<Utc>| (t - base).num_seconds();
    let tails = tails(plan);
    let successors = plan.successors();
    let mut waiting: Vec<usize> = plan.jobs.iter().map(|j| j.deps.len()).collect();
    let mut deps_done_at = vec![i64::MIN; n];
    let mut last_dep: Vec<Option<JobIdx>> = vec![None; n];
    let mut events: BinaryHeap<Reverse<(i64, Event)>> = BinaryHeap::new();
    let mut ready: BTreeSet<DispatchOrder> = BTreeSet::new();
    let mut pool = ResourcePool::new(&plan.resources);
    let mut result: Vec<Option<ScheduledJob>> = vec![None; n];

    for (j, job) in plan.jobs.iter().enumerate() {
        if job.deps.is_empty() {
            events.push(Reverse((secs(job.earliest).max(0), Event::Ready(j))));
        }
    }
    while let Some(Reverse((now, _))) = events.peek().copied() {
        while let Some(Reverse((t, event))) = events.peek().copied() {
            if t != now {
                break;
            }
            events.pop();
            match event {
                Event::Finish(j) => {
                    pool.release(&plan.jobs[j].uses, now, j);
                    for &s in &successors[j] {
                        waiting[s] -= 1;
                        if now >= deps_done_at[s] {
                            deps_done_at[s] = now;
                            last_dep[s] = Some(j);
                        }
                        if waiting[s] == 0 {
                            let at = now.max(secs(plan.jobs[s].earliest));
                            events.push(Reverse((at, Event::Ready(s))));
                        }
                    }
                }
                Event::Ready(j) => {
                    ready.insert(plan.dispatch_order(j, &tails));
                }
            }
        }
        let startable: Vec<DispatchOrder> = ready.iter().copied().collect();
        for key in startable {
            let j = key.2;
            let job = &plan.jobs[j];
            if !pool.fits(&job.uses) {
                continue;
            }
            ready.remove(&key);
            pool.acquire(&job.uses);
            let earliest = secs(job.earliest).max(0);
            let available = earliest.max(deps_done_at[j]);
            let binding = if now > available {
                match pool.last_released(&job.uses) {
                    Some((resource, holder)) => Binding::Resource { resource, holder },
                    None => Binding::Earliest {
                        reason: job.earliest_reason,
                    },
                }
            } else if let Some(dep) = last_dep[j].filter(|_| deps_done_at[j] >= earliest) {
                Binding::Dependency { job: dep }
            } else {
                Binding::Earliest {
                    reason: job.earliest_reason,
                }
            };
            let finish = now + job.duration.num_seconds();
            result[j] = Some(ScheduledJob {
                start: base + TimeDelta::seconds(now),
                finish: base + TimeDelta::seconds(finish),
                binding,
            });
            events.push(Reverse((finish, Event::Finish(j))));
        }
    }
    // Every job of an acyclic plan whose resource needs fit their capacities is scheduled
    // (the compiler guarantees both); anything else is placed at its earliest, unbound.
    let jobs: Vec<ScheduledJob> = result
        .into_iter()
        .enumerate()
        .map(|(j, r)| {
            r.unwrap_or(ScheduledJob {
                start: plan.jobs[j].earliest,
                finish: plan.jobs[j].earliest + plan.jobs[j].duration,
                binding: Binding::Earliest {
                    reason: plan.jobs[j].earliest_reason,
                },
            })
        })
        .collect();
    let finish = jobs.iter().map(|j| j.finish).max().unwrap_or(plan.start);
    Schedule { jobs, finish }
}
