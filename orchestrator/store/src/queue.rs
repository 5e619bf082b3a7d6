//! `queue`: one row per dispatched attempt. Workers claim rows with a lease, heartbeat, and
//! report to the inbox; every write they make is fenced by (job, attempt, worker). An
//! attempt whose lease ran out, or whose worker is known dead, is reported lost.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::Row;
use warden_core::sched::{KillReason, Outcome};

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::types::{Claim, Report, StartedProcess};

delegate! {
    /// Whether anything is queued that a worker carrying `labels` may claim (a read: it
    /// takes no write lock).
    fn has_queued(&self, run: Option<i64>, labels: &[String]) -> Result<bool, StoreError>;
    /// Claims the next queued attempt (of `run`, or of any run) for `worker`, leased until
    /// `now + lease`: one that needs no label beyond the worker's `labels`.
    fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        run: Option<i64>,
        labels: &[String],
    ) -> Result<Option<Claim>, StoreError>;
    /// The attempt `worker` holds without knowing it (a claim that committed while its
    /// answer was lost with the connection), leased again until `now + lease`.
    fn reclaim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        run: Option<i64>,
    ) -> Result<Option<Claim>, StoreError>;
    /// Extends the lease; says whether (and why) a kill was requested. Fenced.
    fn heartbeat(
        &self,
        claim: &Claim,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<Option<KillReason>, StoreError>;
    /// Records what the worker saw (started, finished). Fenced.
    fn report(
        &self,
        claim: &Claim,
        worker: &str,
        report: Report,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Reports the attempt started, with its process group and log directory, in one
    /// transaction (the worker's one write between claiming and finishing). Fenced.
    fn start_attempt(
        &self,
        claim: &Claim,
        worker: &str,
        at: DateTime<Utc>,
        pgid: Option<i64>,
        log_path: &str,
    ) -> Result<(), StoreError>;
    /// Marks the run's attempts whose lease ran out (on the run's clock) as lost and reports
    /// them so ([`Outcome::Lost`]).
    fn expire_leases(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError>;
    /// The run's attempts that a worker holds: (job, attempt, worker).
    fn running_attempts(&self, run_id: i64) -> Result<Vec<(i64, i64, String)>, StoreError>;
    /// Reports one attempt lost at once, because its worker is known dead. False if the
    /// worker no longer held it.
    fn lose_attempt(
        &self,
        run_id: i64,
        job_idx: i64,
        attempt: i64,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// A worker's write for an attempt it no longer holds.
pub(crate) fn fenced(claim: &Claim, worker: &str) -> StoreError {
    StoreError::Fenced {
        job: claim.job_idx,
        attempt: claim.attempt,
        worker: worker.to_string(),
    }
}

dialects! {
    pub async fn has_queued(
        &self,
        run: Option<i64>,
        labels: &[String],
    ) -> Result<bool, StoreError> {
        let any = sqlx::query(sql!("claimable"))
            .bind(run)
            .bind(serde_json::to_string(labels)?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(any.is_some())
    }

    pub async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        run: Option<i64>,
        labels: &[String],
    ) -> Result<Option<Claim>, StoreError> {
        self.claim_with(sql!("claim"), worker, now, lease, run, Some(labels))
            .await
    }

    pub async fn reclaim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        run: Option<i64>,
    ) -> Result<Option<Claim>, StoreError> {
        self.claim_with(sql!("reclaim"), worker, now, lease, run, None)
            .await
    }

    /// Runs a claiming statement (worker, lease until, now, run, and the worker's
    /// labels where the statement takes them) returning the claim.
    async fn claim_with(
        &self,
        sql: &'static str,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
        run: Option<i64>,
        labels: Option<&[String]>,
    ) -> Result<Option<Claim>, StoreError> {
        let _gate = self.write_gate().await;
        let mut query = sqlx::query(sql)
            .bind(worker)
            .bind(now + lease)
            .bind(now)
            .bind(run);
        if let Some(labels) = labels {
            query = query.bind(serde_json::to_string(labels)?);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(Claim {
                run_id: row.try_get(0)?,
                job_idx: row.try_get(1)?,
                attempt: row.try_get(2)?,
                job_id: row.try_get(3)?,
            })
        })
        .transpose()
    }

    pub async fn heartbeat(
        &self,
        claim: &Claim,
        worker: &str,
        now: DateTime<Utc>,
        lease: TimeDelta,
    ) -> Result<Option<KillReason>, StoreError> {
        let _gate = self.write_gate().await;
        let row = sqlx::query(sql!("heartbeat"))
            .bind(claim.run_id)
            .bind(claim.job_idx)
            .bind(claim.attempt)
            .bind(worker)
            .bind(now + lease)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let requested: bool = row.try_get(0)?;
                let reason: Option<String> = row.try_get(1)?;
                Ok(requested.then_some(match reason.as_deref() {
                    Some("timeout") => KillReason::Timeout,
                    _ => KillReason::Operator,
                }))
            }
            None => Err(fenced(claim, worker)),
        }
    }

    pub async fn report(
        &self,
        claim: &Claim,
        worker: &str,
        report: Report,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let (kind, outcome) = match report {
            Report::Started => ("started", None),
            Report::Finished(o) => ("finished", Some(serde_json::to_string(&o)?)),
            Report::Operator(_) => {
                return Err(StoreError::Invalid(
                    "workers do not give operator commands".into(),
                ));
            }
        };
        let mut tx = self.begin().await?;
        Self::insert_report(&mut *tx, claim, worker, kind, outcome, at).await?;
        if let Report::Finished(_) = report {
            sqlx::query(sql!("finish_queue"))
                .bind(claim.run_id)
                .bind(claim.job_idx)
                .bind(claim.attempt)
                .bind(worker)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn start_attempt(
        &self,
        claim: &Claim,
        worker: &str,
        at: DateTime<Utc>,
        pgid: Option<i64>,
        log_path: &str,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let process = serde_json::to_string(&StartedProcess {
            pgid,
            log_path: (!log_path.is_empty()).then(|| log_path.to_string()),
        })?;
        Self::insert_report(&self.pool, claim, worker, "started", Some(process), at).await
    }

    /// Puts a worker's report in the inbox (`report.sql`: kind, and the outcome or started
    /// process as JSON), unless the worker no longer holds the attempt.
    async fn insert_report<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        claim: &Claim,
        worker: &str,
        kind: &str,
        detail: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(sql!("report"))
            .bind(claim.run_id)
            .bind(claim.job_idx)
            .bind(claim.attempt)
            .bind(kind)
            .bind(detail)
            .bind(at)
            .bind(worker)
            .execute(exec)
            .await?;
        if inserted.rows_affected() == 0 {
            return Err(fenced(claim, worker));
        }
        Ok(())
    }

    pub async fn expire_leases(
        &self,
        run_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        let rows = sqlx::query(sql!("expire_leases"))
            .bind(now)
            .bind(run_id)
            .fetch_all(&mut *tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(Self::report_lost(&mut tx, row, now).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn running_attempts(
        &self,
        run_id: i64,
    ) -> Result<Vec<(i64, i64, String)>, StoreError> {
        let rows = sqlx::query(sql!("running_attempts"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
    }

    pub async fn lose_attempt(
        &self,
        run_id: i64,
        job_idx: i64,
        attempt: i64,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        let row = sqlx::query(sql!("lose_attempt"))
            .bind(run_id)
            .bind(job_idx)
            .bind(attempt)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        Self::report_lost(&mut tx, &row, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Reports a queue row just marked lost (run, job, attempt, worker) to the
    /// driver and closes its attempt record, inside the caller's transaction.
    async fn report_lost(
        tx: &mut sqlx::Transaction<'static, Db>,
        row: &<Db as sqlx::Database>::Row,
        now: DateTime<Utc>,
    ) -> Result<(i64, i64, i64), StoreError> {
        let (run, job, attempt, worker): (i64, i64, i64, String) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let lost = serde_json::to_string(&Outcome::Lost)?;
        sqlx::query(sql!("lost_report"))
            .bind(run)
            .bind(job)
            .bind(attempt)
            .bind(&lost)
            .bind(now)
            .bind(&worker)
            .execute(&mut **tx)
            .await?;
        Ok((run, job, attempt))
    }
}
