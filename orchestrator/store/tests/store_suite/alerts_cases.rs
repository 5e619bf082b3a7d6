//! The alerts outbox, on both backends: idempotent raises, fan-out, due deliveries,
//! retries, dead letters, listings and acknowledgements.

use chrono::TimeDelta;
use warden_store::{DeliveryTarget, NewAlert, Store};

use super::{new_run, t, unique};

async fn a_run(store: &Store) -> i64 {
    store
        .open_run(&new_run(&unique("alerts")), t(0))
        .await
        .expect("open")
        .id
}

fn alert(run_id: i64, key: &str, level: &str) -> NewAlert {
    NewAlert {
        run_id,
        deadline_id: "cms-filing".into(),
        level: level.into(),
        idempotency_key: key.into(),
        raised_at: t(10),
        view: serde_json::json!({ "deadline": { "id": "cms-filing" }, "margin_minutes": -90 }),
        template: Some("regulatory-notice".into()),
        roles: vec!["compliance".into(), "counsel".into()],
    }
}

fn target(role: &str, channel: &str) -> DeliveryTarget {
    DeliveryTarget {
        role: role.into(),
        channel: channel.into(),
        error: None,
    }
}

pub(super) async fn raising_the_same_key_twice_is_one_alert(store: Store) {
    let run = a_run(&store).await;
    let key = unique("key");
    let first = store
        .raise_alert(&alert(run, &key, "breach_projected"))
        .await
        .expect("raise");
    assert!(first.created);
    let mut again = alert(run, &key, "breach_projected");
    again.raised_at = t(20);
    again.view = serde_json::json!({ "changed": true });
    let second = store.raise_alert(&again).await.expect("raise again");
    assert_eq!(second.id, first.id);
    assert!(!second.created, "the second raise is a no-op");
    let other = store
        .raise_alert(&alert(run, &unique("key"), "warning"))
        .await
        .expect("raise");
    assert_ne!(other.id, first.id);

    let alerts = store.run_alerts(run).await.expect("list");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].id, first.id);
    assert_eq!(
        alerts[0].raised_at,
        t(10),
        "the first raise is what is kept"
    );
    assert_eq!(alerts[0].view["margin_minutes"], -90);
    assert_eq!(alerts[0].roles, ["compliance", "counsel"]);
    assert_eq!(alerts[0].template.as_deref(), Some("regulatory-notice"));
    assert_eq!(alerts[0].level, "breach_projected");
}

pub(super) async fn deliveries_are_fanned_out_once_and_come_due(store: Store) {
    let run = a_run(&store).await;
    let raised = store
        .raise_alert(&alert(run, &unique("key"), "escalated"))
        .await
        .expect("raise");
    let pending = store
        .alerts_to_fan_out(Some(run))
        .await
        .expect("fan-out list");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].alert_id, raised.id);
    assert_eq!(pending[0].roles, ["compliance", "counsel"]);
    let targets = [
        target("compliance", "email"),
        target("compliance", "log"),
        DeliveryTarget {
            role: "counsel".into(),
            channel: "none".into(),
            error: Some("no channel is configured for role `counsel`".into()),
        },
    ];
    store
        .fan_out(raised.id, &targets, t(11))
        .await
        .expect("fan out");
    // A second fan-out (a dispatcher that crashed before noticing) adds nothing.
    store
        .fan_out(raised.id, &targets, t(12))
        .await
        .expect("again");
    assert!(
        store
            .alerts_to_fan_out(Some(run))
            .await
            .expect("list")
            .is_empty()
    );
    // Another run's alerts are not this run's.
    let elsewhere = a_run(&store).await;
    assert!(
        store
            .alerts_to_fan_out(Some(elsewhere))
            .await
            .expect("list")
            .is_empty()
    );

    assert!(
        store
            .due_deliveries(Some(run), t(10), 100)
            .await
            .expect("due")
            .is_empty(),
        "nothing is due before it was created"
    );
    let due = store
        .due_deliveries(Some(run), t(11), 100)
        .await
        .expect("due");
    assert_eq!(
        due.iter()
            .map(|d| (d.role.as_str(), d.channel.as_str()))
            .collect::<Vec<_>>(),
        [("compliance", "email"), ("compliance", "log")],
        "the dead delivery is not due"
    );
    assert_eq!(due[0].attempts, 0);
    assert_eq!(due[0].alert_id, raised.id);
    assert_eq!(due[0].run_id, run);
    assert_eq!(due[0].view["margin_minutes"], -90);
    assert_eq!(
        due[0].key(),
        format!("{}/compliance/email", due[0].alert_key)
    );
    assert_eq!(
        store
            .due_deliveries(Some(run), t(11), 1)
            .await
            .expect("due")
            .len(),
        1
    );

    let listed = store.run_alerts(run).await.expect("list");
    let dead: Vec<_> = listed[0]
        .deliveries
        .iter()
        .filter(|d| d.status == "dead")
        .collect();
    assert_eq!(
        dead.len(),
        1,
        "an alert nobody can be told of is listed, not dropped"
    );
    assert_eq!(dead[0].role, "counsel");
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("counsel"))
    );
}

