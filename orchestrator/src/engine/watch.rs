//! The deadline watcher: while a cycle runs, it keeps projecting the finish of every
//! deadline from the live state (the same scheduling core, run forward from the driver's
//! machine), draws the breach probability, stores each result (the margin's history over
//! the night), and runs each deadline's escalation ladder.
//!
//! A projection is computed on a blocking thread so the driver never waits for a Monte
//! Carlo: it is started after a state change (or every [`WatchOptions::every`] of run
//! clock when nothing changes) and at most once per [`WatchOptions::min_interval`] of real
//! time, and its result is stored and escalated at the next step after it is ready, under
//! the time of the state it was computed from. When the run ends, [`Watcher::settle`]
//! projects once more, inline, so every deadline is recorded met or breached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use warden_core::plan::Plan;
use warden_core::sched::{Machine, Timeline, simulate};
use warden_deadlines::alert::{AlertLevel, AlertMessage, RoleView, chain_steps};
use warden_deadlines::escalation::{Decision, Escalator, Level, Policy, Reading};
use warden_deadlines::{
    DeadlineRisk, Estimates, HistorySample, JobProgress, LiveRun, Projection, breach_risk,
    deadline_margins, project,
};
use warden_store::{DeadlineEventRow, ProjectionRow, Store, StoreError};

/// How the watcher projects.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Monte Carlo samples per projection (0: no breach probability).
    pub samples: usize,
    pub seed: u64,
    /// Real time between two projections at least.
    pub min_interval: Duration,
    /// Run-clock time after which a projection is made even if nothing changed (a running
    /// job's remainder shrinks, a window comes closer).
    pub every: TimeDelta,
    pub policy: Policy,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            samples: warden_deadlines::DEFAULT_SAMPLES,
            seed: 2025,
            min_interval: Duration::from_millis(100),
            every: TimeDelta::minutes(5),
            policy: Policy::default(),
        }
    }
}

/// A notification the ladder decided and the store took (its key was new).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub deadline: usize,
    pub decision: Decision,
    pub projection_at: DateTime<Utc>,
    pub margin: TimeDelta,
    pub projected_finish: DateTime<Utc>,
    pub p_miss: Option<f64>,
    /// The critical chain's job indices.
    pub chain: Vec<usize>,
}

struct Computed {
    projection: Projection,
    risk: Vec<DeadlineRisk>,
}

pub struct Watcher {
    plan: Arc<Plan>,
    run_id: i64,
    estimates: Arc<Estimates>,
    planned: Vec<Option<TimeDelta>>,
    escalator: Escalator,
    options: WatchOptions,
    pending: Option<JoinHandle<Computed>>,
    started_real: Option<Instant>,
    started_run: Option<DateTime<Utc>>,
    changed: bool,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("run_id", &self.run_id)
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}

impl Watcher {
    /// Loads the cycle's history (estimates) and the ladders' decisions so far (their state).
    pub async fn open(
        store: &Store,
        plan: Arc<Plan>,
        run_id: i64,
        options: WatchOptions,
    ) -> Result<Self, StoreError> {
        let history = history_samples(store.load_history(&plan.cycle).await?);
        let estimates = Arc::new(Estimates::from_history(&plan, &history));
        let planned_schedule = simulate(&plan);
        let mut planned = vec![None; plan.deadlines.len()];
        for m in deadline_margins(&plan, &planned_schedule) {
            planned[m.deadline] = Some(m.margin);
        }
        let stored = store.load_deadline_events(run_id).await?;
        let decisions: Vec<(DateTime<Utc>, Decision)> = stored
            .iter()
            .filter_map(|row| match serde_json::from_str::<Decision>(&row.payload) {
                Ok(d) => Some((row.at, d)),
                Err(e) => {
                    tracing::warn!(run = run_id, event = row.id, error = %e, "a stored ladder decision could not be read; skipped");
                    None
                }
            })
            .collect();
        let escalator = Escalator::restore(
            &plan,
            run_id.to_string(),
            options.policy,
            decisions.iter().map(|(t, d)| (*t, d)),
        );
        Ok(Self {
            plan,
            run_id,
            estimates,
            planned,
            escalator,
            options,
            pending: None,
            started_real: None,
            started_run: None,
            changed: true,
        })
    }

    pub fn estimates(&self) -> &Estimates {
        &self.estimates
    }

    pub fn level(&self, deadline: usize) -> Level {
        self.escalator.level(deadline)
    }

    /// The run's state changed: project again soon.
    pub fn changed(&mut self) {
        self.changed = true;
    }

