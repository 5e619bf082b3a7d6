//! `warden run` and the clock it runs on: a new real-clock run whose deadlines are already
//! past is refused unless `--late` (it would breach and escalate them at once), and an
//! accelerated run says which of its jobs do real work (engine::timing).

use std::path::{Path, PathBuf};

use warden_tests::warden;

/// A one-job cycle with a deadline long past (2025-03-04 23:00 New York).
fn late_cycle(dir: &Path) -> PathBuf {
    let file = dir.join("late.yaml");
    std::fs::write(
        &file,
        r#"cycle: late-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: ONE, run: "true", estimate: 1m }
deadlines:
  - { id: filing, at: "n 23:00", covers: [ONE], kind: regulatory }
"#,
    )
    .expect("write");
    file
}

/// The workflow, store and data directory of a test, as arguments.
struct Paths {
    file: String,
    db: String,
    data: String,
}

impl Paths {
    fn new(dir: &Path) -> Self {
        let text = |p: PathBuf| p.to_str().expect("utf-8").to_string();
        Paths {
            file: text(late_cycle(dir)),
            db: text(dir.join("w.db")),
            data: text(dir.join("data")),
        }
    }
}

fn run_args<'a>(file: &'a str, db: &'a str, data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        file,
        "--date",
        "2025-03-04",
        "--db",
        db,
        "--data",
        data,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_real_clock_run_past_its_deadlines_is_refused_before_any_side_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Paths { file, db, data } = Paths::new(dir.path());
    let (file, db_s, data_s) = (file.as_str(), db.as_str(), data.as_str());
    let (code, out, err) = warden(&run_args(file, db_s, data_s, &[]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("late-test for 2025-03-04 has a deadline already past on the real clock"),
        "{err}"
    );
    assert!(err.contains("filing was due 2025-03-04 23:00 EST"), "{err}");
    assert!(
        err.contains("--speed 3600") && err.contains("--late"),
        "{err}"
    );
    assert!(!Path::new(db_s).exists(), "the refused run created a store");
    assert!(
        !Path::new(data_s).exists(),
        "the refused run created its data directory"
    );
}

#[test]
fn late_runs_a_late_cycle_for_real_and_its_resume_needs_no_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Paths { file, db, data } = Paths::new(dir.path());
    let (file, db_s, data_s) = (file.as_str(), db.as_str(), data.as_str());
    let (code, out, err) = warden(&run_args(file, db_s, data_s, &["--late"]));
    assert_eq!(code, 0, "{out}{err}");
    // The run exists now: running the same command again resumes it, flag or not.
    let (code, out, err) = warden(&run_args(file, db_s, data_s, &[]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = warden(&["status", file, "--date", "2025-03-04", "--db", db_s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("breached"),
        "the late deadline is recorded breached: {out}"
    );
}

#[test]
fn an_accelerated_run_says_which_jobs_do_real_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Paths { file, db, data } = Paths::new(dir.path());
    let (file, db_s, data_s) = (file.as_str(), db.as_str(), data.as_str());
    let (code, out, err) = warden(&run_args(file, db_s, data_s, &["--speed", "3600"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("note: 1 job does real work (shell commands, or adjudication with claim input): on this 3600x clock"),
        "{err}"
    );
}
