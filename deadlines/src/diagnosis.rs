//! Why a deadline is at risk: the chain of jobs that binds its finish, step by step, with
//! each step's state, how far it runs over its estimate, and when the deadline needs it
//! finished; and the one job on the chain to look at first.
//!
//! "Needed by" is the step's projected finish plus the deadline's margin: every minute a
//! step on the binding chain finishes later moves the deadline's finish by a minute, so a
//! step finishing after its "needed by" is what makes the deadline late.
//!
//! Pure: a projection in, a diagnosis out.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use warden_core::sched::JobStatus;
use warden_core::workflow::JobIdx;

use crate::{ChainLink, Estimates, LiveRun, Projection};

/// Where a step of the chain stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Finished or skipped: its times are actual.
    Done,
    Running,
    /// Failed for good: nothing after it moves until an operator acts.
    Failed,
    /// Held by an operator (the projection assumes a release now).
    Held,
    /// Waiting for its dependencies, its time or a resource.
    Waiting,
}

/// One job of a deadline's binding chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainStep {
    pub job: JobIdx,
    /// How it is tied to the step before it.
    pub link: ChainLink,
    pub state: StepState,
    /// The central estimate of its duration.
    pub estimate: TimeDelta,
    /// Running: how long it has run. Done: how long it ran.
    pub elapsed: Option<TimeDelta>,
    /// Its duration as projected (actual when done).
    pub projected: TimeDelta,
    /// `projected - estimate`: positive when it runs over.
    pub overrun: TimeDelta,
    /// The share of its work done, where it reports progress.
    pub progress: Option<f64>,
    pub start: DateTime<Utc>,
    pub finish: DateTime<Utc>,
    /// When the deadline needs it finished: `finish + margin`.
    pub needed_by: DateTime<Utc>,
}

/// One deadline's chain and where to look first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    /// Index into `plan.deadlines`.
    pub deadline: usize,
    pub margin: TimeDelta,
    pub finish: DateTime<Utc>,
    pub steps: Vec<ChainStep>,
    /// Index into `steps` of the job to look at first; `None` once the chain is done.
    pub first_look: Option<usize>,
    /// What the chain's steps ran (or run) over their estimates, in all.
    pub overrun_total: TimeDelta,
}

/// The binding chain of every deadline the projection has a margin for, in the plan's
/// deadline order.
pub fn diagnose(
    live: &LiveRun<'_>,
    projection: &Projection,
    estimates: &Estimates,
) -> Vec<Diagnosis> {
    projection
        .margins
        .iter()
        .map(|m| {
            let steps: Vec<ChainStep> = m
                .chain
                .jobs
                .iter()
                .zip(&m.chain.links)
                .map(|(&job, &link)| step(live, projection, estimates, job, link, m.margin))
                .collect();
            Diagnosis {
                deadline: m.deadline,
                margin: m.margin,
                finish: m.finish,
                first_look: first_look(&steps),
                overrun_total: steps.iter().map(|s| s.overrun.max(TimeDelta::zero())).sum(),
                steps,
            }
        })
        .collect()
}

fn step(
    live: &LiveRun<'_>,
    projection: &Projection,
    estimates: &Estimates,
    job: JobIdx,
    link: ChainLink,
    margin: TimeDelta,
) -> ChainStep {
    let bar = projection.schedule.jobs[job];
    let status = live.machine.status(job);
    let state = match status {
        JobStatus::Succeeded { .. } | JobStatus::Skipped { .. } => StepState::Done,
        JobStatus::Running { .. } | JobStatus::Dispatched { .. } => StepState::Running,
        JobStatus::Failed { .. } => StepState::Failed,
        _ if live.machine.is_held(job) => StepState::Held,
        _ => StepState::Waiting,
    };
    let elapsed = match status {
        JobStatus::Running { since, .. } => Some(live.now - since),
        _ if state == StepState::Done => Some(bar.finish - bar.start),
        _ => None,
    };
    let progress = live
        .progress
        .get(job)
        .copied()
        .flatten()
        .filter(|p| p.total > 0)
        .map(|p| (p.done as f64 / p.total as f64).clamp(0.0, 1.0));
    let estimate = estimates.central(job);
    let projected = bar.finish - bar.start;
    ChainStep {
        job,
        link,
        state,
        estimate,
        elapsed,
        projected,
        overrun: projected - estimate,
        progress,
        start: bar.start,
        finish: bar.finish,
        needed_by: bar.finish + margin,
    }
}

/// The job to look at first: a failed step (nothing after it moves), else a held one, else
/// the running step that runs most over its estimate, else the first step not yet done.
fn first_look(steps: &[ChainStep]) -> Option<usize> {
    let find = |state: StepState| steps.iter().position(|s| s.state == state);
    find(StepState::Failed)
        .or_else(|| find(StepState::Held))
        .or_else(|| {
            steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.state == StepState::Running)
                .max_by_key(|(i, s)| (s.overrun, std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        })
        .or_else(|| steps.iter().position(|s| s.state != StepState::Done))
}
