//! One cycle run as the pages see it: everything the store holds about it, the machine
//! rebuilt from its event log, and a fresh projection of its rest (the same projection the
//! deadline watcher makes, from the same history and reported progress).
//!
//! Loading is the only I/O; what follows (`RunSnapshot::compute`) is pure, so the render
//! benchmark and the unit tests build snapshots without a store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use warden_core::plan::Plan;
use warden_core::sched::{Machine, Timeline};
use warden_core::sched::{Schedule, simulate};
use warden_deadlines::{
    Diagnosis, Estimates, HistorySample, JobProgress, LiveRun, Projection, diagnose, project,
};
use warden_store::{
    AlertRecord, AttemptRecord, DeadlineEventRow, ProjectionRow, RunRecord, Store, StoredEvent,
    replay,
};

use crate::catalog::Catalog;
use crate::error::ApiError;

/// Projections read per deadline for the margin's history (the latest always among them).
pub const HISTORY_POINTS: i64 = 120;

/// A run with its plan, state and projection.
#[derive(Debug)]
pub struct RunSnapshot {
    pub run: RunRecord,
    pub plan: Arc<Plan>,
    pub plan_warning: Option<String>,
    pub events: Vec<StoredEvent>,
    pub attempts: Vec<AttemptRecord>,
    pub projections: Vec<ProjectionRow>,
    pub ladder: Vec<DeadlineEventRow>,
    pub alerts: Vec<AlertRecord>,
    pub progress: Vec<Option<JobProgress>>,
    pub history: Vec<HistorySample>,
    /// The business date of each `history` sample (same order).
    pub history_dates: Vec<String>,
    pub machine: Machine,
    pub timeline: Timeline,
    /// The run's clock as far as the store knows it: its last event or projection.
    pub now: DateTime<Utc>,
    pub projection: Projection,
    /// The estimates the projection used (learned from history where there is any).
    pub estimates: Estimates,
    /// Why each deadline stands where it does: its binding chain, step by step.
    pub diagnoses: Vec<Diagnosis>,
    /// The plan as scheduled from its estimates before the run: the Gantt's planned bars.
    pub planned: Schedule,
}

/// What a snapshot is computed from (what the store returns for a run).
#[derive(Debug, Default)]
pub struct Stored {
    pub events: Vec<StoredEvent>,
    pub attempts: Vec<AttemptRecord>,
    pub projections: Vec<ProjectionRow>,
    pub ladder: Vec<DeadlineEventRow>,
    pub alerts: Vec<AlertRecord>,
    pub progress: Vec<(usize, JobProgress)>,
    pub history: Vec<HistorySample>,
    /// The business date of each `history` sample (same order; may be empty).
    pub history_dates: Vec<String>,
}

impl RunSnapshot {
    /// Reads the run with this id from the store and computes its projection.
    pub async fn load(store: &Store, catalog: &Catalog, run_id: i64) -> Result<Self, ApiError> {
        let run = store
            .list_runs()
            .await?
            .into_iter()
            .find(|r| r.id == run_id)
            .ok_or_else(|| ApiError::NotFound(format!("there is no run {run_id}")))?;
        Self::load_run(store, catalog, run).await
    }

    /// Reads a run already listed from the store and computes its projection.
    pub async fn load_run(
        store: &Store,
        catalog: &Catalog,
        run: RunRecord,
    ) -> Result<Self, ApiError> {
        let started = std::time::Instant::now();
        let run_id = run.id;
        let found = catalog.plan_for(&run).map_err(ApiError::Unavailable)?;
        // The reads are independent: run them at once over the pool's connections.
        let (events, attempts, projections, ladder, alerts, progress, history) = tokio::try_join!(
            store.load_events(run.id),
            store.load_attempts(run.id),
            store.load_projections_sampled(run.id, HISTORY_POINTS),
            store.load_deadline_events(run.id),
            store.run_alerts(run.id),
            store.load_progress(run.id),
            store.load_history(&run.cycle),
        )?;
        let stored = Stored {
            events,
            attempts,
            projections,
            ladder,
            alerts,
            progress: progress
                .into_iter()
                .filter_map(|p| {
                    Some((
                        usize::try_from(p.job_idx).ok()?,
                        JobProgress {
                            done: u64::try_from(p.done).ok()?,
                            total: u64::try_from(p.total).ok()?,
                        },
                    ))
                })
                .collect(),
            history_dates: history.iter().map(|h| h.business_date.clone()).collect(),
            history: history
                .into_iter()
                .map(|h| HistorySample::new(h.job_id, h.volume, h.seconds))
                .collect(),
        };
        let plan = found.plan.clone();
        let read = started.elapsed();
        let mut snapshot = tokio::task::spawn_blocking(move || Self::compute(run, plan, stored))
            .await
            .map_err(|e| ApiError::Internal(format!("projection task: {e}")))?;
        tracing::debug!(
            run = run_id,
            read_ms = read.as_secs_f64() * 1e3,
            total_ms = started.elapsed().as_secs_f64() * 1e3,
            "run snapshot"
        );
        snapshot.plan_warning = found.warning;
        Ok(snapshot)
    }

    /// Replays the log and projects the rest: pure.
    pub fn compute(run: RunRecord, plan: Arc<Plan>, stored: Stored) -> Self {
        let (machine, timeline) = replay(&plan, &stored.events);
        let now = stored
            .events
            .iter()
            .map(|e| e.at)
            .chain(stored.projections.iter().map(|p| p.at))
            .max()
            .unwrap_or(plan.start);
        Self::from_state(run, plan, stored, machine, timeline, now)
    }

    /// A snapshot of a state already rebuilt (or synthesised, for benchmarks): projects the
    /// rest from `now`.
    pub fn from_state(
        run: RunRecord,
        plan: Arc<Plan>,
        stored: Stored,
        machine: Machine,
        timeline: Timeline,
        now: DateTime<Utc>,
    ) -> Self {
        let mut progress = vec![None; plan.jobs.len()];
        for (job, p) in &stored.progress {
            if let Some(slot) = progress.get_mut(*job) {
                *slot = Some(*p);
            }
        }
        let estimates = Estimates::from_history(&plan, &stored.history);
        let live = LiveRun {
            machine: &machine,
            timeline: &timeline,
            now,
            progress: &progress,
        };
        let projection = project(&plan, &live, &estimates);
        let diagnoses = diagnose(&live, &projection, &estimates);
        let planned = simulate(&plan);
        Self {
            run,
            plan,
            plan_warning: None,
            events: stored.events,
            attempts: stored.attempts,
            projections: stored.projections,
            ladder: stored.ladder,
            alerts: stored.alerts,
            progress,
            history: stored.history,
            history_dates: stored.history_dates,
            machine,
            timeline,
            now,
            projection,
            estimates,
            diagnoses,
            planned,
        }
    }

    /// The run as it stands, for projecting moves on it.
    pub fn live(&self) -> LiveRun<'_> {
        LiveRun {
            machine: &self.machine,
            timeline: &self.timeline,
            now: self.now,
            progress: &self.progress,
        }
    }

    /// The latest stored projection row of a deadline (what the watcher last decided).
    pub fn latest(&self, deadline_id: &str) -> Option<&ProjectionRow> {
        self.projections
            .iter()
            .rev()
            .find(|p| p.deadline_id == deadline_id)
    }
}
