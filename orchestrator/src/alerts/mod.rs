//! Alert delivery: the I/O edge of escalation.
//!
//! The escalation code raises an alert in the store's outbox (`Store::raise_alert`, once
//! per idempotency key). This module delivers it: [`deliver_due`] fans each new alert out
//! to one delivery per (role, channel) from the channel file ([`ChannelConfig`]), renders
//! it with the alert templates (`warden_deadlines::alert::Templates`), sends it (webhook,
//! e-mail over SMTP, log file) and records the outcome; failures are retried with a capped
//! exponential backoff and dead-lettered after the configured attempts (kept and listed by
//! `warden alerts`, never dropped). [`run_outbox`] runs passes beside the workers of
//! `warden run`. Time comes from the run's [`warden_core::clock::Clock`].
//!
//! Delivery is at least once per (alert, role, channel), and exactly once unless Warden
//! dies between a receiver's acceptance and the store's record of it; then the same
//! delivery is sent again with the same idempotency key (`Idempotency-Key` header,
//! Message-ID), which receivers use to drop the repeat. See docs/alerts.md.
//!
//! Logs name alert ids, roles and channels; never claim or member data (alert views hold
//! none).

mod channels;
mod config;
mod outbox;

use std::path::{Path, PathBuf};

pub use channels::{Outgoing, SEND_TIMEOUT, Senders, message_id};
pub use config::{Channel, ChannelConfig, ChannelKind, ConfigError, RetryPolicy, WebhookFormat};
pub use outbox::{DeliveryReport, Outbox, deliver_due, run_outbox};
use warden_deadlines::alert::{AlertMessage, TemplateError, Templates};
use warden_store::NewAlert;

/// The outbox row for `view` (what the escalation code hands to `Store::raise_alert`):
/// under idempotency key `key` (the ladder's notice key, or [`AlertMessage::idempotency_key`]),
/// to the view's roles, rendered later with `template` (`None`: the default template).
pub fn new_alert(view: &AlertMessage, template: Option<&str>, key: impl Into<String>) -> NewAlert {
    NewAlert {
        run_id: view.run_id,
        deadline_id: view.deadline.id.clone(),
        level: view.level.as_str().to_string(),
        idempotency_key: key.into(),
        raised_at: view.raised_at.utc,
        // An AlertMessage is plain data (strings, numbers, options): it always serialises.
        view: serde_json::to_value(view).unwrap_or_default(),
        template: template.map(str::to_string),
        roles: view.roles.iter().map(|r| r.id.clone()).collect(),
    }
}

/// The outbox row for the batch impact gate's alert (an override, or setup stopped by its
/// claim count): once per run, stream and kind.
pub fn gate_alert(view: &warden_deadlines::alert::VolumeGateView) -> NewAlert {
    NewAlert {
        run_id: view.run_id,
        deadline_id: view.job.clone(),
        level: view.level.as_str().to_string(),
        idempotency_key: view.idempotency_key(),
        raised_at: view.raised_at.utc,
        // Plain data (strings, numbers): it always serialises.
        view: serde_json::to_value(view).unwrap_or_default(),
        template: Some(warden_deadlines::alert::VOLUME_GATE_TEMPLATE.to_string()),
        roles: view.roles.iter().map(|r| r.id.clone()).collect(),
    }
}

/// The template set for a workflow file: `dir` when given, else the `templates/`
/// directory beside the workflow file when it exists, else the copies compiled into the
/// binary. Returns the set and where it came from.
pub fn load_templates(
    dir: Option<&Path>,
    workflow_file: &Path,
) -> Result<(Templates, String), TemplateError> {
    if let Some(dir) = dir {
        return Ok((Templates::load_dir(dir)?, dir.display().to_string()));
    }
    let beside: PathBuf = workflow_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("templates");
    if beside.is_dir() {
        return Ok((Templates::load_dir(&beside)?, beside.display().to_string()));
    }
    Ok((Templates::shipped(), "the built-in templates".to_string()))
}

/// The channel file when given, else the default (every role: `DATA/alerts.log`).
pub fn load_channels(file: Option<&Path>, data_dir: &Path) -> Result<ChannelConfig, ConfigError> {
    match file {
        Some(path) => ChannelConfig::load(path),
        None => Ok(ChannelConfig::default_for(data_dir)),
    }
}
