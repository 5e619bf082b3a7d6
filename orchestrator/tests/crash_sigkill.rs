//! Crash safety, proven on the real binary: `warden run` is killed with SIGKILL at
//! pseudo-random moments of a running cycle, 20 times and more, and started again each time,
//! on SQLite and on PostgreSQL, and on PostgreSQL with the jobs run by `warden worker`
//! processes on two other hosts (network namespaces). Every job's success must be recorded
//! exactly once, no job runs again once its success is recorded, no command that ran to its
//! end runs again, no job is lost, and two attempts of a job never run at the same time
//! (what a dead orchestrator left running is adopted or killed before the job is run again).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::hosts::{Hosts, Proxy};
use common::processes::{output_to, stop_all};
use common::{
    drop_schema, finishes, postgres_schema_url, postgres_socket_addr, temp_dir, with_schema,
};
use warden_core::sched::Outcome;
use warden_store::Store;

const KILLS: usize = 20;
const CHAINS: usize = 3;
const LENGTH: usize = 60;

/// A cycle of shell jobs: three chains of sixty and a fan-in. Each job logs its start and end
/// (with its attempt) to one file and takes 0.05 s of real time, so the cycle needs about
/// four seconds: more than twenty kills leave it.
fn workflow(dir: &Path) -> (PathBuf, PathBuf, Vec<String>) {
    let log = dir.join("executions.log");
    let command = format!(
        "echo \"start $WARDEN_JOB $WARDEN_ATTEMPT\" >> {log}; sleep 0.05; echo \"end $WARDEN_JOB $WARDEN_ATTEMPT\" >> {log}",
        log = log.display()
    );
    let mut jobs = String::new();
    let mut ids = Vec::new();
    for c in 0..CHAINS {
        for i in 0..LENGTH {
            let id = format!("C{c}-J{i}");
            let after = if i == 0 {
                String::new()
            } else {
                format!(", after: [C{c}-J{}]", i - 1)
            };
            jobs.push_str(&format!(
                "  - {{ id: {id}, run: '{command}', estimate: 1m{after} }}\n"
            ));
            ids.push(id);
        }
    }
    let last: Vec<String> = (0..CHAINS)
        .map(|c| format!("C{c}-J{}", LENGTH - 1))
        .collect();
    jobs.push_str(&format!(
        "  - {{ id: ALL, run: '{command}', estimate: 1m, after: [{}] }}\n",
        last.join(", ")
    ));
    ids.push("ALL".into());
    let text = format!(
        r#"cycle: crash-test
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
roles:
  - {{ id: on-call }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
{jobs}
# Planned at 61 minutes, really about three hours of cycle time: the ladder climbs and the
# deadline is breached, across every kill.
deadlines:
  - id: done-by-2330
    at: "n 23:30"
    covers: [ALL]
    kind: business
    escalation:
      - {{ margin_below: 20m, notify: [on-call], template: oncall-page }}
      - {{ projected_miss: true, notify: [on-call], template: oncall-page }}
"#
    );
    let file = dir.join("crash-test.yaml");
    std::fs::write(&file, text).expect("workflow written");
    (file, log, ids)
}

/// Where the cycle's jobs run: in `warden run`'s own workers, or only on remote ones.
#[derive(Clone, Copy, PartialEq)]
enum Workers {
    InProcess,
    Remote,
}

fn start(file: &Path, db: &str, dir: &Path) -> Child {
    start_with(file, db, dir, Workers::InProcess)
}

fn start_with(file: &Path, db: &str, dir: &Path, workers: Workers) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("warden.out"))
        .expect("log");
    let err = out.try_clone().expect("log");
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["run", file.to_str().expect("utf-8"), "--date", "2025-03-04"])
        .args([
            "--db",
            db,
            "--data",
            dir.join("data").to_str().expect("utf-8"),
        ])
        .args(["--speed", "3600"])
        .args(if workers == Workers::Remote {
            &["--workers", "0"][..]
        } else {
            &[]
        })
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden starts")
}

