//! The two backends. One implementation body, instantiated per database by `store_impl!`
//! with that dialect's SQL files (`sql/sqlite/`, `sql/postgres/`), because the queries
//! differ (placeholders, SKIP LOCKED, JSONB) while the logic must not.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row};
use warden_core::sched::{Command, Event, KillReason, Outcome};

use crate::error::StoreError;
use crate::url::redact_url;

// The alerts outbox: its own file, same pattern (delegation + one body per dialect).
pub(crate) mod alerts;
use crate::types::{
    AttemptRecord, Claim, HistoryRow, InboxItem, NewRun, Report, RunOwner, RunRecord,
    StartedProcess, Step, StoredEvent, event_kind,
};

/// A store on either backend, chosen by URL.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Whether opening a store may create it. Only the commands that run a cycle (`warden run`,
/// `warden demo`) create one; every other command reads a store that must already exist, so
/// a mistyped `--db` is reported instead of silently served or reported empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// A missing SQLite file is created; migrations make the tables.
    Create,
    /// The store must exist and hold Warden's tables ([`StoreError::NoStore`] otherwise);
    /// nothing is created. Pending migrations of an existing store are still applied.
    MustExist,
    /// As `MustExist`, but nothing is migrated either: the store's schema must be exactly
    /// this build's ([`StoreError::Schema`] otherwise). A worker opens so: workers of a new
    /// version must never change the schema under a running orchestrator of the old one.
    Worker,
}

impl Store {
    /// Opens (creating if missing) and applies migrations: [`Store::open`] with
    /// [`OpenMode::Create`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::open(url, OpenMode::Create).await
    }

    /// Opens a store and applies migrations. `postgres://...` is PostgreSQL; anything else is
    /// a SQLite file (`sqlite://warden.db`, or a plain path).
    pub async fn open(url: &str, mode: OpenMode) -> Result<Store, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::open(url, mode).await?))
        } else if let Some((scheme, _)) = url.split_once("://")
            && scheme != "sqlite"
        {
            Err(StoreError::Invalid(format!(
                "`{scheme}://` is not a store Warden knows: give a SQLite file (warden.db, \
                 sqlite://PATH) or a postgres:// URL"
            )))
        } else {
            Ok(Store::Sqlite(SqliteStore::open(url, mode).await?))
        }
    }
}

