//! The driver: the single writer of a cycle run's event log.
//!
//! Each step it turns what workers reported (the store's inbox) and lost leases into machine
//! events, applies them at the clock's `now`, and commits in one transaction the events, the
//! consumed inbox rows, and the queue rows and kill requests the machine decided. It has no
//! other side effect, so a crash at any point loses nothing: a restarted driver replays the
//! event log into a fresh machine — the same inputs at the same times give the same state —
//! and goes on. Nothing is dispatched twice (queue rows are keyed by job and attempt) and
//! no completion is recorded twice (attempts are fenced).
//!
//! A run has one driver at a time: it holds the run's ownership lease (wall clock) and
//! renews it as it steps. If a commit fails (the database went away), the driver throws its
//! machine away and rebuilds it from the log, because the machine had already applied
//! inputs that were never made durable.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::{Action, Command, Event, JobStatus, Machine, Outcome, Timeline};
pub use warden_store::replay;
use warden_store::{
    AttemptEnd, AttemptStart, Enqueue, HistoryRow, LoggedEvent, NewRun, Report, RunRecord, Step,
    Store, StoreError, StoredEvent,
};

use super::host::{OwnerTag, owner_is_dead};

/// How often (on the run's clock) to look for attempts whose lease ran out.
const LEASE_CHECK_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// The run's ownership lease (wall clock), and how often it is renewed.
const OWNER_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
const OWNER_RENEW_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    pub dispatched: usize,
    pub events: usize,
    /// When the machine wants to be called even if nothing happens.
    pub wake_at: Option<DateTime<Utc>>,
    pub complete: bool,
}

#[derive(Debug)]
pub struct Driver {
    store: Store,
    plan: Arc<Plan>,
    run: RunRecord,
    machine: Machine,
    /// When and why each job's latest attempt was dispatched (for the projection).
    timeline: Timeline,
    clock: Arc<dyn Clock>,
    /// Who the orchestrator is in the audit trail.
    actor: String,
    /// When leases were last checked (they need not be on every step).
    leases_checked: Option<DateTime<Utc>>,
    /// This orchestrator, as the run's owner.
    owner: OwnerTag,
    /// When the ownership lease was last renewed (wall clock).
    owned_at: DateTime<Utc>,
    /// The log's last event and step numbers: the driver is the log's one writer.
    logged: (i64, i64),
}

impl Driver {
    /// Opens (or resumes) the run and rebuilds the machine from its event log.
    pub async fn open(
        store: Store,
        plan: Arc<Plan>,
        new: &NewRun,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let run = store.open_run(new, clock.now()).await?;
        if run.workflow_sha256 != new.workflow_sha256 {
            return Err(StoreError::Invalid(format!(
                "cycle run {} ({} for {}) was started from a different version of the workflow; \
                 finish or archive it before changing the file",
                run.id, run.cycle, run.business_date
            )));
        }
        let owner = OwnerTag::this_process();
        take_ownership(&store, run.id, &owner).await?;
        let events = store.load_events(run.id).await?;
        let (machine, timeline) = replay(&plan, &events);
        Ok(Self {
            logged: last_logged(&events),
            store,
            plan,
            run,
            machine,
            timeline,
            clock,
            actor: "orchestrator".to_string(),
            leases_checked: None,
            owner,
            owned_at: Utc::now(),
        })
    }

    /// This orchestrator's name as the run's owner (`host-pid`).
    pub fn owner(&self) -> &OwnerTag {
        &self.owner
    }

    /// Rebuilds the machine from the durable log: after a failed commit, the machine holds
    /// inputs that may never have been stored.
    pub async fn recover(&mut self) -> Result<(), StoreError> {
        take_ownership(&self.store, self.run.id, &self.owner).await?;
        self.owned_at = Utc::now();
        let events = self.store.load_events(self.run.id).await?;
        let (machine, timeline) = replay(&self.plan, &events);
        self.machine = machine;
        self.timeline = timeline;
        self.logged = last_logged(&events);
        self.leases_checked = None;
        Ok(())
    }

