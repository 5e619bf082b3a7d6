//! `warden whatif`: the February 2025 scenario of case study 002, before/after edits, and
//! what a bad question gets told.

use serde_json::Value;
use warden_tests::{warden, workflow};

fn json(args: &[&str]) -> Value {
    let (code, out, err) = warden(args);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).expect("json")
}

fn deadline<'a>(look: &'a Value, id: &str) -> &'a Value {
    look["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {look}"))
}

fn margin(look: &Value, id: &str) -> f64 {
    deadline(look, id)["margin_minutes"]
        .as_f64()
        .expect("margin")
}

#[test]
fn the_february_crisis_projects_a_late_day_1_and_each_move_wins_time_back() {
    let me = workflow("month-end.yaml");
    let scenario = workflow("scenarios/february-2025.yaml");
    let doc = json(&[
        "whatif",
        &me,
        "--scenario",
        &scenario,
        "--samples",
        "100",
        "--format",
        "json",
    ]);
    let looks = doc["looks"].as_array().expect("looks");
    assert_eq!(looks.len(), 4);
    // 01:45 Mar 1 (EST): serial mode, Stream A at 65 %, B and C stuck behind the contention.
    assert_eq!(looks[0]["at"], "2025-03-01T06:45:00Z");
    assert_eq!(looks[0]["mode"], "serial");
    // Day 1 projected to end at 10:11 EST (case study: "Projected Day 1 completion: 9:30
    // AM"), so the Day 1 window is missed and the CMS filing still has 19h38m of margin.
    assert_eq!(looks[0]["nights"][0]["finish"], "2025-03-01T15:11:49Z");
    assert!(margin(&looks[0], "day1-window") < -240.0);
    assert_eq!(margin(&looks[0], "cms-filing").round(), 1178.0);
    assert_eq!(deadline(&looks[0], "day1-window")["p_miss"], 1.0);
    // The critical chain runs through Stream A and waits on the fee tables for Stream C.
    let chain: Vec<&str> = deadline(&looks[0], "day1-window")["chain"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|j| j.as_str().expect("id"))
        .collect();
    assert_eq!(
        chain[..3],
        ["CLAIM-EXTRACT.A", "CLAIM-SORT.A", "ADJUD-PHASE1.A"]
    );
    assert!(chain.contains(&"REPRICE-01.C"), "{chain:?}");
    // Every move gains on the filing deadline; the per-stream overlap gains the most
    // (the case study credits it with about two hours; Warden finds more, see
    // docs/deadlines.md).
    let cms: Vec<f64> = looks.iter().map(|l| margin(l, "cms-filing")).collect();
    assert!(cms.windows(2).all(|w| w[1] >= w[0]), "{cms:?}");
    assert!(cms[2] - cms[1] >= 30.0, "starting B and C at once: {cms:?}");
    assert!(cms[3] - cms[2] >= 120.0, "pipelining: {cms:?}");
    assert_eq!(looks[3]["mode"], "pipelined");
    assert!(looks[1]["waits"].as_array().is_some_and(|w| w.len() == 1));
    assert!(looks[2]["waits"].as_array().is_some_and(|w| w.is_empty()));
}

