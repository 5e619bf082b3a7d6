//! What workers on other hosts need from the store, besides the queue: the registry of
//! worker processes (`warden workers`), the files a run's plan was compiled from (a worker
//! builds the same plan), the run's clock (a worker stamps its leases and reports on it), and
//! the schema version (a worker never migrates; it refuses a store of another version).
//!
//! Statements: `sql/<dialect>/{workers,run_sources,run_clocks}_*.sql`, `schema_version.sql`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// A worker process as it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
}

/// What a worker does now, as its heartbeat says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    Idle,
    /// Running attempt `attempt` of `job` in run `run`.
    Running {
        run: i64,
        job: String,
        attempt: i64,
    },
    /// Asked to stop: finishing its attempt, claiming nothing more.
    Stopping,
    Stopped,
}

impl WorkerState {
    pub fn label(&self) -> &'static str {
        match self {
            WorkerState::Idle => "idle",
            WorkerState::Running { .. } => "running",
            WorkerState::Stopping => "stopping",
            WorkerState::Stopped => "stopped",
        }
    }
}

/// A row of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerRow {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: DateTime<Utc>,
    /// Wall clock.
    pub heartbeat_at: DateTime<Utc>,
    /// `idle`, `running`, `stopping` or `stopped`, as the worker last said.
    pub state: String,
    pub run_id: Option<i64>,
    pub job_id: Option<String>,
    pub attempt: Option<i64>,
    pub jobs_done: i64,
}

/// How long a worker may go unheard (its registry row not beaten) before it is called
/// silent: killed, cut off, or its host gone. Workers beat every 5 s.
pub const SILENT_AFTER_SECONDS: i64 = 20;

impl WorkerRow {
    /// What the row says of its worker at wall time `now`: its own state, or `silent` when it
    /// has not beaten for [`SILENT_AFTER_SECONDS`] (its attempt, if any, runs again elsewhere
    /// when the lease runs out, or is adopted by its restarted successor).
    pub fn liveness(&self, now: DateTime<Utc>) -> &str {
        let silent = (now - self.heartbeat_at).num_seconds() > SILENT_AFTER_SECONDS;
        match self.state.as_str() {
            "stopped" => "stopped",
            _ if silent => "silent",
            s => s,
        }
    }
}

/// A run's clock as its orchestrator keeps it: run time = `origin` + (wall − `wall_start`)
/// × `speed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunClock {
    pub run_id: i64,
    pub origin: DateTime<Utc>,
    pub wall_start: DateTime<Utc>,
    pub speed: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_unheard_of_is_silent_unless_it_said_it_stopped() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::TimeDelta::days(20_000);
        let row = |state: &str, ago: i64| WorkerRow {
            name: "w".into(),
            host: "h".into(),
            pid: 1,
            version: "0".into(),
            started_at: now,
            heartbeat_at: now - chrono::TimeDelta::seconds(ago),
            state: state.into(),
            run_id: None,
            job_id: None,
            attempt: None,
            jobs_done: 0,
        };
        assert_eq!(row("running", 2).liveness(now), "running");
        assert_eq!(row("running", 60).liveness(now), "silent");
        assert_eq!(row("idle", 21).liveness(now), "silent");
        assert_eq!(row("idle", 20).liveness(now), "idle");
        assert_eq!(row("stopped", 600).liveness(now), "stopped");
    }
}

delegate! {
    /// Registers a worker process (replacing a dead one's row of the same name).
    fn register_worker(&self, info: &WorkerInfo, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// A worker's heartbeat (wall clock `at`): its state and jobs run so far.
    fn beat_worker(
        &self,
        name: &str,
        at: DateTime<Utc>,
        state: &WorkerState,
        jobs_done: i64,
    ) -> Result<(), StoreError>;
    /// Every registered worker, by name.
    fn list_workers(&self) -> Result<Vec<WorkerRow>, StoreError>;
    /// Keeps the files a run's plan was compiled from (path, text), the workflow first;
    /// a run that has them keeps its own.
    fn put_run_sources(&self, run_id: i64, files: &[(String, String)]) -> Result<(), StoreError>;
    /// The files a run's plan was compiled from, the workflow first; empty for a run
    /// created before they were kept.
    fn run_sources(&self, run_id: i64) -> Result<Vec<(String, String)>, StoreError>;
    /// Publishes a run's clock (at each start of its orchestrator).
    fn set_run_clock(&self, clock: &RunClock) -> Result<(), StoreError>;
    /// The running runs whose clock is published: those a worker may claim from.
    fn open_run_clocks(&self) -> Result<Vec<RunClock>, StoreError>;
    /// The newest migration applied to the store.
    fn schema_version(&self) -> Result<i64, StoreError>;
}

dialects! {
    pub async fn register_worker(
        &self,
        info: &WorkerInfo,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("workers_register"))
            .bind(&info.name)
            .bind(&info.host)
            .bind(info.pid)
            .bind(&info.version)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn beat_worker(
        &self,
        name: &str,
        at: DateTime<Utc>,
        state: &WorkerState,
        jobs_done: i64,
    ) -> Result<(), StoreError> {
        let (run, job, attempt) = match state {
            WorkerState::Running { run, job, attempt } => {
                (Some(*run), Some(job.as_str()), Some(*attempt))
            }
            _ => (None, None, None),
        };
        let _gate = self.write_gate().await;
        sqlx::query(sql!("workers_beat"))
            .bind(name)
            .bind(at)
            .bind(state.label())
            .bind(run)
            .bind(job)
            .bind(attempt)
            .bind(jobs_done)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn list_workers(&self) -> Result<Vec<WorkerRow>, StoreError> {
        let rows = sqlx::query(sql!("workers_list"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(WorkerRow {
                    name: row.try_get(0)?,
                    host: row.try_get(1)?,
                    pid: row.try_get(2)?,
                    version: row.try_get(3)?,
                    started_at: row.try_get(4)?,
                    heartbeat_at: row.try_get(5)?,
                    state: row.try_get(6)?,
                    run_id: row.try_get(7)?,
                    job_id: row.try_get(8)?,
                    attempt: row.try_get(9)?,
                    jobs_done: row.try_get(10)?,
                })
            })
            .collect()
    }

    pub async fn put_run_sources(
        &self,
        run_id: i64,
        files: &[(String, String)],
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        for (seq, (path, text)) in files.iter().enumerate() {
            sqlx::query(sql!("run_sources_put"))
                .bind(run_id)
                .bind(seq as i64)
                .bind(path)
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn run_sources(&self, run_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(sql!("run_sources_load"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    pub async fn set_run_clock(&self, clock: &RunClock) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("run_clocks_set"))
            .bind(clock.run_id)
            .bind(clock.origin)
            .bind(clock.wall_start)
            .bind(clock.speed)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn open_run_clocks(&self) -> Result<Vec<RunClock>, StoreError> {
        let rows = sqlx::query(sql!("run_clocks_open"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RunClock {
                    run_id: row.try_get(0)?,
                    origin: row.try_get(1)?,
                    wall_start: row.try_get(2)?,
                    speed: row.try_get(3)?,
                })
            })
            .collect()
    }

    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql!("schema_version"))
            .fetch_one(&self.pool)
            .await?)
    }
}
