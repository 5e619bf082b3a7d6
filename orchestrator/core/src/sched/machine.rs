//! The scheduling state machine: `(plan, state, now, events) → actions`.
//!
//! This is the one scheduling core. The live orchestrator feeds it real events on the real
//! clock and applies its actions (dispatch through the queue, kill, arm a timer); the
//! forward simulation behind `warden plan` and the deadline projection feed it simulated
//! completions on a simulated clock. So a projection honours exactly the dependencies,
//! resources, windows, not-before times, priorities, retries and timeouts that execution
//! honours. No I/O and no wall clock here: `now` is always given.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{Binding, DispatchOrder, ResourcePool, tails};
use crate::plan::Plan;
use crate::workflow::{JobIdx, OnLost};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    Succeeded,
    Failed {
        exit_code: Option<i32>,
    },
    TimedOut,
    /// Its worker vanished (the orchestrator died or the lease ran out): not the job's fault.
    /// With `on_lost: rerun` (the default) the job is run again as a new attempt at once,
    /// without using up a retry; with `on_lost: fail` it is failed and waits for an operator
    /// (rerun, skip or force-complete), for jobs that must not run twice unseen.
    Lost,
}

/// What an operator can do to a job (each recorded with who and why by the driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Do not dispatch it (a running attempt goes on).
    Hold,
    Release,
    /// Run a failed job again.
    Rerun,
    /// Mark it done without running it; its dependents go on.
    Skip,
    /// Kill the running attempt; the job is failed (no automatic retry).
    Kill,
    /// Mark it succeeded (killing a running attempt); its dependents go on.
    ForceComplete,
}

/// Something that happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A worker began the attempt.
    Started {
        job: JobIdx,
        attempt: u32,
    },
    /// The attempt ended.
    Finished {
        job: JobIdx,
        attempt: u32,
        outcome: Outcome,
    },
    Operator {
        job: JobIdx,
        command: Command,
    },
}

/// Why a kill is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillReason {
    Timeout,
    Operator,
}

/// What the driver must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run attempt `attempt` of `job` (attempts count from 1).
    Dispatch {
        job: JobIdx,
        attempt: u32,
        binding: Binding,
    },
    /// Kill the attempt's process group.
    Kill {
        job: JobIdx,
        attempt: u32,
        reason: KillReason,
    },
    /// Call again at this time even if nothing happens (a not-before, a retry, a timeout).
    WakeAt(DateTime<Utc>),
    /// Every job has succeeded or been skipped.
    Complete,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JobStatus {
    /// Dependencies, earliest time or a hold keep it back.
    Waiting,
    /// May run as soon as its resources are free.
    Ready,
    /// Handed to the queue; no worker has reported it started yet.
    Dispatched {
        attempt: u32,
        at: DateTime<Utc>,
    },
    Running {
        attempt: u32,
        since: DateTime<Utc>,
    },
    /// Attempt `attempt` failed; the next one may start at `until`.
    RetryWait {
        attempt: u32,
        until: DateTime<Utc>,
    },
    Succeeded {
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// Out of retries, killed by an operator, or lost with `on_lost: fail`: dependents wait
    /// for a rerun, a skip or a force-complete.
    Failed {
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// Marked done by an operator without running.
    Skipped {
        at: DateTime<Utc>,
    },
}

impl JobStatus {
    /// Done in the sense that dependents may go on.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded { .. } | JobStatus::Skipped { .. }
        )
    }

    fn live_attempt(&self) -> Option<u32> {
        match self {
            JobStatus::Dispatched { attempt, .. } | JobStatus::Running { attempt, .. } => {
                Some(*attempt)
            }
            _ => None,
        }
    }
}

/// The state of one cycle run, as the machine sees it.
#[derive(Debug, Clone)]
pub struct Machine {
    jobs: Vec<JobStatus>,
    held: Vec<bool>,
    /// The last attempt number issued per job (0: never dispatched).
    attempts: Vec<u32>,
    /// Failed or timed-out attempts since the last operator rerun (lost ones do not count).
    failures: Vec<u32>,
    deps_left: Vec<usize>,
    /// When the last dependency finished, and which one.
    deps_done: Vec<Option<(DateTime<Utc>, JobIdx)>>,
    successors: Vec<Vec<JobIdx>>,
    tails: Vec<TimeDelta>,
    ready: BTreeSet<DispatchOrder>,
    /// Jobs whose eligibility may have changed since the last `schedule`.
    recheck: Vec<JobIdx>,
    /// Eligible jobs waiting for their earliest time.
    not_before: BTreeSet<(DateTime<Utc>, JobIdx)>,
    /// Failed attempts waiting for their backoff.
    retries: BTreeSet<(DateTime<Utc>, JobIdx)>,
    /// Running attempts and when they time out.
    timeouts: BTreeSet<(DateTime<Utc>, JobIdx, u32)>,
    pool: ResourcePool,
    done: usize,
    complete_reported: bool,
}