/// A small deterministic generator, so a failing trial can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next_ms(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// Kills and restarts the orchestrator at least `KILLS` times, lets it finish, then checks
/// the event log and the executions the jobs themselves logged.
async fn crash_and_resume(db: &str, dir: &Path, workers: Workers) {
    let (file, log, ids) = workflow(dir);
    let mut random = Lcg(0x5eed);
    let mut kills = 0;
    while kills < KILLS {
        let mut child = start_with(&file, db, dir, workers);
        std::thread::sleep(Duration::from_millis(random.next_ms(50, 250)));
        if child.try_wait().expect("wait").is_some() {
            break; // it finished before this kill: fewer kills, caught below
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        kills += 1;
    }
    assert_eq!(kills, KILLS, "the cycle finished before {KILLS} kills");
    let mut last = start_with(&file, db, dir, workers);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = last.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the resumed run did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = std::fs::read_to_string(dir.join("warden.out")).unwrap_or_default();
    assert!(status.success(), "{output}");
    assert!(
        output.contains(&format!("complete, {} jobs", CHAINS * LENGTH + 1)),
        "{output}"
    );

    // The event log: one success per job, anything else an attempt lost in a crash.
    let store = Store::connect(db).await.expect("store");
    let run = store
        .find_run("crash-test", "2025-03-04")
        .await
        .expect("store")
        .expect("the run exists");
    assert_eq!(run.status, "complete");
    let events = store.load_events(run.id).await.expect("events");
    let recorded = finishes(&ids, &events);
    let mut succeeded_attempt = HashMap::new();
    for id in &ids {
        let outcomes = &recorded[id];
        let successes: Vec<u32> = outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Succeeded)
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(successes.len(), 1, "{id}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Succeeded | Outcome::Lost)),
            "{id}: {outcomes:?}"
        );
        succeeded_attempt.insert(id.clone(), successes[0]);
    }

    // What the jobs saw: no attempt after the recorded success ever started, and an attempt
    // never started while an earlier one of the same job could still write.
    let executions = std::fs::read_to_string(&log).expect("the jobs logged");
    let mut started: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut open: HashMap<&str, u32> = HashMap::new();
    for line in executions.lines() {
        let mut parts = line.split(' ');
        let (Some(what), Some(job), Some(attempt)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("unreadable execution line `{line}`");
        };
        let attempt: u32 = attempt.parse().expect("attempt");
        match what {
            "start" => {
                assert!(
                    attempt <= succeeded_attempt[job],
                    "{job} attempt {attempt} started after attempt {} succeeded",
                    succeeded_attempt[job]
                );
                if let Some(previous) = open.insert(job, attempt) {
                    // The previous attempt never logged its end: it must have been killed,
                    // or it would write after this one started (checked below).
                    assert!(previous < attempt, "{job}: attempts out of order");
                }
                started.entry(job).or_default().push(attempt);
            }
            "end" => {
                assert_eq!(
                    open.get(job),
                    Some(&attempt),
                    "{job} attempt {attempt} ended while a later attempt was running"
                );
                open.remove(job);
            }
            other => panic!("unknown execution line kind `{other}`"),
        }
    }
    // Adoption (engine::adopt): a command that ran to its end never runs again, whatever the
    // kills: its supervisor recorded the result for the next orchestrator to report.
    for id in &ids {
        let ends = executions
            .lines()
            .filter(|l| l.starts_with("end ") && l.split(' ').nth(1) == Some(id.as_str()))
            .count();
        assert_eq!(ends, 1, "{id}: its command ran to its end {ends} times");
    }
    for id in &ids {
        let attempts = &started[id.as_str()];
        assert!(
            attempts.contains(&succeeded_attempt[id]),
            "{id}: the successful attempt did not run"
        );
        // Every attempt that ran was dispatched: no attempt number is skipped or repeated.
        let mut sorted = attempts.clone();
        sorted.dedup();
        assert_eq!(
            &sorted, attempts,
            "{id} attempt started twice: {attempts:?}"
        );
    }
    // The attempts table agrees with the log: exactly one succeeded attempt per job.
    let attempts = store.load_attempts(run.id).await.expect("attempts");
    for (j, id) in ids.iter().enumerate() {
        let ok = attempts
            .iter()
            .filter(|a| a.job_idx == j as i64 && a.outcome.as_deref() == Some("succeeded"))
            .count();
        assert_eq!(ok, 1, "{id}: {attempts:?}");
    }
    // The deadline's ladder across the kills: settled exactly once (breached with the
    // actual finish), every notice key once, each raised as one alert, each alert delivered
    // (the default channel: DATA/alerts.log).
    let decisions = store.load_deadline_events(run.id).await.expect("decisions");
    let settled: Vec<&str> = decisions
        .iter()
        .filter(|d| {
            let payload: serde_json::Value = serde_json::from_str(&d.payload).expect("json");
            d.kind == "met" || (d.kind == "breached" && payload["finish"].is_string())
        })
        .map(|d| d.kind.as_str())
        .collect();
    assert_eq!(settled, ["breached"], "{decisions:#?}");
    let mut notices: Vec<&str> = decisions
        .iter()
        .filter_map(|d| d.notice_key.as_deref())
        .collect();
    assert!(!notices.is_empty());
    notices.sort_unstable();
    let alerts = store.run_alerts(run.id).await.expect("alerts");
    let mut keys: Vec<&str> = alerts.iter().map(|a| a.idempotency_key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, notices);
    for a in &alerts {
        assert!(
            !a.deliveries.is_empty() && a.deliveries.iter().all(|d| d.status == "delivered"),
            "{a:#?}"
        );
    }
    assert!(
        !store
            .load_projections(run.id)
            .await
            .expect("projections")
            .is_empty()
    );
    eprintln!(
        "{kills} kills; {} attempts in all for {} jobs",
        attempts.len(),
        ids.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_orchestrator_on_sqlite_resumes_exactly_once() {
    let dir = temp_dir("crash-sqlite");
    let db = dir.join("warden.db");
    crash_and_resume(db.to_str().expect("utf-8"), &dir, Workers::InProcess).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_orchestrator_on_postgres_resumes_exactly_once() {
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let dir = temp_dir("crash-postgres");
    crash_and_resume(&url, &dir, Workers::InProcess).await;
    drop_schema(&schema).await;
}

/// The same kills with the jobs on two other hosts: `warden run --workers 0` is only the
/// orchestrator, and `warden worker` processes in network namespaces of their own (reaching
/// PostgreSQL through a proxy on their link) run every command. A killed orchestrator
/// leaves them running; each new one must wait for their attempts, never lose or repeat them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_orchestrator_with_workers_on_other_hosts_repeats_no_command() {
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let hosts = match Hosts::make(0, 2) {
        Ok(h) => h,
        Err(e) if !in_ci => {
            eprintln!("skipping: network namespaces unavailable ({e})");
            return;
        }
        Err(e) => panic!("CI=true but network namespaces cannot be made: {e}"),
    };
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let dir = temp_dir("crash-hosts");
    // Workers never make a store's tables: the store exists before they start.
    drop(Store::connect(&url).await.expect("store made"));
    let proxy = Proxy::start(postgres_socket_addr()).await;
    let mut workers: Vec<Child> = (0..2)
        .map(|i| {
            let name = format!("host-{i}");
            let url = with_schema(
                &format!(
                    "postgres://postgres@{}:{}/test",
                    hosts.gateways[i], proxy.port
                ),
                &schema,
            );
            let (out, err) = output_to(&dir, &format!("{name}.out"));
            hosts
                .command(i, env!("CARGO_BIN_EXE_warden"))
                .args(["worker", "--db", &url, "--name", &name, "--data"])
                .arg(dir.join(&name))
                .args(["--lease", "3s", "--poll", "50ms"])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("warden worker starts")
        })
        .collect();
    crash_and_resume(&url, &dir, Workers::Remote).await;
    for w in &mut workers {
        assert!(
            w.try_wait().expect("wait").is_none(),
            "a worker died during the kills"
        );
    }
    stop_all(&mut workers);
    // Every command ran on a worker host: the orchestrator ran none.
    let store = Store::connect(&url).await.expect("store");
    let run = store
        .find_run("crash-test", "2025-03-04")
        .await
        .expect("store")
        .expect("run");
    let attempts = store.load_attempts(run.id).await.expect("attempts");
    assert!(
        attempts.iter().all(|a| a.worker.starts_with("host-")),
        "{attempts:#?}"
    );
    drop(hosts);
    drop_schema(&schema).await;
}

/// What the orphan tests share: a cycle of LONG (its command given) then AFTER; LONG's
/// attempts append their number to `attempts.log`.
fn orphan_cycle(dir: &Path, long: &str) -> (PathBuf, PathBuf) {
    let marker = dir.join("attempts.log");
    let text = format!(
        r#"cycle: orphan-test
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
  - {{ id: LONG, run: 'echo $WARDEN_ATTEMPT >> {marker}; {long}', estimate: 1m }}
  - {{ id: AFTER, run: 'true', estimate: 1m, after: [LONG] }}
"#,
        marker = marker.display()
    );
    let file = dir.join("orphan-test.yaml");
    std::fs::write(&file, text).expect("workflow");
    (file, marker)
}

/// Starts the cycle and SIGKILLs its orchestrator once LONG's attempt 1 runs with its
/// process group recorded; returns the group (its supervisor's pid).
async fn kill_while_long_runs(file: &Path, db: &str, dir: &Path, store: &Store) -> i32 {
    let mut first = start(file, db, dir);
    let deadline = Instant::now() + Duration::from_secs(30);
    let pgid = loop {
        if let Some(run) = store
            .find_run("orphan-test", "2025-03-04")
            .await
            .expect("store")
        {
            let attempts = store.load_attempts(run.id).await.expect("attempts");
            if let Some(pgid) = attempts.iter().find_map(|a| a.pgid) {
                break pgid as i32;
            }
        }
        assert!(Instant::now() < deadline, "LONG never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    assert!(
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None).is_ok(),
        "the orphaned job outlives its orchestrator"
    );
    pgid
}

/// LONG's finished attempts, as the event log has them.
async fn long_finishes(store: &Store) -> Vec<(u32, Outcome)> {
    let run = store
        .find_run("orphan-test", "2025-03-04")
        .await
        .expect("store")
        .expect("run");
    let recorded = finishes(
        &["LONG".to_string(), "AFTER".to_string()],
        &store.load_events(run.id).await.expect("events"),
    );
    recorded["LONG"].clone()
}

/// A job still running when its orchestrator is SIGKILLed lives on under its supervisor in
/// its own process group. The restarted orchestrator re-attaches to it (engine::adopt):
/// heartbeats its lease, waits for its end and reports it. The command runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_when_its_orchestrator_dies_is_adopted_not_rerun() {
    let dir = temp_dir("orphan-adopt");
    let (file, marker) = orphan_cycle(&dir, "sleep 3");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let store = Store::connect(db).await.expect("store");
    let pgid = kill_while_long_runs(&file, db, &dir, &store).await;

    let status = start(&file, db, &dir).wait().expect("second run");
    let output = std::fs::read_to_string(dir.join("warden.out")).unwrap_or_default();
    assert!(status.success(), "{output}");
    assert!(
        output.contains("re-attached to an attempt still running"),
        "{output}"
    );
    assert!(
        !output.contains("killed jobs a dead orchestrator left running"),
        "{output}"
    );
    assert!(group_is_gone(pgid, Duration::from_secs(5)), "LONG ended");
    assert_eq!(long_finishes(&store).await, [(1, Outcome::Succeeded)]);
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "1\n",
        "LONG's command ran once"
    );
}

