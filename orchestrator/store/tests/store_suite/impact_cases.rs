//! Batch impact tests, on both backends: a test read back as written (report byte for byte,
//! volumes beyond `i64`), a cycle's tests newest first, one approval per `review` test (and
//! none for a `pass`, a `fail` or a missing test, whoever races), overrides with their reason.

use std::collections::BTreeMap;

use warden_store::{
    ApproveOutcome, ImpactApproval, ImpactOverrideRecord, ImpactTestRecord, NewImpactOverride,
    NewImpactTest, Store, StoreError,
};

use super::{new_run, t, unique};

fn impact_test(cycle: &str, verdict: &str, minutes: i64) -> NewImpactTest {
    NewImpactTest {
        cycle: cycle.to_string(),
        business_date: "2025-02".into(),
        created_at: t(minutes),
        verdict: verdict.into(),
        workflow_sha256: format!("wf-{minutes}"),
        sample_sha256: format!("sample-{minutes}"),
        thresholds_sha256: format!("thresholds-{minutes}"),
        binary_version: "warden 0.1.0 (abc1234)".into(),
        volumes: BTreeMap::from([
            ("A".to_string(), 62_000_000),
            ("B".to_string(), 1_800_000 + minutes as u64),
            // Beyond i64: the volumes are JSON text, not an integer column.
            ("E".to_string(), u64::MAX),
        ]),
        // Unusual spacing and key order: the report is kept as given, not normalised.
        report: format!("{{\"verdict\": \"{verdict}\",  \"a\": [1, 2.50], \"m\": {minutes}}}"),
    }
}

fn record(id: i64, new: &NewImpactTest, approval: Option<ImpactApproval>) -> ImpactTestRecord {
    ImpactTestRecord {
        id,
        cycle: new.cycle.clone(),
        business_date: new.business_date.clone(),
        created_at: new.created_at,
        verdict: new.verdict.clone(),
        workflow_sha256: new.workflow_sha256.clone(),
        sample_sha256: new.sample_sha256.clone(),
        thresholds_sha256: new.thresholds_sha256.clone(),
        binary_version: new.binary_version.clone(),
        volumes: new.volumes.clone(),
        report: new.report.clone(),
        approval,
    }
}

fn approval(approver: &str, minutes: i64) -> ImpactApproval {
    ImpactApproval {
        approver: approver.into(),
        role: "architect".into(),
        note: format!("{approver}: Day 1 margin stays above 2 h with 8 partitions"),
        at: t(minutes),
    }
}

/// An id no test has.
async fn missing_id(store: &Store, cycle: &str) -> i64 {
    let last = store
        .record_impact_test(&impact_test(cycle, "pass", 0))
        .await
        .expect("record");
    last + 1_000
}

pub(super) async fn impact_tests_read_back_as_written_newest_first(store: Store) {
    let cycle = unique("impact");
    let other = unique("impact");
    let a = impact_test(&cycle, "review", 0);
    let b = impact_test(&cycle, "fail", 60);
    let c = impact_test(&cycle, "pass", 30);
    let d = impact_test(&other, "pass", 90);
    let a_id = store.record_impact_test(&a).await.expect("record a");
    let b_id = store.record_impact_test(&b).await.expect("record b");
    let c_id = store.record_impact_test(&c).await.expect("record c");
    let d_id = store.record_impact_test(&d).await.expect("record d");
    assert_ne!(a_id, b_id);

    assert_eq!(
        store.impact_test(a_id).await.expect("get"),
        Some(record(a_id, &a, None)),
        "every field as written"
    );
    // Newest by when the test was made, not by insertion; another cycle's tests are its own.
    let listed = store.impact_tests(&cycle).await.expect("list");
    assert_eq!(
        listed,
        vec![
            record(b_id, &b, None),
            record(c_id, &c, None),
            record(a_id, &a, None)
        ]
    );
    assert_eq!(
        store.impact_tests(&other).await.expect("list"),
        vec![record(d_id, &d, None)]
    );
    assert!(
        store
            .impact_tests(&unique("impact"))
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .impact_test(missing_id(&store, &other).await)
            .await
            .expect("get"),
        None
    );

    // A verdict the gate does not know is refused, and nothing is written.
    let bad = store
        .record_impact_test(&impact_test(&cycle, "ok", 120))
        .await;
    assert!(
        matches!(bad, Err(StoreError::Invalid(ref m)) if m.contains("`ok`")),
        "{bad:?}"
    );
    assert_eq!(store.impact_tests(&cycle).await.expect("list").len(), 3);
}