impl Machine {
    /// A fresh cycle run: nothing has happened yet.
    pub fn new(plan: &Plan) -> Self {
        let n = plan.jobs.len();
        let roots = (0..n).filter(|j| plan.jobs[*j].deps.is_empty()).collect();
        Self {
            jobs: vec![JobStatus::Waiting; n],
            held: vec![false; n],
            attempts: vec![0; n],
            failures: vec![0; n],
            deps_left: plan.jobs.iter().map(|j| j.deps.len()).collect(),
            deps_done: vec![None; n],
            successors: plan.successors(),
            tails: tails(plan),
            ready: BTreeSet::new(),
            recheck: roots,
            not_before: BTreeSet::new(),
            retries: BTreeSet::new(),
            timeouts: BTreeSet::new(),
            pool: ResourcePool::new(&plan.resources),
            done: 0,
            complete_reported: false,
        }
    }

    pub fn status(&self, job: JobIdx) -> JobStatus {
        self.jobs[job]
    }

    pub fn statuses(&self) -> &[JobStatus] {
        &self.jobs
    }

    pub fn is_held(&self, job: JobIdx) -> bool {
        self.held[job]
    }

    pub fn is_complete(&self) -> bool {
        self.done == self.jobs.len()
    }

    /// Applies `events` (all that happened by `now`), then decides what to start, kill and
    /// when to be called next. Events about an attempt that is no longer live (a stale
    /// worker, a duplicate report) change nothing: the attempt number fences them.
    pub fn apply(
        &mut self,
        plan: &Plan,
        now: DateTime<Utc>,
        events: impl IntoIterator<Item = Event>,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        for event in events {
            self.on_event(plan, now, event, &mut actions);
        }
        self.expire_timeouts(now, &mut actions);
        self.schedule(plan, now, &mut actions);
        actions
    }

    fn on_event(
        &mut self,
        plan: &Plan,
        now: DateTime<Utc>,
        event: Event,
        actions: &mut Vec<Action>,
    ) {
        match event {
            Event::Started { job, attempt } => {
                if let JobStatus::Dispatched { attempt: a, .. } = self.jobs[job]
                    && a == attempt
                {
                    self.jobs[job] = JobStatus::Running {
                        attempt,
                        since: now,
                    };
                    if let Some(timeout) = plan.jobs[job].timeout {
                        self.timeouts.insert((now + timeout, job, attempt));
                    }
                }
            }
            Event::Finished {
                job,
                attempt,
                outcome,
            } => {
                if self.jobs[job].live_attempt() != Some(attempt) {
                    return;
                }
                // An attempt that ended needs no wake-up at its timeout: a stale one would
                // keep a run that has nothing left to do waiting until then.
                if let (JobStatus::Running { since, .. }, Some(timeout)) =
                    (self.jobs[job], plan.jobs[job].timeout)
                {
                    self.timeouts.remove(&(since + timeout, job, attempt));
                }
                self.pool.release(&plan.jobs[job].uses, now, job);
                match outcome {
                    Outcome::Succeeded => {
                        self.mark_done(job, JobStatus::Succeeded { attempt, at: now }, now)
                    }
                    Outcome::Failed { .. } | Outcome::TimedOut => {
                        let pj = &plan.jobs[job];
                        self.failures[job] += 1;
                        let failures = self.failures[job];
                        if failures <= pj.retries {
                            let factor = 1i32 << (failures - 1).min(16);
                            let until = now + pj.retry_backoff * factor;
                            self.jobs[job] = JobStatus::RetryWait { attempt, until };
                            self.retries.insert((until, job));
                        } else {
                            self.jobs[job] = JobStatus::Failed { attempt, at: now };
                        }
                    }
                    Outcome::Lost => match plan.jobs[job].on_lost {
                        OnLost::Rerun => {
                            self.jobs[job] = JobStatus::Waiting;
                            self.recheck.push(job);
                        }
                        OnLost::Fail => {
                            self.jobs[job] = JobStatus::Failed { attempt, at: now };
                        }
                    },
                }
            }
            Event::Operator { job, command } => self.on_command(plan, now, job, command, actions),
        }
    }

    fn on_command(
        &mut self,
        plan: &Plan,
        now: DateTime<Utc>,
        job: JobIdx,
        command: Command,
        actions: &mut Vec<Action>,
    ) {
        let status = self.jobs[job];
        match command {
            Command::Hold => {
                self.held[job] = true;
                if status == JobStatus::Ready {
                    self.ready.remove(&plan.dispatch_order(job, &self.tails));
                    self.jobs[job] = JobStatus::Waiting;
                }
            }
            Command::Release => {
                self.held[job] = false;
                self.recheck.push(job);
            }
            Command::Rerun => {
                if matches!(status, JobStatus::Failed { .. }) {
                    self.failures[job] = 0;
                    self.jobs[job] = JobStatus::Waiting;
                    self.recheck.push(job);
                }
            }
            Command::Skip => {
                if matches!(
                    status,
                    JobStatus::Waiting
                        | JobStatus::Ready
                        | JobStatus::RetryWait { .. }
                        | JobStatus::Failed { .. }
                ) {
                    self.ready.remove(&plan.dispatch_order(job, &self.tails));
                    self.mark_done(job, JobStatus::Skipped { at: now }, now);
                }
            }
            Command::Kill => {
                if let Some(attempt) = status.live_attempt() {
                    self.pool.release(&plan.jobs[job].uses, now, job);
                    self.jobs[job] = JobStatus::Failed { attempt, at: now };
                    actions.push(Action::Kill {
                        job,
                        attempt,
                        reason: KillReason::Operator,
                    });
                }
            }
            Command::ForceComplete => {
                if status.is_done() {
                    return;
                }
                if let Some(attempt) = status.live_attempt() {
                    self.pool.release(&plan.jobs[job].uses, now, job);
                    actions.push(Action::Kill {
                        job,
                        attempt,
                        reason: KillReason::Operator,
                    });
                }
                self.ready.remove(&plan.dispatch_order(job, &self.tails));
                let attempt = self.attempts[job];
                self.mark_done(job, JobStatus::Succeeded { attempt, at: now }, now);
            }
        }
    }

