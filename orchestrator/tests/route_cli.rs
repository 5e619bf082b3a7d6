//! `warden route` and `warden intake --routing` through the real binary (issue #15): a rule
//! set checked as a server would; generated claims routed with counts that reconcile, every
//! decision written and recorded in the store's routing audit (queryable by claim), every row
//! that cannot be routed named by its line; a refused set routes nothing, and a store that
//! cannot take the audit leaves nothing written.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(root())
        .env_remove("WARDEN_DB")
        .output()
        .expect("warden runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn check_accepts_the_shipped_set_and_refuses_a_broken_copy_with_its_place() {
    let o = warden(&["route", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("20 rules, 24 test cases passed"),
        "{}",
        text(&o)
    );
    let dir = common::temp_dir("route-check");
    let shipped =
        std::fs::read_to_string(root().join("workflows/routing/claims.yaml")).expect("read");
    let broken = shipped.replace("when: stream == \"E\"", "when: stream == E");
    std::fs::write(dir.join("set.yaml"), broken).expect("write");
    std::fs::copy(
        root().join("workflows/routing/claims.tests.yaml"),
        dir.join("set.tests.yaml"),
    )
    .expect("copy");
    let set = dir.join("set.yaml");
    let o = warden(&["route", "check", s(&set)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let line = shipped
        .lines()
        .position(|l| l.contains("when: stream == \"E\""))
        .expect("the pharmacy line")
        + 1;
    assert!(
        text(&o).contains(&format!(
            "set.yaml:{line}:21: rule `pharmacy-line`: `E` is not a field"
        )),
        "{}",
        text(&o)
    );
    // A refused set routes nothing.
    let claims = dir.join("claims.csv");
    std::fs::write(&claims, "claim_id\n").expect("write");
    let out = dir.join("routed");
    let db = dir.join("w.db");
    let o = warden(&[
        "route",
        "claims",
        "--rules",
        s(&set),
        "--input",
        s(&claims),
        "--out",
        s(&out),
        "--db",
        s(&db),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!out.exists());
    assert!(!db.exists(), "no audit for a refused set");
}

/// What `read` finds in the store at `db` (opened as a reader would: it must exist).
fn read_store<T>(db: &Path, read: impl AsyncFnOnce(&warden_store::Store) -> T) -> T {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = warden_store::Store::open(s(db), warden_store::OpenMode::MustExist)
                .await
                .expect("store");
            read(&store).await
        })
}

/// Every decision recorded for a claim, as the store reads them back.
fn audit_of(db: &Path, claim: u64) -> Vec<warden_store::RoutingDecisionRow> {
    read_store(db, async |store| {
        store
            .routing_decisions_for_claim(claim)
            .await
            .expect("audit")
    })
}

fn audit_count(db: &Path) -> warden_store::RoutingDecisionCount {
    read_store(db, async |store| {
        store.count_routing_decisions(0).await.expect("count")
    })
}

#[test]
fn generated_claims_are_routed_with_counts_that_reconcile_and_bad_rows_named() {
    let dir = common::temp_dir("route-claims");
    let generated = dir.join("gen");
    let o = warden(&[
        "claims",
        "generate",
        "--claims",
        "6000",
        "--members",
        "2000",
        "--out",
        s(&generated),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // Two rows the router cannot read: a bad date and a cut row.
    let input = dir.join("claims.csv");
    let mut t = std::fs::read_to_string(generated.join("claims.csv")).expect("read");
    let first = t.lines().nth(1).expect("a row").to_string();
    let bad_date = first.replacen(",2025-", ",2025-13-", 1);
    t.push_str(&bad_date.replacen(&first[..first.find(',').unwrap_or(0)], "77", 1));
    t.push('\n');
    t.push_str("78,1,1\n");
    std::fs::write(&input, &t).expect("write");
    // A store that cannot take the audit: nothing is written.
    let out = dir.join("routed");
    let route = |db: &Path| {
        warden(&[
            "route",
            "claims",
            "--input",
            s(&input),
            "--out",
            s(&out),
            "--db",
            s(db),
        ])
    };
    let o = route(&dir.join("no-such-dir/w.db"));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("nothing was written"), "{}", text(&o));
    assert!(!out.exists());
    let db = dir.join("w.db");
    let o = route(&db);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let routes = rows(&out.join("routes.csv"));
    let routed = rows(&out.join("claims.csv"));
    let errors = rows(&out.join("route-errors.csv"));
    let input_rows = t.lines().count() - 1;
    assert_eq!(
        routes.len() + errors.len(),
        input_rows,
        "every row routed or named"
    );
    assert_eq!(routed.len(), routes.len());
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0][0],
        (input_rows).to_string(),
        "the bad date's line: {errors:?}"
    );
    assert_eq!(errors[1][0], (input_rows + 1).to_string());
    // The claims carry the stream their decision gave; every decision names the set.
    let sha = warden_workers::routing::hex_sha256(
        &std::fs::read(root().join("workflows/routing/claims.yaml")).expect("read"),
    );
    let by_id: BTreeMap<&str, &Vec<String>> = routes.iter().map(|r| (r[0].as_str(), r)).collect();
    for c in &routed {
        let r = by_id[c[0].as_str()];
        assert_eq!(c[5], r[2], "claim {}'s stream is its route's", c[0]);
        assert_eq!(r[4], sha);
    }
    let volumes: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("volumes.json")).expect("read"))
            .expect("json");
    assert_eq!(volumes["reconciled"], true);
    assert_eq!(volumes["routed"], routes.len());
    assert_eq!(volumes["unreadable"], 2);
    let by_stream: u64 = volumes["by_stream"]
        .as_object()
        .expect("streams")
        .values()
        .map(|v| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(by_stream, routes.len() as u64);
    // More than one platform and stream is used (the rules do something).
    assert!(
        volumes["by_platform"].as_object().expect("platforms").len() >= 4,
        "{volumes}"
    );
    // The audit holds every decision (no rule failed here: the two bad rows never reached
    // a rule), each as routes.csv has it.
    let count = audit_count(&db);
    assert_eq!(count.decisions as usize, routes.len());
    assert_eq!(count.routed as usize, routes.len());
    for r in routes.iter().step_by(500) {
        let audit = audit_of(&db, r[0].parse().expect("id"));
        assert_eq!(audit.len(), 1, "claim {}: {audit:?}", r[0]);
        let a = &audit[0];
        assert_eq!(
            (
                a.rule.as_str(),
                a.stream.as_deref(),
                a.platform.as_deref(),
                a.rule_set_sha256.as_str()
            ),
            (
                r[1].as_str(),
                Some(r[2].as_str()),
                Some(r[3].as_str()),
                r[4].as_str()
            )
        );
        assert_eq!(a.channel, "batch");
        assert!(a.actor.starts_with("route claims "), "{}", a.actor);
    }
    // Queryable by claim from the command line.
    let o = warden(&["route", "audit", &routes[0][0], "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(&routes[0][1]), "{}", text(&o));
    assert!(text(&o).contains(&sha[..12]), "{}", text(&o));
    let o = warden(&["route", "audit", "77", "--db", s(&db)]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an unread row has no decision: {}",
        text(&o)
    );
    assert!(
        text(&o).contains("no routing decision is recorded for claim 77"),
        "{}",
        text(&o)
    );
}

#[test]
fn intake_with_routing_hands_on_routed_claims_and_its_volumes() {
    let dir = common::temp_dir("route-intake");
    let partner = dir.join("partner");
    let o = warden(&[
        "claims",
        "generate",
        "--claims",
        "3000",
        "--members",
        "1000",
        "--exception-rate",
        "0",
        "--out",
        s(&partner),
        "--partner",
        "acme-pbm",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.join("intake");
    let o = warden(&[
        "intake",
        "acme-pbm",
        s(&partner.join("acme-pbm.csv")),
        "--out",
        s(&out),
        "--routing",
        "workflows/routing/claims.yaml",
        "--db",
        s(&dir.join("w.db")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("read"))
            .expect("json");
    let accepted = summary["records"]["accepted"].as_u64().expect("accepted");
    assert_eq!(summary["routing"]["routed"], accepted);
    // The PBM's claims are pharmacy whatever line they name: the carve-out takes them all.
    assert_eq!(
        summary["routing"]["by_rule"]["acme-pbm-carve-out"], accepted,
        "{summary}"
    );
    assert_eq!(summary["routing"]["by_stream"]["E"], accepted);
    let claims = rows(&out.join("claims.csv"));
    assert_eq!(claims.len() as u64, accepted);
    assert!(claims.iter().all(|c| c[5] == "E"));
    // Each routed claim's decision is on record, naming the partner's file.
    let count = audit_count(&dir.join("w.db"));
    assert_eq!(count.decisions as u64, accepted);
    let audit = audit_of(&dir.join("w.db"), claims[0][0].parse().expect("id"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].rule, "acme-pbm-carve-out");
    assert!(
        audit[0].actor.starts_with("intake ACME-PBM "),
        "{}",
        audit[0].actor
    );
}
