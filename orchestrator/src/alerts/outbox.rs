//! The outbox dispatcher: turns raised alerts into deliveries, sends what is due, and
//! records each attempt's outcome.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use warden_core::clock::Clock;
use warden_deadlines::alert::{DEFAULT_TEMPLATE, Templates};
use warden_store::{DeliveryTarget, DueDelivery, Store, StoreError};

use super::channels::{Outgoing, Senders};
use super::config::ChannelConfig;

/// Deliveries attempted per pass at most (the rest wait for the next pass).
const BATCH: i64 = 200;

/// What the dispatcher works with: the channels, the templates, and which run's alerts
/// it delivers (`None`: every run's, for a dispatcher of its own).
#[derive(Debug, Clone)]
pub struct Outbox {
    pub channels: Arc<ChannelConfig>,
    pub templates: Arc<Templates>,
    pub run: Option<i64>,
    senders: Senders,
}

impl Outbox {
    pub fn new(
        channels: ChannelConfig,
        templates: Templates,
        run: Option<i64>,
    ) -> Result<Outbox, String> {
        Ok(Outbox {
            channels: Arc::new(channels),
            templates: Arc::new(templates),
            run,
            senders: Senders::new()?,
        })
    }

    /// The same outbox for one run's alerts.
    pub fn for_run(&self, run: i64) -> Outbox {
        Outbox {
            run: Some(run),
            ..self.clone()
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Alerts whose deliveries were created in this pass.
    pub fanned_out: usize,
    pub delivered: usize,
    /// Failed attempts that will be tried again.
    pub retrying: usize,
    /// Deliveries dead-lettered in this pass (including those with no channel).
    pub dead: usize,
    /// The earliest next attempt of a delivery that failed in this pass.
    pub next_retry: Option<DateTime<Utc>>,
}

/// One pass: fans out new alerts to their roles' channels, then attempts every delivery due
/// at `now` (concurrently; one slow channel does not hold up the others), and records each
/// outcome: delivered, retried after a capped exponential backoff, or dead-lettered after
/// the configured number of attempts.
pub async fn deliver_due(
    store: &Store,
    outbox: &Outbox,
    now: DateTime<Utc>,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    for alert in store.alerts_to_fan_out(outbox.run).await? {
        let mut targets = Vec::new();
        for role in &alert.roles {
            let channels = outbox.channels.for_role(role);
            if channels.is_empty() {
                targets.push(DeliveryTarget {
                    role: role.clone(),
                    channel: "none".into(),
                    error: Some(format!(
                        "no channel is configured for role `{role}` in {}; add it under \
                         `roles:` (or give `default:` channels)",
                        outbox.channels.origin
                    )),
                });
                report.dead += 1;
                tracing::error!(alert = alert.alert_id, role = %role, "no channel for the role: the delivery is dead-lettered");
            }
            for c in channels {
                targets.push(DeliveryTarget {
                    role: role.clone(),
                    channel: c.name.clone(),
                    error: None,
                });
            }
        }
        store.fan_out(alert.alert_id, &targets, now).await?;
        report.fanned_out += 1;
    }

    let due = store.due_deliveries(outbox.run, now, BATCH).await?;
    let mut sends = JoinSet::new();
    for delivery in due {
        let outbox = outbox.clone();
        sends.spawn(async move {
            let result = attempt(&outbox, &delivery, now).await;
            (delivery, result)
        });
    }
    while let Some(joined) = sends.join_next().await {
        let Ok((delivery, result)) = joined else {
            // A send task that panicked: its delivery stays pending and is tried again.
            continue;
        };
        match result {
            Ok(()) => {
                if store.delivery_succeeded(delivery.id, now).await? {
                    report.delivered += 1;
                    tracing::info!(alert = delivery.alert_id, role = %delivery.role, channel = %delivery.channel, "alert delivered");
                }
            }
            Err(error) => {
                let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
                let policy = outbox.channels.retry;
                let retry_at =
                    (attempts < policy.max_attempts).then(|| now + policy.backoff(attempts));
                match store.delivery_failed(delivery.id, &error, retry_at).await? {
                    Some(status) if status == "dead" => {
                        report.dead += 1;
                        tracing::error!(alert = delivery.alert_id, role = %delivery.role, channel = %delivery.channel, attempts, error = %error, "alert delivery dead-lettered after its last attempt");
                    }
                    Some(_) => {
                        report.retrying += 1;
                        if let Some(at) = retry_at {
                            report.next_retry =
                                Some(report.next_retry.map_or(at, |next| next.min(at)));
                        }
                        tracing::warn!(alert = delivery.alert_id, role = %delivery.role, channel = %delivery.channel, attempts, error = %error, "alert delivery failed; it will be retried");
                    }
                    None => {}
                }
            }
        }
    }
    Ok(report)
}

/// Renders and sends one delivery.
async fn attempt(
    outbox: &Outbox,
    delivery: &DueDelivery,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let Some(channel) = outbox.channels.channel(&delivery.role, &delivery.channel) else {
        return Err(format!(
            "channel `{}` of role `{}` is not in {} any more; restore it (the delivery is \
             retried) or let it dead-letter",
            delivery.channel, delivery.role, outbox.channels.origin
        ));
    };
    // The stored view as it was raised (a deadline's `AlertMessage`, or another kind such as
    // an `ExceptionRateView`): the template names the fields it needs, in strict mode.
    let mut view = delivery.view.clone();
    let Some(fields) = view.as_object_mut() else {
        return Err("the stored alert view is not an object".to_string());
    };
    fields.insert("alert_id".into(), serde_json::json!(delivery.alert_id));
    let template = delivery.template.as_deref().unwrap_or(DEFAULT_TEMPLATE);
    let rendered = outbox
        .templates
        .render(Some(template), &view)
        .map_err(|e| e.to_string())?;
    let message = Outgoing {
        key: delivery.key(),
        alert_id: delivery.alert_id,
        run_id: delivery.run_id,
        role: delivery.role.clone(),
        template: rendered.template,
        subject: rendered.subject,
        body: rendered.body,
        view,
        at: now,
    };
    outbox.senders.send(channel, &message).await
}

/// Delivers until `stop` turns true, then makes one last pass (alerts raised at the very
/// end of a run still go out). Store errors are logged and the loop goes on: the outbox
/// is in the store, so nothing is lost while it is away. `poll` is the real time between
/// passes (shorter when a retry falls due sooner).
pub async fn run_outbox(
    store: Store,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    poll: Duration,
) {
    loop {
        // A dropped sender is a stop too.
        let stopping = *stop.borrow() || stop.has_changed().is_err();
        let now = clock.now();
        let wait = match deliver_due(&store, &outbox, now).await {
            Ok(report) => report
                .next_retry
                .map(|t| clock.real_duration(t - now))
                .unwrap_or(poll)
                .clamp(Duration::from_millis(10), poll),
            Err(e) => {
                tracing::warn!(error = %e, "the alerts outbox cannot reach the store; it tries again");
                poll
            }
        };
        if stopping {
            return;
        }
        tokio::select! {
            _ = stop.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