    /// Stores a finished projection (if any) and starts the next one if it is due.
    pub async fn tick(
        &mut self,
        store: &Store,
        machine: &Machine,
        timeline: &Timeline,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut notices = Vec::new();
        if self.pending.as_ref().is_some_and(|h| h.is_finished())
            && let Some(handle) = self.pending.take()
        {
            match handle.await {
                Ok(computed) => notices = self.record(store, computed).await?,
                Err(e) => tracing::error!(run = self.run_id, error = %e, "a projection failed"),
            }
        }
        let due_run = self
            .started_run
            .is_none_or(|t| now - t >= self.options.every);
        let due_real = self
            .started_real
            .is_none_or(|t| t.elapsed() >= self.options.min_interval);
        if self.pending.is_none() && due_real && (self.changed || due_run) {
            self.take_acks(store, now).await?;
            let progress = self.progress(store, machine).await?;
            let (plan, estimates, options) = (
                self.plan.clone(),
                self.estimates.clone(),
                self.options.clone(),
            );
            let (machine, timeline) = (machine.clone(), timeline.clone());
            self.pending = Some(tokio::task::spawn_blocking(move || {
                compute(
                    &plan, &machine, &timeline, now, &progress, &estimates, &options,
                )
            }));
            self.changed = false;
            self.started_real = Some(Instant::now());
            self.started_run = Some(now);
        }
        Ok(notices)
    }

    /// The last word at the end of a run: waits for a projection in progress and records one
    /// more from the final state, so every deadline is settled (met or breached).
    pub async fn settle(
        &mut self,
        store: &Store,
        machine: &Machine,
        timeline: &Timeline,
        now: DateTime<Utc>,
    ) -> Result<Vec<Notice>, StoreError> {
        let mut notices = Vec::new();
        if let Some(handle) = self.pending.take()
            && let Ok(computed) = handle.await
        {
            notices.extend(self.record(store, computed).await?);
        }
        let progress = self.progress(store, machine).await?;
        let options = WatchOptions {
            samples: 0,
            ..self.options.clone()
        };
        let computed = compute(
            &self.plan,
            machine,
            timeline,
            now,
            &progress,
            &self.estimates,
            &options,
        );
        notices.extend(self.record(store, computed).await?);
        Ok(notices)
    }

    async fn progress(
        &self,
        store: &Store,
        machine: &Machine,
    ) -> Result<Vec<Option<JobProgress>>, StoreError> {
        let mut progress = vec![None; self.plan.jobs.len()];
        for row in store.load_progress(self.run_id).await? {
            let job = usize::try_from(row.job_idx).unwrap_or(usize::MAX);
            let live = machine.statuses().get(job).and_then(|s| match s {
                warden_core::sched::JobStatus::Running { attempt, .. } => Some(*attempt),
                _ => None,
            });
            if live == u32::try_from(row.attempt).ok() && job < progress.len() {
                progress[job] = Some(JobProgress {
                    done: u64::try_from(row.done).unwrap_or(0),
                    total: u64::try_from(row.total).unwrap_or(0),
                });
            }
        }
        Ok(progress)
    }

