//! Projection: the rest of a cycle run, simulated from its live state.
//!
//! The live machine is cloned and run forward by the same scheduling core that executes the
//! cycle ([`run_forward`]), on a simulated clock from `now`: finished jobs keep their actual
//! times, running jobs end when their progress (or estimate) says, and every job not yet
//! started takes its estimate. So the projection honours exactly the dependencies,
//! resources, windows, not-before times and pipelining that execution honours.
//!
//! Two states would stop a projection short, and it assumes the operator's way out instead
//! (each assumption is listed in the result): a job that failed for good is rerun now, and
//! a held job is released now.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use warden_core::plan::Plan;
use warden_core::sched::{
    Command, Event, ForwardStart, InFlight, JobStatus, Machine, Schedule, ScheduledJob, Timeline,
    run_forward,
};
use warden_core::workflow::JobIdx;

use crate::estimates::{Estimates, JobProgress};
use crate::{Chain, DeadlineMargin, critical_chain, deadline_margins, slack};

/// A cycle run as it stands at `now`.
#[derive(Debug, Clone, Copy)]
pub struct LiveRun<'a> {
    pub machine: &'a Machine,
    pub timeline: &'a Timeline,
    pub now: DateTime<Utc>,
    /// Reported progress per job (may be shorter than the job list, or empty).
    pub progress: &'a [Option<JobProgress>],
}

impl LiveRun<'_> {
    fn progress(&self, job: JobIdx) -> Option<JobProgress> {
        self.progress.get(job).copied().flatten()
    }
}

/// What a projection had to assume to see the cycle through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Assumption {
    /// The job failed for good; the projection has it rerun now.
    RerunNow { job: JobIdx },
    /// The job is held; the projection has it released now.
    ReleasedNow { job: JobIdx },
}

/// Where a job stands in a projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Finished (or skipped): its bar is actual.
    Done,
    /// Running: started at its actual time, projected to end.
    Running,
    /// Not started: projected.
    Projected,
}

/// The projected rest of a cycle run.
#[derive(Debug, Clone)]
pub struct Projection {
    pub at: DateTime<Utc>,
    pub schedule: Schedule,
    pub phases: Vec<Phase>,
    /// The chain binding the whole cycle's finish.
    pub critical: Option<Chain>,
    pub margins: Vec<DeadlineMargin>,
    pub slack: Vec<Option<TimeDelta>>,
    pub assumptions: Vec<Assumption>,
}

/// Projects the rest of the run with every job taking its central estimate.
pub fn project(plan: &Plan, live: &LiveRun<'_>, estimates: &Estimates) -> Projection {
    let (start, phases, assumptions) = forward_start(plan, live, |job, elapsed| {
        estimates.remaining(job, elapsed, live.progress(job))
    });
    let schedule = run_forward(plan, start, |job| estimates.central(job));
    let all: Vec<JobIdx> = (0..plan.jobs.len()).collect();
    Projection {
        at: live.now,
        critical: critical_chain(plan, &schedule, &all),
        margins: deadline_margins(plan, &schedule),
        slack: slack(plan, &schedule),
        schedule,
        phases,
        assumptions,
    }
}

/// The forward run's starting point: the live machine at `now`, the actual bars of finished
/// jobs, the attempts in flight ending `remaining(job, elapsed)` from now, and the events a
/// projection assumes. Shared by [`project`] and the Monte Carlo.
pub(crate) fn forward_start(
    plan: &Plan,
    live: &LiveRun<'_>,
    mut remaining: impl FnMut(JobIdx, TimeDelta) -> TimeDelta,
) -> (ForwardStart, Vec<Phase>, Vec<Assumption>) {
    let now = live.now;
    let mut known = live.timeline.finished(plan, live.machine);
    let mut phases: Vec<Phase> = known
        .iter()
        .map(|k| {
            if k.is_some() {
                Phase::Done
            } else {
                Phase::Projected
            }
        })
        .collect();
    let mut in_flight = Vec::new();
    let mut events = Vec::new();
    let mut assumptions = Vec::new();
    for (job, status) in live.machine.statuses().iter().enumerate() {
        match *status {
            JobStatus::Running { attempt, since } => {
                let finish = now + remaining(job, now - since).max(TimeDelta::zero());
                in_flight.push(InFlight {
                    job,
                    attempt,
                    finish,
                });
                known[job] = Some(ScheduledJob {
                    start: since,
                    finish,
                    binding: live
                        .timeline
                        .dispatched(job)
                        .map_or(binding_at_earliest(plan, job), |d| d.binding),
                });
                phases[job] = Phase::Running;
            }
            JobStatus::Dispatched { attempt, at } => {
                // Queued but not yet picked up: it runs its whole estimate from now.
                let finish = now + remaining(job, TimeDelta::zero()).max(TimeDelta::zero());
                in_flight.push(InFlight {
                    job,
                    attempt,
                    finish,
                });
                known[job] = Some(ScheduledJob {
                    start: at.max(now),
                    finish,
                    binding: live
                        .timeline
                        .dispatched(job)
                        .map_or(binding_at_earliest(plan, job), |d| d.binding),
                });
                phases[job] = Phase::Running;
            }
            JobStatus::Failed { .. } => {
                events.push(Event::Operator {
                    job,
                    command: Command::Rerun,
                });
                assumptions.push(Assumption::RerunNow { job });
            }
            _ => {}
        }
        if live.machine.is_held(job) && !status.is_done() {
            events.push(Event::Operator {
                job,
                command: Command::Release,
            });
            assumptions.push(Assumption::ReleasedNow { job });
        }
    }
    let start = ForwardStart {
        machine: live.machine.clone(),
        now,
        known,
        in_flight,
        events,
    };
    (start, phases, assumptions)
}

fn binding_at_earliest(plan: &Plan, job: JobIdx) -> warden_core::sched::Binding {
    warden_core::sched::Binding::Earliest {
        reason: plan.jobs[job].earliest_reason,
    }
}

/// When the jobs a deadline covers finish in `schedule` (the latest of them).
pub(crate) fn covered_finish(
    plan: &Plan,
    schedule: &Schedule,
    deadline: usize,
) -> Option<DateTime<Utc>> {
    plan.deadlines[deadline]
        .covers
        .iter()
        .map(|j| schedule.jobs[*j].finish)
        .max()
}
