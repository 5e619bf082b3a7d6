//! `warden worker` processes, proven on the real binary: an orchestrator with no in-process
//! workers (`warden run --workers 0`) and worker processes of their own (each with its own
//! data directory, as on another host) run a cycle over SQLite and PostgreSQL. A worker
//! SIGKILLed mid-job loses its attempt to another when its lease runs out; a worker asked to
//! stop (SIGTERM) finishes its attempt first; a worker refuses a store of another schema.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::processes::{output_to, outputs, sigterm};
use common::{drop_schema, postgres_schema_url, temp_dir};
use warden_store::{AttemptRecord, OpenMode, Store};

const DATE: &str = "2025-03-04";

/// A cycle of shell jobs: HEAD, a fan-out of `width` jobs taking `seconds` each, and TAIL.
/// Each job logs `JOB ATTEMPT` to `exec.log` when it ends.
fn workflow(dir: &Path, width: usize, seconds: f64) -> (PathBuf, Vec<String>) {
    let log = dir.join("exec.log");
    let command = |sleep: f64| {
        format!(
            "sleep {sleep}; echo \"$WARDEN_JOB $WARDEN_ATTEMPT\" >> {}",
            log.display()
        )
    };
    let mut jobs = format!(
        "  - {{ id: HEAD, run: '{}', estimate: 1m }}\n",
        command(0.0)
    );
    let mut ids = vec!["HEAD".to_string()];
    for i in 0..width {
        jobs.push_str(&format!(
            "  - {{ id: F{i}, run: '{}', estimate: 1m, after: [HEAD] }}\n",
            command(seconds)
        ));
        ids.push(format!("F{i}"));
    }
    let fan: Vec<String> = (0..width).map(|i| format!("F{i}")).collect();
    jobs.push_str(&format!(
        "  - {{ id: TAIL, run: '{}', estimate: 1m, after: [{}] }}\n",
        command(0.0),
        fan.join(", ")
    ));
    ids.push("TAIL".into());
    let text = format!(
        r#"cycle: remote-test
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
{jobs}"#
    );
    let file = dir.join("remote-test.yaml");
    std::fs::write(&file, text).expect("workflow written");
    (file, ids)
}

