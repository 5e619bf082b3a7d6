//! The alerts outbox: alerts raised once per idempotency key, one delivery per (alert,
//! role, channel) retried until delivered or dead-lettered, and acknowledgements.
//!
//! Why an outbox: the escalation code raises an alert in the store and returns; delivery
//! happens beside it (`warden::alerts::deliver_due`), so a channel that is down delays an
//! alert but never loses it, and a crash between "decided to alert" and "sent" cannot
//! forget it. Statements: `sql/<dialect>/alerts/*.sql`.
//!
//! Lifecycle: [`Store::raise_alert`] (idempotent) → [`Store::alerts_to_fan_out`] +
//! [`Store::fan_out`] (the dispatcher creates the deliveries from its channel
//! configuration) → [`Store::due_deliveries`] → [`Store::delivery_succeeded`] or
//! [`Store::delivery_failed`] (with the next attempt's time, or none: dead-lettered).
//!
//! [`Store::raise_alert`]: crate::Store::raise_alert
//! [`Store::alerts_to_fan_out`]: crate::Store::alerts_to_fan_out
//! [`Store::fan_out`]: crate::Store::fan_out
//! [`Store::due_deliveries`]: crate::Store::due_deliveries
//! [`Store::delivery_succeeded`]: crate::Store::delivery_succeeded
//! [`Store::delivery_failed`]: crate::Store::delivery_failed

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// An alert to raise.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub run_id: i64,
    pub deadline_id: String,
    /// `warning`, `escalated`, `breach_projected` or `breached`.
    pub level: String,
    /// Unique across the store: a second raise with the same key is a no-op. The escalation
    /// code derives it from what makes the alert one event, e.g.
    /// `{run}:{deadline}:{level}:{n}` with `n` the deadline's transition (or re-notify) count.
    pub idempotency_key: String,
    pub raised_at: DateTime<Utc>,
    /// The rendered view (`warden_deadlines::alert::AlertMessage` as JSON).
    pub view: serde_json::Value,
    /// The template to render; `None` is the default one (`oncall-page`).
    pub template: Option<String>,
    /// Role ids to notify (`on-call`, `compliance`).
    pub roles: Vec<String>,
}

/// What [`Store::raise_alert`](crate::Store::raise_alert) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub id: i64,
    /// False when the key had been raised before (nothing was written).
    pub created: bool,
}

/// An alert whose deliveries are not made yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertToFanOut {
    pub alert_id: i64,
    pub roles: Vec<String>,
}

/// One delivery to create: `error` set makes it dead at once (no channel for the role),
/// so that an alert nobody could be told of is listed, not dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub role: String,
    pub channel: String,
    pub error: Option<String>,
}

/// A delivery whose next attempt is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    pub id: i64,
    pub alert_id: i64,
    pub run_id: i64,
    pub alert_key: String,
    pub role: String,
    pub channel: String,
    /// Attempts made so far.
    pub attempts: i64,
    pub view: serde_json::Value,
    pub template: Option<String>,
}

impl DueDelivery {
    /// The key a receiver deduplicates on: one per (alert, role, channel), the same on
    /// every attempt (`Idempotency-Key` header, e-mail Message-ID, log line `key`).
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.alert_key, self.role, self.channel)
    }
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub alert_id: i64,
    pub role: String,
    pub channel: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An acknowledgement: who, when, and what they said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertAck {
    pub id: i64,
    pub alert_id: i64,
    /// The acknowledged alert's idempotency key (what the escalation code raised it under,
    /// e.g. naming the ladder step and its activation).
    pub alert_key: String,
    pub deadline_id: String,
    pub level: String,
    pub actor: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// What acknowledging an alert did. Acknowledgements are idempotent: an alert has at most
/// one, and acknowledging it again stores nothing and returns the one that stands, so a
/// caller can say "already acknowledged by X at T".
///
/// Derefs to the [`AlertAck`], so `outcome.actor`, `outcome.alert_id`... read the
/// acknowledgement that stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOutcome {
    /// This call's acknowledgement, or (when `already_acknowledged`) the earlier one, with its
    /// actor, time and note.
    pub ack: AlertAck,
    /// The alert had been acknowledged before: nothing was stored.
    pub already_acknowledged: bool,
}

impl std::ops::Deref for AckOutcome {
    type Target = AlertAck;

    fn deref(&self) -> &AlertAck {
        &self.ack
    }
}

/// An alert with its deliveries and acknowledgements.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub id: i64,
    pub run_id: i64,
    pub deadline_id: String,
    pub level: String,
    pub idempotency_key: String,
    pub raised_at: DateTime<Utc>,
    pub view: serde_json::Value,
    pub template: Option<String>,
    pub roles: Vec<String>,
    pub deliveries: Vec<DeliveryRecord>,
    pub acks: Vec<AlertAck>,
}