    fn mark_done(&mut self, job: JobIdx, status: JobStatus, now: DateTime<Utc>) {
        self.jobs[job] = status;
        self.done += 1;
        for &s in &self.successors[job] {
            self.deps_left[s] = self.deps_left[s].saturating_sub(1);
            if self.deps_done[s].is_none_or(|(t, _)| now >= t) {
                self.deps_done[s] = Some((now, job));
            }
            if self.deps_left[s] == 0 {
                self.recheck.push(s);
            }
        }
    }

    fn expire_timeouts(&mut self, now: DateTime<Utc>, actions: &mut Vec<Action>) {
        while let Some(&(at, job, attempt)) = self.timeouts.first() {
            if at > now {
                break;
            }
            self.timeouts.pop_first();
            if matches!(self.jobs[job], JobStatus::Running { attempt: a, .. } if a == attempt) {
                actions.push(Action::Kill {
                    job,
                    attempt,
                    reason: KillReason::Timeout,
                });
            }
        }
    }

    fn make_ready(&mut self, plan: &Plan, job: JobIdx) {
        self.jobs[job] = JobStatus::Ready;
        self.ready.insert(plan.dispatch_order(job, &self.tails));
    }

    /// Promotes jobs whose time has come, starts what fits, and says when to wake next.
    fn schedule(&mut self, plan: &Plan, now: DateTime<Utc>, actions: &mut Vec<Action>) {
        for job in std::mem::take(&mut self.recheck) {
            if self.jobs[job] == JobStatus::Waiting && self.deps_left[job] == 0 && !self.held[job] {
                self.not_before.insert((plan.jobs[job].earliest, job));
            }
        }
        while let Some(&(at, job)) = self.not_before.first() {
            if at > now {
                break;
            }
            self.not_before.pop_first();
            if self.jobs[job] == JobStatus::Waiting && !self.held[job] {
                self.make_ready(plan, job);
            }
        }
        while let Some(&(at, job)) = self.retries.first() {
            if at > now {
                break;
            }
            self.retries.pop_first();
            if matches!(self.jobs[job], JobStatus::RetryWait { .. }) {
                if self.held[job] {
                    // Released later through `recheck`, which needs it Waiting.
                    self.jobs[job] = JobStatus::Waiting;
                } else {
                    self.make_ready(plan, job);
                }
            }
        }
        let candidates: Vec<DispatchOrder> = self.ready.iter().copied().collect();
        for key in candidates {
            let job = key.2;
            let uses = &plan.jobs[job].uses;
            if !self.pool.fits(uses) {
                continue;
            }
            self.ready.remove(&key);
            let binding = self.binding(plan, job, now);
            self.pool.acquire(uses);
            self.attempts[job] += 1;
            let attempt = self.attempts[job];
            self.jobs[job] = JobStatus::Dispatched { attempt, at: now };
            actions.push(Action::Dispatch {
                job,
                attempt,
                binding,
            });
        }
        let wake = [
            self.not_before.first().map(|(t, _)| *t),
            self.retries.first().map(|(t, _)| *t),
            self.timeouts.first().map(|(t, _, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min();
        if let Some(t) = wake {
            actions.push(Action::WakeAt(t));
        }
        if !self.complete_reported && self.is_complete() {
            self.complete_reported = true;
            actions.push(Action::Complete);
        }
    }

    /// What held a job back until `now`: the critical path walks back through this.
    fn binding(&self, plan: &Plan, job: JobIdx, now: DateTime<Utc>) -> Binding {
        if self.attempts[job] > 0 {
            return Binding::Retry;
        }
        let pj = &plan.jobs[job];
        let deps_at = self.deps_done[job].map(|(t, _)| t);
        let available = deps_at.map_or(pj.earliest, |t| t.max(pj.earliest));
        if now > available
            && let Some((resource, holder)) = self.pool.last_released(&pj.uses)
        {
            return Binding::Resource { resource, holder };
        }
        match self.deps_done[job] {
            Some((t, dep)) if t >= pj.earliest => Binding::Dependency { job: dep },
            _ => Binding::Earliest {
                reason: pj.earliest_reason,
            },
        }
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
