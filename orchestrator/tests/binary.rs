//! The real `warden` binary: exit codes as a shell or CI sees them.

use std::process::Command;

fn warden(args: &[&str]) -> std::process::Output {
    warden_in(concat!(env!("CARGO_MANIFEST_DIR"), "/.."), args)
}

/// `warden ARGS` run from `dir`, with none of Warden's variables from the caller's
/// environment (a `WARDEN_DB` would change every default).
fn warden_in(dir: impl AsRef<std::path::Path>, args: &[&str]) -> std::process::Output {
    command_in(dir).args(args).output().expect("warden runs")
}

/// `warden`, to run from `dir`, with none of Warden's variables from the caller's environment.
fn command_in(dir: impl AsRef<std::path::Path>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    command.current_dir(dir);
    for variable in [
        "WARDEN_DB",
        "WARDEN_CLAIMS_INPUT",
        "WARDEN_PLANS",
        "WARDEN_SETTINGS",
        "WARDEN_CHECKPOINT_EVERY",
    ] {
        command.env_remove(variable);
    }
    command
}

/// A fresh temporary directory for one test.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
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
    // So do holding and killing: they stop work the deadlines wait on.
    for command in ["hold", "kill"] {
        let bare: Vec<&str> = [command]
            .iter()
            .chain(&cycle)
            .copied()
            .chain(["--job", "CLMREGEXT"])
            .collect();
        let output = warden(&bare);
        assert_eq!(output.status.code(), Some(2), "{command}");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(&format!("{command} needs --reason")), "{err}");
    }
    let typo: Vec<&str> = ["hold"]
        .iter()
        .chain(&cycle)
        .copied()
        .chain(["--job", "CLMREGEX", "--reason", "vendor file late"])
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

    // The refused run made no store, and `status` makes none either: it says what only
    // `warden run` does.
    let output = warden(&[&["status"][..], &cycle, &["--db", db]].concat());
    assert_eq!(output.status.code(), Some(3));
    assert!(one_line(&output).contains("(only `warden run` creates one)"));
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

/// Numbers out of range are refused by the parser: exit 2, naming the flag and its range,
/// before any work (`--partitions 100000` once grew to 16 GB, `--partitions 4000` was
/// refused only after 18 s, `--samples 1000000000` ran for hours).
#[test]
fn numbers_out_of_range_are_refused_before_any_work() {
    let dir = fresh_dir("limits");
    let out = dir.join("out");
    let out = out.to_str().expect("utf-8");
    for (args, flag, range) in [
        (
            &["adjudicate", "--partitions", "100000", "--out", out][..],
            "--partitions",
            "1..=64",
        ),
        (
            &["adjudicate", "--partitions", "4000", "--out", out],
            "--partitions",
            "1..=64",
        ),
        (
            &[
                "whatif",
                "workflows/month-end.yaml",
                "--date",
                "2025-02",
                "--samples",
                "1000000000",
            ],
            "--samples",
            "1..=100000",
        ),
    ] {
        let started = std::time::Instant::now();
        let output = warden(args);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{args:?} took {:?}",
            started.elapsed()
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let err = stderr(&output);
        assert!(err.contains(&format!("'{flag} ")), "{args:?}: {err}");
        assert!(err.contains(range), "{args:?}: {err}");
    }
    assert!(!dir.join("out").exists(), "nothing was written");
}

