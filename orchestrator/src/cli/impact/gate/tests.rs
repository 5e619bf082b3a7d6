//! Each path through the gate, on a one-stream cycle declared at 1,000 claims (trigger 5 %).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use warden_core::plan::{PlanOptions, VolumeChange};
use warden_core::workflow::compile_str;
use warden_store::{ImpactApproval, ImpactTestRecord};

use super::*;

fn plan(volume: u64) -> Plan {
    let text = r#"
cycle: t
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
streams:
  - { id: A, volume: 1000 }
days:
  - { id: n1, window: { opens: "22:00", closes: "04:00" } }
defaults: { builtin: sleep }
jobs:
  - { id: J, day: n1, streams: all, estimate: 10m }
"#;
    let (_, c) = compile_str("t.yaml", text);
    let w = c.workflow.expect("compiles");
    w.instantiate(
        "2025-03-04".parse().expect("date"),
        &PlanOptions {
            mode: None,
            volumes: vec![("A".into(), VolumeChange::Set(volume))],
        },
    )
    .expect("plans")
}

fn test(id: i64, verdict: &str, tested: u64, approver: Option<&str>) -> ImpactTestRecord {
    ImpactTestRecord {
        id,
        cycle: "t".into(),
        business_date: "2025-03-04".into(),
        created_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        verdict: verdict.into(),
        workflow_sha256: "w".into(),
        sample_sha256: "s".into(),
        thresholds_sha256: "t".into(),
        binary_version: "warden test".into(),
        volumes: BTreeMap::from([("A".to_string(), tested)]),
        report: "{}".into(),
        approval: approver.map(|name| ImpactApproval {
            approver: name.into(),
            role: "architect".into(),
            note: "reviewed".into(),
            at: Utc.with_ymd_and_hms(2025, 3, 2, 12, 0, 0).unwrap(),
        }),
    }
}

#[test]
fn volume_within_the_trigger_needs_no_test() {
    assert_eq!(decide(&plan(1050), "t.yaml", &[]), Gate::Open);
    assert_eq!(decide(&plan(900), "t.yaml", &[]), Gate::Open);
}

#[test]
fn volume_above_the_trigger_without_a_test_is_refused_naming_the_test_to_run() {
    let Gate::Refused { over, message } = decide(&plan(1240), "t.yaml", &[]) else {
        panic!("refused")
    };
    assert_eq!(over[0].limit, 1050);
    assert!(
        message.contains("stream A carries 1,240 claims, 24% above its approved 1,000"),
        "{message}"
    );
    assert!(
        message.contains("warden impact run t.yaml --date 2025-03-04 --stream A"),
        "{message}"
    );
    assert!(message.contains("--override-impact-gate"), "{message}");
}

#[test]
fn a_failed_test_refuses_and_a_passed_one_clears() {
    let Gate::Refused { message, .. } =
        decide(&plan(1240), "t.yaml", &[test(3, "fail", 1240, None)])
    else {
        panic!("refused after fail")
    };
    assert!(
        message.contains("impact test #3 came back fail"),
        "{message}"
    );
    assert_eq!(
        decide(
            &plan(1240),
            "t.yaml",
            &[test(3, "fail", 1240, None), test(4, "pass", 1300, None)]
        ),
        Gate::Covered {
            test: 4,
            how: "impact test #4 passed".into()
        }
    );
}

#[test]
fn a_review_clears_only_once_approved() {
    let Gate::Refused { message, .. } =
        decide(&plan(1240), "t.yaml", &[test(5, "review", 1240, None)])
    else {
        panic!("refused while unapproved")
    };
    assert!(message.contains("warden impact approve 5"), "{message}");
    let Gate::Covered { test: id, how } = decide(
        &plan(1240),
        "t.yaml",
        &[test(5, "review", 1240, Some("ana"))],
    ) else {
        panic!("covered once approved")
    };
    assert_eq!(id, 5);
    assert!(how.contains("approved by ana (architect)"), "{how}");
}

#[test]
fn a_test_of_less_volume_or_another_cycle_does_not_cover() {
    let low = test(6, "pass", 1200, None);
    assert!(matches!(
        decide(&plan(1240), "t.yaml", &[low]),
        Gate::Refused { .. }
    ));
    let mut other = test(7, "pass", 5000, None);
    other.cycle = "other".into();
    assert!(matches!(
        decide(&plan(1240), "t.yaml", &[other]),
        Gate::Refused { .. }
    ));
}
