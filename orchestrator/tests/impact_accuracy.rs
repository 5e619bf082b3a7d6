//! The batch impact test's accuracy (issue #12), at small scale: a population and new volume
//! are generated, the test runs on its 10% sample, then the whole cycle runs for real with
//! that volume (the real adjudication built-ins on the real clock's pace); the projected
//! adjudication time is within 15% of the measured one, as `warden status` shows after
//! go-live: the median of three nights, each a test and the run it clears. Alone in its
//! binary, so no other test shares the machine while it times.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The nightly's adjudication, alone: setup, six partitions, merge, pass 2, reconcile.
const WORKFLOW: &str = r#"
cycle: accuracy
timezone: America/New_York
schedule: { cron: "0 23 * * 1-5" }
streams:
  - { id: claims, volume: 100000 }
roles:
  - { id: on-call }
  - { id: compliance }
days:
  - { id: night, window: { opens: "23:00", closes: "04:00" } }
jobs:
  - { id: SETUP, builtin: adjudicate-setup, estimate: 5m }
  - { id: ADJUD, builtin: adjudicate-partition, partitions: 6, after: [SETUP], estimate: 35m }
  - { id: MERGE, builtin: deferred-merge, after: [ADJUD], estimate: 5m }
  - { id: PASS2, builtin: adjudicate-pass2, after: [MERGE], estimate: 22m }
  - { id: RECONCILE, builtin: reconcile, after: [PASS2], estimate: 3m }
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn warden(dir: &Path, args: &[&str], input: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.current_dir(dir)
        .args(args)
        .env("WARDEN_PLANS", root().join("workflows/plans"))
        .env_remove("WARDEN_DB")
        .env_remove("WARDEN_CLAIMS_INPUT")
        .env_remove("WARDEN_CHECKPOINT_EVERY")
        .env_remove("WARDEN_MONITOR_EVERY");
    if let Some(i) = input {
        c.env("WARDEN_CLAIMS_INPUT", i);
    }
    c.output().expect("warden runs")
}

fn ok(o: &Output) -> String {
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{t}");
    t
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn the_projected_adjudication_time_is_within_15_percent_of_the_real_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(dir.join("accuracy.yaml"), WORKFLOW).expect("write");
    let plans = s(&root().join("workflows/plans"));
    for (out, members, claims, seed, rate) in [
        ("base", "40000", "100000", "1", "0.025"),
        ("new", "10000", "25000", "2", "0.04"),
    ] {
        ok(&warden(
            dir,
            &[
                "claims",
                "generate",
                "--members",
                members,
                "--claims",
                claims,
                "--seed",
                seed,
                "--exception-rate",
                rate,
                "--out",
                out,
                "--plans",
                &plans,
            ],
            None,
        ));
    }
    // The whole intake the real run reads: baseline and new claims as one, the way the
    // test's own run (b) combines them (`--sample 1` keeps it whole, under --work).
    ok(&warden(
        dir,
        &[
            "impact",
            "measure",
            "--baseline",
            "base",
            "--new",
            "new",
            "--sample",
            "1",
            "--work",
            "whole",
            "--plans",
            &plans,
        ],
        None,
    ));
    let whole = dir.join("whole/combined-sample");

    // Three nights, each cleared by a test run just before it: the test on its 10% sample
    // (five runs of each sample; medians), then the run, for real, with that volume, on a
    // clock at real pace. A shared machine's pace drifts over a minute, so each projection is
    // compared with the run made seconds after it, and the median of the three errors is
    // what must be within 15%.
    let mut nights: Vec<(f64, f64, String)> = Vec::new();
    for (n, date) in ["2025-03-04", "2025-03-05", "2025-03-06"]
        .iter()
        .enumerate()
    {
        let test = n + 1;
        let t = ok_or_review(
            &warden(
                dir,
                &[
                    "impact",
                    "run",
                    "accuracy.yaml",
                    "--date",
                    date,
                    "--stream",
                    "claims",
                    "--baseline",
                    "base",
                    "--new",
                    "new",
                    "--repeat",
                    "5",
                    "--db",
                    "w.db",
                    "--plans",
                    &plans,
                ],
                None,
            ),
            test,
        );
        assert!(t.contains("= 125,000 tested"), "{t}");
        let run = ok(&warden(
            dir,
            &[
                "run",
                "accuracy.yaml",
                "--date",
                date,
                "--volume",
                "claims=125000",
                "--speed",
                "1",
                "--db",
                "w.db",
                "--data",
                "data",
            ],
            Some(&whole),
        ));
        assert!(
            run.contains(&format!("cleared: impact test #{test}")),
            "{run}"
        );
        let status = ok(&warden(
            dir,
            &[
                "status",
                "accuracy.yaml",
                "--date",
                date,
                "--volume",
                "claims=125000",
                "--db",
                "w.db",
                "--data",
                "data",
            ],
            None,
        ));
        let all = status
            .lines()
            .find(|l| l.trim_start().starts_with("all "))
            .unwrap_or_else(|| panic!("no total in {status}"));
        let numbers: Vec<f64> = all
            .split_whitespace()
            .filter_map(|w| w.parse::<f64>().ok())
            .collect();
        let (projected, actual) = (numbers[0], numbers[1]);
        eprintln!(
            "{date}: projected {projected} s, actual {actual} s ({:+.1}%)",
            100.0 * (actual / projected - 1.0)
        );
        nights.push((actual / projected - 1.0, projected, status));
    }
    nights.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (error, projected, status) = nights.swap_remove(1);
    assert!(
        error.abs() < 0.15,
        "median night: projected {projected} s, off by {:+.1}%:\n{status}",
        100.0 * error
    );
}

/// `impact run` exits 0 on pass and 1 on review; either stores the test.
fn ok_or_review(o: &Output, id: usize) -> String {
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains(&format!("stored as impact test #{id}")), "{t}");
    t
}
