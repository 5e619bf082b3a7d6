//! Forward simulation: the scheduling state machine driven by a simulated clock.
//!
//! [`simulate`] runs a plan from its start with every job taking its (volume-scaled)
//! estimate: that is `warden plan`. [`run_forward`] is the general form the deadline
//! projection uses: it starts from a live machine at `now`, with the attempts in flight
//! finishing when the caller projects them to, and asks the caller how long each job it
//! dispatches will take (an estimate from history, or a Monte Carlo sample).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, TimeDelta, Utc};
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

/// An attempt already running when a forward run starts, and when it is projected to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub job: JobIdx,
    pub attempt: u32,
    pub finish: DateTime<Utc>,
}

/// Where a forward run starts: a machine at `now`, what is already known of each job
/// (finished or running jobs' times), the attempts in flight, and events to apply first
/// (a projection's assumptions, such as "the failed job is rerun now").
#[derive(Debug, Clone)]
pub struct ForwardStart {
    pub machine: Machine,
    pub now: DateTime<Utc>,
    pub known: Vec<Option<ScheduledJob>>,
    pub in_flight: Vec<InFlight>,
    pub events: Vec<Event>,
}

impl ForwardStart {
    /// A cycle that has not begun.
    pub fn fresh(plan: &Plan) -> Self {
        Self {
            machine: Machine::new(plan),
            now: plan.start,
            known: vec![None; plan.jobs.len()],
            in_flight: Vec::new(),
            events: Vec::new(),
        }
    }
}

/// Runs the plan from its start with every job taking its planned duration.
pub fn simulate(plan: &Plan) -> Schedule {
    run_forward(plan, ForwardStart::fresh(plan), |job| {
        plan.jobs[job].duration
    })
}

/// Runs the machine forward on a simulated clock until nothing more happens. Every job it
/// dispatches takes `duration(job)` and succeeds; kills (timeouts) are not simulated.
pub fn run_forward(
    plan: &Plan,
    start: ForwardStart,
    mut duration: impl FnMut(JobIdx) -> TimeDelta,
) -> Schedule {
    let ForwardStart {
        mut machine,
        mut now,
        known: mut result,
        in_flight,
        mut events,
    } = start;
    result.resize(plan.jobs.len(), None);
    let mut finishing: BinaryHeap<Reverse<(DateTime<Utc>, JobIdx, u32)>> = in_flight
        .iter()
        .map(|f| Reverse((f.finish.max(now), f.job, f.attempt)))
        .collect();
    let mut wakes: BinaryHeap<Reverse<DateTime<Utc>>> = BinaryHeap::new();
    loop {
        for action in machine.apply(plan, now, events.drain(..)) {
            match action {
                Action::Dispatch {
                    job,
                    attempt,
                    binding,
                } => {
                    let finish = now + duration(job).max(TimeDelta::zero());
                    result[job] = Some(ScheduledJob {
                        start: now,
                        finish,
                        binding,
                    });
                    finishing.push(Reverse((finish, job, attempt)));
                }
                Action::WakeAt(t) => wakes.push(Reverse(t)),
                // Simulated jobs run exactly their duration and are never killed.
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

/// A live state synthesised by simulation: the machine and its timeline as they would stand
/// at `until` had every job taken `duration(job)` from the cycle's start (a what-if's "what
/// really happened so far"). Attempts are started as soon as they are dispatched; jobs
/// dispatched at `until` itself are left queued.
pub fn simulate_until(
    plan: &Plan,
    until: DateTime<Utc>,
    mut duration: impl FnMut(JobIdx) -> TimeDelta,
) -> (Machine, super::Timeline) {
    let mut machine = Machine::new(plan);
    let mut timeline = super::Timeline::new(plan);
    let mut finishing: BinaryHeap<Reverse<(DateTime<Utc>, JobIdx, u32)>> = BinaryHeap::new();
    let mut wakes: BinaryHeap<Reverse<DateTime<Utc>>> = BinaryHeap::new();
    let mut now = plan.start.min(until);
    let mut events: Vec<Event> = Vec::new();
    loop {
        let actions = machine.apply(plan, now, events.drain(..));
        timeline.record(now, &actions);
        let mut starts = Vec::new();
        for action in &actions {
            match *action {
                Action::Dispatch { job, attempt, .. } if now < until => {
                    starts.push(Event::Started { job, attempt });
                    finishing.push(Reverse((
                        now + duration(job).max(TimeDelta::zero()),
                        job,
                        attempt,
                    )));
                }
                Action::WakeAt(t) => wakes.push(Reverse(t)),
                _ => {}
            }
        }
        if !starts.is_empty() {
            let actions = machine.apply(plan, now, starts);
            timeline.record(now, &actions);
        }
        while wakes.peek().is_some_and(|Reverse(t)| *t <= now) {
            wakes.pop();
        }
        let next = [
            finishing.peek().map(|Reverse((t, _, _))| *t),
            wakes.peek().map(|Reverse(t)| *t),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t <= until && now < until => now = t,
            _ if now < until => now = until,
            _ => break,
        }
        while let Some(Reverse((t, job, attempt))) = finishing.peek().copied() {
            if t > now {
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
    (machine, timeline)
}