/// Delegates a method to whichever backend the store is.
macro_rules! delegate {
    ($( $(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self {
                        Store::Sqlite(s) => s.$name($($arg),*).await,
                        Store::Postgres(s) => s.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    /// Opens the run for (cycle, business date), creating it the first time.
    fn open_run(&self, new: &NewRun, now: DateTime<Utc>) -> Result<RunRecord, StoreError>;
    /// The run for (cycle, business date), if it exists.
    fn find_run(&self, cycle: &str, business_date: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Every event of a run, in order.
    fn load_events(&self, run_id: i64) -> Result<Vec<StoredEvent>, StoreError>;
    /// Makes one machine step durable (events, consumed inbox rows, dispatches, kills) in
    /// one transaction.
    fn commit_step(&self, run_id: i64, step: &Step, recorded_at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Whether anything is queued that a worker carrying `labels` may claim (a read: it
    /// takes no write lock).
    fn has_queued(&self, run: Option<i64>, labels: &[String]) -> Result<bool, StoreError>;
    /// Claims the next queued attempt (of `run`, or of any run) for `worker`, leased until
    /// `now + lease`: one that needs no label beyond the worker's `labels`.
    fn claim(&self, worker: &str, now: DateTime<Utc>, lease: TimeDelta, run: Option<i64>, labels: &[String]) -> Result<Option<Claim>, StoreError>;
    /// The attempt `worker` holds without knowing it (a claim that committed while its
    /// answer was lost with the connection), leased again until `now + lease`.
    fn reclaim(&self, worker: &str, now: DateTime<Utc>, lease: TimeDelta, run: Option<i64>) -> Result<Option<Claim>, StoreError>;
    /// Extends the lease; says whether (and why) a kill was requested. Fenced.
    fn heartbeat(&self, claim: &Claim, worker: &str, now: DateTime<Utc>, lease: TimeDelta) -> Result<Option<KillReason>, StoreError>;
    /// Records what the worker saw (started, finished). Fenced.
    fn report(&self, claim: &Claim, worker: &str, report: Report, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Worker reports waiting to become events.
    fn inbox(&self, run_id: i64) -> Result<Vec<InboxItem>, StoreError>;
    /// Marks the run's attempts whose lease ran out (on the run's clock) as lost and reports
    /// them so ([`Outcome::Lost`]).
    fn expire_leases(&self, run_id: i64, now: DateTime<Utc>) -> Result<Vec<(i64, i64, i64)>, StoreError>;
    /// The run's attempts that a worker holds: (job, attempt, worker).
    fn running_attempts(&self, run_id: i64) -> Result<Vec<(i64, i64, String)>, StoreError>;
    /// Reports one attempt lost at once, because its worker is known dead. False if the
    /// worker no longer held it.
    fn lose_attempt(&self, run_id: i64, job_idx: i64, attempt: i64, worker: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Reports the attempt started, with its process group and log directory, in one
    /// transaction (the worker's one write between claiming and finishing). Fenced.
    fn start_attempt(&self, claim: &Claim, worker: &str, at: DateTime<Utc>, pgid: Option<i64>, log_path: &str) -> Result<(), StoreError>;
    /// Every attempt of a run, by job and attempt.
    fn load_attempts(&self, run_id: i64) -> Result<Vec<AttemptRecord>, StoreError>;
    /// The actual durations recorded for a cycle, oldest first.
    fn load_history(&self, cycle: &str) -> Result<Vec<HistoryRow>, StoreError>;
    /// Takes (or renews) the run for `owner` until `until` (wall clock). `dead_owner` names a
    /// holder the caller knows is dead, to take over before its lease runs out.
    fn acquire_run(&self, run_id: i64, owner: &str, now: DateTime<Utc>, until: DateTime<Utc>, dead_owner: Option<&str>) -> Result<Result<(), RunOwner>, StoreError>;
    /// Lets go of the run (a clean stop).
    fn release_run(&self, run_id: i64, owner: &str) -> Result<(), StoreError>;
    fn set_run_status(&self, run_id: i64, status: &str) -> Result<(), StoreError>;
    /// Queues an operator's command for the run's driver (applied exactly once, now if an
    /// orchestrator is running, else when the run resumes).
    fn submit_command(&self, run_id: i64, job_idx: i64, command: Command, actor: &str, reason: Option<&str>, at: DateTime<Utc>) -> Result<(), StoreError>;
}

macro_rules! store_impl {
    ($name:ident, $db:ty, $dialect:literal, $begin:literal) => {
        impl $name {
            pub async fn open_run(
                &self,
                new: &NewRun,
                now: DateTime<Utc>,
            ) -> Result<RunRecord, StoreError> {
                let _gate = self.write_gate().await;
                sqlx::query(include_str!(concat!("../sql/", $dialect, "/open_run.sql")))
                    .bind(&new.cycle)
                    .bind(&new.business_date)
                    .bind(&new.workflow_sha256)
                    .bind(&new.mode)
                    .bind(&new.options)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                let row = sqlx::query(include_str!(concat!("../sql/", $dialect, "/find_run.sql")))
                    .bind(&new.cycle)
                    .bind(&new.business_date)
                    .fetch_one(&self.pool)
                    .await?;
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

            pub async fn find_run(
                &self,
                cycle: &str,
                business_date: &str,
            ) -> Result<Option<RunRecord>, StoreError> {
                let row = sqlx::query(include_str!(concat!("../sql/", $dialect, "/find_run.sql")))
                    .bind(cycle)
                    .bind(business_date)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| {
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
                })
                .transpose()
            }

            pub async fn load_events(&self, run_id: i64) -> Result<Vec<StoredEvent>, StoreError> {
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/load_events.sql"
                )))
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let payload: Option<String> = row.try_get(6)?;
                        let event = payload
                            .as_deref()
                            .map(serde_json::from_str::<Event>)
                            .transpose()?;
                        Ok(StoredEvent {
                            seq: row.try_get(0)?,
                            step: row.try_get(1)?,
                            at: row.try_get(2)?,
                            kind: row.try_get(3)?,
                            job_idx: row.try_get(4)?,
                            attempt: row.try_get(5)?,
                            event,
                            actor: row.try_get(7)?,
                            reason: row.try_get(8)?,
                            recorded_at: row.try_get(9)?,
                        })
                    })
                    .collect()
            }

            pub async fn commit_step(
                &self,
                run_id: i64,
                step: &Step,
                recorded_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let _gate = self.write_gate().await;
                let mut tx = self.pool.begin_with($begin).await?;
                let (mut seq, last_step): (i64, i64) = match step.after {
                    Some(after) => after,
                    None => {
                        let row = sqlx::query(include_str!(concat!(
                            "../sql/",
                            $dialect,
                            "/next_seq.sql"
                        )))
                        .bind(run_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        (row.try_get(0)?, row.try_get(1)?)
                    }
                };
                let step_no = last_step + 1;
                // Each kind of row goes in one statement, as a JSON array: a step costs the
                // same few round trips whatever it carries.
                if !step.events.is_empty() {
                    let mut rows = Vec::with_capacity(step.events.len());
                    for logged in &step.events {
                        seq += 1;
                        let (kind, job, attempt) = event_kind(logged.event.as_ref());
                        let payload = logged
                            .event
                            .as_ref()
                            .map(serde_json::to_string)
                            .transpose()?;
                        rows.push(serde_json::json!({
                            "seq": seq,
                            "kind": kind,
                            "job": job,
                            "attempt": attempt,
                            "payload": payload,
                            "actor": logged.actor,
                            "reason": logged.reason,
                        }));
                    }
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/append_events.sql"
                    )))
                    .bind(run_id)
                    .bind(step_no)
                    .bind(step.at)
                    .bind(recorded_at)
                    .bind(serde_json::Value::Array(rows).to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                if !step.consumed_inbox.is_empty() {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/delete_inbox.sql"
                    )))
                    .bind(serde_json::to_string(&step.consumed_inbox)?)
                    .execute(&mut *tx)
                    .await?;
                }
                if !step.dispatch.is_empty() {
                    let rows: Vec<serde_json::Value> = step
                        .dispatch
                        .iter()
                        .map(|d| {
                            serde_json::json!({
                                "job": d.job_idx,
                                "attempt": d.attempt,
                                "job_id": d.job_id,
                                "priority": d.priority,
                                "needs": d.needs,
                            })
                        })
                        .collect();
                    sqlx::query(include_str!(concat!("../sql/", $dialect, "/enqueue.sql")))
                        .bind(run_id)
                        .bind(step.at)
                        .bind(serde_json::Value::Array(rows).to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                if !step.attempts_started.is_empty() {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/attempts_started.sql"
                    )))
                    .bind(run_id)
                    .bind(serde_json::to_string(&step.attempts_started)?)
                    .execute(&mut *tx)
                    .await?;
                }
                if !step.attempts_ended.is_empty() {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/attempts_ended.sql"
                    )))
                    .bind(run_id)
                    .bind(serde_json::to_string(&step.attempts_ended)?)
                    .execute(&mut *tx)
                    .await?;
                }
                for h in &step.history {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/append_history.sql"
                    )))
                    .bind(&h.cycle)
                    .bind(&h.job_id)
                    .bind(&h.template)
                    .bind(&h.business_date)
                    .bind(h.volume)
                    .bind(h.seconds)
                    .bind(h.finished_at)
                    .execute(&mut *tx)
                    .await?;
                }
                for (job, attempt, why) in &step.kills {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/request_kill.sql"
                    )))
                    .bind(run_id)
                    .bind(job)
                    .bind(attempt)
                    .bind(kill_reason_label(*why))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub async fn has_queued(&self, run: Option<i64>, labels: &[String]) -> Result<bool, StoreError> {
                let any = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/claimable.sql"
                )))
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
                self.claim_with(include_str!(concat!("../sql/", $dialect, "/claim.sql")), worker, now, lease, run, Some(labels)).await
            }

            pub async fn reclaim(
                &self,
                worker: &str,
                now: DateTime<Utc>,
                lease: TimeDelta,
                run: Option<i64>,
            ) -> Result<Option<Claim>, StoreError> {
                self.claim_with(include_str!(concat!("../sql/", $dialect, "/reclaim.sql")), worker, now, lease, run, None).await
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
                let row = sqlx::query(include_str!(concat!("../sql/", $dialect, "/heartbeat.sql")))
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
                        Ok(requested.then(|| match reason.as_deref() {
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
                let mut tx = self.pool.begin_with($begin).await?;
                let inserted =
                    sqlx::query(include_str!(concat!("../sql/", $dialect, "/report.sql")))
                        .bind(claim.run_id)
                        .bind(claim.job_idx)
                        .bind(claim.attempt)
                        .bind(kind)
                        .bind(outcome)
                        .bind(at)
                        .bind(worker)
                        .execute(&mut *tx)
                        .await?;
                if inserted.rows_affected() == 0 {
                    return Err(fenced(claim, worker));
                }
                if let Report::Finished(_) = report {
                    sqlx::query(include_str!(concat!(
                        "../sql/",
                        $dialect,
                        "/finish_queue.sql"
                    )))
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

            pub async fn inbox(&self, run_id: i64) -> Result<Vec<InboxItem>, StoreError> {
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/take_inbox.sql"
                )))
                .bind(run_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let kind: String = row.try_get(3)?;
                        let outcome: Option<String> = row.try_get(4)?;
                        let mut process = None;
                        let report = match (kind.as_str(), outcome) {
                            ("started", started) => {
                                process = started
                                    .as_deref()
                                    .map(serde_json::from_str::<StartedProcess>)
                                    .transpose()?;
                                Report::Started
                            }
                            ("finished", Some(o)) => {
                                Report::Finished(serde_json::from_str::<Outcome>(&o)?)
                            }
                            ("operator", Some(c)) => {
                                Report::Operator(serde_json::from_str::<Command>(&c)?)
                            }
                            (other, _) => {
                                return Err(StoreError::Invalid(format!(
                                    "inbox row of unknown kind `{other}`"
                                )));
                            }
                        };
                        Ok(InboxItem {
                            id: row.try_get(0)?,
                            job_idx: row.try_get(1)?,
                            attempt: row.try_get(2)?,
                            report,
                            at: row.try_get(5)?,
                            worker: row.try_get(6)?,
                            reason: row.try_get(7)?,
                            process,
                        })
                    })
                    .collect()
            }

            pub async fn expire_leases(
                &self,
                run_id: i64,
                now: DateTime<Utc>,
            ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
                let _gate = self.write_gate().await;
                let mut tx = self.pool.begin_with($begin).await?;
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/expire_leases.sql"
                )))
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
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/running_attempts.sql"
                )))
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
                let mut tx = self.pool.begin_with($begin).await?;
                let row = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/lose_attempt.sql"
                )))
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
                tx: &mut sqlx::Transaction<'static, $db>,
                row: &<$db as sqlx::Database>::Row,
                now: DateTime<Utc>,
            ) -> Result<(i64, i64, i64), StoreError> {
                let (run, job, attempt, worker): (i64, i64, i64, String) = (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                );
                let lost = serde_json::to_string(&Outcome::Lost)?;
                sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/lost_report.sql"
                )))
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

            pub async fn submit_command(
                &self,
                run_id: i64,
                job_idx: i64,
                command: Command,
                actor: &str,
                reason: Option<&str>,
                at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let _gate = self.write_gate().await;
                sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/submit_command.sql"
                )))
                .bind(run_id)
                .bind(job_idx)
                .bind(serde_json::to_string(&command)?)
                .bind(at)
                .bind(actor)
                .bind(reason)
                .execute(&self.pool)
                .await?;
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
                let inserted =
                    sqlx::query(include_str!(concat!("../sql/", $dialect, "/report.sql")))
                        .bind(claim.run_id)
                        .bind(claim.job_idx)
                        .bind(claim.attempt)
                        .bind("started")
                        .bind(process)
                        .bind(at)
                        .bind(worker)
                        .execute(&self.pool)
                        .await?;
                if inserted.rows_affected() == 0 {
                    return Err(fenced(claim, worker));
                }
                Ok(())
            }

            pub async fn load_attempts(
                &self,
                run_id: i64,
            ) -> Result<Vec<AttemptRecord>, StoreError> {
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/load_attempts.sql"
                )))
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
                let rows = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/load_history.sql"
                )))
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

            pub async fn acquire_run(
                &self,
                run_id: i64,
                owner: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
                dead_owner: Option<&str>,
            ) -> Result<Result<(), RunOwner>, StoreError> {
                let _gate = self.write_gate().await;
                let taken = sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/acquire_run.sql"
                )))
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
                let row = sqlx::query(include_str!(concat!("../sql/", $dialect, "/run_owner.sql")))
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
                sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/release_run.sql"
                )))
                .bind(run_id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn set_run_status(
                &self,
                run_id: i64,
                status: &str,
            ) -> Result<(), StoreError> {
                let _gate = self.write_gate().await;
                sqlx::query(include_str!(concat!(
                    "../sql/",
                    $dialect,
                    "/set_status.sql"
                )))
                .bind(run_id)
                .bind(status)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}

fn kill_reason_label(why: KillReason) -> &'static str {
    match why {
        KillReason::Timeout => "timeout",
        KillReason::Operator => "operator",
    }
}

