//! The command line as an architect uses it: exit codes, text and JSON output.

use serde_json::Value;

use warden_tests::{warden, workflow};

#[test]
fn validate_accepts_the_shipped_workflows() {
    let files = ["month-end.yaml", "nightly.yaml", "nightly-serial.yaml"].map(workflow);
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    let (code, out, err) = warden(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("valid: cycle `month-end`, 757 jobs over 3 days"),
        "{out}"
    );
    assert!(
        out.contains("valid: cycle `nightly`, 16 jobs over 1 day"),
        "{out}"
    );
}

#[test]
fn validate_exits_1_and_prints_every_error() {
    let bad = workflow("invalid/059-many-errors.yaml");
    let (code, out, _) = warden(&["validate", &bad]);
    assert_eq!(code, 1);
    assert!(
        out.contains("`Mars/Olympus_Mons` is not an IANA time zone"),
        "{out}"
    );
    assert!(out.contains("did you mean `EXTRACT`?"), "{out}");
    assert!(out.contains("unknown deadline kind `statutory`"), "{out}");
    assert!(out.contains("invalid: 5 errors"), "{out}");
}

#[test]
fn validate_exits_2_on_usage_errors() {
    let (code, _, err) = warden(&["validate"]);
    assert_eq!(code, 2, "no files is a usage error");
    assert!(err.contains("FILES"), "{err}");
    let (code, _, err) = warden(&["validate", "/no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read `/no/such/file.yaml`"), "{err}");
    let (code, _, _) = warden(&["validate", "--frobnicate", &workflow("nightly.yaml")]);
    assert_eq!(code, 2);
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let file = workflow("invalid/060-warnings-only.yaml");
    let (code, out, _) = warden(&["validate", &file]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 warnings"), "{out}");
    let (code, out, _) = warden(&["validate", "--deny-warnings", &file]);
    assert_eq!(code, 1);
    assert!(
        out.contains("2 warnings denied by --deny-warnings"),
        "{out}"
    );
}

#[test]
fn validate_json_locates_each_error() {
    let file = workflow("invalid/021-dangling-dependency.yaml");
    let (code, out, _) = warden(&["validate", "--format", "json", &file]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&out).expect("json");
    let report = &json["files"][0];
    assert_eq!(report["valid"], false);
    let error = &report["errors"][0];
    assert_eq!(
        error["message"],
        "job `REPRICE` runs after `EXTRCT`, which is not defined"
    );
    assert_eq!(error["line"], 33);
    assert_eq!(error["column"], 13);
    assert_eq!(error["help"], "did you mean `EXTRACT`?");
}

#[test]
fn validate_reports_non_utf8_as_invalid_and_lists_unreadable_files_in_json() {
    let latin1 = workflow("invalid/069-not-utf8.yaml");
    let (code, out, _) = warden(&["validate", &latin1]);
    assert_eq!(
        code, 1,
        "not UTF-8 is invalid input, not a usage error: {out}"
    );
    assert!(out.contains("069-not-utf8.yaml:3:17"), "{out}");
    assert!(out.contains("not UTF-8"), "{out}");

    let missing = "/no/such/file.yaml";
    let good = workflow("nightly.yaml");
    let (code, out, _) = warden(&["validate", "--format", "json", &latin1, missing, &good]);
    assert_eq!(code, 2, "an unreadable file is still a usage error");
    let json: Value = serde_json::from_str(&out).expect("json");
    let files = json["files"].as_array().expect("files");
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    assert_eq!(paths, [latin1.as_str(), missing, good.as_str()]);
    assert_eq!(files[0]["valid"], false);
    assert_eq!(files[0]["errors"][0]["line"], 3);
    assert_eq!(files[0]["errors"][0]["column"], 17);
    assert_eq!(files[1]["valid"], false);
    let unreadable = files[1]["errors"][0]["message"].as_str().expect("message");
    assert!(
        unreadable.starts_with("cannot read `/no/such/file.yaml`"),
        "{unreadable}"
    );
    assert_eq!(files[2]["valid"], true);
}

#[test]
fn plan_json_has_the_documented_shape() {
    let (code, out, err) = warden(&[
        "plan",
        &workflow("nightly.yaml"),
        "--date",
        "2025-03-04",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["nights"][0]["opens"], "2025-03-04T23:00:00-05:00");
    assert_eq!(json["nights"][0]["closes"], "2025-03-05T04:00:00-05:00");
    let jobs = json["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 16);
    let setup = jobs
        .iter()
        .find(|j| j["id"] == "CLMSETUP")
        .expect("CLMSETUP");
    assert_eq!(setup["planned_start"], "2025-03-04T23:00:00-05:00");
    assert_eq!(setup["planned_finish"], "2025-03-04T23:05:00-05:00");
    assert_eq!(json["critical_path"]["minutes"], 131.0);
    assert_eq!(json["critical_path"]["jobs"][1], "CLMADJUD-P04");
    let deadline = &json["deadlines"][0];
    assert_eq!(deadline["at"], "2025-03-05T04:00:00-05:00");
    assert_eq!(deadline["finish"], "2025-03-05T01:11:00-05:00");
    assert_eq!(deadline["margin_minutes"], 169.0);
}

#[test]
fn plan_table_shows_overrun_of_the_serial_nightly() {
    let (code, out, err) = warden(&[
        "plan",
        &workflow("nightly-serial.yaml"),
        "--date",
        "2025-03-04",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Critical path  5h45m (345 min)"), "{out}");
    assert!(out.contains("-45m  MISSED"), "{out}");
}

#[test]
fn plan_compare_modes_shows_both_modes() {
    let (code, out, err) = warden(&[
        "plan",
        &workflow("month-end.yaml"),
        "--date",
        "2025-02",
        "--compare-modes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PIPELINED"), "{out}");
    assert!(out.contains("22h33m (22.6 h)"), "serial elapsed: {out}");
    assert!(out.contains("pipelining saves"), "{out}");
}

#[test]
fn plan_rejects_dates_the_cycle_does_not_run_on() {
    let (code, _, err) = warden(&["plan", &workflow("nightly.yaml"), "--date", "2025-03-01"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not run on 2025-03-01"), "{err}");
    assert!(
        err.contains("2025-02-28 (Fri) and 2025-03-03 (Mon)"),
        "{err}"
    );
    let (code, _, err) = warden(&["plan", &workflow("nightly.yaml"), "--date", "2025-03"]);
    assert_eq!(code, 2);
    assert!(err.contains("nightly cycle: give a day"), "{err}");
    let (code, _, err) = warden(&["plan", &workflow("month-end.yaml"), "--date", "2025-02-27"]);
    assert_eq!(code, 2);
    assert!(err.contains("starts on 2025-02-28"), "{err}");
    let (code, _, err) = warden(&[
        "plan",
        &workflow("month-end.yaml"),
        "--date",
        "2025-02",
        "--volume",
        "Z=5M",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("does not have (its streams: A, B, C, D, E)"),
        "{err}"
    );
}

#[test]
fn plan_of_an_invalid_workflow_exits_1() {
    let (code, _, err) = warden(&[
        "plan",
        &workflow("invalid/021-dangling-dependency.yaml"),
        "--date",
        "2025-02",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("which is not defined"), "{err}");
}

#[test]
fn volume_growth_moves_the_month_end_finish() {
    let base = workflow("month-end.yaml");
    let finish = |extra: &[&str]| {
        let mut args = vec![
            "plan",
            base.as_str(),
            "--date",
            "2025-02",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = warden(&args);
        assert_eq!(code, 0, "{err}");
        let json: Value = serde_json::from_str(&out).expect("json");
        json["elapsed_minutes"].as_f64().expect("minutes")
    };
    // The February 2025 acquisition: 12M more claims, mostly commercial.
    assert!(finish(&["--volume", "A=+12M"]) > finish(&[]) + 60.0);
}

#[test]
fn shipped_schema_matches_the_types() {
    let shipped =
        std::fs::read_to_string(workflow("workflow.schema.json")).expect("shipped schema");
    assert_eq!(
        shipped,
        warden::cli::schema::schema_json(),
        "workflows/workflow.schema.json is stale: regenerate with `warden schema > workflows/workflow.schema.json`"
    );
}

/// Every argument of every command says what it is for in `--help`.
#[test]
fn every_argument_of_every_command_has_help() {
    let mut missing = Vec::new();
    let mut commands = vec![("warden".to_string(), warden::cli::command())];
    while let Some((path, command)) = commands.pop() {
        for arg in command.get_arguments() {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() && !arg.is_hide_set() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            commands.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
}

/// Every numeric flag of every command has a range, checked while parsing: out of it the
/// command exits 2 naming the flag and the range, before any work.
#[test]
fn every_numeric_flag_is_checked_before_any_work() {
    let nightly = workflow("nightly.yaml");
    let month_end = workflow("month-end.yaml");
    let run = ["run", nightly.as_str(), "--date", "2025-03-04"];
    let whatif = ["whatif", month_end.as_str(), "--date", "2025-02"];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            [&run[..], &["--speed", "0"]].concat(),
            "--speed",
            "above 0 and at most 1000000",
        ),
        (
            [&run[..], &["--speed", "1e9"]].concat(),
            "--speed",
            "above 0 and at most 1000000",
        ),
        (
            [&run[..], &["--speed", "NaN"]].concat(),
            "--speed",
            "above 0",
        ),
        (
            [&run[..], &["--workers", "100000"]].concat(),
            "--workers",
            "0..=1024",
        ),
        (
            vec!["worker", "--lease", "1s"],
            "--lease",
            "1s is out of range: 3s to 1h",
        ),
        (
            vec!["worker", "--poll", "2h"],
            "--poll",
            "2h is out of range: 10ms to 1m",
        ),
        (vec!["demo", "--speed=-5"], "--speed", "above 0"),
        (
            [&whatif[..], &["--samples", "0"]].concat(),
            "--samples",
            "1..=100000",
        ),
        (
            [&whatif[..], &["--samples", "1000000000"]].concat(),
            "--samples",
            "1..=100000",
        ),
        (
            [&whatif[..], &["--state-of", "0"]].concat(),
            "--state-of",
            "1..",
        ),
        ([&whatif[..], &["--seed=-1"]].concat(), "--seed", "-1"),
        (
            vec!["adjudicate", "--partitions", "100000"],
            "--partitions",
            "1..=64",
        ),
        (
            vec!["adjudicate", "--partitions", "0"],
            "--partitions",
            "1..=64",
        ),
        (
            vec!["adjudicate", "--checkpoint-every", "0"],
            "--checkpoint-every",
            "1..",
        ),
        (vec!["adjudicate", "--threads", "0"], "--threads", "1..=256"),
        (
            vec!["claims", "generate", "--members", "0"],
            "--members",
            "1..=50000000",
        ),
        (
            vec!["claims", "generate", "--members", "1000000000000"],
            "--members",
            "1..=50000000",
        ),
        (
            vec!["claims", "generate", "--claims", "300000000"],
            "--claims",
            "0..=200000000",
        ),
        (
            vec!["claims", "generate", "--pcp-groups", "0"],
            "--pcp-groups",
            "1..=999",
        ),
        (
            vec!["claims", "generate", "--pcp-groups", "70000"],
            "--pcp-groups",
            "1..=999",
        ),
        (
            vec!["claims", "generate", "--exception-rate", "1.5"],
            "--exception-rate",
            "0..=1",
        ),
        (
            vec!["claims", "generate", "--bad-rows=-0.1"],
            "--bad-rows",
            "0..=1",
        ),
        (
            vec!["partitions", "plan", "--partitions", "100000"],
            "--partitions",
            "1..=64",
        ),
        (
            vec!["partitions", "plan", "--pcp-groups", "0"],
            "--pcp-groups",
            "1..=999",
        ),
        (
            vec![
                "partitions",
                "rebalance",
                "--current",
                "p.json",
                "--threshold",
                "0.5",
            ],
            "--threshold",
            "1..=100",
        ),
        (
            vec!["bench", "dag", "d.json", "--parallelism", "0"],
            "--parallelism",
            "1..=1024",
        ),
        (
            vec!["bench", "dag", "d.json", "--repeat", "0"],
            "--repeat",
            "1..=100",
        ),
        (
            vec!["bench", "adjudicate", "--partitions", "4000"],
            "--partitions",
            "1..=64",
        ),
        (
            vec!["bench", "adjudicate", "--members", "0"],
            "--members",
            "1..=50000000",
        ),
        (
            vec!["bench", "adjudicate", "--threads", "0"],
            "--threads",
            "1..=256",
        ),
        (
            vec!["serve", "--max-sse-clients", "0"],
            "--max-sse-clients",
            "1..=10000",
        ),
        (
            vec!["bench", "accumulators", "--members", "0"],
            "--members",
            "1..=50000000",
        ),
    ];
    for (args, flag, range) in cases {
        let started = std::time::Instant::now();
        let (code, out, err) = warden(&args);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{args:?} did work: {out}");
        assert!(err.contains(&format!("'{flag} ")), "{args:?}: {err}");
        assert!(err.contains(range), "{args:?}: {err}");
    }
}