/// A bad settings file (engine::builtins) stops `run`, `worker` and `demo` before anything
/// happens: exit 2, the file's line and column and what to write, no store made.
#[test]
fn a_bad_settings_file_stops_run_worker_and_demo_at_start() {
    let dir = fresh_dir("settings");
    let file = dir.join("settings.yaml");
    std::fs::write(&file, "partitions: 4\nplan: ../plans\n").expect("write");
    let settings = file.to_str().expect("utf-8");
    let store = dir.join("w.db");
    let db = store.to_str().expect("utf-8");
    let data = dir.join("data");
    let data = data.to_str().expect("utf-8");
    let expected = format!("error: {settings}:2:1: unknown key `plan`; did you mean `plans`?\n");
    for args in [
        vec![
            "run",
            "workflows/nightly.yaml",
            "--date",
            "2025-03-04",
            "--speed",
            "600",
        ],
        vec!["worker"],
        vec!["demo", "--exit-when-done"],
    ] {
        let args = [
            &args[..],
            &["--db", db, "--data", data, "--settings", settings],
        ]
        .concat();
        let output = warden(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), expected, "{args:?}");
        assert!(!store.exists(), "{args:?} created {db}");
    }
}

/// `warden impact run`'s checkpoint interval is parsed as `warden run`'s: a bad
/// `WARDEN_CHECKPOINT_EVERY` is refused (exit 2), not taken for the default.
#[test]
fn impact_run_refuses_a_bad_checkpoint_interval_as_run_does() {
    let dir = fresh_dir("impact-checkpoint");
    let db = dir.join("i.db");
    for command in [
        &[
            "impact",
            "run",
            "workflows/month-end.yaml",
            "--date",
            "2025-02",
        ][..],
        &["run", "workflows/nightly.yaml", "--date", "2025-03-04"],
    ] {
        let output = command_in(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .args(command)
            .args(["--volume", "A=+1000", "--db", db.to_str().expect("utf-8")])
            .env("WARDEN_CHECKPOINT_EVERY", "abc")
            .output()
            .expect("warden runs");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(
                "`abc` is not a number of claims: give --checkpoint-every (or WARDEN_CHECKPOINT_EVERY) a whole number"
            ),
            "{command:?}: {}",
            stderr(&output)
        );
        assert!(!db.exists(), "{command:?} created the store");
    }
}

/// Only `warden run` creates a store: every other command given a mistyped `--db` says so
/// (exit 3) and leaves no file behind.
#[test]
fn commands_that_read_a_store_never_create_one() {
    let dir = fresh_dir("typo");
    let typo = dir.join("typo.db");
    let db = typo.to_str().expect("utf-8");
    let cycle = ["workflows/nightly.yaml", "--date", "2025-03-04", "--db", db];
    let expected = format!("error: no store at {db} (only `warden run` creates one); check --db\n");
    for args in [
        [&["status"][..], &cycle].concat(),
        [&["alerts"][..], &cycle].concat(),
        [
            &["hold"][..],
            &cycle,
            &["--job", "CLMSETUP", "--reason", "r"],
        ]
        .concat(),
        vec!["ack", "1", "--as", "dana", "--db", db],
        vec![
            "whatif",
            "workflows/nightly.yaml",
            "--date",
            "2025-03-04",
            "--state-of",
            "1",
            "--db",
            db,
        ],
        vec!["serve", "--db", db, "--listen", "127.0.0.1:0"],
    ] {
        let output = warden(&args);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stderr(&output), expected, "{args:?}");
        assert!(!typo.exists(), "{args:?} created {db}");
    }
}

/// `--listen` on a non-loopback address without `--auth` is a usage error, refused before
/// anything happens: exit 2 from `run` as from `serve`, and no store or data directory made.
#[test]
fn serving_without_auth_beyond_loopback_is_refused_before_any_side_effect() {
    let dir = fresh_dir("listen");
    let (db, data) = (dir.join("new.db"), dir.join("data"));
    let run = warden(&[
        "run",
        "workflows/nightly.yaml",
        "--date",
        "2025-03-04",
        "--speed",
        "3600",
        "--listen",
        "0.0.0.0:0",
        "--db",
        db.to_str().expect("utf-8"),
        "--data",
        data.to_str().expect("utf-8"),
    ]);
    let serve = warden(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--db",
        db.to_str().expect("utf-8"),
    ]);
    for output in [run, serve] {
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("refusing to serve 0.0.0.0:0 without authentication"),
            "{}",
            stderr(&output)
        );
    }
    assert!(!db.exists(), "no store was created");
    assert!(!data.exists(), "no data directory was created");
}

