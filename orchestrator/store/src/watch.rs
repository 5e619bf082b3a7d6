//! What the deadline watcher keeps: every projection of every deadline (the margin's
//! history over the night), the escalation ladders' decisions (their state on restart, and
//! the audit trail), and the progress running attempts report.
//!
//! Statements: `sql/<dialect>/watch_*.sql`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::queue::fenced;
use crate::types::Claim;

/// One deadline's standing in one projection.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionRow {
    /// On the run's clock.
    pub at: DateTime<Utc>,
    pub deadline_id: String,
    pub deadline_at: DateTime<Utc>,
    /// Projected finish of what the deadline covers (actual once `settled`).
    pub finish: DateTime<Utc>,
    pub margin_seconds: i64,
    pub p_miss: Option<f64>,
    pub p50_finish: Option<DateTime<Utc>>,
    pub p90_finish: Option<DateTime<Utc>>,
    /// Monte Carlo samples behind `p_miss` (0: none drawn).
    pub samples: i64,
    /// The ladder's level after this projection.
    pub level: String,
    /// Every covered job is done.
    pub settled: bool,
    /// The critical chain's job ids, as JSON.
    pub chain: String,
    pub recorded_at: DateTime<Utc>,
}

/// One decision of a deadline's escalation ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineEventRow {
    /// Assigned by the store; 0 when writing.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub deadline_id: String,
    /// notify | cleared | level | breached | met | acknowledged
    pub kind: String,
    pub level: Option<String>,
    /// A notification's idempotency key: a second row with the same key is not written.
    pub notice_key: Option<String>,
    /// The decision as JSON.
    pub payload: String,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// Claims done of claims to do, as a running attempt reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressRow {
    pub job_idx: i64,
    pub attempt: i64,
    pub done: i64,
    pub total: i64,
}

delegate! {
    /// Writes one projection (a row per deadline) and the ladder decisions it led to, in one
    /// transaction. Decisions whose notice key was written before are skipped; the keys
    /// actually written are returned (what the caller must notify).
    fn record_watch(
        &self,
        run_id: i64,
        projections: &[ProjectionRow],
        events: &[DeadlineEventRow],
    ) -> Result<Vec<String>, StoreError>;
    /// A run's projections, oldest first.
    fn load_projections(&self, run_id: i64) -> Result<Vec<ProjectionRow>, StoreError>;
    /// A run's projections thinned to about `points` per deadline (always each deadline's
    /// first and latest), oldest first: the margin's history for a chart without reading
    /// every projection of the night.
    fn load_projections_sampled(
        &self,
        run_id: i64,
        points: i64,
    ) -> Result<Vec<ProjectionRow>, StoreError>
        => (run_id, Some(points.max(1)));
    /// A run's ladder decisions, in the order they were made.
    fn load_deadline_events(&self, run_id: i64) -> Result<Vec<DeadlineEventRow>, StoreError>;
    /// Records a running attempt's progress. Fenced like every worker write.
    fn report_progress(
        &self,
        claim: &Claim,
        worker: &str,
        done: i64,
        total: i64,
    ) -> Result<(), StoreError>;
    /// The progress of a run's running attempts that reported any.
    fn load_progress(&self, run_id: i64) -> Result<Vec<ProgressRow>, StoreError>;
}

dialects! {
    pub async fn record_watch(
        &self,
        run_id: i64,
        projections: &[ProjectionRow],
        events: &[DeadlineEventRow],
    ) -> Result<Vec<String>, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        for p in projections {
            sqlx::query(sql!("watch_insert_projection"))
                .bind(run_id)
                .bind(p.at)
                .bind(&p.deadline_id)
                .bind(p.deadline_at)
                .bind(p.finish)
                .bind(p.margin_seconds)
                .bind(p.p_miss)
                .bind(p.p50_finish)
                .bind(p.p90_finish)
                .bind(p.samples)
                .bind(&p.level)
                .bind(p.settled)
                .bind(&p.chain)
                .bind(p.recorded_at)
                .execute(&mut *tx)
                .await?;
        }
        let mut written = Vec::new();
        for e in events {
            let done = sqlx::query(sql!("watch_insert_event"))
                .bind(run_id)
                .bind(e.at)
                .bind(&e.deadline_id)
                .bind(&e.kind)
                .bind(&e.level)
                .bind(&e.notice_key)
                .bind(&e.payload)
                .bind(&e.actor)
                .bind(e.recorded_at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0
                && let Some(key) = &e.notice_key
            {
                written.push(key.clone());
            }
        }
        tx.commit().await?;
        Ok(written)
    }

    pub async fn load_projections(&self, run_id: i64) -> Result<Vec<ProjectionRow>, StoreError> {
        self.load_projections_sampled(run_id, None).await
    }

    pub async fn load_projections_sampled(
        &self,
        run_id: i64,
        points: Option<i64>,
    ) -> Result<Vec<ProjectionRow>, StoreError> {
        let rows = match points {
            None => sqlx::query(sql!("watch_load_projections")).bind(run_id),
            Some(points) => sqlx::query(sql!("watch_load_projections_sampled"))
                .bind(run_id)
                .bind(points),
        }
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ProjectionRow {
                    at: row.try_get(0)?,
                    deadline_id: row.try_get(1)?,
                    deadline_at: row.try_get(2)?,
                    finish: row.try_get(3)?,
                    margin_seconds: row.try_get(4)?,
                    p_miss: row.try_get(5)?,
                    p50_finish: row.try_get(6)?,
                    p90_finish: row.try_get(7)?,
                    samples: row.try_get(8)?,
                    level: row.try_get(9)?,
                    settled: row.try_get(10)?,
                    chain: row.try_get(11)?,
                    recorded_at: row.try_get(12)?,
                })
            })
            .collect()
    }

    pub async fn load_deadline_events(
        &self,
        run_id: i64,
    ) -> Result<Vec<DeadlineEventRow>, StoreError> {
        let rows = sqlx::query(sql!("watch_load_events"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DeadlineEventRow {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    deadline_id: row.try_get(2)?,
                    kind: row.try_get(3)?,
                    level: row.try_get(4)?,
                    notice_key: row.try_get(5)?,
                    payload: row.try_get(6)?,
                    actor: row.try_get(7)?,
                    recorded_at: row.try_get(8)?,
                })
            })
            .collect()
    }

    pub async fn report_progress(
        &self,
        claim: &Claim,
        worker: &str,
        done: i64,
        total: i64,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let updated = sqlx::query(sql!("watch_report_progress"))
            .bind(claim.run_id)
            .bind(claim.job_idx)
            .bind(claim.attempt)
            .bind(worker)
            .bind(done)
            .bind(total)
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(fenced(claim, worker));
        }
        Ok(())
    }

    pub async fn load_progress(&self, run_id: i64) -> Result<Vec<ProgressRow>, StoreError> {
        let rows = sqlx::query(sql!("watch_load_progress"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ProgressRow {
                    job_idx: row.try_get(0)?,
                    attempt: row.try_get(1)?,
                    done: row.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                    total: row.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
                })
            })
            .collect()
    }
}