/// A job that finishes while no orchestrator runs: its supervisor recorded how it ended, and
/// the restarted orchestrator reports that instead of running it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_ends_while_no_orchestrator_runs_is_not_rerun() {
    let dir = temp_dir("orphan-ended");
    let (file, marker) = orphan_cycle(&dir, "sleep 1; exit 0");
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let store = Store::connect(db).await.expect("store");
    let pgid = kill_while_long_runs(&file, db, &dir, &store).await;
    assert!(
        group_is_gone(pgid, Duration::from_secs(10)),
        "LONG ended on its own"
    );

    let status = start(&file, db, &dir).wait().expect("second run");
    let output = std::fs::read_to_string(dir.join("warden.out")).unwrap_or_default();
    assert!(status.success(), "{output}");
    assert!(output.contains("adopted the result"), "{output}");
    assert_eq!(long_finishes(&store).await, [(1, Outcome::Succeeded)]);
    assert_eq!(std::fs::read_to_string(&marker).expect("marker"), "1\n");
}

/// When the supervisor died too (only the command's shell is left), nothing can say how the
/// attempt ends: the restarted orchestrator kills what is left of the group, reports the
/// attempt lost at once, and runs the job again (`on_lost: rerun`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_supervisor_died_too_is_killed_and_rerun() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let dir = temp_dir("orphan-lost");
    let (file, marker) = orphan_cycle(&dir, r#"if [ "$WARDEN_ATTEMPT" = 1 ]; then sleep 60; fi"#);
    let db = dir.join("warden.db");
    let db = db.to_str().expect("utf-8");
    let store = Store::connect(db).await.expect("store");
    let pgid = kill_while_long_runs(&file, db, &dir, &store).await;
    // The supervisor leads its group: its pid is the group's id.
    kill(Pid::from_raw(pgid), Signal::SIGKILL).expect("the supervisor killed");
    std::thread::sleep(Duration::from_millis(100));

    let status = start(&file, db, &dir).wait().expect("second run");
    let output = std::fs::read_to_string(dir.join("warden.out")).unwrap_or_default();
    assert!(status.success(), "{output}");
    assert!(
        group_is_gone(pgid, Duration::from_secs(5)),
        "the restarted orchestrator killed the orphaned group"
    );
    assert!(
        output.contains("killed jobs a dead orchestrator left running"),
        "{output}"
    );
    assert_eq!(
        long_finishes(&store).await,
        [(1, Outcome::Lost), (2, Outcome::Succeeded)]
    );
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "1\n2\n",
        "attempt 2 ran once, after attempt 1 was killed"
    );
}

/// Whether no live process (zombies awaiting their reaper do not count) is left in process
/// group `pgid`, waiting up to `patience` for it.
fn group_is_gone(pgid: i32, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        let alive = std::fs::read_dir("/proc")
            .expect("/proc")
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
            .any(|stat| {
                // pid (comm) state ppid pgrp ...: fields after the last ')'.
                let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                let fields: Vec<&str> = rest.split_whitespace().collect();
                fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
            });
        if !alive {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