pub(super) async fn failures_retry_then_dead_letter_and_successes_close(store: Store) {
    let run = a_run(&store).await;
    let raised = store
        .raise_alert(&alert(run, &unique("key"), "warning"))
        .await
        .expect("raise");
    store
        .fan_out(
            raised.id,
            &[
                target("compliance", "webhook"),
                target("counsel", "webhook"),
            ],
            t(10),
        )
        .await
        .expect("fan out");
    let due = store
        .due_deliveries(Some(run), t(10), 10)
        .await
        .expect("due");
    let (a, b) = (due[0].id, due[1].id);

    let status = store
        .delivery_failed(a, "HTTP 503 Service Unavailable", Some(t(11)))
        .await
        .expect("fail");
    assert_eq!(status.as_deref(), Some("pending"));
    let due = store
        .due_deliveries(Some(run), t(10), 10)
        .await
        .expect("due");
    assert_eq!(
        due.iter().map(|d| d.id).collect::<Vec<_>>(),
        [b],
        "a waits for its retry"
    );
    let due = store
        .due_deliveries(Some(run), t(11), 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 2);
    assert_eq!(due.iter().find(|d| d.id == a).map(|d| d.attempts), Some(1));

    assert!(store.delivery_succeeded(a, t(11)).await.expect("ok"));
    assert!(
        !store.delivery_succeeded(a, t(12)).await.expect("again"),
        "a delivered delivery is not delivered twice"
    );
    assert_eq!(
        store
            .delivery_failed(a, "late failure", Some(t(13)))
            .await
            .expect("fail"),
        None,
        "nor failed after it was delivered"
    );

    let status = store
        .delivery_failed(b, "connection refused", None)
        .await
        .expect("dead");
    assert_eq!(status.as_deref(), Some("dead"));
    assert!(
        store
            .due_deliveries(Some(run), t(1000), 10)
            .await
            .expect("due")
            .is_empty(),
        "delivered and dead deliveries are never due again"
    );

    let listed = store.run_alerts(run).await.expect("list");
    let by_id = |id| {
        listed[0]
            .deliveries
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .expect("listed")
    };
    let delivered = by_id(a);
    assert_eq!(delivered.status, "delivered");
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.delivered_at, Some(t(11)));
    assert_eq!(
        delivered.last_error.as_deref(),
        Some("HTTP 503 Service Unavailable")
    );
    let dead = by_id(b);
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.attempts, 1);
    assert_eq!(dead.delivered_at, None);
    assert_eq!(dead.last_error.as_deref(), Some("connection refused"));
}

pub(super) async fn acknowledgements_are_kept_with_who_when_and_why(store: Store) {
    let run = a_run(&store).await;
    let first_key = unique("key");
    let first = store
        .raise_alert(&alert(run, &first_key, "warning"))
        .await
        .expect("raise");
    let second = store
        .raise_alert(&alert(run, &unique("key"), "escalated"))
        .await
        .expect("raise");
    let ack = store
        .acknowledge(
            first.id,
            "dokoye",
            Some("DB2 fix promoted; B and C restarted"),
            t(30),
        )
        .await
        .expect("ack")
        .expect("the alert exists");
    assert_eq!(ack.alert_id, first.id);
    assert_eq!(ack.deadline_id, "cms-filing");
    assert_eq!(ack.level, "warning");
    assert_eq!(ack.alert_key, first_key);
    store
        .acknowledge(second.id, "arashidi", None, t(31) + TimeDelta::seconds(5))
        .await
        .expect("ack")
        .expect("exists");
    assert_eq!(
        store
            .acknowledge(first.id + second.id + 1000, "x", None, t(32))
            .await
            .expect("ack"),
        None,
        "an unknown alert is no acknowledgement"
    );

    let acks = store.run_acks(run).await.expect("acks");
    assert_eq!(
        acks.iter()
            .map(|a| (a.alert_id, a.actor.as_str(), a.note.as_deref(), a.at))
            .collect::<Vec<_>>(),
        [
            (
                first.id,
                "dokoye",
                Some("DB2 fix promoted; B and C restarted"),
                t(30)
            ),
            (second.id, "arashidi", None, t(31) + TimeDelta::seconds(5)),
        ]
    );
    assert_eq!(acks[1].level, "escalated");
    assert_eq!(acks[0].alert_key, first_key);
    let elsewhere = a_run(&store).await;
    assert!(store.run_acks(elsewhere).await.expect("acks").is_empty());
    let listed = store.run_alerts(run).await.expect("list");
    assert_eq!(listed[0].acks.len(), 1);
    assert_eq!(listed[0].acks[0].actor, "dokoye");
    assert_eq!(listed[1].acks[0].actor, "arashidi");
}

