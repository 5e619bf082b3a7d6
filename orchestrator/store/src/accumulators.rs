//! Year-to-date accumulators between cycles (`member_accumulators`): one row per member and
//! source (stream), never a family row. Setup pre-loads them (`accumulator_preload`, page by
//! page in member order); the `post-accumulators` job writes back the members a reconciled
//! run changed (`post_accumulators`), in one transaction that first undoes an earlier post of
//! the same run and refuses rows some other run changed since setup read them.
//!
//! Statements: `sql/<dialect>/accumulators_*.sql`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// A member's accumulators as a setup starts from them. `member` is an identity: never logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredAccumulators {
    pub member: i64,
    pub deductible_cents: i64,
    pub oop_cents: i64,
}

/// One member a run changed: the values its setup started from and where they ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccumulatorPost {
    pub member: i64,
    pub family: i64,
    pub deductible_start: i64,
    pub oop_start: i64,
    pub deductible_end: i64,
    pub oop_end: i64,
}

/// What the store holds for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccumulatorTotals {
    pub rows: i64,
    pub deductible_cents: i64,
    pub oop_cents: i64,
    /// Of `rows`, those the asked-about run posted.
    pub posted_by_run: i64,
}

/// Rows per INSERT statement of a post.
const BATCH: usize = 5_000;

delegate! {
    /// Up to `limit` members of `source` after member `after`, in member order, with the
    /// values a setup of `run_id` starts from.
    fn accumulator_preload(
        &self,
        run_id: i64,
        source: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredAccumulators>, StoreError>;
    /// Posts what `run_id` changed for `source`, in one transaction: an earlier post of the
    /// same run is undone first, then each row is inserted, or updated if the store still
    /// holds its start values. If any row's start values are not what the store holds
    /// (another run posted since this run's setup read them), or a batch is an `Err`,
    /// nothing changes. Returns the rows posted.
    fn post_accumulators<I>(
        &self,
        run_id: i64,
        source: &str,
        batches: I,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Vec<AccumulatorPost>, String>>;
    /// Deletes every row of `source` (a plan year's end, a bench's cleanup); the rows deleted.
    fn delete_accumulators(&self, source: &str) -> Result<u64, StoreError>;
    /// Rows and totals held for `source`, and how many `run_id` posted.
    fn accumulator_totals(
        &self,
        run_id: i64,
        source: &str,
    ) -> Result<AccumulatorTotals, StoreError>;
}

fn batch_json(rows: &[AccumulatorPost]) -> String {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r.member,
                r.family,
                r.deductible_start,
                r.oop_start,
                r.deductible_end,
                r.oop_end
            ])
        })
        .collect();
    serde_json::Value::Array(v).to_string()
}

dialects! {
    pub async fn accumulator_preload(
        &self,
        run_id: i64,
        source: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredAccumulators>, StoreError> {
        let rows = sqlx::query(sql!("accumulators_preload"))
            .bind(run_id)
            .bind(source)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredAccumulators {
                    member: row.try_get(0)?,
                    deductible_cents: row.try_get(1)?,
                    oop_cents: row.try_get(2)?,
                })
            })
            .collect()
    }

    pub async fn post_accumulators<I>(
        &self,
        run_id: i64,
        source: &str,
        batches: I,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Vec<AccumulatorPost>, String>>,
    {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        // Two posts of one run at once (an attempt declared lost that still runs, and
        // its rerun): the second waits, then undoes the first's post and makes its own.
        sqlx::query(sql!("lock_run"))
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        for undo in [
            sql!("accumulators_undo_created"),
            sql!("accumulators_undo_updated"),
        ] {
            sqlx::query(undo)
                .bind(run_id)
                .bind(source)
                .execute(&mut *tx)
                .await?;
        }
        let (mut posted, mut refused) = (0u64, 0u64);
        for batch in batches {
            let batch = batch.map_err(StoreError::Invalid)?;
            for chunk in batch.chunks(BATCH) {
                let done = sqlx::query(sql!("accumulators_post"))
                    .bind(run_id)
                    .bind(source)
                    .bind(batch_json(chunk))
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                posted += done;
                refused += chunk.len() as u64 - done.min(chunk.len() as u64);
            }
        }
        if refused > 0 {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Invalid(format!(
                "{refused} members' accumulators in the store are no longer the values this run's setup started from (another run posted since); nothing was posted: rerun this run from setup"
            )));
        }
        tx.commit().await?;
        Ok(posted)
    }

    pub async fn delete_accumulators(&self, source: &str) -> Result<u64, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(sql!("accumulators_delete"))
            .bind(source)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn accumulator_totals(
        &self,
        run_id: i64,
        source: &str,
    ) -> Result<AccumulatorTotals, StoreError> {
        let row = sqlx::query(sql!("accumulators_totals"))
            .bind(run_id)
            .bind(source)
            .fetch_one(&self.pool)
            .await?;
        Ok(AccumulatorTotals {
            rows: row.try_get(0)?,
            deductible_cents: row.try_get(1)?,
            oop_cents: row.try_get(2)?,
            posted_by_run: row.try_get(3)?,
        })
    }
}