#[test]
fn the_scenario_reads_as_a_table_too() {
    let me = workflow("month-end.yaml");
    let scenario = workflow("scenarios/february-2025.yaml");
    let (code, out, err) = warden(&["whatif", &me, "--scenario", &scenario, "--samples", "50"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("== 01:45: Diane gets the call — as at Sat 03-01 01:45 EST (serial mode)"),
        "{out}"
    );
    assert!(
        out.contains("still: CLAIM-EXTRACT.B, CLAIM-EXTRACT.C wait behind ADJUD-PHASE1.A"),
        "{out}"
    );
    assert!(out.contains("critical path to cms-filing"), "{out}");
    assert!(out.contains("MISSED"), "{out}");
}

#[test]
fn edits_compare_with_the_plan_and_match_warden_plan() {
    let me = workflow("month-end.yaml");
    let doc = json(&[
        "whatif",
        &me,
        "--date",
        "2025-02",
        "--delay",
        "ADJUD-PHASE1.A=+90m",
        "--samples",
        "50",
        "--format",
        "json",
    ]);
    let (before, after) = (&doc["looks"][0], &doc["looks"][1]);
    // "before" is exactly what `warden plan` says.
    let (code, out, _) = warden(&["plan", &me, "--date", "2025-02", "--format", "json"]);
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&out).expect("json");
    let planned = plan["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["name"] == "Day 1 window (online claims restart)" || d["id"] == "day1-window")
        .expect("day1-window");
    assert_eq!(
        margin(before, "day1-window"),
        planned["margin_minutes"].as_f64().expect("minutes")
    );
    // ADJUD-PHASE1.A is on the Day 1 critical chain: 90 more minutes cost 90 of margin.
    assert_eq!(
        margin(before, "day1-window") - margin(after, "day1-window"),
        90.0
    );
    assert!(
        doc["title"]
            .as_str()
            .is_some_and(|t| t.contains("ADJUD-PHASE1.A +1h30m"))
    );
    // A template name delays every instance.
    let doc = json(&[
        "whatif",
        &me,
        "--date",
        "2025-02",
        "--delay",
        "MERGE-ADJ=+30m",
        "--mode",
        "serial",
        "--samples",
        "20",
        "--format",
        "json",
    ]);
    assert_eq!(doc["looks"][1]["mode"], "serial");
}

#[test]
fn bad_questions_get_one_line_answers() {
    let me = workflow("month-end.yaml");
    let (code, _, err) = warden(&[
        "whatif",
        &me,
        "--date",
        "2025-02",
        "--delay",
        "ADJUD-PHASE9=+1h",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`ADJUD-PHASE9` is not a job or template of `month-end`"),
        "{err}"
    );
    assert!(err.contains("did you mean"), "{err}");
    let (code, _, err) = warden(&[
        "whatif",
        &me,
        "--date",
        "2025-02",
        "--delay",
        "ADJUD-PHASE1.A=soon",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = warden(&[
        "whatif",
        &me,
        "--date",
        "2025-02",
        "--state-of",
        "1",
        "--mode",
        "serial",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--mode cannot be combined with --state-of"),
        "{err}"
    );
    let (code, _, err) = warden(&["whatif", &me]);
    assert_eq!(code, 2);
    assert!(err.contains("give --date"), "{err}");
    let dir = std::env::temp_dir().join(format!("warden-whatif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "scenario: x\ndate: 2025-02\nlooks:\n  - { name: a, at: d1 +1d 01:45, actual: { NOPE: 5m } }\n",
    )
    .expect("write");
    let (code, _, err) = warden(&["whatif", &me, "--scenario", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("looks[0] (a): actual: `NOPE` is not a job or template"),
        "{err}"
    );
    std::fs::write(&bad, "scenario: x\ndate: 2025-02\nlooks: []\nextra: 1\n").expect("write");
    let (code, _, err) = warden(&["whatif", &me, "--scenario", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(err.contains("extra"), "unknown keys are rejected: {err}");
}

#[test]
fn a_stored_runs_state_is_the_starting_point() {
    let dir = std::env::temp_dir().join(format!("warden-whatif-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("stuck.yaml");
    std::fs::write(
        &file,
        r#"cycle: stuck
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: A, builtin: sleep, estimate: 30m }
  - { id: B, after: [A], run: "exit 3", retries: 0, estimate: 60m }
  - { id: C, after: [B], builtin: sleep, estimate: 30m }
deadlines:
  - { id: close, at: "n window-closes", covers: [C], kind: window }
"#,
    )
    .expect("write");
    let (file, db, data) = (
        file.to_string_lossy().into_owned(),
        dir.join("w.db").to_string_lossy().into_owned(),
        dir.join("data").to_string_lossy().into_owned(),
    );
    // B fails for good: the run stops for an operator (exit 1), with A done.
    let (code, _, err) = warden(&[
        "run",
        &file,
        "--date",
        "2025-03-04",
        "--db",
        &db,
        "--data",
        &data,
        "--speed",
        "36000",
    ]);
    assert_eq!(code, 1, "{err}");
    let doc = json(&[
        "whatif",
        &file,
        "--date",
        "2025-03-04",
        "--state-of",
        "1",
        "--db",
        &db,
        "--delay",
        "B=+45m",
        "--samples",
        "20",
        "--format",
        "json",
    ]);
    let (before, after) = (&doc["looks"][0], &doc["looks"][1]);
    assert!(
        doc["title"]
            .as_str()
            .is_some_and(|t| t.contains("(run 1), from its state at"))
    );
    // From the stored state: B failed, so it is assumed rerun now; A's 30 minutes are history.
    assert_eq!(before["assumptions"][0], "B failed; assumed rerun now");
    let at =
        chrono::DateTime::parse_from_rfc3339(before["at"].as_str().expect("at")).expect("time");
    let start = chrono::DateTime::parse_from_rfc3339("2025-03-05T03:00:00Z").expect("time");
    assert!(at - start >= chrono::TimeDelta::minutes(30), "{at}");
    // Rerun now (60 min) and C (30 min): the window closes 6 h after it opened.
    let expected = 360.0 - ((at - start).num_seconds() as f64 / 60.0) - 90.0;
    assert!((margin(before, "close") - expected).abs() < 1.0, "{before}");
    assert_eq!(margin(before, "close") - margin(after, "close"), 45.0);
    // A run that is not there is a usage error.
    let (code, _, err) = warden(&[
        "whatif",
        &file,
        "--date",
        "2025-03-04",
        "--state-of",
        "7",
        "--db",
        &db,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("run 7 has no events"), "{err}");
}
