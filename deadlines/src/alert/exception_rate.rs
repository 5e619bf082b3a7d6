//! The exception-rate warning as people read it: an adjudication partition (or pass 2)
//! whose share of exceptions passed the monitor's threshold (case study 002, finding 1: a
//! feed of non-standard codes that no one saw until the audit table stalled three streams).
//!
//! Not a deadline's escalation: it is raised once per job and run when the job switches to
//! high-exception mode, to the on-call role, through the same outbox, templates and
//! channels as the ladders' notices. Counts and names only: no claim or member data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use warden_core::plan::Plan;
use warden_core::workflow::values::thousands;

use super::view::{AlertLevel, LocalTime, RoleView, format_probability};

/// The template it is rendered with.
pub const EXCEPTION_RATE_TEMPLATE: &str = "exception-rate";
/// The role told first; every declared role when the workflow has no such role (an alert
/// nobody is configured to receive is still listed, never dropped).
pub const ON_CALL_ROLE: &str = "on-call";

/// What the monitor saw, as the stage reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionRate<'a> {
    /// The stage's name in its events (`p03`, `pass2`).
    pub partition: &'a str,
    pub at_claim: u64,
    pub exceptions: u64,
    pub rate: f64,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionRateView {
    /// `exception-rate`: what the stored view is, for readers of the outbox.
    pub kind: String,
    pub cycle: String,
    pub business_date: String,
    pub run_id: i64,
    pub job: String,
    pub partition: String,
    pub level: AlertLevel,
    pub headline: String,
    pub trigger: String,
    pub at_claim: u64,
    pub exceptions: u64,
    pub rate: f64,
    pub rate_text: String,
    pub threshold_text: String,
    pub roles: Vec<RoleView>,
    pub raised_at: LocalTime,
    pub alert_id: Option<i64>,
}

impl ExceptionRateView {
    pub fn new(
        plan: &Plan,
        run_id: i64,
        job: &str,
        seen: &ExceptionRate<'_>,
        now: DateTime<Utc>,
    ) -> ExceptionRateView {
        let rate_text = format_probability(seen.rate);
        let threshold_text = format_probability(seen.threshold);
        let level = AlertLevel::Warning;
        ExceptionRateView {
            kind: EXCEPTION_RATE_TEMPLATE.to_string(),
            cycle: plan.cycle.clone(),
            business_date: plan.date.clone(),
            run_id,
            job: job.to_string(),
            partition: seen.partition.to_string(),
            level,
            headline: level.headline().to_string(),
            trigger: format!(
                "exception rate {rate_text} in {job} ({}), above the {threshold_text} threshold: {} exceptions in its first {} claims",
                seen.partition,
                thousands(seen.exceptions),
                thousands(seen.at_claim)
            ),
            at_claim: seen.at_claim,
            exceptions: seen.exceptions,
            rate: seen.rate,
            rate_text,
            threshold_text,
            roles: on_call_roles(plan),
            raised_at: LocalTime::new(now, plan.timezone),
            alert_id: None,
        }
    }

    /// One alert per job and run: the switch to high-exception mode happens once.
    pub fn idempotency_key(&self) -> String {
        format!("{}:exception-rate:{}", self.run_id, self.job)
    }
}

fn on_call_roles(plan: &Plan) -> Vec<RoleView> {
    let view = |r: &warden_core::workflow::Role| RoleView {
        id: r.id.clone(),
        name: r.name.clone().unwrap_or_else(|| r.id.clone()),
    };
    let on_call: Vec<RoleView> = plan
        .roles
        .iter()
        .filter(|r| r.id == ON_CALL_ROLE)
        .map(view)
        .collect();
    if on_call.is_empty() {
        plan.roles.iter().map(view).collect()
    } else {
        on_call
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Templates;

    fn plan(roles: &str) -> Plan {
        let text = format!(
            "cycle: nightly\ntimezone: America/New_York\nschedule: {{ cron: \"0 23 * * 1-5\" }}\n{roles}days:\n  - {{ id: n, window: {{ opens: \"23:00\", closes: \"04:00\" }} }}\njobs:\n  - {{ id: P01, builtin: adjudicate-partition, estimate: 30m }}\n"
        );
        let (_, c) = warden_core::workflow::compile_str("t.yaml", &text);
        c.workflow
            .expect("compiles")
            .instantiate("2025-03-04".parse().expect("date"), &Default::default())
            .expect("plans")
    }

    fn seen() -> ExceptionRate<'static> {
        ExceptionRate {
            partition: "p01",
            at_claim: 100_000,
            exceptions: 6_200,
            rate: 0.062,
            threshold: 0.05,
        }
    }

    #[test]
    fn tells_on_call_the_rate_and_renders_with_the_shipped_template() {
        let p =
            plan("roles:\n  - { id: on-call, name: On-call engineer }\n  - { id: compliance }\n");
        let at: DateTime<Utc> = "2025-03-05T05:30:00Z".parse().expect("time");
        let v = ExceptionRateView::new(&p, 7, "CLMADJUD-P01", &seen(), at);
        assert_eq!(v.roles.len(), 1);
        assert_eq!(v.roles[0].id, "on-call");
        assert_eq!(v.idempotency_key(), "7:exception-rate:CLMADJUD-P01");
        assert!(
            v.trigger
                .contains("6,200 exceptions in its first 100,000 claims"),
            "{}",
            v.trigger
        );
        assert_eq!(v.raised_at.text, "2025-03-05 00:30 EST");
        let r = Templates::shipped()
            .render(Some(EXCEPTION_RATE_TEMPLATE), &v)
            .expect("renders");
        assert!(
            r.subject
                .starts_with("[Warden WARNING] CLMADJUD-P01: exception rate"),
            "{}",
            r.subject
        );
        assert!(r.body.contains("high-exception mode"), "{}", r.body);
        // The stored JSON renders the same (what the outbox does).
        let stored = serde_json::to_value(&v).expect("json");
        let again = Templates::shipped()
            .render(Some(EXCEPTION_RATE_TEMPLATE), &stored)
            .expect("renders");
        assert_eq!(again, r);
    }

    #[test]
    fn without_an_on_call_role_every_role_is_told() {
        let p = plan("roles:\n  - { id: ops }\n  - { id: compliance }\n");
        let v = ExceptionRateView::new(&p, 1, "P01", &seen(), Utc::now());
        let ids: Vec<&str> = v.roles.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["ops", "compliance"]);
        assert_eq!(thousands(62_000_000), "62,000,000");
    }
}
