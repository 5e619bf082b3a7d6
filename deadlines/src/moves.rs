//! What an operator's move would do to the deadlines: the live run projected again with the
//! move applied, by the same projection the watcher makes. The pages show it before a move
//! is confirmed, and the cycle page's what-if form asks it for any job.
//!
//! A hold is projected as a hold of a stated length (the projection of a run assumes held
//! jobs are released now, so an open-ended hold has no finish to show); a kill as the kill
//! and a rerun at once (what the projection assumes of every failed job); a skip and a
//! force-complete as the job done now; a delay as the job's estimate longer by that much.
//!
//! Pure.

use chrono::TimeDelta;
use serde::Serialize;
use warden_core::plan::Plan;
use warden_core::sched::{Command, Event, JobStatus};
use warden_core::workflow::JobIdx;

use crate::{Estimates, LiveRun, Projection, project};

/// A change to project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Move {
    /// An operator command, applied now. A hold lasts `hold_for` (see [`project_moves`]).
    Command { job: JobIdx, command: Command },
    /// The job takes this much longer (or, negative, shorter) than its estimate.
    Delay { job: JobIdx, by: TimeDelta },
}

/// How long a hold is projected to last when the operator does not say.
pub const DEFAULT_HOLD: TimeDelta = TimeDelta::hours(1);

/// One deadline before and after a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MarginChange {
    /// Index into `plan.deadlines`.
    pub deadline: usize,
    pub before: TimeDelta,
    pub after: TimeDelta,
}

impl MarginChange {
    /// `after - before`: positive when the move gains margin.
    pub fn gain(&self) -> TimeDelta {
        self.after - self.before
    }
}

/// The live run projected with `moves` applied at `live.now`; holds last `hold_for`.
pub fn project_moves(
    plan: &Plan,
    live: &LiveRun<'_>,
    estimates: &Estimates,
    moves: &[Move],
    hold_for: TimeDelta,
) -> Projection {
    let mut plan = plan.clone();
    let mut estimates = estimates.clone();
    let mut machine = live.machine.clone();
    let mut timeline = live.timeline.clone();
    let mut events = Vec::new();
    for m in moves {
        match *m {
            Move::Command {
                job,
                command: Command::Hold,
            } => {
                // Not started: it may start no earlier than the hold's end. Running: a hold
                // keeps back only a retry, which the projection does not foresee.
                let status = live.machine.status(job);
                let started = matches!(
                    status,
                    JobStatus::Running { .. } | JobStatus::Dispatched { .. }
                );
                if !status.is_done() && !started {
                    let pj = &mut plan.jobs[job];
                    pj.earliest = pj.earliest.max(live.now + hold_for);
                }
            }
            Move::Command { job, command } => events.push(Event::Operator { job, command }),
            Move::Delay { job, by } => estimates.add(job, by),
        }
    }
    if !events.is_empty() {
        let actions = machine.apply(&plan, live.now, events);
        timeline.record(live.now, &actions);
    }
    project(
        &plan,
        &LiveRun {
            machine: &machine,
            timeline: &timeline,
            now: live.now,
            progress: live.progress,
        },
        &estimates,
    )
}

/// Every deadline's margin in `before` and `after` (deadlines both have a margin for).
pub fn margin_changes(before: &Projection, after: &Projection) -> Vec<MarginChange> {
    before
        .margins
        .iter()
        .filter_map(|b| {
            let a = after.margins.iter().find(|a| a.deadline == b.deadline)?;
            Some(MarginChange {
                deadline: b.deadline,
                before: b.margin,
                after: a.margin,
            })
        })
        .collect()
}
