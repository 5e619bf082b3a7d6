//! Forward simulation: the scheduling state machine driven by a simulated clock on which
//! every job takes its (volume-scaled) estimate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::machine::{Action, Event, Machine, Outcome};
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
    /// A retry of an attempt that failed.
    Retry,
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

/// Runs the plan from its start with every job taking its planned duration.
pub fn simulate(plan: &Plan) -> Schedule {
    let n = plan.jobs.len();
    let mut machine = Machine::new(plan);
    let mut result: Vec<Option<ScheduledJob>> = vec![None; n];
    let mut finishing: BinaryHeap<Reverse<(DateTime<Utc>, JobIdx, u32)>> = BinaryHeap::new();
    let mut wakes: BinaryHeap<Reverse<DateTime<Utc>>> = BinaryHeap::new();
    let mut now = plan.start;
    let mut events: Vec<Event> = Vec::new();
    loop {
        for action in machine.apply(plan, now, events.drain(..)) {
            match action {
                Action::Dispatch {
                    job,
                    attempt,
                    binding,
                } => {
                    let finish = now + plan.jobs[job].duration;
                    result[job] = Some(ScheduledJob {
                        start: now,
                        finish,
                        binding,
                    });
                    finishing.push(Reverse((finish, job, attempt)));
                }
                Action::WakeAt(t) => wakes.push(Reverse(t)),
                // Simulated jobs run exactly their estimate and are never killed.
                Action::Kill { .. } | Action::Complete => {}
            }
        }
        while wakes.peek().is_some_and(|Reverse(t)| *t <= now) {
            wakes.pop();
        }
        let next_finish = finishing.peek().map(|Reverse((t, _, _))| *t);
        let next_wake = wakes.peek().map(|Reverse(t)| *t);
        now = match (next_finish, next_wake) {
            (None, None) => break,
            (Some(f), None) => f,
            (None, Some(w)) => w,
            (Some(f), Some(w)) => f.min(w),
        };
        while let Some(Reverse((t, job, attempt))) = finishing.peek().copied() {
            if t != now {
                break;
            }
            finishing.pop();
            events.push(Event::Finished {
                job,
                attempt,
                outcome: Outcome::Succeeded,
            });
        }
    }
    // The compiler guarantees every job can run (acyclic, resource needs within capacity);
    // anything else is placed at its earliest, unbound, rather than panicking.
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
