//! `events`, the append-only step log, and `inbox`, what waits to become events (worker
//! reports, operator commands). A step is made durable in one transaction with everything it
//! decided: the queue rows it dispatched, the attempts it opened and closed, the history it
//! learned and the kills it requested.

use chrono::{DateTime, Utc};
use sqlx::Row;
use warden_core::sched::{Command, Event, KillReason, Outcome};

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;
use crate::types::{InboxItem, Report, StartedProcess, Step, StoredEvent, event_kind};

delegate! {
    /// Every event of a run, in order.
    fn load_events(&self, run_id: i64) -> Result<Vec<StoredEvent>, StoreError>;
    /// Makes one machine step durable (events, consumed inbox rows, dispatches, kills) in
    /// one transaction.
    fn commit_step(
        &self,
        run_id: i64,
        step: &Step,
        recorded_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Worker reports waiting to become events.
    fn inbox(&self, run_id: i64) -> Result<Vec<InboxItem>, StoreError>;
    /// Queues an operator's command for the run's driver (applied exactly once, now if an
    /// orchestrator is running, else when the run resumes).
    fn submit_command(
        &self,
        run_id: i64,
        job_idx: i64,
        command: Command,
        actor: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

fn kill_reason_label(why: KillReason) -> &'static str {
    match why {
        KillReason::Timeout => "timeout",
        KillReason::Operator => "operator",
    }
}

dialects! {
    pub async fn load_events(&self, run_id: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(sql!("load_events"))
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
        let mut tx = self.begin().await?;
        let (mut seq, last_step): (i64, i64) = match step.after {
            Some(after) => after,
            None => {
                let row = sqlx::query(sql!("next_seq"))
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
            sqlx::query(sql!("append_events"))
                .bind(run_id)
                .bind(step_no)
                .bind(step.at)
                .bind(recorded_at)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
        }
        if !step.consumed_inbox.is_empty() {
            sqlx::query(sql!("delete_inbox"))
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
            sqlx::query(sql!("enqueue"))
                .bind(run_id)
                .bind(step.at)
                .bind(serde_json::Value::Array(rows).to_string())
                .execute(&mut *tx)
                .await?;
        }
        if !step.attempts_started.is_empty() {
            sqlx::query(sql!("attempts_started"))
                .bind(run_id)
                .bind(serde_json::to_string(&step.attempts_started)?)
                .execute(&mut *tx)
                .await?;
        }
        if !step.attempts_ended.is_empty() {
            sqlx::query(sql!("attempts_ended"))
                .bind(run_id)
                .bind(serde_json::to_string(&step.attempts_ended)?)
                .execute(&mut *tx)
                .await?;
        }
        for h in &step.history {
            sqlx::query(sql!("append_history"))
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
            sqlx::query(sql!("request_kill"))
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

    pub async fn inbox(&self, run_id: i64) -> Result<Vec<InboxItem>, StoreError> {
        let rows = sqlx::query(sql!("take_inbox"))
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
                    ("finished", Some(o)) => Report::Finished(serde_json::from_str::<Outcome>(&o)?),
                    ("operator", Some(c)) => Report::Operator(serde_json::from_str::<Command>(&c)?),
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
        sqlx::query(sql!("submit_command"))
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
}
