//! A run's alerts page: incidents (a deadline at one level, its notifications folded in),
//! every notification with its deliveries and acknowledgements, and the ladder's decisions.

use serde::Serialize;

use super::audit::{AuditEntry, audit_entries};
use super::overview::{DeadlineCard, RunSummary, run_summary, severity};
use crate::format::local;
use crate::mask::Masking;
use crate::snapshot::RunSnapshot;

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    pub role: String,
    pub channel: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AckView {
    pub actor: String,
    pub note: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: i64,
    pub deadline: String,
    pub level: String,
    pub key: String,
    pub raised: String,
    pub roles: Vec<String>,
    pub summary: String,
    pub deliveries: Vec<DeliveryView>,
    pub acks: Vec<AckView>,
    pub acknowledged: bool,
}

/// One incident: a deadline at one level, with every notification it raised folded in.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    pub deadline: String,
    pub deadline_name: String,
    pub level: String,
    pub level_label: String,
    pub severity: u8,
    pub first_raised: String,
    pub last_raised: String,
    pub notifications: usize,
    /// Every notification acknowledged.
    pub acknowledged: bool,
    pub unacknowledged: usize,
    /// The deadline's state now (the ladder may have moved on).
    pub deadline_state: String,
    pub summary: String,
    pub acks: Vec<AckView>,
    /// Newest first.
    pub alerts: Vec<AlertView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertsView {
    pub run: RunSummary,
    /// Incidents, unacknowledged and most severe first.
    pub incidents: Vec<IncidentView>,
    pub incidents_total: usize,
    pub unacknowledged_total: usize,
    /// Only unacknowledged incidents are listed.
    pub only_unacknowledged: bool,
    /// Every notification, newest first.
    pub alerts: Vec<AlertView>,
    pub ladder: Vec<AuditEntry>,
}

/// A run's alerts. Their free text (summaries, delivery errors, acknowledgement notes) as
/// `masking` allows.
pub fn alerts_view(s: &RunSnapshot, masking: Masking, only_unacknowledged: bool) -> AlertsView {
    let tz = s.plan.timezone;
    let alerts: Vec<AlertView> = s
        .alerts
        .iter()
        .rev()
        .map(|a| AlertView {
            id: a.id,
            deadline: a.deadline_id.clone(),
            level: a.level.clone(),
            key: a.idempotency_key.clone(),
            raised: local(tz, a.raised_at),
            roles: a.roles.clone(),
            summary: masking.text(&alert_summary(&a.view)),
            deliveries: a
                .deliveries
                .iter()
                .map(|d| DeliveryView {
                    role: d.role.clone(),
                    channel: d.channel.clone(),
                    status: d.status.clone(),
                    attempts: d.attempts,
                    last_error: masking.optional(d.last_error.as_deref()),
                    delivered_at: d.delivered_at.map(|t| local(tz, t)),
                })
                .collect(),
            acknowledged: !a.acks.is_empty(),
            acks: a
                .acks
                .iter()
                .map(|k| AckView {
                    actor: k.actor.clone(),
                    note: masking.optional(k.note.as_deref()),
                    at: local(tz, k.at),
                })
                .collect(),
        })
        .collect();
    let mut ladder: Vec<AuditEntry> = audit_entries(s, masking)
        .into_iter()
        .filter(|e| e.source == "ladder")
        .collect();
    ladder.reverse();
    let run = run_summary(s);
    let mut incidents = incidents(s, &alerts, &run.deadlines);
    let incidents_total = incidents.len();
    let unacknowledged_total = incidents.iter().filter(|i| !i.acknowledged).count();
    if only_unacknowledged {
        incidents.retain(|i| !i.acknowledged);
    }
    AlertsView {
        run,
        incidents,
        incidents_total,
        unacknowledged_total,
        only_unacknowledged,
        alerts,
        ladder,
    }
}

/// The alerts grouped by (deadline, level): unacknowledged first, then the most severe,
/// then the most recent.
fn incidents(s: &RunSnapshot, alerts: &[AlertView], cards: &[DeadlineCard]) -> Vec<IncidentView> {
    let mut groups: Vec<IncidentView> = Vec::new();
    for a in alerts {
        if let Some(i) = groups
            .iter_mut()
            .find(|i| i.deadline == a.deadline && i.level == a.level)
        {
            i.first_raised = a.raised.clone();
            i.notifications += 1;
            if !a.acknowledged {
                i.unacknowledged += 1;
                i.acknowledged = false;
            }
            i.acks.extend(a.acks.iter().cloned());
            i.alerts.push(a.clone());
            continue;
        }
        let name = s
            .plan
            .deadlines
            .iter()
            .find(|d| d.id == a.deadline)
            .map_or(a.deadline.clone(), |d| {
                d.name.clone().unwrap_or_else(|| d.id.clone())
            });
        groups.push(IncidentView {
            deadline: a.deadline.clone(),
            deadline_name: name,
            level: a.level.clone(),
            level_label: a.level.replace('_', " "),
            severity: severity(&a.level),
            first_raised: a.raised.clone(),
            last_raised: a.raised.clone(),
            notifications: 1,
            acknowledged: a.acknowledged,
            unacknowledged: usize::from(!a.acknowledged),
            deadline_state: cards
                .iter()
                .find(|c| c.id == a.deadline)
                .map_or(String::new(), |c| {
                    format!("{} · margin {}", c.state_label, c.margin)
                }),
            summary: a.summary.clone(),
            acks: a.acks.clone(),
            alerts: vec![a.clone()],
        });
    }
    groups.sort_by_key(|i| (i.acknowledged, std::cmp::Reverse(i.severity)));
    groups
}

/// One line of an alert, from its stored view (margin, trigger) when it has them.
fn alert_summary(view: &serde_json::Value) -> String {
    let text = |k: &str| view.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let mut parts = Vec::new();
    if let Some(t) = text("trigger") {
        parts.push(t);
    }
    if let Some(m) = text("margin") {
        parts.push(format!("margin {m}"));
    }
    if let Some(p) = text("p_miss") {
        parts.push(format!("P(miss) {p}"));
    }
    if parts.is_empty() {
        parts.push(text("subject").unwrap_or_default());
    }
    parts.join(" · ")
}
