//! Pended claims (exceptions), bulk-loaded into the store after adjudication by the
//! `load-exceptions` job. During the passes exceptions go to each partition's sequential
//! file, never to a shared table (case study 002: synchronous exception writes to one audit
//! table stalled three streams); the load afterwards is one transaction per source, in
//! batches of one statement each, replacing what an earlier attempt loaded.
//!
//! Statements: `sql/<dialect>/exceptions_*.sql`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// One pended claim. `member` and `family` are identities: shown masked to viewers, never
/// logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionRow {
    pub claim_id: i64,
    pub member: i64,
    pub family: i64,
    /// The reason codes, as in the result line (`E01;E02`).
    pub reasons: String,
    pub billed_cents: i64,
}

/// What a run's loads hold for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionCount {
    pub source: String,
    pub rows: i64,
    pub billed_cents: i64,
}

/// Rows per INSERT statement of a load.
const BATCH: usize = 5_000;

delegate! {
    /// Replaces the exceptions of (`run_id`, `source`) with the rows `batches` yields, in
    /// one transaction: a load that is run again leaves one copy, and a load that fails
    /// (an `Err` batch: a line that cannot be read) leaves what was there before. Returns
    /// the rows loaded.
    fn replace_exceptions<I>(
        &self,
        run_id: i64,
        source: &str,
        batches: I,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Vec<ExceptionRow>, String>>;
    /// Rows and billed total per source of a run, by source.
    fn exception_counts(&self, run_id: i64) -> Result<Vec<ExceptionCount>, StoreError>;
    /// The first `limit` exceptions of a source, by claim id.
    fn load_exceptions(
        &self,
        run_id: i64,
        source: &str,
        limit: i64,
    ) -> Result<Vec<ExceptionRow>, StoreError>;
}

fn batch_json(rows: &[ExceptionRow]) -> String {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!([r.claim_id, r.member, r.family, r.reasons, r.billed_cents]))
        .collect();
    serde_json::Value::Array(v).to_string()
}

dialects! {
    pub async fn replace_exceptions<I>(
        &self,
        run_id: i64,
        source: &str,
        batches: I,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Vec<ExceptionRow>, String>>,
    {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        // Two loads of one run at once (an attempt declared lost that still runs,
        // and its rerun) must not interleave their delete and inserts.
        sqlx::query(sql!("lock_run"))
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql!("exceptions_delete"))
            .bind(run_id)
            .bind(source)
            .execute(&mut *tx)
            .await?;
        let mut loaded = 0u64;
        for batch in batches {
            let batch = batch.map_err(StoreError::Invalid)?;
            for chunk in batch.chunks(BATCH) {
                sqlx::query(sql!("exceptions_insert"))
                    .bind(run_id)
                    .bind(source)
                    .bind(batch_json(chunk))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                loaded += chunk.len() as u64;
            }
        }
        tx.commit().await?;
        Ok(loaded)
    }

    pub async fn exception_counts(&self, run_id: i64) -> Result<Vec<ExceptionCount>, StoreError> {
        let rows = sqlx::query(sql!("exceptions_counts"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ExceptionCount {
                    source: row.try_get(0)?,
                    rows: row.try_get(1)?,
                    billed_cents: row.try_get(2)?,
                })
            })
            .collect()
    }

    pub async fn load_exceptions(
        &self,
        run_id: i64,
        source: &str,
        limit: i64,
    ) -> Result<Vec<ExceptionRow>, StoreError> {
        let rows = sqlx::query(sql!("exceptions_load"))
            .bind(run_id)
            .bind(source)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ExceptionRow {
                    claim_id: row.try_get(0)?,
                    member: row.try_get(1)?,
                    family: row.try_get(2)?,
                    reasons: row.try_get(3)?,
                    billed_cents: row.try_get(4)?,
                })
            })
            .collect()
    }
}
