//! The routing audit, on both backends: decisions read back by claim as written (routed and
//! not routed, online and batch), a batch of more than one statement is one transaction,
//! counts after a mark.

use chrono::TimeDelta;
use warden_store::{RoutingDecisionCount, RoutingDecisionRow, Store};

use super::t;

fn decision(claim_id: u64, channel: &str, rule: &str, stream: Option<&str>) -> RoutingDecisionRow {
    RoutingDecisionRow {
        id: 0,
        claim_id,
        // Microseconds survive the round trip.
        decided_at: t((claim_id % 50) as i64) + TimeDelta::microseconds(123_456),
        channel: channel.into(),
        actor: if channel == "online" {
            "ana".into()
        } else {
            "claims.csv".into()
        },
        rule_set_sha256: "ab".repeat(32),
        rule: rule.into(),
        stream: stream.map(str::to_string),
        platform: stream.map(|s| format!("platform-{s}")),
        error: match stream {
            Some(_) => None,
            None => Some(format!(
                "rule `{rule}` could not be evaluated: division by zero"
            )),
        },
    }
}

pub async fn routing_decisions_read_back_by_claim(store: Store) {
    let mark = store
        .count_routing_decisions(0)
        .await
        .expect("count")
        .last_id;
    // 12,001 decisions: three statements of one transaction.
    let batch: Vec<RoutingDecisionRow> = (1..=12_001)
        .map(|c| {
            if c % 1000 == 0 {
                decision(c, "batch", "ratio", None)
            } else {
                decision(c, "batch", "medicare-advantage", Some("C"))
            }
        })
        .collect();
    assert_eq!(
        store
            .record_routing_decisions(batch.clone())
            .await
            .expect("batch"),
        12_001
    );
    assert_eq!(
        store
            .record_routing_decisions(Vec::new())
            .await
            .expect("none"),
        0
    );
    let online = decision(7, "online", "default", Some("A"));
    store
        .record_routing_decisions([online.clone()])
        .await
        .expect("online");

    let seven = store
        .routing_decisions_for_claim(7)
        .await
        .expect("by claim");
    assert_eq!(seven.len(), 2, "{seven:?}");
    assert!(seven[0].id < seven[1].id, "oldest first");
    let mut expected = [batch[6].clone(), online];
    expected[0].id = seven[0].id;
    expected[1].id = seven[1].id;
    assert_eq!(seven, expected);

    // Claim ids run past a signed 64-bit integer.
    let big = decision(u64::MAX, "online", "default", Some("B"));
    store
        .record_routing_decisions([big.clone()])
        .await
        .expect("big id");
    let found = store
        .routing_decisions_for_claim(u64::MAX)
        .await
        .expect("by claim");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].claim_id, u64::MAX);

    let failed = store
        .routing_decisions_for_claim(2000)
        .await
        .expect("by claim");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].stream, None);
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("division by zero")
    );
    assert!(
        store
            .routing_decisions_for_claim(99_999)
            .await
            .expect("none")
            .is_empty()
    );

    let count = store.count_routing_decisions(mark).await.expect("count");
    assert_eq!(
        count,
        RoutingDecisionCount {
            decisions: 12_003,
            routed: 12_003 - 12,
            last_id: count.last_id
        }
    );
    let after = store
        .count_routing_decisions(count.last_id)
        .await
        .expect("count");
    assert_eq!(after.decisions, 0);
    assert_eq!(after.last_id, count.last_id, "the mark stays where it was");
}

/// The journal's loads: rows and position in one transaction, and only from the position the
/// store has; a second loader of the same bytes (or a loader that died after committing and
/// came back) writes nothing.
pub async fn journal_loads_are_exactly_once(store: Store) {
    let journal = "20261205T100000-0123456789abcdef";
    assert_eq!(
        store.routing_journal_position(journal).await.expect("pos"),
        0
    );
    let before = store
        .count_routing_decisions(0)
        .await
        .expect("count")
        .decisions;
    let rows: Vec<RoutingDecisionRow> = (1..=7_001)
        .map(|c| decision(900_000 + c, "online", "pharmacy-line", Some("E")))
        .collect();
    assert!(
        store
            .load_routing_journal(journal, 0, 4_096, &rows)
            .await
            .expect("loaded")
    );
    assert_eq!(
        store.routing_journal_position(journal).await.expect("pos"),
        4_096
    );
    // The same bytes again: refused, nothing written.
    assert!(
        !store
            .load_routing_journal(journal, 0, 4_096, &rows)
            .await
            .expect("answered")
    );
    let after = store
        .count_routing_decisions(0)
        .await
        .expect("count")
        .decisions;
    assert_eq!(after - before, 7_001);
    // The next bytes, from where the store has them; another journal starts at 0.
    assert!(
        store
            .load_routing_journal(journal, 4_096, 4_200, &rows[..1])
            .await
            .expect("loaded")
    );
    assert_eq!(
        store.routing_journal_position(journal).await.expect("pos"),
        4_200
    );
    assert_eq!(
        store
            .routing_journal_position("another")
            .await
            .expect("pos"),
        0
    );
    assert_eq!(
        store
            .routing_decisions_for_claim(900_001)
            .await
            .expect("rows")
            .len(),
        2
    );
}
