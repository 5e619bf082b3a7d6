//! `warden claims generate`, `warden adjudicate`, `warden partitions` as an operator uses
//! them: exit codes, messages, files.

use std::path::{Path, PathBuf};

fn plans() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../workflows/plans")
        .to_string_lossy()
        .into_owned()
}

fn warden(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("warden").chain(args.iter().copied());
    let code = warden::cli::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

fn generate(dir: &Path, seed: &str, extra: &[&str]) -> String {
    let d = dir.to_string_lossy().into_owned();
    let p = plans();
    let mut args = vec![
        "claims",
        "generate",
        "--members",
        "800",
        "--claims",
        "3000",
        "--pcp-groups",
        "12",
        "--seed",
        seed,
        "--out",
        &d,
        "--plans",
        &p,
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = warden(&args);
    assert_eq!(code, 0, "{out}{err}");
    out
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn generate_is_deterministic_and_adjudicate_verifies_equivalence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let out = generate(&a, "5", &["--bad-rows", "0.01", "--exception-rate", "0.05"]);
    assert!(
        out.contains("800 members") && out.contains("3000 claims"),
        "{out}"
    );
    generate(
        &tmp.path().join("b"),
        "5",
        &["--bad-rows", "0.01", "--exception-rate", "0.05"],
    );
    generate(
        &tmp.path().join("c"),
        "6",
        &["--bad-rows", "0.01", "--exception-rate", "0.05"],
    );
    let read = |d: &str, f: &str| std::fs::read(tmp.path().join(d).join(f)).expect("file");
    assert_eq!(
        read("a", "claims.csv"),
        read("b", "claims.csv"),
        "same seed, same bytes"
    );
    assert_eq!(read("a", "members.csv"), read("b", "members.csv"));
    assert_ne!(
        read("a", "claims.csv"),
        read("c", "claims.csv"),
        "another seed, other claims"
    );

    let o = tmp.path().join("out");
    let (code, out, err) = warden(&[
        "adjudicate",
        "--input",
        &s(&a),
        "--out",
        &s(&o),
        "--plans",
        &plans(),
        "--partitions",
        "4",
        "--checkpoint-every",
        "500",
        "--verify-equivalence",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("input: 3000 claim rows"), "{out}");
    assert!(out.contains("pass 1:") && out.contains("deferred"), "{out}");
    assert!(out.contains("reconciled:"), "{out}");
    assert!(out.contains("equivalent: the serial run"), "{out}");
    for f in [
        "adjudicated.csv",
        "accumulators.csv",
        "exceptions.csv",
        "rejects.csv",
        "deferred.csv",
        "reconciliation.json",
    ] {
        assert!(o.join(f).is_file(), "{f}");
    }
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(o.join("reconciliation.json")).expect("json"))
            .expect("json");
    assert_eq!(rec["ok"], true);
    assert_eq!(rec["claim_rows"].as_u64(), Some(3000));
    assert!(rec["rejected_claims"].as_u64().is_some_and(|r| r > 0));

    let (code, out, _) = warden(&[
        "adjudicate",
        "--input",
        &s(&a),
        "--out",
        &s(&tmp.path().join("serial")),
        "--plans",
        &plans(),
        "--serial",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        std::fs::read(o.join("adjudicated.csv")).expect("p"),
        std::fs::read(tmp.path().join("serial/adjudicated.csv")).expect("s")
    );
}

#[test]
fn bad_plans_missing_input_and_bad_headers_are_located_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    generate(&a, "1", &[]);
    let bad_plans = tmp.path().join("plans");
    std::fs::create_dir_all(&bad_plans).expect("dir");
    std::fs::write(bad_plans.join("x.yaml"), "plan: X\ncoinsurance_percent: 20\ndeductible: { individual: 100, family: 200 }\nout_of_pocket_max: { individual: 500, family: 900 }\nfee_schedule:\n  \"99213\": 92.505\n").expect("plan");
    let (code, _, err) = warden(&[
        "adjudicate",
        "--input",
        &s(&a),
        "--out",
        &s(&tmp.path().join("o")),
        "--plans",
        &s(&bad_plans),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("x.yaml:6:") && err.contains("more than two decimals"),
        "{err}"
    );

    let (code, _, err) = warden(&[
        "adjudicate",
        "--input",
        &s(&tmp.path().join("nowhere")),
        "--plans",
        &plans(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("needs claims.csv and members.csv"), "{err}");

    let text = std::fs::read_to_string(a.join("claims.csv")).expect("claims");
    std::fs::write(
        a.join("claims.csv"),
        text.replacen("claim_id,member", "claim,member", 1),
    )
    .expect("write");
    let (code, _, err) = warden(&[
        "adjudicate",
        "--input",
        &s(&a),
        "--out",
        &s(&tmp.path().join("o")),
        "--plans",
        &plans(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("claims.csv:1: the header is `claim,member"),
        "{err}"
    );

    let (code, _, err) = warden(&["adjudicate", "--serial", "--partitions", "3"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn partitions_plan_then_rebalance_after_a_group_grows() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    generate(&a, "2", &[]);
    let bounds: PathBuf = tmp.path().join("bounds.json");
    let (code, out, err) = warden(&[
        "partitions",
        "plan",
        "--input",
        &s(&a),
        "--partitions",
        "3",
        "--pcp-groups",
        "12",
        "--out",
        &s(&bounds),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("P01") && out.contains("P03") && !out.contains("P04"),
        "{out}"
    );
    assert!(out.contains("imbalance ratio: 1."), "{out}");
    let (code, out, _) = warden(&[
        "partitions",
        "rebalance",
        "--input",
        &s(&a),
        "--current",
        &s(&bounds),
        "--pcp-groups",
        "12",
        "--threshold",
        "1.5",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("no change proposed"), "{out}");
    // Group 1 takes on a large new physician group: copy its claims (new ids, same times).
    let text = std::fs::read_to_string(a.join("claims.csv")).expect("claims");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let extra: Vec<String> = lines
        .iter()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some("1"))
        .cloned()
        .collect();
    for (i, l) in extra.iter().enumerate() {
        let rest = l.split_once(',').map(|x| x.1).unwrap_or("");
        lines.push(format!("{},{rest}", 3_000_000_000u64 + i as u64));
    }
    for _ in 0..3 {
        lines.extend(extra.iter().enumerate().map(|(i, l)| {
            format!(
                "{},{}",
                3_100_000_000u64 + i as u64,
                l.split_once(',').map(|x| x.1).unwrap_or("")
            )
        }));
    }
    std::fs::write(a.join("claims.csv"), lines.join("\n") + "\n").expect("write");
    let proposed = tmp.path().join("proposed.json");
    let (code, out, err) = warden(&[
        "partitions",
        "rebalance",
        "--input",
        &s(&a),
        "--current",
        &s(&bounds),
        "--pcp-groups",
        "12",
        "--threshold",
        "1.15",
        "--out",
        &s(&proposed),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("above the threshold 1.150; proposed:"),
        "{out}"
    );
    assert!(proposed.is_file());
    // The proposal is usable as-is (the appended rows come out of order and are rejected).
    let (code, out, err) = warden(&[
        "adjudicate",
        "--input",
        &s(&a),
        "--out",
        &s(&tmp.path().join("o")),
        "--plans",
        &plans(),
        "--boundaries",
        &s(&proposed),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rejected"), "{out}");
    let (code, _, err) = warden(&[
        "partitions",
        "rebalance",
        "--input",
        &s(&a),
        "--current",
        &s(&tmp.path().join("none.json")),
    ]);
    assert_eq!(code, 2, "{err}");
}
