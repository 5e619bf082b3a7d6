//! The critical path: the chain of jobs (and resource waits) that decides when a set of jobs
//! finishes, found by walking back from the last finisher through what held each job up.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use warden_core::plan::{EarliestReason, Plan};
use warden_core::sched::{Binding, Schedule};
use warden_core::workflow::JobIdx;

/// How a job on the chain is tied to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChainLink {
    /// The chain starts here, at the job's earliest time.
    Start { reason: EarliestReason },
    /// Started when the previous job on the chain finished.
    Dependency,
    /// Waited for a resource the previous job on the chain held.
    Resource { resource: usize },
    /// The chain starts at a retry of this job.
    Retry,
}

/// A critical chain, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub jobs: Vec<JobIdx>,
    /// `links[i]` says how `jobs[i]` is tied to `jobs[i - 1]` (`links[0]` is the start).
    pub links: Vec<ChainLink>,
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
}

impl Chain {
    /// Elapsed time from the chain's first start to its last finish.
    pub fn length(&self) -> TimeDelta {
        self.finish - self.start
    }

    /// Sum of the durations of the jobs on the chain (the length without waits).
    pub fn work(&self, plan: &Plan) -> TimeDelta {
        self.jobs.iter().map(|j| plan.jobs[*j].duration).sum()
    }
}

/// The chain that binds the finish of `targets` (e.g. the jobs a deadline covers, or every
/// job for the whole cycle). `None` when `targets` is empty.
pub fn critical_chain(plan: &Plan, schedule: &Schedule, targets: &[JobIdx]) -> Option<Chain> {
    let last = targets
        .iter()
        .copied()
        .max_by_key(|j| (schedule.jobs[*j].finish, std::cmp::Reverse(*j)))?;
    let mut jobs = vec![last];
    let mut links = Vec::new();
    let mut current = last;
    // A chain never revisits a job (bindings point to earlier finishes), but bound the walk
    // by the job count so a malformed schedule cannot loop.
    for _ in 0..plan.jobs.len() {
        match schedule.jobs[current].binding {
            Binding::Earliest { reason } => {
                links.push(ChainLink::Start { reason });
                break;
            }
            Binding::Dependency { job } => {
                links.push(ChainLink::Dependency);
                jobs.push(job);
                current = job;
            }
            Binding::Retry => {
                links.push(ChainLink::Retry);
                break;
            }
            Binding::Resource { resource, holder } => {
                links.push(ChainLink::Resource { resource });
                jobs.push(holder);
                current = holder;
            }
        }
    }
    if links.len() < jobs.len() {
        links.push(ChainLink::Start {
            reason: plan.jobs[current].earliest_reason,
        });
    }
    jobs.reverse();
    links.reverse();
    // Walking back collected "how each job was held up" from the last job to the first;
    // reversed, `links[i]` says how `jobs[i]` is tied to `jobs[i - 1]`.
    Some(Chain {
        start: schedule.jobs[jobs[0]].start,
        finish: schedule.jobs[last].finish,
        jobs,
        links,
    })
}
