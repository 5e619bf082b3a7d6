//! `attempts` and `history`: what ran (who, its process group, how it ended, where it
//! logged) and how long each successful job took for its volume, for status, logs and
//! estimates. Both are written by the step that learned them (`events.rs`).

use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::types::{AttemptRecord, HistoryRow};

delegate! {
    /// Every attempt of a run, by job and attempt.
    fn load_attempts(&self, run_id: i64) -> Result<Vec<AttemptRecord>, StoreError>;
    /// The actual durations recorded for a cycle, oldest first.
    fn load_history(&self, cycle: &str) -> Result<Vec<HistoryRow>, StoreError>;
}

dialects! {
    pub async fn load_attempts(&self, run_id: i64) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(sql!("load_attempts"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AttemptRecord {
                    job_idx: row.try_get(0)?,
                    attempt: row.try_get(1)?,
                    worker: row.try_get(2)?,
                    pgid: row.try_get(3)?,
                    started_at: row.try_get(4)?,
                    finished_at: row.try_get(5)?,
                    outcome: row.try_get(6)?,
                    exit_code: row.try_get(7)?,
                    log_path: row.try_get(8)?,
                })
            })
            .collect()
    }

    pub async fn load_history(&self, cycle: &str) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(sql!("load_history"))
            .bind(cycle)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(HistoryRow {
                    cycle: cycle.to_string(),
                    job_id: row.try_get(0)?,
                    template: row.try_get(1)?,
                    business_date: row.try_get(2)?,
                    volume: row.try_get(3)?,
                    seconds: row.try_get(4)?,
                    finished_at: row.try_get(5)?,
                })
            })
            .collect()
    }
}