pub(super) async fn acknowledging_again_stores_nothing_and_returns_the_first(store: Store) {
    let run = a_run(&store).await;
    let raised = store
        .raise_alert(&alert(run, &unique("key"), "breach_projected"))
        .await
        .expect("raise");
    let first = store
        .acknowledge(raised.id, "dokoye", Some("DB2 team on it"), t(30))
        .await
        .expect("ack")
        .expect("the alert exists");
    assert!(!first.already_acknowledged);
    assert_eq!(first.actor, "dokoye");
    let again = store
        .acknowledge(raised.id, "arashidi", Some("me too"), t(45))
        .await
        .expect("ack")
        .expect("the alert exists");
    assert!(again.already_acknowledged, "{again:?}");
    assert_eq!(again.ack, first.ack, "the first acknowledgement stands");
    assert_eq!(
        (again.actor.as_str(), again.note.as_deref(), again.at),
        ("dokoye", Some("DB2 team on it"), t(30))
    );
    // Racing acknowledgements (two people clicking at once): one is stored, every caller is
    // answered with it.
    let racing = store
        .raise_alert(&alert(run, &unique("key"), "escalated"))
        .await
        .expect("raise");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .acknowledge(racing.id, &format!("operator-{i}"), None, t(50 + i))
                .await
                .expect("ack")
                .expect("exists")
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    assert_eq!(
        outcomes.iter().filter(|o| !o.already_acknowledged).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().all(|o| o.ack == outcomes[0].ack));
    let acks = store.run_acks(run).await.expect("acks");
    assert_eq!(acks.len(), 2, "{acks:?}");
    let listed = store.run_alerts(run).await.expect("list");
    assert!(listed.iter().all(|a| a.acks.len() == 1));
}

pub(super) async fn acknowledging_all_of_a_run_is_one_idempotent_step(store: Store) {
    let run = a_run(&store).await;
    let mut ids = Vec::new();
    for level in ["warning", "escalated", "breach_projected"] {
        ids.push(
            store
                .raise_alert(&alert(run, &unique("key"), level))
                .await
                .expect("raise")
                .id,
        );
    }
    let elsewhere = a_run(&store).await;
    let other = store
        .raise_alert(&alert(elsewhere, &unique("key"), "warning"))
        .await
        .expect("raise")
        .id;
    store
        .acknowledge(ids[1], "dokoye", Some("first"), t(20))
        .await
        .expect("ack")
        .expect("exists");

    // Only the listed ones of this run: another run's alert is not touched.
    let some = store
        .acknowledge_all(run, Some(&[ids[0], ids[1], other]), "arashidi", None, t(30))
        .await
        .expect("ack some");
    assert_eq!(
        some.iter()
            .map(|o| (o.alert_id, o.actor.as_str(), o.already_acknowledged))
            .collect::<Vec<_>>(),
        [(ids[0], "arashidi", false), (ids[1], "dokoye", true)]
    );
    assert!(store.run_acks(elsewhere).await.expect("acks").is_empty());
    assert!(
        store
            .acknowledge_all(run, Some(&[]), "x", None, t(31))
            .await
            .expect("none listed")
            .is_empty()
    );

    // All of them: the one left is acknowledged, the others say who did it first.
    let all = store
        .acknowledge_all(run, None, "ahmad", Some("on it"), t(40))
        .await
        .expect("ack all");
    assert_eq!(
        all.iter()
            .map(|o| (o.alert_id, o.actor.as_str(), o.at, o.already_acknowledged))
            .collect::<Vec<_>>(),
        [
            (ids[0], "arashidi", t(30), true),
            (ids[1], "dokoye", t(20), true),
            (ids[2], "ahmad", t(40), false),
        ]
    );
    assert_eq!(all[2].note.as_deref(), Some("on it"));
    assert_eq!(all[2].level, "breach_projected");
    // Again: nothing new.
    let again = store
        .acknowledge_all(run, None, "ahmad", None, t(50))
        .await
        .expect("again");
    assert!(again.iter().all(|o| o.already_acknowledged));
    assert_eq!(store.run_acks(run).await.expect("acks").len(), 3);
}