fn fenced(claim: &Claim, worker: &str) -> StoreError {
    StoreError::Fenced {
        job: claim.job_idx,
        attempt: claim.attempt,
        worker: worker.to_string(),
    }
}

/// The embedded default: one SQLite file in WAL mode.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// SQLite has one writer at a time. Writers of this process queue here, in order,
    /// instead of colliding on the file lock and sleeping in SQLite's busy handler (which
    /// backs off in milliseconds: that was most of a hop's cost between two jobs). Other
    /// processes on the same file still meet the busy timeout.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    pub(crate) async fn write_gate(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }
}

impl SqliteStore {
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let url = if url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(mode == OpenMode::Create)
            // WAL with synchronous=NORMAL: a committed transaction survives any crash of
            // Warden's processes; only an OS crash or power loss can lose the last commits
            // (docs/benchmarks.md). PostgreSQL is the choice where that matters.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let options = match mode {
            // WAL is a property of the file, set when it is created: a store that must exist
            // already has it, and a file that is not a store is not rewritten.
            OpenMode::Create => options.journal_mode(SqliteJournalMode::Wal),
            OpenMode::MustExist | OpenMode::Worker => {
                if !options.get_filename().is_file() {
                    return Err(StoreError::NoStore(redact_url(&url)));
                }
                options
            }
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        if mode != OpenMode::Create {
            let tables: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(&pool)
            .await?;
            if tables == 0 {
                return Err(StoreError::NoStore(redact_url(&url)));
            }
        }
        if mode == OpenMode::Worker {
            let store = Self {
                pool,
                writer: std::sync::Arc::default(),
            };
            check_schema(store.schema_version().await?, Self::built_schema_version())?;
            return Ok(store);
        }
        // SQLite has no advisory lock for migrations: two processes opening a new file at
        // once (a `warden status` while `warden run` starts) can both try the same migration,
        // and the loser fails on a table the winner just made. It tries again, and finds the
        // migration applied.
        let mut tries = 0;
        loop {
            match sqlx::migrate!("../../migrations/sqlite").run(&pool).await {
                Ok(()) => break,
                Err(_) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Self {
            pool,
            writer: std::sync::Arc::default(),
        })
    }
}