/// A store URL's password is never printed, whatever the command and however it fails.
#[test]
fn a_store_password_is_never_printed() {
    let url = "postgres://warden:hunter2@127.0.0.1:1/warden";
    let cycle = [
        "workflows/nightly.yaml",
        "--date",
        "2025-03-04",
        "--db",
        url,
    ];
    for args in [
        [&["run"][..], &cycle, &["--speed", "3600"]].concat(),
        [&["status"][..], &cycle].concat(),
        [&["alerts"][..], &cycle].concat(),
        vec!["serve", "--db", url, "--listen", "127.0.0.1:0"],
    ] {
        let output = warden(&args);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = format!("{}{}", stdout(&output), stderr(&output));
        assert!(!text.contains("hunter2"), "{args:?}: {text}");
        assert!(
            text.contains("postgres://warden:***@127.0.0.1:1/warden"),
            "{args:?}: {text}"
        );
    }
}

/// A second `warden run` of a finished cycle says there was nothing to run; `status --job`
/// shows the log of a built-in job (which records no log path of its own) from `--data`.
#[test]
fn a_finished_run_says_so_and_status_shows_a_built_in_jobs_log() {
    let dir = fresh_dir("finished");
    let (db, data) = (dir.join("w.db"), dir.join("data"));
    let (db, data) = (db.to_str().expect("utf-8"), data.to_str().expect("utf-8"));
    let cycle = ["workflows/nightly.yaml", "--date", "2025-03-04", "--db", db];
    let run = [&["run"][..], &cycle, &["--data", data, "--speed", "36000"]].concat();
    let first = warden(&run);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("complete, 16 jobs"),
        "{}",
        stdout(&first)
    );
    let again = warden(&run);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let text = stdout(&again);
    assert!(
        text.starts_with("run 1: nightly for 2025-03-04 was already complete at 2025-03-0"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("; no job to run"), "{text}");

    let status = warden(
        &[
            &["status"][..],
            &cycle,
            &["--data", data, "--job", "CLMSETUP"],
        ]
        .concat(),
    );
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.contains(&format!("log {data}/runs/1/logs/CLMSETUP.1.log:")),
        "{text}"
    );
    assert!(
        text.contains("| simulated: WARDEN_CLAIMS_INPUT is not set"),
        "{text}"
    );
    // A simulated `sleep` job writes no log, and status says so.
    let status = warden(
        &[
            &["status"][..],
            &cycle,
            &["--data", data, "--job", "CLMPROVPAY"],
        ]
        .concat(),
    );
    assert!(
        stdout(&status).contains("CLMPROVPAY.1.log (none: the job wrote no output)"),
        "{}",
        stdout(&status)
    );
    // From another data directory: the path it looked at, and that nothing is there.
    let elsewhere = dir.join("elsewhere");
    let status = warden(
        &[
            &["status"][..],
            &cycle,
            &[
                "--data",
                elsewhere.to_str().expect("utf-8"),
                "--job",
                "CLMSETUP",
            ],
        ]
        .concat(),
    );
    assert!(
        stdout(&status).contains("(not found: is --data the run's data directory?)"),
        "{}",
        stdout(&status)
    );
}

/// `bench adjudicate` and `claims generate` work from a directory without `workflows/plans`:
/// they fall back on the built-in copies of the shipped plans.
#[test]
fn adjudication_commands_work_from_any_directory() {
    let dir = fresh_dir("anywhere");
    let output = warden_in(
        &dir,
        &[
            "bench",
            "adjudicate",
            "--members",
            "300",
            "--claims",
            "1000",
            "--dir",
            "bench",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("reconciled"),
        "{}",
        stdout(&output)
    );
    let output = warden_in(
        &dir,
        &[
            "claims",
            "generate",
            "--members",
            "100",
            "--claims",
            "200",
            "--out",
            "claims",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(dir.join("claims/claims.csv").is_file());
}
