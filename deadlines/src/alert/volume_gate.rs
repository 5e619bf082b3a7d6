//! The batch impact gate's alert (issue #12): claim volume above what was approved reached
//! a run. Raised when adjudication setup reads more claims than the stream's approved volume
//! plus the trigger (the job stops: what happened in February 2025), and when an operator
//! overrides the gate at `warden run` (with the reason given). On-call and compliance are
//! told: compliance owns the evidence that new volume was tested before it went live.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warden_core::plan::Plan;
use warden_core::workflow::values::thousands;

use super::exception_rate::ON_CALL_ROLE;
use super::view::{AlertLevel, LocalTime, RoleView, format_probability};

pub const VOLUME_GATE_TEMPLATE: &str = "volume-gate";
/// The second role told (with on-call).
pub const COMPLIANCE_ROLE: &str = "compliance";

/// What crossed the gate.
#[derive(Debug, Clone, PartialEq)]
pub enum GateEvent<'a> {
    /// Setup read `claims`, above `approved × (1 + trigger)`; the job stopped.
    SetupCount { job: &'a str, claims: u64 },
    /// An operator started the run past the gate.
    Override { actor: &'a str, reason: &'a str },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeGateView {
    /// `volume-gate`.
    pub kind: String,
    pub cycle: String,
    pub business_date: String,
    pub run_id: i64,
    /// The job that stopped, or `run` for an override.
    pub job: String,
    pub stream: String,
    pub level: AlertLevel,
    pub headline: String,
    pub trigger: String,
    pub volume: u64,
    pub approved: u64,
    pub limit: u64,
    /// The operator and reason of an override.
    pub actor: Option<String>,
    pub reason: Option<String>,
    pub what_to_do: String,
    pub roles: Vec<RoleView>,
    pub raised_at: LocalTime,
    pub alert_id: Option<i64>,
}

impl VolumeGateView {
    /// `volume`: the claims seen (setup) or carried (override); `approved`: the stream's
    /// approved volume; `limit`: approved plus the trigger.
    pub fn new(
        plan: &Plan,
        run_id: i64,
        stream: &str,
        (volume, approved, limit): (u64, u64, u64),
        event: &GateEvent<'_>,
        now: DateTime<Utc>,
    ) -> VolumeGateView {
        let over = volume.saturating_sub(approved) as f64 / approved.max(1) as f64;
        let (job, trigger, actor, reason, what_to_do) = match event {
            GateEvent::SetupCount { job, claims } => (
                job.to_string(),
                format!(
                    "{job} read {} claims for stream {stream}, {} above its approved {} (the limit without a batch impact test is {}): the job stopped before adjudicating",
                    thousands(*claims),
                    format_probability(over),
                    thousands(approved),
                    thousands(limit)
                ),
                None,
                None,
                format!(
                    "find out where the extra claims come from; if the volume is real, run `warden impact run FILE --date {} --stream {stream} ...` and start the run again with the tested volume (`--volume {stream}=N`)",
                    plan.date
                ),
            ),
            GateEvent::Override { actor, reason } => (
                "run".to_string(),
                format!(
                    "{actor} started the run past the batch impact gate: stream {stream} carries {} claims, {} above its approved {} (limit {}), with no passed or approved impact test; reason given: {reason}",
                    thousands(volume),
                    format_probability(over),
                    thousands(approved),
                    thousands(limit)
                ),
                Some(actor.to_string()),
                Some(reason.to_string()),
                "watch Day 1's margin closely; run the impact test for this volume before the next cycle".to_string(),
            ),
        };
        let level = AlertLevel::Escalated;
        VolumeGateView {
            kind: VOLUME_GATE_TEMPLATE.to_string(),
            cycle: plan.cycle.clone(),
            business_date: plan.date.clone(),
            run_id,
            job,
            stream: stream.to_string(),
            level,
            headline: "VOLUME ABOVE APPROVED".to_string(),
            trigger,
            volume,
            approved,
            limit,
            actor,
            reason,
            what_to_do,
            roles: gate_roles(plan),
            raised_at: LocalTime::new(now, plan.timezone),
            alert_id: None,
        }
    }

    /// Once per run, stream and kind of event.
    pub fn idempotency_key(&self) -> String {
        let what = if self.actor.is_some() {
            "override"
        } else {
            "setup-count"
        };
        format!("{}:volume-gate:{what}:{}", self.run_id, self.stream)
    }
}

/// On-call and compliance; every declared role when the workflow has neither (an alert
/// nobody is configured to receive is still listed, never dropped).
fn gate_roles(plan: &Plan) -> Vec<RoleView> {
    let told = |r: &&warden_core::workflow::Role| r.id == ON_CALL_ROLE || r.id == COMPLIANCE_ROLE;
    let any = plan.roles.iter().any(|r| told(&r));
    plan.roles
        .iter()
        .filter(|r| !any || told(r))
        .map(|r| RoleView {
            id: r.id.clone(),
            name: r.name.clone().unwrap_or_else(|| r.id.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use warden_core::plan::{PlanOptions, VolumeChange};
    use warden_core::workflow::compile_str;

    use super::*;
    use crate::alert::Templates;

    fn plan() -> Plan {
        let text = r#"
cycle: t
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
streams:
  - { id: A, volume: 1000 }
roles:
  - { id: on-call }
  - { id: counsel }
  - { id: compliance }
days:
  - { id: n1, window: { opens: "22:00", closes: "04:00" } }
defaults: { builtin: sleep }
jobs:
  - { id: J, day: n1, streams: all, estimate: 10m }
"#;
        let (_, c) = compile_str("t.yaml", text);
        c.workflow
            .expect("compiles")
            .instantiate(
                "2025-03-04".parse().expect("date"),
                &PlanOptions {
                    mode: None,
                    volumes: vec![("A".into(), VolumeChange::Set(1300))],
                },
            )
            .expect("plans")
    }

    #[test]
    fn an_override_tells_on_call_and_compliance_who_and_why() {
        let now = Utc.with_ymd_and_hms(2025, 3, 5, 3, 0, 0).unwrap();
        let v = VolumeGateView::new(
            &plan(),
            4,
            "A",
            (1300, 1000, 1050),
            &GateEvent::Override {
                actor: "olu",
                reason: "state deadline",
            },
            now,
        );
        let roles: Vec<&str> = v.roles.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(roles, ["on-call", "compliance"], "not counsel");
        assert_eq!(v.idempotency_key(), "4:volume-gate:override:A");
        let r = Templates::shipped()
            .render(
                Some(VOLUME_GATE_TEMPLATE),
                &serde_json::to_value(&v).expect("json"),
            )
            .expect("renders");
        assert!(
            r.subject.contains("stream A gate overridden by olu"),
            "{}",
            r.subject
        );
        assert!(
            r.body
                .contains("1,300 claims, 30% above its approved 1,000 (limit 1,050)"),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains("Override reason (recorded in the audit log): state deadline")
        );
    }

    #[test]
    fn a_stopped_setup_says_how_many_claims_and_what_to_do() {
        let now = Utc.with_ymd_and_hms(2025, 3, 5, 3, 0, 0).unwrap();
        let v = VolumeGateView::new(
            &plan(),
            4,
            "A",
            (1300, 1000, 1050),
            &GateEvent::SetupCount {
                job: "SETUP.A",
                claims: 1300,
            },
            now,
        );
        assert_eq!(v.idempotency_key(), "4:volume-gate:setup-count:A");
        let r = Templates::shipped()
            .render(
                Some(VOLUME_GATE_TEMPLATE),
                &serde_json::to_value(&v).expect("json"),
            )
            .expect("renders");
        assert!(r.subject.contains("SETUP.A stopped"), "{}", r.subject);
        assert!(
            r.body.contains("SETUP.A read 1,300 claims for stream A"),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains("warden impact run FILE --date 2025-03-04 --stream A")
        );
        assert!(!r.body.contains("Override reason"));
    }
}
