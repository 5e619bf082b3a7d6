//! `warden demo` end to end, fast: the month-end cycle with the February crisis injected runs
//! to completion on an accelerated clock; the injected overruns really happen, other jobs take
//! their estimates; the Day 1 margin shrinks as they happen and the escalation ladder
//! notifies (alerts raised and delivered to the log); a breach is recorded only once the
//! deadline has passed; the honesty block names what is simulated; a finished demo is not
//! silently rerun.

mod common;

use std::path::Path;
use std::process::Command;

use warden_store::Store;

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .current_dir(root())
        .args([
            "demo",
            "--speed",
            "6000",
            "--listen",
            "127.0.0.1:0",
            "--exit-when-done",
        ])
        .arg("--db")
        .arg(dir.join("demo.db"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("warden demo")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_the_february_crisis_and_escalates() {
    let dir = common::temp_dir("demo");
    let out = demo(&dir, &["--fresh"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for said in [
        "simulated: every job's work",
        "injected overrun: ADJUD-PHASE1.A takes 228 min",
        "ADJUD-PHASE1.A is held at 228 min: the scenario's 250 min would pass its 240 min timeout",
        "injected wait: CLAIM-EXTRACT.B, CLAIM-EXTRACT.C wait behind ADJUD-PHASE1.A",
        "stream A claims +12000000 that the plan does not know of",
        "UI: http://127.0.0.1:",
        "month-end for 2025-02 complete",
    ] {
        assert!(
            stdout.contains(said),
            "the demo did not say `{said}`:\n{stdout}"
        );
    }

    let store = Store::connect(&dir.join("demo.db").display().to_string())
        .await
        .expect("store");
    let run = store
        .find_run("month-end", "2025-02")
        .await
        .expect("find")
        .expect("the demo's run");
    assert_eq!(run.status, "complete");
    let failed_attempts = store
        .load_attempts(run.id)
        .await
        .expect("attempts")
        .iter()
        .filter(|a| a.outcome.as_deref() != Some("succeeded"))
        .count();
    assert_eq!(failed_attempts, 0, "no attempt timed out or failed");
    assert_eq!(run.mode, "serial", "the scenario's old serial model");

    // The overruns happened on the run's clock; an untouched job took its estimate.
    let attempts = store.load_attempts(run.id).await.expect("attempts");
    let took = |job_id: &str| {
        let job = job_index(job_id).expect("a job of the plan");
        let a = attempts
            .iter()
            .rev()
            .find(|a| a.job_idx == job && a.finished_at.is_some())
            .expect("a finished attempt");
        (a.finished_at.expect("finished") - a.started_at).num_minutes()
    };
    let adjud = took("ADJUD-PHASE1.A");
    assert!(
        (225..=240).contains(&adjud),
        "ADJUD-PHASE1.A took {adjud} min, not 228"
    );
    let rx = took("RX-ADJUD.E");
    assert!(
        (385..=402).contains(&rx),
        "RX-ADJUD.E took {rx} min, not 390"
    );
    let extract_b = took("CLAIM-EXTRACT.B");
    assert!(
        extract_b < 200,
        "CLAIM-EXTRACT.B took {extract_b} min: not overrun"
    );

    // The Day 1 margin shrank over the night; the ladder notified and was delivered.
    let projections = store.load_projections(run.id).await.expect("projections");
    let day1: Vec<_> = projections
        .iter()
        .filter(|p| p.deadline_id == "day1-window")
        .collect();
    assert!(day1.len() >= 5, "{} projections", day1.len());
    let first = day1[0].margin_seconds;
    let last = day1[day1.len() - 1].margin_seconds;
    assert!(
        first - last >= 3600,
        "the Day 1 margin went from {first} s to {last} s: it should shrink by hours"
    );
    let decisions = store.load_deadline_events(run.id).await.expect("ladder");
    assert!(
        decisions
            .iter()
            .any(|d| d.kind == "notify" && d.deadline_id == "day1-window"),
        "no escalation notice for day1-window"
    );
    let deadline_at = day1[0].deadline_at;
    for b in decisions.iter().filter(|d| d.kind == "breached") {
        assert!(
            b.at >= deadline_at,
            "{} recorded breached at {} before its deadline {deadline_at}",
            b.deadline_id,
            b.at
        );
    }
    let alerts = store.run_alerts(run.id).await.expect("alerts");
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|a| a.deliveries.iter().all(|d| d.status == "delivered")),
        "every alert delivered to the log"
    );
    let log = std::fs::read_to_string(dir.join("data/alerts.log")).expect("alerts.log");
    assert!(log.contains("day1-window"), "{log}");

    // A finished demo is not resumed silently.
    let again = demo(&dir, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--fresh"));
}

/// The job's index in the shipped month-end plan (as the demo plans it).
fn job_index(id: &str) -> Option<i64> {
    use std::sync::OnceLock;
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    let ids = IDS.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_warden"))
            .current_dir(root())
            .args([
                "plan",
                "workflows/month-end.yaml",
                "--date",
                "2025-02",
                "--mode",
                "serial",
                "--format",
                "json",
            ])
            .output()
            .expect("warden plan");
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan json");
        plan["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .map(|j| j["id"].as_str().unwrap_or_default().to_string())
            .collect()
    });
    ids.iter().position(|j| j == id).map(|i| i as i64)
}