// A write transaction takes SQLite's write lock up front: a deferred one that read first
// could not upgrade after another writer and would fail with BUSY instead of waiting.
store_impl!(SqliteStore, sqlx::Sqlite, "sqlite", "BEGIN IMMEDIATE");

/// The scale-out control plane.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// PostgreSQL takes concurrent writers; rows are locked where it matters.
    pub(crate) async fn write_gate(&self) {}
}

impl PgStore {
    /// Warden never creates a PostgreSQL database; [`OpenMode::Create`] makes its tables in
    /// an existing one, [`OpenMode::MustExist`] needs them there already.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct connection first: a wrong host, port, database or role is reported as
        // what it is at once, not as a pool that timed out.
        let mut first = match PgConnection::connect_with(&options).await {
            Ok(c) => c,
            // 3D000: the database does not exist.
            Err(sqlx::Error::Database(e))
                if mode != OpenMode::Create && e.code().as_deref() == Some("3D000") =>
            {
                return Err(StoreError::NoStore(redact_url(url)));
            }
            Err(e) => return Err(e.into()),
        };
        if mode != OpenMode::Create {
            // In the connection's search path, where the migrations made the tables.
            let found: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut first)
                    .await?;
            if !found {
                return Err(StoreError::NoStore(redact_url(url)));
            }
        }
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        if mode == OpenMode::Worker {
            let store = Self { pool };
            check_schema(store.schema_version().await?, Self::built_schema_version())?;
            return Ok(store);
        }
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }
}

store_impl!(PgStore, sqlx::Postgres, "postgres", "BEGIN");

/// A worker's store must be at its build's schema exactly.
fn check_schema(store: i64, built: i64) -> Result<(), StoreError> {
    if store == built {
        Ok(())
    } else {
        Err(StoreError::Schema { store, built })
    }
}
