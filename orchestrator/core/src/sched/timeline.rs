//! What a run has really done, job by job: when each job's latest attempt was dispatched
//! and what bound its start. The machine keeps where each job stands; the timeline keeps
//! why, so a projection from live state can draw the critical path through finished work.

use chrono::{DateTime, Utc};

use super::machine::{Action, JobStatus, Machine};
use super::simulate::{Binding, ScheduledJob};
use crate::plan::Plan;
use crate::workflow::JobIdx;

/// A job's latest dispatch: when, and what held it back until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub at: DateTime<Utc>,
    pub attempt: u32,
    pub binding: Binding,
}

#[derive(Debug, Clone, Default)]
pub struct Timeline {
    dispatched: Vec<Option<Dispatched>>,
}

impl Timeline {
    pub fn new(plan: &Plan) -> Self {
        Self {
            dispatched: vec![None; plan.jobs.len()],
        }
    }

    /// Records what one `Machine::apply` at `now` decided.
    pub fn record(&mut self, now: DateTime<Utc>, actions: &[Action]) {
        for action in actions {
            if let Action::Dispatch {
                job,
                attempt,
                binding,
            } = *action
                && let Some(slot) = self.dispatched.get_mut(job)
            {
                *slot = Some(Dispatched {
                    at: now,
                    attempt,
                    binding,
                });
            }
        }
    }

    pub fn dispatched(&self, job: JobIdx) -> Option<Dispatched> {
        self.dispatched.get(job).copied().flatten()
    }

    /// The actual start, finish and binding of every job that is done, as a schedule
    /// fragment: a job skipped by an operator is a zero-length bar at its skip time.
    pub fn finished(&self, plan: &Plan, machine: &Machine) -> Vec<Option<ScheduledJob>> {
        (0..plan.jobs.len())
            .map(|job| {
                let earliest = Binding::Earliest {
                    reason: plan.jobs[job].earliest_reason,
                };
                match machine.status(job) {
                    JobStatus::Succeeded { at, .. } => {
                        let d = self.dispatched(job);
                        Some(ScheduledJob {
                            start: d.map_or(at, |d| d.at.min(at)),
                            finish: at,
                            binding: d.map_or(earliest, |d| d.binding),
                        })
                    }
                    JobStatus::Skipped { at } => Some(ScheduledJob {
                        start: at,
                        finish: at,
                        binding: earliest,
                    }),
                    _ => None,
                }
            })
            .collect()
    }
}
