//! The real `warden` binary: exit codes as a shell or CI sees them.

use std::process::Command;

fn warden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("warden runs")
}

#[test]
fn exit_codes() {
    assert_eq!(
        warden(&["validate", "workflows/nightly.yaml"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        warden(&["validate", "workflows/invalid/021-dangling-dependency.yaml"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(warden(&["validate"]).status.code(), Some(2));
    assert_eq!(warden(&["--help"]).status.code(), Some(0));
}

#[test]
fn errors_go_to_stdout_for_validate_and_name_the_place() {
    let output = warden(&["validate", "workflows/invalid/021-dangling-dependency.yaml"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("--> workflows/invalid/021-dangling-dependency.yaml:33:13"),
        "{text}"
    );
}

#[test]
fn run_status_and_operator_commands_as_an_operator_uses_them() {
    let dir = std::env::temp_dir().join(format!("warden-cli-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("w.db");
    let data = dir.join("data");
    let (db, data) = (db.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let cycle = [
        "workflows/nightly-serial.yaml",
        "--date",
        "2025-03-04",
        "--db",
        db,
    ];
    let run: Vec<&str> = ["run"]
        .iter()
        .chain(&cycle)
        .copied()
        .chain(["--data", data, "--speed", "36000"])
        .collect();
    let output = warden(&run);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("complete, 5 jobs"));

    let status: Vec<&str> = ["status"].iter().chain(&cycle).copied().collect();
    let output = warden(&status);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(text.contains("5 succeeded"), "{text}");

    // Skipping needs a reason; an unknown job is named with a suggestion.
    let skip: Vec<&str> = ["skip"]
        .iter()
        .chain(&cycle)
        .copied()
        .chain(["--job", "CLMREGEXT"])
        .collect();
    assert_eq!(warden(&skip).status.code(), Some(2));
    let typo: Vec<&str> = ["hold"]
        .iter()
        .chain(&cycle)
        .copied()
        .chain(["--job", "CLMREGEX"])
        .collect();
    let output = warden(&typo);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `CLMREGEXT`?"));
}

/// What an operator sees when the environment is wrong: one line that says what and where,
/// and exit code 3 (or 2 for a command that does not fit the job).
#[test]
fn an_unusable_environment_is_one_line_and_exit_code_3() {
    let dir = std::env::temp_dir().join(format!("warden-cli-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("w.db");
    let db = db.to_str().expect("utf-8");
    let cycle = ["workflows/nightly.yaml", "--date", "2025-03-04"];
    let one_line = |output: &std::process::Output| {
        let text = String::from_utf8_lossy(&output.stderr).to_string();
        assert_eq!(text.trim_end().lines().count(), 1, "{text}");
        text
    };

    // Nobody listens on port 1.
    let output = warden(
        &[
            &["run"][..],
            &cycle,
            &[
                "--db",
                "postgres://postgres@127.0.0.1:1/test",
                "--speed",
                "3600",
            ],
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(3));
    assert!(
        one_line(&output).contains("cannot open the store postgres://postgres@127.0.0.1:1/test")
    );

    let output = warden(&[&["status"][..], &cycle, &["--db", "mysql://db/warden"]].concat());
    assert_eq!(output.status.code(), Some(3));
    assert!(one_line(&output).contains("`mysql://` is not a store Warden knows"));

    // A data directory under a file cannot be made.
    let output = warden(
        &[
            &["run"][..],
            &cycle,
            &[
                "--db",
                db,
                "--data",
                "/etc/hostname/data",
                "--speed",
                "3600",
            ],
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(3));
    let text = one_line(&output);
    assert!(
        text.contains("the data directory /etc/hostname/data cannot be used"),
        "{text}"
    );

    // A status of a run that does not exist says how to start one.
    let output = warden(&[&["status"][..], &cycle, &["--db", db]].concat());
    assert_eq!(output.status.code(), Some(2));
    assert!(one_line(&output).contains("start one with `warden run`"));
}

#[test]
fn operator_commands_that_do_not_fit_the_job_are_refused() {
    let dir = std::env::temp_dir().join(format!("warden-cli-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("w.db");
    let data = dir.join("data");
    let (db, data) = (db.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let cycle = [
        "workflows/nightly-serial.yaml",
        "--date",
        "2025-03-04",
        "--db",
        db,
    ];
    let run = warden(&[&["run"][..], &cycle, &["--data", data, "--speed", "36000"]].concat());
    assert_eq!(run.status.code(), Some(0));
    let rerun = warden(&[&["rerun"][..], &cycle, &["--job", "CLMGLPOST"]].concat());
    assert_eq!(rerun.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&rerun.stderr).trim(),
        "error: cannot rerun `CLMGLPOST`: it has succeeded; only a failed job can be rerun"
    );
    let release = warden(&[&["release"][..], &cycle, &["--job", "CLMGLPOST"]].concat());
    assert_eq!(release.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&release.stderr).contains("is not held (has succeeded)"));
    // One job in detail: its attempt as it ran, with its log, and its audit trail.
    let detail = warden(&[&["status"][..], &cycle, &["--job", "CLMGLPOST"]].concat());
    assert_eq!(detail.status.code(), Some(0));
    let text = String::from_utf8_lossy(&detail.stdout);
    assert!(text.contains("#1 "), "{text}");
    assert!(text.contains("succeeded"), "{text}");
    assert!(text.contains("started   #1"), "{text}");
    assert!(text.contains("finished  #1 Succeeded"), "{text}");
}

/// A second `warden run` of a cycle that an orchestrator is running is refused, naming the
/// holder; it never becomes a second driver of the same run.
#[test]
fn a_run_has_one_orchestrator_at_a_time() {
    let dir = std::env::temp_dir().join(format!("warden-cli-busy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("busy.yaml");
    std::fs::write(
        &file,
        r#"cycle: busy-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: SLOW, run: 'sleep 3', estimate: 1m }
"#,
    )
    .expect("workflow");
    let db = dir.join("w.db");
    let data = dir.join("data");
    let args = [
        "run",
        file.to_str().expect("utf-8"),
        "--date",
        "2025-03-04",
        "--db",
        db.to_str().expect("utf-8"),
        "--data",
        data.to_str().expect("utf-8"),
        "--speed",
        "3600",
    ];
    let mut first = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("first run");
    // Wait until the first run holds the store's run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !dir.join("data/runs/1/work/SLOW").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started SLOW"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .expect("second run");
    assert_eq!(second.status.code(), Some(3));
    let text = String::from_utf8_lossy(&second.stderr);
    assert!(text.contains("cycle run 1 is being run by"), "{text}");
    assert!(first.wait().expect("first run ends").success());
}
