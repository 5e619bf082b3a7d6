//! Online routing (issue #15): `warden serve --routing` answers `POST /api/route` with the same
//! route as the batch router for every claim of a generated population, while the rule set
//! is swapped on disk five times between requests (no request fails or is misrouted, each
//! answer names the set serving); a broken set is refused and the old one keeps serving; only a named
//! architect may force a reload. Every answer is in the store's routing audit beside the
//! batch's decision for the same claim, and `GET /api/routing/decisions` reads it by claim.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use warden_workers::model::money::parse_money;

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn warden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(root())
        .env_remove("WARDEN_DB")
        .output()
        .expect("warden runs")
}

/// Makes an empty store (`warden serve` reads one; only `warden run` creates one).
async fn make_store(db: &Path) {
    warden_store::Store::open(db.to_str().expect("utf-8"), warden_store::OpenMode::Create)
        .await
        .expect("store made");
}

/// Starts `warden serve` and returns it with its URL (the first line it prints).
fn serve(db: &Path, rules: &Path) -> (Child, String) {
    serve_with(db, rules, &[])
}

/// `serve`, with more arguments.
fn serve_with(db: &Path, rules: &Path, more: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--routing")
        .arg(rules)
        .args(more)
        .current_dir(root())
        .env_remove("WARDEN_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut line).expect("a line");
    // The pipe closes here; the server serves on (a_server_whose_stdout_is_closed_keeps_serving).
    drop(stdout);
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, url)
}

