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
