//! What the web UI reads and writes beyond a run's own state: the list of runs (the
//! overview), and its own audit trail (sign-ins, sign-outs, refused actions). Operator
//! commands and acknowledgements are recorded where the engine reads them (`events`,
//! `alert_acks`), with their actor.
//!
//! Statements: `sql/<dialect>/ui_*.sql`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::types::RunRecord;

/// One entry of the UI's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiAuditRow {
    /// Assigned by the store; 0 when writing.
    pub id: i64,
    /// Wall clock.
    pub at: DateTime<Utc>,
    pub actor: String,
    /// login | login_failed | logout | denied
    pub action: String,
    pub run_id: Option<i64>,
    pub job_id: Option<String>,
    pub detail: Option<String>,
}

delegate! {
    /// Every run, newest first.
    fn list_runs(&self) -> Result<Vec<RunRecord>, StoreError>;
    /// A fingerprint of every run's state (status, last event, last projection, last alert,
    /// acknowledgements, settled deliveries): it changes whenever a page would. Cheap: the
    /// web UI polls it to push live updates.
    fn run_versions(&self) -> Result<Vec<(i64, String)>, StoreError>;
    /// Appends one entry to the UI's audit trail.
    fn record_ui_audit(&self, row: &UiAuditRow) -> Result<(), StoreError>;
    /// The UI's audit trail, oldest first.
    fn load_ui_audit(&self) -> Result<Vec<UiAuditRow>, StoreError>;
}

dialects! {
    pub async fn list_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(sql!("ui_list_runs"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::run_from).collect()
    }

    pub async fn run_versions(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(sql!("ui_run_versions"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get(1)?;
                let mut version = status;
                for i in 2..7 {
                    let n: i64 = row.try_get(i)?;
                    version.push_str(&format!(":{n}"));
                }
                Ok((row.try_get(0)?, version))
            })
            .collect()
    }

    pub async fn record_ui_audit(&self, row: &UiAuditRow) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("ui_insert_audit"))
            .bind(row.at)
            .bind(&row.actor)
            .bind(&row.action)
            .bind(row.run_id)
            .bind(&row.job_id)
            .bind(&row.detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn load_ui_audit(&self) -> Result<Vec<UiAuditRow>, StoreError> {
        let rows = sqlx::query(sql!("ui_load_audit"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(UiAuditRow {
                    id: row.try_get(0)?,
                    at: row.try_get(1)?,
                    actor: row.try_get(2)?,
                    action: row.try_get(3)?,
                    run_id: row.try_get(4)?,
                    job_id: row.try_get(5)?,
                    detail: row.try_get(6)?,
                })
            })
            .collect()
    }
}
