//! `cycle_runs`: one row per workflow × business date (reopening finds the same run), its
//! status, and the lease of the one orchestrator that drives it.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::types::{NewRun, RunOwner, RunRecord};

delegate! {
    /// Opens the run for (cycle, business date), creating it the first time.
    fn open_run(&self, new: &NewRun, now: DateTime<Utc>) -> Result<RunRecord, StoreError>;
    /// The run for (cycle, business date), if it exists.
    fn find_run(&self, cycle: &str, business_date: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Takes (or renews) the run for `owner` until `until` (wall clock). `dead_owner` names a
    /// holder the caller knows is dead, to take over before its lease runs out.
    fn acquire_run(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        dead_owner: Option<&str>,
    ) -> Result<Result<(), RunOwner>, StoreError>;
    /// Lets go of the run (a clean stop).
    fn release_run(&self, run_id: i64, owner: &str) -> Result<(), StoreError>;
    fn set_run_status(&self, run_id: i64, status: &str) -> Result<(), StoreError>;
}

dialects! {
    /// A row of `find_run.sql` or `ui_list_runs.sql`.
    pub(crate) fn run_from(row: &<Db as sqlx::Database>::Row) -> Result<RunRecord, StoreError> {
        Ok(RunRecord {
            id: row.try_get(0)?,
            cycle: row.try_get(1)?,
            business_date: row.try_get(2)?,
            workflow_sha256: row.try_get(3)?,
            mode: row.try_get(4)?,
            options: row.try_get(5)?,
            status: row.try_get(6)?,
            created_at: row.try_get(7)?,
        })
    }

    pub async fn open_run(
        &self,
        new: &NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("open_run"))
            .bind(&new.cycle)
            .bind(&new.business_date)
            .bind(&new.workflow_sha256)
            .bind(&new.mode)
            .bind(&new.options)
            .bind(now)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query(sql!("find_run"))
            .bind(&new.cycle)
            .bind(&new.business_date)
            .fetch_one(&self.pool)
            .await?;
        Self::run_from(&row)
    }

    pub async fn find_run(
        &self,
        cycle: &str,
        business_date: &str,
    ) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(sql!("find_run"))
            .bind(cycle)
            .bind(business_date)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::run_from).transpose()
    }

    pub async fn acquire_run(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        dead_owner: Option<&str>,
    ) -> Result<Result<(), RunOwner>, StoreError> {
        let _gate = self.write_gate().await;
        let taken = sqlx::query(sql!("acquire_run"))
            .bind(run_id)
            .bind(owner)
            .bind(until)
            .bind(now)
            .bind(dead_owner)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let row = sqlx::query(sql!("run_owner"))
            .bind(run_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Err(RunOwner {
            owner: row.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
            until: row.try_get::<Option<DateTime<Utc>>, _>(1)?.unwrap_or(now),
        }))
    }

    pub async fn release_run(&self, run_id: i64, owner: &str) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("release_run"))
            .bind(run_id)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_run_status(&self, run_id: i64, status: &str) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(sql!("set_status"))
            .bind(run_id)
            .bind(status)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
