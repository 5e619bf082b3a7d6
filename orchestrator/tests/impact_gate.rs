//! The batch impact gate through the real binary and a real store (issue #12): every path.
//! A one-stream cycle declared at 1,000 claims (trigger 5 %), one job whose time grows with
//! volume, and a regulatory deadline 25 minutes after the window opens: +100 claims passes,
//! +1,000 needs a review, +2,000 fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WORKFLOW: &str = r#"
cycle: gated
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
streams:
  - { id: A, volume: 1000 }
roles:
  - { id: on-call }
  - { id: compliance }
days:
  - { id: n1, window: { opens: "22:00", closes: "04:00" } }
defaults: { builtin: sleep }
jobs:
  - { id: WORK, day: n1, streams: all, estimate: 10m, elasticity: 1.0 }
deadlines:
  - { id: filing, at: "n1 window-opens +25m", covers: [WORK], kind: regulatory }
"#;

fn fresh(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("warden-impact-gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn warden(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.current_dir(dir)
        .args(args)
        .env_remove("WARDEN_DB")
        .env_remove("WARDEN_TOKEN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("warden runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `warden impact run` for `volume`; (exit code, the stored id).
fn impact(dir: &Path, volume: &str) -> (i32, i64, String) {
    let o = warden(
        dir,
        &[
            "impact",
            "run",
            "gated.yaml",
            "--date",
            "2025-03-03",
            "--volume",
            volume,
            "--db",
            "w.db",
        ],
        &[],
    );
    let t = text(&o);
    let id = t
        .split("stored as impact test #")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {t}"));
    (o.status.code().unwrap_or(-1), id, t)
}

fn run(dir: &Path, date: &str, volume: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "gated.yaml",
        "--date",
        date,
        "--volume",
        volume,
        "--speed",
        "100000",
        "--db",
        "w.db",
        "--data",
        "data",
    ];
    args.extend_from_slice(extra);
    warden(dir, &args, &[])
}

#[test]
fn every_path_through_the_gate() {
    let dir = fresh("paths");
    std::fs::write(dir.join("gated.yaml"), WORKFLOW).expect("write");

    // Within the trigger: no test needed.
    let o = run(&dir, "2025-03-03", "A=+50", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Above it without a test: refused, naming the test to run.
    let o = run(&dir, "2025-03-04", "A=+2000", &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("stream A carries 3,000 claims, 200% above its approved 1,000"),
        "{t}"
    );
    assert!(
        t.contains("warden impact run gated.yaml --date 2025-03-04 --stream A"),
        "{t}"
    );

    // A failed test refuses.
    let (code, failed, t) = impact(&dir, "A=+2000");
    assert_eq!(code, 1, "{t}");
    assert!(t.contains("verdict FAIL"), "{t}");
    let o = run(&dir, "2025-03-04", "A=+2000", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains(&format!("impact test #{failed} came back fail")),
        "{}",
        text(&o)
    );

    // A passed test clears the volume it covers (and less), not more.
    let (code, passed, t) = impact(&dir, "A=+100");
    assert_eq!(code, 0, "{t}");
    let o = run(&dir, "2025-03-04", "A=+100", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("impact test #{passed} passed")),
        "{}",
        text(&o)
    );

    // A review clears only once an architect approved it.
    let (code, review, t) = impact(&dir, "A=+1000");
    assert_eq!(code, 1, "{t}");
    assert!(t.contains("verdict REVIEW"), "{t}");
    let o = run(&dir, "2025-03-05", "A=+1000", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("no architect has approved it"),
        "{}",
        text(&o)
    );

    // Approvals: the auth file names an operator and an architect.
    let ops_token = "ops-token-0123456789";
    let arch_token = "arch-token-0123456789";
    let digest = |t: &str| {
        use sha2::Digest;
        sha2::Sha256::digest(t.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    std::fs::write(
        dir.join("auth.yaml"),
        format!(
            "users:\n  - {{ name: olu, role: operator, token_sha256: {} }}\n  - {{ name: diane, role: architect, token_sha256: {} }}\n",
            digest(ops_token),
            digest(arch_token)
        ),
    )
    .expect("auth");
    let id = review.to_string();
    let approve = |name: &str, token: &str| {
        warden(
            &dir,
            &[
                "impact",
                "approve",
                &id,
                "--as",
                name,
                "--note",
                "reviewed Day 1 margin",
                "--auth",
                "auth.yaml",
                "--db",
                "w.db",
            ],
            &[("WARDEN_TOKEN", token)],
        )
    };
    let o = approve("olu", ops_token);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("needs the architect role"),
        "{}",
        text(&o)
    );
    let o = approve("diane", ops_token);
    assert_eq!(o.status.code(), Some(2), "someone else's token");
    assert!(
        text(&o).contains("olu's token, not diane's"),
        "{}",
        text(&o)
    );
    let o = run(&dir, "2025-03-05", "A=+1000", &[]);
    assert_eq!(o.status.code(), Some(2), "still refused: {}", text(&o));
    let o = approve("diane", arch_token);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = approve("diane", arch_token);
    assert_eq!(o.status.code(), Some(2), "approved once");
    assert!(
        text(&o).contains("approved already, by diane"),
        "{}",
        text(&o)
    );
    let o = warden(
        &dir,
        &[
            "impact",
            "approve",
            &failed.to_string(),
            "--as",
            "diane",
            "--note",
            "x",
            "--auth",
            "auth.yaml",
            "--db",
            "w.db",
        ],
        &[("WARDEN_TOKEN", arch_token)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("a fail cannot be approved"),
        "{}",
        text(&o)
    );
    let o = run(&dir, "2025-03-05", "A=+1000", &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("approved by diane (architect)"),
        "{}",
        text(&o)
    );

    // The report, stored: text and JSON, with the approval.
    let o = warden(
        &dir,
        &["impact", "show", &id, "--db", "w.db", "--format", "json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["report"]["verdict"], "review");
    assert_eq!(v["report"]["volumes"][0]["tested"], 2000);
    assert_eq!(v["approval"]["approver"], "diane");
    assert_eq!(
        v["report"]["digests"]["workflow_sha256"]
            .as_str()
            .map(str::len),
        Some(64)
    );

    // An override needs a reason, is recorded and alerts on-call and compliance.
    let o = run(
        &dir,
        "2025-03-06",
        "A=+2000",
        &["--override-impact-gate", " "],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(
        &dir,
        "2025-03-06",
        "A=+2000",
        &[
            "--override-impact-gate",
            "state deadline; CFO accepted the risk",
            "--as",
            "olu",
        ],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("OVERRIDDEN by olu"), "{t}");
    let alerts = std::fs::read_to_string(dir.join("data/alerts.log")).expect("alerts.log");
    assert!(
        alerts.contains("olu started the run past the batch impact gate"),
        "{alerts}"
    );
    assert!(
        alerts.contains("state deadline; CFO accepted the risk"),
        "{alerts}"
    );
    for role in ["on-call", "compliance"] {
        assert!(alerts.contains(role), "{role} told: {alerts}");
    }
}

#[test]
fn bad_input_writes_nothing_to_the_store() {
    let dir = fresh("bad");
    std::fs::write(dir.join("gated.yaml"), WORKFLOW).expect("write");
    std::fs::write(
        dir.join("bad-thresholds.yaml"),
        WORKFLOW.replace("defaults:", "impact: { trigger: 150% }\ndefaults:"),
    )
    .expect("write");
    for (args, code, says) in [
        (vec!["--volume", "Z=+100"], 2, "Z"),
        (vec!["--volume", "A=-100"], 2, "shrinks"),
        (vec!["--volume", "A=900"], 2, "shrinks"),
        (vec![], 2, "nothing to test"),
        (
            vec!["--stream", "A", "--baseline", "nowhere", "--new", "nowhere"],
            2,
            "nowhere",
        ),
    ] {
        let mut all = vec![
            "impact",
            "run",
            "gated.yaml",
            "--date",
            "2025-03-03",
            "--db",
            "w.db",
        ];
        all.extend(args.iter().copied());
        let o = warden(&dir, &all, &[]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {t}");
        assert!(t.contains(says), "{args:?}: wanted {says} in {t}");
        assert!(!t.contains("panicked"), "{t}");
    }
    let o = warden(
        &dir,
        &[
            "impact",
            "run",
            "bad-thresholds.yaml",
            "--date",
            "2025-03-03",
            "--volume",
            "A=+100",
            "--db",
            "w.db",
        ],
        &[],
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("bad-thresholds.yaml:"), "located: {t}");
    assert!(
        !dir.join("w.db").exists(),
        "nothing written: no store was created"
    );
}

/// Routed volumes feed the gate (issue #15): a partner's claims taken in and routed, their
/// `volumes.json` added to the run's stream volumes (`--routed-volumes +FILE`). The PBM's
/// claims all go to stream E: 2,000 of them on an approved 1,000 need the impact test; 30 are
/// within the trigger and run.
#[test]
fn a_partners_routed_volume_goes_through_the_gate() {
    let dir = fresh("routed");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root_path = |p: &str| root.join(p).to_str().expect("utf-8").to_string();
    std::fs::write(
        dir.join("gated.yaml"),
        WORKFLOW.replace(
            "  - { id: A, volume: 1000 }",
            "  - { id: A, volume: 1000 }\n  - { id: E, volume: 1000 }",
        ),
    )
    .expect("write");
    let routed_batch = |claims: &str, name: &str| -> String {
        let o = warden(
            &dir,
            &[
                "claims",
                "generate",
                "--claims",
                claims,
                "--members",
                "500",
                "--exception-rate",
                "0",
                "--out",
                name,
                "--partner",
                "acme-pbm",
                "--partners",
                &root_path("workflows/partners"),
            ],
            &[],
        );
        assert!(o.status.success(), "{}", text(&o));
        let out = format!("{name}-intake");
        let o = warden(
            &dir,
            &[
                "intake",
                "acme-pbm",
                &format!("{name}/acme-pbm.csv"),
                "--out",
                &out,
                "--partners",
                &root_path("workflows/partners"),
                "--routing",
                &root_path("workflows/routing/claims.yaml"),
                "--db",
                "w.db",
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        format!("+{out}/volumes.json")
    };
    let run_routed = |date: &str, routed: &str| {
        warden(
            &dir,
            &[
                "run",
                "gated.yaml",
                "--date",
                date,
                "--routed-volumes",
                routed,
                "--speed",
                "100000",
                "--db",
                "w.db",
                "--data",
                "data",
            ],
            &[],
        )
    };
    let big = routed_batch("2000", "big");
    let o = run_routed("2025-03-04", &big);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("stream E carries 3,000 claims, 200% above its approved 1,000"),
        "{t}"
    );
    assert!(
        t.contains("warden impact run gated.yaml --date 2025-03-04 --stream E"),
        "{t}"
    );
    let small = routed_batch("30", "small");
    let o = run_routed("2025-03-05", &small);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Not a routed batch's volumes: refused at once, naming the file.
    std::fs::write(dir.join("v.json"), r#"{"claims": 3}"#).expect("write");
    let o = run_routed("2025-03-06", "+v.json");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("v.json: no `by_stream` counts"),
        "{}",
        text(&o)
    );
}