pub(super) async fn a_review_test_is_approved_once(store: Store) {
    let cycle = unique("impact");
    let new = impact_test(&cycle, "review", 0);
    let id = store.record_impact_test(&new).await.expect("record");
    let first = approval("ari", 5);
    assert_eq!(
        store
            .approve_impact_test(id, &first)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    assert_eq!(
        store.impact_test(id).await.expect("get"),
        Some(record(id, &new, Some(first.clone())))
    );
    assert_eq!(
        store.impact_tests(&cycle).await.expect("list"),
        vec![record(id, &new, Some(first.clone()))],
        "listed with its approval"
    );

    // A second approval is refused naming the first; the first stands.
    assert_eq!(
        store
            .approve_impact_test(id, &approval("bea", 9))
            .await
            .expect("approve again"),
        ApproveOutcome::AlreadyApproved {
            by: "ari".into(),
            at: t(5)
        }
    );
    assert_eq!(
        store
            .impact_test(id)
            .await
            .expect("get")
            .and_then(|r| r.approval),
        Some(first)
    );

    // An approval without a note is refused before anything is written.
    let other = store
        .record_impact_test(&impact_test(&cycle, "review", 10))
        .await
        .expect("record");
    let blank = store
        .approve_impact_test(
            other,
            &ImpactApproval {
                note: "  ".into(),
                ..approval("ari", 11)
            },
        )
        .await;
    assert!(
        matches!(blank, Err(StoreError::Invalid(ref m)) if m.contains("note")),
        "{blank:?}"
    );
    assert_eq!(
        store
            .impact_test(other)
            .await
            .expect("get")
            .expect("test")
            .approval,
        None
    );
}

pub(super) async fn only_an_existing_review_test_can_be_approved(store: Store) {
    let cycle = unique("impact");
    for verdict in ["pass", "fail"] {
        let id = store
            .record_impact_test(&impact_test(&cycle, verdict, 0))
            .await
            .expect("record");
        assert_eq!(
            store
                .approve_impact_test(id, &approval("ari", 5))
                .await
                .expect("approve"),
            ApproveOutcome::NotReview {
                verdict: verdict.into()
            }
        );
        assert_eq!(
            store
                .impact_test(id)
                .await
                .expect("get")
                .expect("test")
                .approval,
            None,
            "nothing written for a {verdict} test"
        );
    }
    let missing = missing_id(&store, &cycle).await;
    assert_eq!(
        store
            .approve_impact_test(missing, &approval("ari", 5))
            .await
            .expect("approve"),
        ApproveOutcome::NoSuchTest
    );
}

pub(super) async fn racing_approvers_leave_one_approval(store: Store) {
    let id = store
        .record_impact_test(&impact_test(&unique("impact"), "review", 0))
        .await
        .expect("record");
    let mut handles = Vec::new();
    for n in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let who = format!("architect-{n}");
            let outcome = store
                .approve_impact_test(id, &approval(&who, n))
                .await
                .expect("approve");
            (who, outcome)
        }));
    }
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("task"));
    }
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| *o == ApproveOutcome::Approved)
        .map(|(who, _)| who)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let stored = store
        .impact_test(id)
        .await
        .expect("get")
        .expect("test")
        .approval
        .expect("approved");
    assert_eq!(&stored.approver, winners[0]);
    for (who, outcome) in &outcomes {
        if who != winners[0] {
            assert_eq!(
                outcome,
                &ApproveOutcome::AlreadyApproved {
                    by: stored.approver.clone(),
                    at: stored.at
                }
            );
        }
    }
}

pub(super) async fn overrides_are_kept_with_their_reason(store: Store) {
    let cycle = unique("impact");
    let run = store
        .open_run(&new_run(&cycle), t(0))
        .await
        .expect("open")
        .id;
    let first = NewImpactOverride {
        cycle: cycle.clone(),
        business_date: "2025-02".into(),
        run_id: None,
        actor: "omar".into(),
        reason: "acquisition go-live agreed with the board; impact test running".into(),
        detail: "stream A 62,000,000 claims above approved 50,000,000 + 5%".into(),
        at: t(10),
    };
    let second = NewImpactOverride {
        run_id: Some(run),
        actor: "diane".into(),
        reason: "rerun after the partner's file was resent".into(),
        detail: "stream B 2,100,000 claims above approved 1,800,000 + 5%".into(),
        at: t(20),
        ..first.clone()
    };
    let elsewhere = NewImpactOverride {
        cycle: unique("impact"),
        ..first.clone()
    };
    // Written newest first: listed in time order, an audit trail.
    let second_id = store.record_impact_override(&second).await.expect("record");
    let first_id = store.record_impact_override(&first).await.expect("record");
    store
        .record_impact_override(&elsewhere)
        .await
        .expect("record");
    let as_stored = |id: i64, o: &NewImpactOverride| ImpactOverrideRecord {
        id,
        cycle: o.cycle.clone(),
        business_date: o.business_date.clone(),
        run_id: o.run_id,
        actor: o.actor.clone(),
        reason: o.reason.clone(),
        detail: o.detail.clone(),
        at: o.at,
    };
    assert_eq!(
        store.impact_overrides(&cycle).await.expect("list"),
        vec![as_stored(first_id, &first), as_stored(second_id, &second)]
    );

    // No override without a reason; nothing is written.
    let blank = store
        .record_impact_override(&NewImpactOverride {
            reason: " \n".into(),
            ..first.clone()
        })
        .await;
    assert!(
        matches!(blank, Err(StoreError::Invalid(ref m)) if m.contains("reason")),
        "{blank:?}"
    );
    assert_eq!(store.impact_overrides(&cycle).await.expect("list").len(), 2);
}
