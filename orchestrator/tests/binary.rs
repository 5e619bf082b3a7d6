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