/// What `GET /api/routing` says.
async fn routing_status(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(format!("{url}/api/routing"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json")
}

/// A `claims.csv` row as the JSON body of `POST /api/route`.
fn body(header: &[&str], row: &str) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, v) in header.iter().zip(row.split(',')) {
        let value = match *name {
            "claim_id" | "member" | "family" | "pcp_group" | "provider" => {
                serde_json::json!(v.parse::<i64>().expect("int"))
            }
            "billed" => {
                m.insert(
                    "billed_cents".into(),
                    serde_json::json!(parse_money(v).expect("money")),
                );
                continue;
            }
            "prior_auth" => serde_json::json!(!v.is_empty()),
            "cob_other_payer" if v.is_empty() => continue,
            "cob_primary_paid" | "cob_partner" => continue,
            _ => serde_json::json!(v),
        };
        m.insert((*name).to_string(), value);
    }
    serde_json::Value::Object(m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_routes_as_the_batch_does_while_the_set_is_swapped_under_load() {
    let dir = common::temp_dir("route-api-equal");
    let rules = dir.join("claims.yaml");
    let shipped =
        std::fs::read_to_string(root().join("workflows/routing/claims.yaml")).expect("read");
    std::fs::write(&rules, &shipped).expect("write");
    std::fs::copy(
        root().join("workflows/routing/claims.tests.yaml"),
        dir.join("claims.tests.yaml"),
    )
    .expect("copy");
    let generated = dir.join("gen");
    let o = warden(&[
        "claims",
        "generate",
        "--claims",
        "1500",
        "--members",
        "600",
        "--out",
        generated.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success());
    let batch = dir.join("batch");
    let o = warden(&[
        "route",
        "claims",
        "--rules",
        rules.to_str().expect("utf-8"),
        "--input",
        generated.join("claims.csv").to_str().expect("utf-8"),
        "--out",
        batch.to_str().expect("utf-8"),
        "--db",
        dir.join("w.db").to_str().expect("utf-8"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let routes = std::fs::read_to_string(batch.join("routes.csv")).expect("routes");
    let expected: BTreeMap<i64, (String, String, String)> = routes
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().expect("id"),
                (f[1].into(), f[2].into(), f[3].into()),
            )
        })
        .collect();

    let (mut server, url) = serve(&dir.join("w.db"), &rules);
    let client = reqwest::Client::new();
    let first_sha = warden_workers::routing::hex_sha256(shipped.as_bytes());
    // The second set: the same rules under another first comment (other bytes and SHA-256,
    // the same routes).
    let second = shipped.replace("# Claims routing:", "# Claims routing (v2):");
    let second_sha = warden_workers::routing::hex_sha256(second.as_bytes());
    let claims = std::fs::read_to_string(generated.join("claims.csv")).expect("claims");
    let mut lines = claims.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let mut shas = BTreeMap::<String, u64>::new();
    let mut answered = 0;
    for (i, row) in lines.enumerate() {
        if i % 300 == 150 {
            // Swap the file (the server polls it each second) and go on once it serves.
            let (text, sha) = if (i / 300) % 2 == 0 {
                (&second, &second_sha)
            } else {
                (&shipped, &first_sha)
            };
            std::fs::write(&rules, text).expect("swap");
            let mut serving = String::new();
            for _ in 0..100 {
                let s = routing_status(&client, &url).await;
                serving = s["sha256"].as_str().unwrap_or("").to_string();
                if serving == *sha {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(&serving, sha, "the changed set was swapped in");
        }
        let r = client
            .post(format!("{url}/api/route"))
            .json(&body(&header, row))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 200, "row {row}");
        let v: serde_json::Value = r.json().await.expect("json");
        let id = v["claim_id"].as_i64().expect("id");
        let got = (
            v["rule"].as_str().expect("rule").to_string(),
            v["stream"].as_str().expect("stream").to_string(),
            v["platform"].as_str().expect("platform").to_string(),
        );
        assert_eq!(
            got, expected[&id],
            "claim {id}: the API and the batch disagree"
        );
        *shas
            .entry(v["rule_set_sha256"].as_str().expect("sha").to_string())
            .or_default() += 1;
        answered += 1;
    }
    assert_eq!(answered, expected.len());
    assert!(
        shas.keys().all(|s| *s == first_sha || *s == second_sha),
        "{shas:?}"
    );
    assert_eq!(shas.len(), 2, "both sets served: {shas:?}");

    // The audit: the batch's decision and the API's for every claim, the API's with the set
    // that answered it; read by claim.
    let store = warden_store::Store::open(
        dir.join("w.db").to_str().expect("utf-8"),
        warden_store::OpenMode::MustExist,
    )
    .await
    .expect("store");
    let count = store.count_routing_decisions(0).await.expect("count");
    assert_eq!(count.decisions as usize, 2 * expected.len());
    assert_eq!(count.routed, count.decisions);
    for (id, route) in expected.iter().step_by(100) {
        let r = client
            .get(format!("{url}/api/routing/decisions?claim_id={id}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.expect("json");
        let d = v["decisions"].as_array().expect("decisions");
        assert_eq!(d.len(), 2, "claim {id}: {v}");
        assert_eq!(d[0]["channel"], "batch");
        assert_eq!(d[1]["channel"], "online");
        assert_eq!(d[1]["actor"], "local", "the local operator");
        for one in d {
            assert_eq!(
                (
                    one["rule"].as_str(),
                    one["stream"].as_str(),
                    one["platform"].as_str()
                ),
                (Some(&*route.0), Some(&*route.1), Some(&*route.2)),
                "claim {id}"
            );
            let sha = one["rule_set_sha256"].as_str().unwrap_or("");
            assert!(sha == first_sha || sha == second_sha, "{one}");
        }
    }
    let r = client
        .get(format!("{url}/api/routing/decisions?claim_id=x1"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);

    // A broken set is refused; the old one keeps serving, and the reason is shown.
    std::fs::write(
        &rules,
        shipped.replace("when: stream == \"C\"", "when: stream == C"),
    )
    .expect("write");
    let mut refused = serde_json::Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let s = routing_status(&client, &url).await;
        if !s["last_refusal"].is_null() {
            refused = s;
            break;
        }
    }
    assert!(
        refused["last_refusal"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("`C` is not a field"),
        "{refused}"
    );
    assert!(
        refused["sha256"] == first_sha || refused["sha256"] == second_sha,
        "{refused}"
    );
    let first_row = claims.lines().nth(1).expect("a claim");
    let r = client
        .post(format!("{url}/api/route"))
        .json(&body(&header, first_row))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    // Bad requests are named; a reload needs a named architect.
    let r = client
        .post(format!("{url}/api/route"))
        .json(&serde_json::json!({"claim_id": 1, "billed": 3}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("did you mean `billed_cents`")
    );
    let r = client
        .post(format!("{url}/api/routing/reload"))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 403);
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn a_server_does_not_start_with_a_refused_set() {
    let dir = common::temp_dir("route-api-refused");
    make_store(&dir.join("w.db")).await;
    let rules = dir.join("r.yaml");
    std::fs::write(
        &rules,
        "platforms: [core]\nrules: []\ndefault: {stream: A, platform: core}\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("r.tests.yaml"),
        "- name: x\n  claim: {}\n  expect: {rule: default}\n",
    )
    .expect("write");
    let o = warden(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        dir.join("w.db").to_str().expect("utf-8"),
        "--routing",
        rules.to_str().expect("utf-8"),
    ]);
    assert_ne!(o.status.code(), Some(0));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("r.yaml:2:8: a rule set has at least one rule"),
        "{e}"
    );
}

/// A server whose stdout is closed before it prints its banner serves on (it used to end on
/// the failed write): started with the read end of its stdout pipe already dropped.
#[tokio::test]
async fn a_server_whose_stdout_is_closed_keeps_serving() {
    let dir = common::temp_dir("route-api-stdout");
    make_store(&dir.join("w.db")).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut server = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.join("w.db"))
        .arg("--routing")
        .arg(root().join("workflows/routing/claims.yaml"))
        .current_dir(root())
        .env_remove("WARDEN_DB")
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let mut answered = None;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Ok(r) = client
            .post(format!("{url}/api/route"))
            .json(&serde_json::json!({"claim_id": 5, "stream": "C"}))
            .send()
            .await
        {
            answered = Some(r.status());
            break;
        }
        assert!(
            server.try_wait().expect("wait").is_none(),
            "the server ended"
        );
    }
    assert_eq!(answered, Some(reqwest::StatusCode::OK));
    // Still serving a moment later, and it said why it printed nothing.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        server.try_wait().expect("wait").is_none(),
        "the server ended"
    );
    let _ = server.kill();
    let output = server.wait_with_output().expect("output");
    let e = String::from_utf8_lossy(&output.stderr);
    assert!(
        e.contains("cannot print the banner on stdout; serving on"),
        "{e}"
    );
}

/// `--routing-audit journal`: every answer is on record when given, in the journal, and
/// reaches the store exactly once, through a SIGKILL of the server and a line cut short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_audit_loses_nothing_and_loads_nothing_twice_across_a_kill() {
    let dir = common::temp_dir("route-api-journal");
    let db = dir.join("w.db");
    make_store(&db).await;
    let journal = dir.join("audit.journal");
    let rules = root().join("workflows/routing/claims.yaml");
    let args: Vec<&std::ffi::OsStr> = vec![
        "--routing-audit".as_ref(),
        "journal".as_ref(),
        "--routing-journal".as_ref(),
        journal.as_os_str(),
    ];
    let (mut server, url) = serve_with(&db, &rules, &args);
    let client = reqwest::Client::new();
    let claims: Vec<u64> = (1..=300).map(|i| 7_000_000 + i).collect();
    for id in &claims {
        let r = client
            .post(format!("{url}/api/route"))
            .json(&serde_json::json!({"claim_id": id, "stream": "C"}))
            .send()
            .await
            .expect("answered");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    // Killed at once: the journal has every answer, the store what the loader had moved.
    server.kill().expect("killed");
    let _ = server.wait();
    let lines = std::fs::read_to_string(&journal).expect("the journal");
    assert_eq!(
        lines.lines().count(),
        1 + claims.len(),
        "a header and a line per answer"
    );
    // And a crash in the middle of an append: a line cut short, never answered.
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .expect("open");
    f.write_all(b"[\"9999\",\"2026-").expect("write");
    drop(f);

    // Started again on the same journal: it loads the rest, cuts the torn line, serves on.
    let (mut server, url) = serve_with(&db, &rules, &args);
    let r = client
        .post(format!("{url}/api/route"))
        .json(&serde_json::json!({"claim_id": 7_999_999u64, "stream": "E"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let status = routing_status(&client, &url).await;
    assert_eq!(status["audit"]["mode"], "journal", "{status}");
    // A graceful stop loads everything before the end.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    assert!(server.wait().expect("stopped").success());

    let store = warden_store::Store::open(
        db.to_str().expect("utf-8"),
        warden_store::OpenMode::MustExist,
    )
    .await
    .expect("store");
    let counted = store.count_routing_decisions(0).await.expect("count");
    assert_eq!(
        counted.decisions,
        claims.len() as i64 + 1,
        "each answer once"
    );
    for id in [claims[0], claims[149], claims[299], 7_999_999] {
        let rows = store.routing_decisions_for_claim(id).await.expect("rows");
        assert_eq!(rows.len(), 1, "claim {id}: {rows:?}");
        assert_eq!(rows[0].channel, "online");
    }
    assert!(
        store
            .routing_decisions_for_claim(9999)
            .await
            .expect("rows")
            .is_empty(),
        "the torn line was never a decision"
    );
}

/// `warden bench route` end to end at a small scale (the figure itself is measured in
/// release, docs/benchmarks.md): the batch, then a real server under an open-loop load with
/// reloads by an architect; every answer checked against the batch, both sets answered, and
/// the audit equal to the answers.
#[test]
fn bench_route_checks_every_answer_under_reloads_and_reconciles_the_audit() {
    let dir = common::temp_dir("bench-route");
    let o = warden(&[
        "bench",
        "route",
        "--claims",
        "3000",
        "--members",
        "1000",
        "--repeat",
        "1",
        "--rate",
        "100",
        "--seconds",
        "3",
        "--reloads",
        "4",
        "--dir",
        dir.join("b").to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("batch audit: 3000 decisions recorded"),
        "{text}"
    );
    // Every audit mode, one after the other, each with every answer checked.
    for mode in ["before-answer", "journal", "after-answer"] {
        assert!(
            text.contains(&format!("online, audit {mode} in ")),
            "{text}"
        );
    }
    assert_eq!(text.matches("300 requests at 100/s").count(), 3, "{text}");
    assert_eq!(
        text.matches("300 routed, 0 failed, 0 misrouted").count(),
        3,
        "{text}"
    );
    assert_eq!(
        text.matches("reloads under load: 4 of 4 swapped").count(),
        3,
        "{text}"
    );
    assert_eq!(
        text.matches("audit: 300 online decisions recorded for 300 answers, counted after the server stopped (reconciled)").count(),
        3,
        "{text}"
    );
    // Both versions of the set answered some of the requests, in each mode.
    for by_set in text.split("answers by set: ").skip(1) {
        let counts: Vec<u64> = by_set
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .take(2)
            .collect();
        assert_eq!(counts.iter().sum::<u64>(), 300, "{text}");
        assert!(counts.iter().all(|n| *n > 0), "{text}");
    }
}