delegate! {
    /// Raises an alert once: a second raise with the same idempotency key writes nothing and
    /// returns the existing alert's id (`created: false`).
    fn raise_alert(&self, alert: &NewAlert) -> Result<Raised, StoreError>;
    /// Alerts (of `run`, or of any run) whose deliveries have not been created yet.
    fn alerts_to_fan_out(&self, run: Option<i64>) -> Result<Vec<AlertToFanOut>, StoreError>;
    /// Creates an alert's deliveries (pending, due `now`; dead at once for a target with an
    /// error) and marks it fanned out, in one transaction. Idempotent.
    fn fan_out(
        &self,
        alert_id: i64,
        targets: &[DeliveryTarget],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Pending deliveries (of `run`, or of any run) due at `now`, oldest first, at most `limit`.
    fn due_deliveries(
        &self,
        run: Option<i64>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Marks a pending delivery delivered. False if it was not pending any more.
    fn delivery_succeeded(&self, delivery_id: i64, at: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or dead-lettered when `None`.
    /// Returns the new status (`pending` or `dead`), or `None` if it was not pending.
    fn delivery_failed(
        &self,
        delivery_id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<Option<String>, StoreError>;
    /// A run's alerts, oldest first, each with its deliveries and acknowledgements.
    fn run_alerts(&self, run_id: i64) -> Result<Vec<AlertRecord>, StoreError>;
    /// Acknowledges alert `alert_id` as `actor`, once: an alert acknowledged before keeps its
    /// acknowledgement, nothing is stored, and that one is returned with
    /// `already_acknowledged`. `None` if there is no such alert.
    fn acknowledge(
        &self,
        alert_id: i64,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<AckOutcome>, StoreError>;
    /// Acknowledges a run's alerts in one transaction: every one (`alert_ids: None`) or those
    /// listed (ids that are not the run's alerts are ignored). One outcome per alert
    /// acknowledged, in alert order: new ones, and those acknowledged before with their
    /// earlier acknowledgement (`already_acknowledged`).
    fn acknowledge_all(
        &self,
        run_id: i64,
        alert_ids: Option<&[i64]>,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<AckOutcome>, StoreError>;
    /// Every acknowledgement of a run's alerts, in the order given.
    fn run_acks(&self, run_id: i64) -> Result<Vec<AlertAck>, StoreError>;
}

fn roles_from(text: &str) -> Result<Vec<String>, StoreError> {
    Ok(serde_json::from_str(text)?)
}

dialects! {
    /// An acknowledgement row: id, alert id, deadline, level, actor, note, at, alert key (the
    /// columns of `run_acks.sql`, `ack_of.sql` and `acks_of.sql`).
    fn ack_from(row: &<Db as sqlx::Database>::Row) -> Result<AlertAck, StoreError> {
        Ok(AlertAck {
            id: row.try_get(0)?,
            alert_id: row.try_get(1)?,
            deadline_id: row.try_get(2)?,
            level: row.try_get(3)?,
            actor: row.try_get(4)?,
            note: row.try_get(5)?,
            at: row.try_get(6)?,
            alert_key: row.try_get(7)?,
        })
    }

    pub async fn raise_alert(&self, alert: &NewAlert) -> Result<Raised, StoreError> {
        let _gate = self.write_gate().await;
        let inserted = sqlx::query(sql!("alerts/raise"))
            .bind(alert.run_id)
            .bind(&alert.deadline_id)
            .bind(&alert.level)
            .bind(&alert.idempotency_key)
            .bind(alert.raised_at)
            .bind(alert.view.to_string())
            .bind(&alert.template)
            .bind(serde_json::to_string(&alert.roles)?)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = inserted {
            return Ok(Raised {
                id: row.try_get(0)?,
                created: true,
            });
        }
        let row = sqlx::query(sql!("alerts/by_key"))
            .bind(&alert.idempotency_key)
            .fetch_one(&self.pool)
            .await?;
        Ok(Raised {
            id: row.try_get(0)?,
            created: false,
        })
    }

    pub async fn alerts_to_fan_out(
        &self,
        run: Option<i64>,
    ) -> Result<Vec<AlertToFanOut>, StoreError> {
        let rows = sqlx::query(sql!("alerts/to_fan_out"))
            .bind(run)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertToFanOut {
                    alert_id: row.try_get(0)?,
                    roles: roles_from(&row.try_get::<String, _>(1)?)?,
                })
            })
            .collect()
    }

    pub async fn fan_out(
        &self,
        alert_id: i64,
        targets: &[DeliveryTarget],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        if !targets.is_empty() {
            let rows: Vec<serde_json::Value> = targets
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "role": t.role,
                        "channel": t.channel,
                        "status": if t.error.is_some() { "dead" } else { "pending" },
                        "error": t.error,
                    })
                })
                .collect();
            sqlx::query(sql!("alerts/insert_deliveries"))
                .bind(alert_id)
                .bind(serde_json::Value::Array(rows).to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(sql!("alerts/mark_fanned_out"))
            .bind(alert_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn due_deliveries(
        &self,
        run: Option<i64>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = sqlx::query(sql!("alerts/due"))
            .bind(now)
            .bind(run)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DueDelivery {
                    id: row.try_get(0)?,
                    alert_id: row.try_get(1)?,
                    run_id: row.try_get(2)?,
                    alert_key: row.try_get(3)?,
                    role: row.try_get(4)?,
                    channel: row.try_get(5)?,
                    attempts: row.try_get(6)?,
                    view: serde_json::from_str(&row.try_get::<String, _>(7)?)?,
                    template: row.try_get(8)?,
                })
            })
            .collect()
    }

    pub async fn delivery_succeeded(
        &self,
        delivery_id: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let row = sqlx::query(sql!("alerts/delivered"))
            .bind(delivery_id)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub async fn delivery_failed(
        &self,
        delivery_id: i64,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<Option<String>, StoreError> {
        let _gate = self.write_gate().await;
        let row = sqlx::query(sql!("alerts/failed"))
            .bind(delivery_id)
            .bind(error)
            .bind(retry_at)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    pub async fn run_alerts(&self, run_id: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = sqlx::query(sql!("alerts/run_alerts"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        let mut alerts = rows
            .iter()
            .map(|row| {
                Ok(AlertRecord {
                    id: row.try_get(0)?,
                    run_id: row.try_get(1)?,
                    deadline_id: row.try_get(2)?,
                    level: row.try_get(3)?,
                    idempotency_key: row.try_get(4)?,
                    raised_at: row.try_get(5)?,
                    view: serde_json::from_str(&row.try_get::<String, _>(6)?)?,
                    template: row.try_get(7)?,
                    roles: roles_from(&row.try_get::<String, _>(8)?)?,
                    deliveries: Vec::new(),
                    acks: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let deliveries = sqlx::query(sql!("alerts/run_deliveries"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        for row in &deliveries {
            let d = DeliveryRecord {
                id: row.try_get(0)?,
                alert_id: row.try_get(1)?,
                role: row.try_get(2)?,
                channel: row.try_get(3)?,
                status: row.try_get(4)?,
                attempts: row.try_get(5)?,
                next_attempt_at: row.try_get(6)?,
                last_error: row.try_get(7)?,
                delivered_at: row.try_get(8)?,
            };
            if let Some(a) = alerts.iter_mut().find(|a| a.id == d.alert_id) {
                a.deliveries.push(d);
            }
        }
        for ack in self.run_acks(run_id).await? {
            if let Some(a) = alerts.iter_mut().find(|a| a.id == ack.alert_id) {
                a.acks.push(ack);
            }
        }
        Ok(alerts)
    }

    pub async fn acknowledge(
        &self,
        alert_id: i64,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<AckOutcome>, StoreError> {
        let _gate = self.write_gate().await;
        let inserted = sqlx::query(sql!("alerts/ack"))
            .bind(alert_id)
            .bind(actor)
            .bind(note)
            .bind(at)
            .fetch_optional(&self.pool)
            .await?;
        // No row inserted: no such alert, or acknowledged before (by a committed
        // acknowledgement: a concurrent one waits on the unique index).
        let row = sqlx::query(sql!("alerts/ack_of"))
            .bind(alert_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(AckOutcome {
                ack: Self::ack_from(&row)?,
                already_acknowledged: inserted.is_none(),
            })
        })
        .transpose()
    }

    pub async fn acknowledge_all(
        &self,
        run_id: i64,
        alert_ids: Option<&[i64]>,
        actor: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Vec<AckOutcome>, StoreError> {
        let ids = alert_ids.map(serde_json::to_string).transpose()?;
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        let inserted: Vec<i64> = sqlx::query_scalar(sql!("alerts/ack_all"))
            .bind(run_id)
            .bind(actor)
            .bind(note)
            .bind(at)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        let rows = sqlx::query(sql!("alerts/acks_of"))
            .bind(run_id)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                let ack = Self::ack_from(row)?;
                Ok(AckOutcome {
                    already_acknowledged: !inserted.contains(&ack.id),
                    ack,
                })
            })
            .collect()
    }

    pub async fn run_acks(&self, run_id: i64) -> Result<Vec<AlertAck>, StoreError> {
        let rows = sqlx::query(sql!("alerts/run_acks"))
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::ack_from).collect()
    }
}