    /// Escalates one projection and stores it with the decisions; returns the notices whose
    /// keys were new.
    async fn record(
        &mut self,
        store: &Store,
        computed: Computed,
    ) -> Result<Vec<Notice>, StoreError> {
        let Computed { projection, risk } = computed;
        let plan = self.plan.clone();
        let at = projection.at;
        let mut readings = Vec::new();
        for m in &projection.margins {
            let d = &plan.deadlines[m.deadline];
            // Settled as of the projection's own state (its `at`), not the machine's now:
            // on a fast clock the run moves on while a projection is computed.
            let settled = d
                .covers
                .iter()
                .all(|j| projection.phases[*j] == warden_deadlines::Phase::Done);
            let p_miss = risk
                .iter()
                .find(|r| r.deadline == m.deadline)
                .map(|r| r.p_miss());
            readings.push(Reading {
                deadline: m.deadline,
                margin: m.margin,
                projected_finish: m.finish,
                planned_margin: self.planned[m.deadline],
                p_miss: if settled {
                    Some(f64::from(u8::from(m.is_missed())))
                } else {
                    p_miss
                },
                finished: settled.then_some(m.finish),
            });
        }
        let decisions = self.escalator.evaluate(&plan, at, &readings);
        let recorded_at = Utc::now();
        let rows: Vec<ProjectionRow> = projection
            .margins
            .iter()
            .zip(&readings)
            .map(|(m, r)| {
                let risk = risk.iter().find(|x| x.deadline == m.deadline);
                let chain: Vec<&str> = m
                    .chain
                    .jobs
                    .iter()
                    .map(|j| plan.jobs[*j].id.as_str())
                    .collect();
                ProjectionRow {
                    at,
                    deadline_id: plan.deadlines[m.deadline].id.clone(),
                    deadline_at: m.at,
                    finish: m.finish,
                    margin_seconds: m.margin.num_seconds(),
                    p_miss: r.p_miss,
                    p50_finish: risk.map(|x| x.p50_finish),
                    p90_finish: risk.map(|x| x.p90_finish),
                    samples: risk.map_or(0, |x| x.samples as i64),
                    level: self.escalator.level(m.deadline).as_str().to_string(),
                    settled: r.finished.is_some(),
                    chain: serde_json::to_string(&chain).unwrap_or_else(|_| "[]".into()),
                    recorded_at,
                }
            })
            .collect();
        let events: Vec<DeadlineEventRow> = decisions
            .iter()
            .map(|d| event_row(&plan, at, d, "orchestrator", recorded_at))
            .collect();
        // Alerts first, then the decisions: raising is idempotent by the notice key, so a
        // crash in between re-evaluates to the same notice and finds its alert there; the
        // other order could restore a ladder that believes it notified when nobody was told.
        let mut written = Vec::new();
        for d in &decisions {
            if let Decision::Notify { key, .. } = d
                && let Some(alert) = self.alert(&projection, &risk, &decisions, d)
                && store.raise_alert(&alert).await?.created
            {
                written.push(key.clone());
            }
        }
        store.record_watch(self.run_id, &rows, &events).await?;
        for d in &decisions {
            log_decision(&plan, self.run_id, d);
        }
        let notices = decisions
            .into_iter()
            .filter_map(|d| match &d {
                Decision::Notify { deadline, key, .. } if written.contains(key) => {
                    let m = projection
                        .margins
                        .iter()
                        .find(|m| m.deadline == *deadline)?;
                    Some(Notice {
                        deadline: *deadline,
                        projection_at: at,
                        margin: m.margin,
                        projected_finish: m.finish,
                        p_miss: readings
                            .iter()
                            .find(|r| r.deadline == *deadline)
                            .and_then(|r| r.p_miss),
                        chain: m.chain.jobs.clone(),
                        decision: d.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        Ok(notices)
    }
}

impl Watcher {
    /// The outbox row for a notice: the deadline, level, trigger, projected finish, margin,
    /// P(miss) and the chain that causes it, as the templates render it.
    fn alert(
        &self,
        projection: &Projection,
        risk: &[DeadlineRisk],
        decisions: &[Decision],
        notice: &Decision,
    ) -> Option<warden_store::NewAlert> {
        let Decision::Notify {
            deadline,
            step,
            level,
            roles,
            template,
            key,
            trigger,
            ..
        } = notice
        else {
            return None;
        };
        let plan = &self.plan;
        let m = projection
            .margins
            .iter()
            .find(|m| m.deadline == *deadline)?;
        let previous = decisions
            .iter()
            .find_map(|d| match d {
                Decision::Level {
                    deadline: dl, from, ..
                } if dl == deadline => Some(*from),
                _ => None,
            })
            .unwrap_or(self.escalator.level(*deadline));
        let step_trigger = plan.deadlines[*deadline].escalation.get(*step)?.trigger;
        let mut view = AlertMessage::new(
            plan,
            self.run_id,
            *deadline,
            AlertLevel::parse(level.as_str())?,
            AlertLevel::parse(previous.as_str()),
            &step_trigger,
            m.finish,
            projection.at,
        );
        view.trigger = trigger.clone();
        view.chain = chain_steps(plan, &projection.schedule, &m.chain);
        view.roles = roles
            .iter()
            .filter_map(|r| plan.roles.get(*r))
            .map(|r| RoleView {
                id: r.id.clone(),
                name: r.name.clone().unwrap_or_else(|| r.id.clone()),
            })
            .collect();
        if let Some(r) = risk.iter().find(|r| r.deadline == *deadline) {
            view.set_probability(r.p_miss(), r.p50_finish, r.p90_finish, plan.timezone);
        }
        Some(crate::alerts::new_alert(
            &view,
            template.as_deref(),
            key.clone(),
        ))
    }

    /// Acknowledgements made since the last look (`warden ack`, the UI) silence their
    /// step's re-notifications; each is recorded as a ladder decision (the audit trail).
    async fn take_acks(&mut self, store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
        let acks = store.run_acks(self.run_id).await?;
        let plan = self.plan.clone();
        let mut rows = Vec::new();
        for ack in acks {
            if let Some(d) = self
                .escalator
                .acknowledge_key(&plan, &ack.alert_key, &ack.actor)
            {
                tracing::info!(run = self.run_id, deadline = %ack.deadline_id, actor = %ack.actor, "escalation acknowledged");
                rows.push(event_row(&plan, now, &d, &ack.actor, Utc::now()));
            }
        }
        if !rows.is_empty() {
            store.record_watch(self.run_id, &[], &rows).await?;
        }
        Ok(())
    }
}

/// The store's history rows as the estimates read them.
pub fn history_samples(rows: Vec<warden_store::HistoryRow>) -> Vec<HistorySample> {
    rows.into_iter()
        .map(|h| HistorySample::new(h.job_id, h.volume, h.seconds))
        .collect()
}

/// One projection with its breach probability: pure, run on a blocking thread.
fn compute(
    plan: &Plan,
    machine: &Machine,
    timeline: &Timeline,
    now: DateTime<Utc>,
    progress: &[Option<JobProgress>],
    estimates: &Estimates,
    options: &WatchOptions,
) -> Computed {
    let live = LiveRun {
        machine,
        timeline,
        now,
        progress,
    };
    let projection = project(plan, &live, estimates);
    let risk = if options.samples > 0 {
        breach_risk(plan, &live, estimates, options.samples, options.seed)
    } else {
        Vec::new()
    };
    Computed { projection, risk }
}

/// A ladder decision as a stored row.
pub fn event_row(
    plan: &Plan,
    at: DateTime<Utc>,
    d: &Decision,
    actor: &str,
    recorded_at: DateTime<Utc>,
) -> DeadlineEventRow {
    let (deadline, kind, level, key) = match d {
        Decision::Notify {
            deadline,
            level,
            key,
            ..
        } => (*deadline, "notify", Some(*level), Some(key.clone())),
        Decision::Activated {
            deadline, level, ..
        } => (*deadline, "activated", Some(*level), None),
        Decision::Cleared { deadline, .. } => (*deadline, "cleared", None, None),
        Decision::Level { deadline, to, .. } => (*deadline, "level", Some(*to), None),
        Decision::Breached { deadline, .. } => (*deadline, "breached", Some(Level::Breached), None),
        Decision::Met { deadline, .. } => (*deadline, "met", Some(Level::Ok), None),
        Decision::Acknowledged { deadline, .. } => (*deadline, "acknowledged", None, None),
    };
    DeadlineEventRow {
        id: 0,
        at,
        deadline_id: plan
            .deadlines
            .get(deadline)
            .map_or_else(|| deadline.to_string(), |d| d.id.clone()),
        kind: kind.to_string(),
        level: level.map(|l| l.as_str().to_string()),
        notice_key: key,
        payload: serde_json::to_string(d).unwrap_or_else(|_| "{}".into()),
        actor: actor.to_string(),
        recorded_at,
    }
}

fn log_decision(plan: &Plan, run: i64, d: &Decision) {
    let id = |i: usize| plan.deadlines.get(i).map_or("?", |d| d.id.as_str());
    match d {
        Decision::Notify {
            deadline,
            level,
            key,
            trigger,
            ..
        } => {
            tracing::warn!(run, deadline = id(*deadline), level = level.as_str(), %key, %trigger, "escalation")
        }
        Decision::Level { deadline, from, to } => tracing::info!(
            run,
            deadline = id(*deadline),
            from = from.as_str(),
            to = to.as_str(),
            "deadline level"
        ),
        Decision::Breached {
            deadline,
            finish,
            lateness,
        } => tracing::error!(
            run,
            deadline = id(*deadline),
            finished = finish.is_some(),
            lateness_minutes = lateness.num_minutes(),
            "deadline breached"
        ),
        Decision::Met {
            deadline, margin, ..
        } => tracing::info!(
            run,
            deadline = id(*deadline),
            margin_minutes = margin.num_minutes(),
            "deadline met"
        ),
        Decision::Activated {
            deadline, level, ..
        } => tracing::info!(
            run,
            deadline = id(*deadline),
            level = level.as_str(),
            "escalation step on (no notice of its own: the deadline's incident is told once, at its most severe level)"
        ),
        Decision::Cleared { .. } | Decision::Acknowledged { .. } => {}
    }
}