    /// Lets go of the run, so the next `warden run` need not wait for the lease.
    pub async fn release(&self) -> Result<(), StoreError> {
        self.store
            .release_run(self.run.id, self.owner.as_str())
            .await
    }

    pub fn run(&self) -> &RunRecord {
        &self.run
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Consumes worker reports and lost leases, applies them, and makes the step durable.
    pub async fn step(&mut self) -> Result<StepReport, StoreError> {
        let began = std::time::Instant::now();
        let report = self.step_inner().await?;
        tracing::debug!(
            events = report.events,
            dispatched = report.dispatched,
            micros = began.elapsed().as_micros() as u64,
            "step"
        );
        Ok(report)
    }

    async fn step_inner(&mut self) -> Result<StepReport, StoreError> {
        let now = self.clock.now();
        if Utc::now() - self.owned_at >= OWNER_RENEW_EVERY {
            take_ownership(&self.store, self.run.id, &self.owner).await?;
            self.owned_at = Utc::now();
        }
        if self
            .leases_checked
            .is_none_or(|t| now - t >= LEASE_CHECK_EVERY)
        {
            self.store.expire_leases(self.run.id, now).await?;
            self.leases_checked = Some(now);
        }
        let inbox = self.store.inbox(self.run.id).await?;
        let events: Vec<LoggedEvent> = inbox
            .iter()
            .map(|item| LoggedEvent {
                event: Some(item.event()),
                actor: item.worker.clone(),
                reason: item.reason.clone(),
            })
            .collect();
        let mut step = Step {
            consumed_inbox: inbox.iter().map(|i| i.id).collect(),
            ..Step::default()
        };
        // The attempts table follows the inbox: the driver writes it with the events, so
        // a worker's report is one statement.
        for item in &inbox {
            match item.report {
                Report::Started => step.attempts_started.push(AttemptStart {
                    job: item.job_idx,
                    attempt: item.attempt,
                    worker: item.worker.clone(),
                    at: item.at,
                    pgid: item.process.as_ref().and_then(|p| p.pgid),
                    log_path: item.process.as_ref().and_then(|p| p.log_path.clone()),
                }),
                Report::Finished(outcome) => step.attempts_ended.push(AttemptEnd::new(
                    item.job_idx,
                    item.attempt,
                    item.at,
                    &outcome,
                )),
                Report::Operator(_) => {}
            }
        }
        self.commit(now, events, step).await
    }

    /// An operator's command, recorded with who and why.
    pub async fn command(
        &mut self,
        job: usize,
        command: Command,
        actor: &str,
        reason: Option<String>,
    ) -> Result<StepReport, StoreError> {
        let event = LoggedEvent {
            event: Some(Event::Operator { job, command }),
            actor: actor.to_string(),
            reason,
        };
        self.commit(self.clock.now(), vec![event], Step::default())
            .await
    }

    async fn commit(
        &mut self,
        now: DateTime<Utc>,
        mut events: Vec<LoggedEvent>,
        mut step: Step,
    ) -> Result<StepReport, StoreError> {
        let inputs: Vec<Event> = events.iter().filter_map(|e| e.event).collect();
        let history = self.history_rows(now, &inputs);
        let actions = self.machine.apply(&self.plan, now, inputs);
        self.timeline.record(now, &actions);
        let mut report = StepReport {
            events: events.len(),
            ..StepReport::default()
        };
        step.at = now;
        step.history = history;
        for action in actions {
            match action {
                Action::Dispatch { job, attempt, .. } => {
                    step.dispatch.push(Enqueue {
                        job_idx: job as i64,
                        attempt: i64::from(attempt),
                        job_id: self.plan.jobs[job].id.clone(),
                        priority: self.plan.jobs[job].priority,
                        needs: self.plan.jobs[job].runs_on.clone(),
                    });
                    report.dispatched += 1;
                }
                Action::Kill {
                    job,
                    attempt,
                    reason,
                } => step.kills.push((job as i64, i64::from(attempt), reason)),
                Action::WakeAt(t) => report.wake_at = Some(t),
                Action::Complete => report.complete = true,
            }
        }
        // A step that changed nothing outside the machine need not be logged: replaying the
        // next logged step at its later time reaches the same decisions.
        if !events.is_empty() || !step.dispatch.is_empty() || !step.kills.is_empty() {
            if events.is_empty() {
                events.push(LoggedEvent {
                    event: None,
                    actor: self.actor.clone(),
                    reason: None,
                });
            }
            step.after = Some(self.logged);
            let logged = (self.logged.0 + events.len() as i64, self.logged.1 + 1);
            step.events = events;
            self.store
                .commit_step(self.run.id, &step, Utc::now())
                .await?;
            self.logged = logged;
        }
        report.complete |= self.machine.is_complete();
        if report.complete && self.run.status != "complete" {
            tracing::info!(run = self.run.id, cycle = %self.run.cycle, date = %self.run.business_date, "cycle run complete");
        }
        if report.complete && self.run.status != "complete" {
            self.store.set_run_status(self.run.id, "complete").await?;
            self.run.status = "complete".into();
        }
        Ok(report)
    }
}

impl Driver {
    /// History rows for the attempts these inputs report succeeded: duration on the run's
    /// clock from when the machine saw the attempt start, and the volume the job processed.
    fn history_rows(&self, now: DateTime<Utc>, inputs: &[Event]) -> Vec<HistoryRow> {
        let statuses = self.machine.statuses();
        inputs
            .iter()
            .filter_map(|e| match e {
                Event::Finished {
                    job,
                    attempt,
                    outcome: Outcome::Succeeded,
                } => match statuses.get(*job) {
                    Some(JobStatus::Running { attempt: a, since }) if a == attempt => {
                        Some((*job, *since))
                    }
                    _ => None,
                },
                _ => None,
            })
            .map(|(job, since)| {
                let pj = &self.plan.jobs[job];
                HistoryRow {
                    cycle: self.plan.cycle.clone(),
                    job_id: pj.id.clone(),
                    template: pj.template.clone(),
                    business_date: self.plan.date.clone(),
                    volume: i64::try_from(job_volume(&self.plan, job)).unwrap_or(i64::MAX),
                    seconds: (now - since).num_milliseconds() as f64 / 1000.0,
                    finished_at: now,
                }
            })
            .collect()
    }
}

/// The claims a job processes (see [`Plan::job_volume`]).
pub fn job_volume(plan: &Plan, job: usize) -> u64 {
    plan.job_volume(job)
}

/// Takes the run for `owner`, or renews it; a holder on this host whose process is gone is
/// taken over at once, a live one (or one on another host, until its lease runs out) is
/// [`StoreError::Busy`].
async fn take_ownership(store: &Store, run_id: i64, owner: &OwnerTag) -> Result<(), StoreError> {
    let now = Utc::now();
    let until = now + OWNER_LEASE;
    let holder = match store
        .acquire_run(run_id, owner.as_str(), now, until, None)
        .await?
    {
        Ok(()) => return Ok(()),
        Err(holder) => holder,
    };
    if owner_is_dead(&holder.owner) {
        tracing::warn!(run = run_id, dead = %holder.owner, "taking over a run whose orchestrator died");
        if store
            .acquire_run(run_id, owner.as_str(), now, until, Some(&holder.owner))
            .await?
            .is_ok()
        {
            return Ok(());
        }
    }
    Err(StoreError::Busy {
        run_id,
        owner: holder.owner,
        until: holder.until,
    })
}

/// The last event and step numbers of a log (0, 0 when empty).
fn last_logged(events: &[StoredEvent]) -> (i64, i64) {
    events.last().map_or((0, 0), |e| (e.seq, e.step))
}