/// `warden run --workers 0` on a 60× clock.
fn orchestrator(file: &Path, db: &str, dir: &Path) -> Child {
    let (out, err) = output_to(dir, "run.out");
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["run", file.to_str().expect("utf-8"), "--date", DATE])
        .args(["--db", db, "--data"])
        .arg(dir.join("orchestrator"))
        .args(["--workers", "0", "--speed", "60"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden run starts")
}

/// `warden worker NAME` with a data directory of its own (another host's disk).
fn worker(name: &str, db: &str, dir: &Path) -> Child {
    let (out, err) = output_to(dir, &format!("{name}.out"));
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["worker", "--db", db, "--name", name, "--data"])
        .arg(dir.join(name))
        .args(["--lease", "3s", "--poll", "50ms"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden worker starts")
}

fn wait_for(child: &mut Child, seconds: u64, what: &str, dir: &Path) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end in {seconds} s\n{}", outputs(dir));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn attempts(db: &str) -> (Vec<AttemptRecord>, String) {
    let store = Store::open(db, OpenMode::MustExist).await.expect("store");
    let run = store
        .find_run("remote-test", DATE)
        .await
        .expect("store")
        .expect("the run exists");
    (
        store.load_attempts(run.id).await.expect("attempts"),
        run.status,
    )
}

/// Each job's lines in the jobs' own log.
fn executions(dir: &Path) -> Vec<(String, u32)> {
    std::fs::read_to_string(dir.join("exec.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (job, attempt) = l.split_once(' ').expect("JOB ATTEMPT");
            (job.to_string(), attempt.parse().expect("attempt"))
        })
        .collect()
}

async fn two_workers_run_the_cycle(db: &str, dir: &Path) {
    let (file, ids) = workflow(dir, 10, 0.3);
    let mut run = orchestrator(&file, db, dir);
    // The orchestrator makes the store; workers never do (they refuse a missing one).
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut a = worker("host-a", db, dir);
    let mut b = worker("host-b", db, dir);
    let status = wait_for(&mut run, 120, "the run", dir);
    assert!(status.success(), "{}", outputs(dir));
    let run_out = std::fs::read_to_string(dir.join("run.out")).unwrap_or_default();
    assert!(run_out.contains("complete, 12 jobs"), "{run_out}");

    // Every job once, by one of the two workers; each did some.
    let (attempts, status) = attempts(db).await;
    assert_eq!(status, "complete");
    assert_eq!(attempts.len(), ids.len(), "{attempts:#?}");
    assert!(attempts.iter().all(|a| a.attempt == 1
        && a.outcome.as_deref() == Some("succeeded")
        && (a.worker == "host-a" || a.worker == "host-b")));
    let by_a = attempts.iter().filter(|a| a.worker == "host-a").count();
    assert!(
        by_a > 0 && by_a < ids.len(),
        "both workers ran jobs: host-a ran {by_a} of {}",
        ids.len()
    );
    let mut ran = executions(dir);
    ran.sort();
    let mut expected: Vec<(String, u32)> = ids.iter().map(|i| (i.clone(), 1)).collect();
    expected.sort();
    assert_eq!(ran, expected, "each job's command ran once");
    // Each worker's logs are on its own disk.
    let logs_a = dir.join("host-a/runs");
    assert!(logs_a.is_dir(), "host-a kept its attempts' logs");
    assert!(!dir.join("orchestrator/runs/1/logs").exists());

    // Asked to stop, each says how much it ran; the registry says they stopped.
    sigterm(&a);
    sigterm(&b);
    assert!(wait_for(&mut a, 30, "host-a", dir).success());
    assert!(wait_for(&mut b, 30, "host-b", dir).success());
    let listing = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["workers", "--all", "--db", db])
        .output()
        .expect("warden workers");
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    let store = Store::open(db, OpenMode::MustExist).await.expect("store");
    let rows = store.list_workers().await.expect("registry");
    assert_eq!(rows.len(), 2, "{listing}");
    assert!(rows.iter().all(|w| w.state == "stopped"), "{listing}");
    assert_eq!(
        rows.iter().map(|w| w.jobs_done).sum::<i64>(),
        ids.len() as i64,
        "{listing}"
    );
    assert!(
        listing.contains("host-a") && listing.contains("stopped"),
        "{listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_a_cycle_over_sqlite() {
    let dir = temp_dir("remote-sqlite");
    let db = dir.join("warden.db");
    two_workers_run_the_cycle(db.to_str().expect("utf-8"), &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_a_cycle_over_postgres() {
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let dir = temp_dir("remote-pg");
    two_workers_run_the_cycle(&url, &dir).await;
    drop_schema(&schema).await;
}

/// Waits until the registry shows `name` running some attempt; returns its job.
async fn running_job(db: &str, name: &str, dir: &Path) -> String {
    let started = Instant::now();
    loop {
        if let Ok(store) = Store::open(db, OpenMode::Worker).await
            && let Ok(rows) = store.list_workers().await
            && let Some(w) = rows.iter().find(|w| w.name == name)
            && w.state == "running"
            && let Some(job) = &w.job_id
        {
            return job.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{name} never ran a job\n{}",
            outputs(dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_its_attempt_to_another() {
    let dir = temp_dir("remote-kill");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    // One slow job after HEAD: the first worker is killed while it runs it.
    let (file, ids) = workflow(&dir, 1, 4.0);
    let mut run = orchestrator(&file, db, &dir);
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut a = worker("host-a", db, &dir);
    // HEAD is quick; wait for F0, the slow one.
    let mut job = running_job(db, "host-a", &dir).await;
    while job != "F0" {
        std::thread::sleep(Duration::from_millis(20));
        job = running_job(db, "host-a", &dir).await;
    }
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    let mut b = worker("host-b", db, &dir);
    let status = wait_for(&mut run, 120, "the run", &dir);
    assert!(status.success(), "{}", outputs(&dir));
    let (attempts, status) = attempts(db).await;
    assert_eq!(status, "complete");
    let f0: Vec<&AttemptRecord> = attempts.iter().filter(|a| a.job_idx == 1).collect();
    assert_eq!(f0.len(), 2, "{attempts:#?}");
    assert_eq!(
        (f0[0].worker.as_str(), f0[0].outcome.as_deref()),
        ("host-a", Some("lost"))
    );
    assert_eq!(
        (f0[1].worker.as_str(), f0[1].outcome.as_deref()),
        ("host-b", Some("succeeded"))
    );
    assert_eq!(attempts.len(), ids.len() + 1);
    sigterm(&b);
    assert!(wait_for(&mut b, 30, "host-b", &dir).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_asked_to_stop_finishes_its_attempt_first() {
    let dir = temp_dir("remote-term");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let (file, ids) = workflow(&dir, 1, 1.5);
    let mut run = orchestrator(&file, db, &dir);
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut a = worker("host-a", db, &dir);
    let mut job = running_job(db, "host-a", &dir).await;
    while job != "F0" {
        std::thread::sleep(Duration::from_millis(20));
        job = running_job(db, "host-a", &dir).await;
    }
    sigterm(&a);
    assert!(wait_for(&mut a, 30, "host-a", &dir).success());
    let said = std::fs::read_to_string(dir.join("host-a.out")).unwrap_or_default();
    assert!(said.contains("stopped after 2 attempts"), "{said}");
    // TAIL is left for another worker.
    let mut b = worker("host-b", db, &dir);
    let status = wait_for(&mut run, 120, "the run", &dir);
    assert!(status.success(), "{}", outputs(&dir));
    let (attempts, _) = attempts(db).await;
    assert_eq!(attempts.len(), ids.len(), "no job ran twice: {attempts:#?}");
    let f0 = attempts.iter().find(|a| a.job_idx == 1).expect("F0");
    assert_eq!(
        (f0.worker.as_str(), f0.outcome.as_deref()),
        ("host-a", Some("succeeded"))
    );
    let tail = attempts.iter().find(|a| a.job_idx == 2).expect("TAIL");
    assert_eq!(tail.worker, "host-b");
    sigterm(&b);
    assert!(wait_for(&mut b, 30, "host-b", &dir).success());
}

/// Runs `warden worker` once against `db` and returns its exit code and stderr.
fn worker_refuses(db: &str, dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["worker", "--db", db, "--data"])
        .arg(dir.join("w"))
        .output()
        .expect("warden worker");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_refuses_a_store_it_does_not_match() {
    let dir = temp_dir("remote-schema");
    // No store: a worker never makes one.
    let missing = dir.join("missing.db");
    let (code, said) = worker_refuses(missing.to_str().expect("utf-8"), &dir);
    assert_eq!(code, 3, "{said}");
    assert!(said.contains("no store at"), "{said}");
    assert!(!missing.exists(), "the worker created no store");

    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let store = Store::connect(db).await.expect("store");
    let built = store.built_schema_version();
    // An older store (its newest migration not applied yet).
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = ?1")
        .bind(built)
        .execute(
            &sqlx::SqlitePool::connect(&format!("sqlite://{db}"))
                .await
                .expect("pool"),
        )
        .await
        .expect("older");
    let (code, said) = worker_refuses(db, &dir);
    assert_eq!(code, 3, "{said}");
    assert!(
        said.contains(&format!(
            "the store's schema is version {} and this warden's is {built}",
            built - 1
        )) && said.contains("upgrade the orchestrator first"),
        "{said}"
    );
    // A newer store (a later warden migrated it).
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{db}"))
        .await
        .expect("pool");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (?1, 'later', '2026-01-01', 1, x'00', 0), (?2, 'later still', '2026-01-01', 1, x'00', 0)",
    )
    .bind(built)
    .bind(built + 1)
    .execute(&pool)
    .await
    .expect("newer");
    let (code, said) = worker_refuses(db, &dir);
    assert_eq!(code, 3, "{said}");
    assert!(
        said.contains("this worker is older than the store"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_restarted_on_its_host_adopts_what_its_predecessor_ran() {
    let dir = temp_dir("remote-adopt");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let (file, ids) = workflow(&dir, 1, 2.0);
    let mut run = orchestrator(&file, db, &dir);
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut a = worker("host-a", db, &dir);
    let mut job = running_job(db, "host-a", &dir).await;
    while job != "F0" {
        std::thread::sleep(Duration::from_millis(20));
        job = running_job(db, "host-a", &dir).await;
    }
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    // The same worker again (systemd's Restart=always): same name, same data directory.
    let mut again = worker("host-a", db, &dir);
    let status = wait_for(&mut run, 120, "the run", &dir);
    assert!(status.success(), "{}", outputs(&dir));
    let said = std::fs::read_to_string(dir.join("host-a.out")).unwrap_or_default();
    assert!(
        said.contains("re-attached") || said.contains("adopted the result"),
        "{said}"
    );
    let (attempts, _) = attempts(db).await;
    assert_eq!(attempts.len(), ids.len(), "no job ran twice: {attempts:#?}");
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome.as_deref() == Some("succeeded"))
    );
    let f0_runs = executions(&dir).iter().filter(|(j, _)| j == "F0").count();
    assert_eq!(f0_runs, 1, "F0's command ran once");
    sigterm(&again);
    assert!(wait_for(&mut again, 30, "host-a", &dir).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_needs_a_kind_of_host_runs_only_on_a_worker_with_its_labels() {
    let dir = temp_dir("remote-labels");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let log = dir.join("exec.log");
    let text = format!(
        r#"cycle: remote-test
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
  - {{ id: HEAD, run: 'echo "$WARDEN_JOB $WARDEN_ATTEMPT" >> {log}', estimate: 1m }}
  - {{ id: GPU, run: 'echo "$WARDEN_JOB $WARDEN_ATTEMPT" >> {log}', estimate: 1m, after: [HEAD], runs_on: [gpu] }}
  - {{ id: TAIL, run: 'echo "$WARDEN_JOB $WARDEN_ATTEMPT" >> {log}', estimate: 1m, after: [GPU] }}
"#,
        log = log.display()
    );
    let file = dir.join("remote-test.yaml");
    std::fs::write(&file, text).expect("workflow");
    let mut run = orchestrator(&file, db, &dir);
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Only an unlabelled worker first: GPU waits for a worker carrying `gpu`.
    let mut plain = worker("plain", db, &dir);
    let waited = Instant::now();
    while !executions(&dir).iter().any(|(j, _)| j == "HEAD") {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !executions(&dir).iter().any(|(j, _)| j == "GPU"),
        "GPU ran on a worker without its label"
    );
    let (out, err) = output_to(&dir, "gpu-host.out");
    let mut gpu = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "worker", "--db", db, "--name", "gpu-host", "--label", "gpu", "--data",
        ])
        .arg(dir.join("gpu-host"))
        .args(["--lease", "3s", "--poll", "50ms"])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden worker starts");
    let status = wait_for(&mut run, 120, "the run", &dir);
    assert!(status.success(), "{}", outputs(&dir));
    let run_out = std::fs::read_to_string(dir.join("run.out")).unwrap_or_default();
    assert!(
        run_out.contains("1 job runs only on workers labelled gpu"),
        "{run_out}"
    );
    let (attempts, _) = attempts(db).await;
    let by: Vec<(i64, &str)> = attempts
        .iter()
        .map(|a| (a.job_idx, a.worker.as_str()))
        .collect();
    assert!(by.contains(&(1, "gpu-host")), "{by:?}");
    assert_eq!(attempts.len(), 3, "{by:?}");
    sigterm(&plain);
    sigterm(&gpu);
    assert!(wait_for(&mut plain, 30, "plain", &dir).success());
    assert!(wait_for(&mut gpu, 30, "gpu-host", &dir).success());
}

/// The S3-compatible server of the tests (moto, started by `.ci/run`), with a fresh bucket;
/// `None` (with the reason printed) where none answers outside CI.
async fn moto_bucket() -> Option<(String, String)> {
    let endpoint = std::env::var("WARDEN_TEST_S3_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:5055".to_string());
    let bucket = common::unique("warden-remote")
        .replace('_', "-")
        .to_lowercase();
    // moto makes a bucket for a plain PUT (it checks no signature).
    match reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Some((endpoint, bucket)),
        other if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping S3 test: {endpoint} does not answer ({other:?})");
            None
        }
        other => panic!("CI=true but the S3 server at {endpoint} does not answer: {other:?}"),
    }
}

/// `warden worker` with `--objects`, labels and its own data directory (another host).
fn s3_worker(name: &str, labels: &[&str], db: &str, dir: &Path, s3: &(String, String)) -> Child {
    let (out, err) = output_to(dir, &format!("{name}.out"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(["worker", "--db", db, "--name", name, "--data"])
        .arg(dir.join(name))
        .args(["--lease", "3s", "--poll", "50ms", "--sync-every", "200ms"])
        .args(["--objects", &format!("s3://{}/warden", s3.1)]);
    for l in labels {
        cmd.args(["--label", l]);
    }
    cmd.env("AWS_ENDPOINT_URL", &s3.0)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden worker starts")
}

/// Jobs on two hosts with no disk in common: what PRODUCE wrote reaches CONSUME through the
/// object store (its committed attempt, every file checked against the manifest); and a
/// worker killed mid-job leaves a checkpoint there that the attempt run again on the other
/// host resumes from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_on_hosts_without_a_shared_disk_share_files_and_checkpoints_through_s3() {
    let Some(s3) = moto_bucket().await else {
        return;
    };
    let dir = temp_dir("remote-s3");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let text = r#"cycle: remote-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: PRODUCE, run: 'echo "claims 42" > out.txt; head -c 200000 /dev/urandom > blob.bin', estimate: 1m, runs_on: [a] }
  - { id: CONSUME, run: 'cat "$WARDEN_RUN_DIR/work/PRODUCE/out.txt" > got.txt; cmp got.txt "$WARDEN_RUN_DIR/work/PRODUCE/out.txt"', estimate: 1m, after: [PRODUCE], runs_on: [b] }
  - { id: COUNT, run: 'n=$(cat n 2>/dev/null || echo 0); echo "start $n" >> starts; while [ $n -lt 40 ]; do n=$((n+1)); echo $n > n; sleep 0.1; done', estimate: 1m, after: [CONSUME] }
"#;
    let file = dir.join("remote-test.yaml");
    std::fs::write(&file, text).expect("workflow");
    let mut run = orchestrator(&file, db, &dir);
    let started = Instant::now();
    while Store::open(db, OpenMode::Worker).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let a = s3_worker("host-a", &["a"], db, &dir, &s3);
    let b = s3_worker("host-b", &["b"], db, &dir, &s3);
    // COUNT has no label: kill whichever host runs it once it has counted past 10.
    let counted = |host: &str| {
        std::fs::read_to_string(dir.join(host).join("runs/1/work/COUNT/n"))
            .ok()
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let waited = Instant::now();
    let busy = loop {
        if counted("host-a") > 10 {
            break "host-a";
        }
        if counted("host-b") > 10 {
            break "host-b";
        }
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "{}",
            outputs(&dir)
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Past a save of the checkpoint (every 200 ms), then the host is gone.
    std::thread::sleep(Duration::from_millis(500));
    let (mut victim, mut survivor, survivor_name) = match busy {
        "host-a" => (a, b, "host-b"),
        _ => (b, a, "host-a"),
    };
    victim.kill().expect("SIGKILL");
    victim.wait().expect("reaped");
    let status = wait_for(&mut run, 120, "the run", &dir);
    assert!(status.success(), "{}", outputs(&dir));

    // CONSUME ran on host-b, which never ran PRODUCE: the file came through the store.
    let got = std::fs::read_to_string(dir.join("host-b/runs/1/work/CONSUME/got.txt"))
        .expect("CONSUME's output");
    assert_eq!(got, "claims 42\n");
    let (attempts, _) = attempts(db).await;
    let who = |job: i64| {
        attempts
            .iter()
            .filter(|a| a.job_idx == job)
            .map(|a| (a.attempt, a.worker.clone(), a.outcome.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(who(0), [(1, "host-a".into(), Some("succeeded".into()))]);
    assert_eq!(who(1), [(1, "host-b".into(), Some("succeeded".into()))]);
    let count = who(2);
    assert_eq!(count.len(), 2, "COUNT lost once, then ran again: {count:?}");
    assert_eq!(count[1].1, survivor_name);
    // The rerun started from the checkpoint the killed host saved, not from zero.
    let starts = std::fs::read_to_string(dir.join(survivor_name).join("runs/1/work/COUNT/starts"))
        .expect("starts");
    let resumed: Vec<u32> = starts
        .lines()
        .filter_map(|l| l.strip_prefix("start ")?.parse().ok())
        .collect();
    assert_eq!(resumed.len(), 2, "{starts}");
    assert_eq!(resumed[0], 0);
    assert!(resumed[1] >= 10, "resumed from {} of 40", resumed[1]);
    // Each committed attempt's files are in the store with a manifest.
    let objects = warden_objects::ObjectStore::open_with(
        &format!("s3://{}/warden", s3.1),
        &warden_objects::S3Settings {
            endpoint: Some(s3.0.clone()),
            region: Some("us-east-1".into()),
            credentials: Some(warden_objects::StaticCredentials::new("testing", "testing")),
            ..warden_objects::S3Settings::default()
        },
    )
    .await
    .expect("the bucket");
    let back = dir.join("downloaded");
    let manifest =
        warden_objects::download_dir(&objects, "runs/1/jobs/PRODUCE/attempts/1/out", &back)
            .await
            .expect("PRODUCE's committed files");
    assert_eq!(manifest.files["PRODUCE/blob.bin"].size, 200_000);
    assert!(
        objects
            .exists("runs/1/jobs/COUNT/attempts/2/log")
            .await
            .expect("exists"),
        "the log went with the attempt"
    );
    sigterm(&survivor);
    assert!(wait_for(&mut survivor, 30, survivor_name, &dir).success());
}
