//! The audit log: a run's trail (operator commands, acknowledgements, ladder decisions)
//! and the UI's own, as one list of entries, with the page's filter.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warden_core::sched::command_name;

use crate::format::zoned;
use crate::mask::Masking;
use crate::snapshot::RunSnapshot;

/// One entry of the audit trail: an operator's command, an acknowledgement, a ladder
/// decision, or the UI's own (sign-ins, refusals).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub at: String,
    pub at_utc: DateTime<Utc>,
    pub run: Option<i64>,
    pub job: Option<String>,
    pub actor: String,
    pub action: String,
    pub detail: String,
    /// event | ack | ladder | ui
    pub source: String,
}

/// A run's audit trail: operator events, acknowledgements and ladder decisions, in time
/// order. Reasons and notes as `masking` allows.
pub fn audit_entries(s: &RunSnapshot, masking: Masking) -> Vec<AuditEntry> {
    let tz = s.plan.timezone;
    let mut out = Vec::new();
    for e in &s.events {
        let Some(warden_core::sched::Event::Operator { job, command }) = e.event else {
            continue;
        };
        out.push(AuditEntry {
            at: zoned(tz, e.at),
            at_utc: e.at,
            run: Some(s.run.id),
            job: s.plan.jobs.get(job).map(|j| j.id.clone()),
            actor: e.actor.clone(),
            action: command_name(command).to_string(),
            detail: masking.text(e.reason.as_deref().unwrap_or_default()),
            source: "event".into(),
        });
    }
    for a in &s.alerts {
        for k in &a.acks {
            out.push(AuditEntry {
                at: zoned(tz, k.at),
                at_utc: k.at,
                run: Some(s.run.id),
                job: None,
                actor: k.actor.clone(),
                action: "acknowledge".into(),
                detail: format!(
                    "{} {} ({}){}",
                    k.deadline_id,
                    k.level,
                    k.alert_key,
                    k.note
                        .as_deref()
                        .map(|n| format!(": {}", masking.text(n)))
                        .unwrap_or_default()
                ),
                source: "ack".into(),
            });
        }
    }
    for d in &s.ladder {
        out.push(AuditEntry {
            at: zoned(tz, d.at),
            at_utc: d.at,
            run: Some(s.run.id),
            job: None,
            actor: d.actor.clone(),
            action: d.kind.clone(),
            detail: format!(
                "{}{}",
                d.deadline_id,
                d.level
                    .as_deref()
                    .map(|l| format!(" → {l}"))
                    .unwrap_or_default()
            ),
            source: "ladder".into(),
        });
    }
    out.sort_by_key(|e| e.at_utc);
    out
}

/// What the audit log is filtered by (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub run: Option<String>,
    #[serde(default)]
    pub job: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    /// `1`: include the escalation ladder's decisions (left out by default: they are many,
    /// and the alerts page has them per incident). Filtering by an action includes them.
    #[serde(default)]
    pub ladder: Option<String>,
}

/// The audit page: its filter and what it lets through.
#[derive(Debug, Serialize)]
pub struct AuditView {
    pub filter: AuditFilter,
    pub entries: Vec<AuditEntry>,
}

/// A filter's field when given (not empty once trimmed).
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// One of the UI's own audit rows (sign-ins, refusals) as an entry; its detail as `masking`
/// allows.
pub fn ui_entry(row: warden_store::UiAuditRow, masking: Masking) -> AuditEntry {
    AuditEntry {
        at: row.at.format("%a %Y-%m-%d %H:%M UTC").to_string(),
        at_utc: row.at,
        run: row.run_id,
        job: row.job_id,
        actor: row.actor,
        action: row.action,
        detail: masking.text(row.detail.as_deref().unwrap_or_default()),
        source: "ui".into(),
    }
}

/// The entries `f` lets through, newest first (what just happened is what a reader looks
/// for).
pub fn filtered(mut entries: Vec<AuditEntry>, f: &AuditFilter) -> Vec<AuditEntry> {
    let ladder =
        given(&f.ladder).is_some_and(|v| v == "1" || v == "true") || given(&f.action).is_some();
    entries.retain(|e| {
        (ladder || e.source != "ladder")
            && given(&f.job).is_none_or(|j| e.job.as_deref() == Some(j))
            && given(&f.actor).is_none_or(|a| e.actor == a)
            && given(&f.action).is_none_or(|a| e.action == a)
    });
    entries.sort_by_key(|e| std::cmp::Reverse(e.at_utc));
    entries
}
