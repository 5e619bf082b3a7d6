//! Running cycles end to end through the real driver, workers and SQLite store, on an
//! accelerated clock (an hour of cycle time per real second).

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use warden::engine::clocks::AcceleratedClock;
use warden::engine::run::{RunEnd, RunOptions, resume_time, run_cycle};

use common::temp_dir;
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::{Command, Event, Outcome};
use warden_store::{NewRun, Store, StoredEvent};

const SPEED: f64 = 3600.0;

fn plan(jobs: &str) -> Arc<Plan> {
    let text = format!(
        r#"
cycle: engine-test
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
resources:
  - {{ id: tables }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
jobs:
{jobs}
"#
    );
    common::plan_from_yaml("engine-test.yaml", &text)
}

fn new_run(text_sha: &str) -> NewRun {
    NewRun {
        cycle: "engine-test".into(),
        business_date: "2025-03-04".into(),
        workflow_sha256: text_sha.into(),
        mode: "pipelined".into(),
        options: "{}".into(),
    }
}

/// Per job: the outcomes of its finished attempts, in log order.
fn finishes(plan: &Plan, events: &[StoredEvent]) -> HashMap<String, Vec<(u32, Outcome)>> {
    let mut out: HashMap<String, Vec<(u32, Outcome)>> = HashMap::new();
    for e in events {
        if let Some(Event::Finished {
            job,
            attempt,
            outcome,
        }) = e.event
        {
            out.entry(plan.jobs[job].id.clone())
                .or_default()
                .push((attempt, outcome));
        }
    }
    out
}

async fn run(store: &Store, plan: &Arc<Plan>, data: &Path) -> RunEnd {
    let resumed = resume_time(store, &new_run("v1")).await.expect("store");
    let origin = resumed.map_or(plan.start, |t| t.max(plan.start));
    let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(origin, SPEED));
    let options = RunOptions::new(data.to_path_buf());
    run_cycle(store.clone(), plan.clone(), &new_run("v1"), clock, &options)
        .await
        .expect("runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_jobs_run_with_context_and_a_failure_is_retried() {
    let dir = temp_dir("shell");
    let mark = dir.join("failed-once");
    let jobs = format!(
        r#"  - {{ id: CONTEXT, run: 'echo "$WARDEN_JOB $WARDEN_ATTEMPT $WARDEN_DATE" > context.txt', estimate: 1m }}
  - {{ id: FLAKY, after: [CONTEXT], run: 'test -f {mark} || {{ touch {mark}; exit 3; }}', retries: 1, retry_backoff: 1m, estimate: 1m }}
  - {{ id: LAST, after: [FLAKY], builtin: sleep, estimate: 10m }}"#,
        mark = mark.display()
    );
    let p = plan(&jobs);
    let store = common::sqlite_store(&dir).await;
    let end = run(&store, &p, &dir.join("data")).await;
    let RunEnd::Complete { run_id } = end else {
        panic!("did not complete: {end:?}")
    };
    let events = store.load_events(run_id).await.expect("events");
    let f = finishes(&p, &events);
    assert_eq!(f["CONTEXT"], [(1, Outcome::Succeeded)]);
    assert_eq!(
        f["FLAKY"],
        [
            (1, Outcome::Failed { exit_code: Some(3) }),
            (2, Outcome::Succeeded)
        ]
    );
    assert_eq!(f["LAST"], [(1, Outcome::Succeeded)]);
    let context =
        std::fs::read_to_string(dir.join(format!("data/runs/{run_id}/work/CONTEXT/context.txt")))
            .expect("the job wrote in its work directory");
    assert_eq!(context.trim(), "CONTEXT 1 2025-03-04");
    // Running the same command again resumes the completed run: nothing runs twice.
    let again = run(&store, &p, &dir.join("data")).await;
    assert_eq!(again, RunEnd::Complete { run_id });
    assert_eq!(
        store.load_events(run_id).await.expect("events").len(),
        events.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_leaves_the_run_stuck_for_an_operator() {
    let dir = temp_dir("stuck");
    let p = plan(
        "  - { id: BAD, run: 'exit 7', estimate: 1m }\n  - { id: AFTER, after: [BAD], builtin: sleep, estimate: 1m }",
    );
    let store = common::sqlite_store(&dir).await;
    let end = run(&store, &p, &dir.join("data")).await;
    let RunEnd::Stuck { run_id, failed } = end else {
        panic!("not stuck: {end:?}")
    };
    assert_eq!(failed, ["BAD"]);
    // With no orchestrator running, an operator skips the failed job; the command waits in
    // the store and is applied, once, when the run resumes.
    let bad = p.job_index("BAD").expect("exists") as i64;
    store
        .submit_command(
            run_id,
            bad,
            Command::Skip,
            "diane",
            Some("rerun by hand from the 02:30 checkpoint"),
            p.start,
        )
        .await
        .expect("submitted");
    assert_eq!(
        run(&store, &p, &dir.join("data")).await,
        RunEnd::Complete { run_id }
    );
    let events = store.load_events(run_id).await.expect("events");
    let skip = events
        .iter()
        .find(|e| e.kind == "operator")
        .expect("the command is in the audit log");
    assert_eq!(skip.actor, "diane");
    assert_eq!(
        skip.reason.as_deref(),
        Some("rerun by hand from the 02:30 checkpoint")
    );
    assert_eq!(
        skip.event,
        Some(Event::Operator {
            job: bad as usize,
            command: Command::Skip
        })
    );
    let f = finishes(&p, &events);
    assert_eq!(f["AFTER"], [(1, Outcome::Succeeded)]);
}

/// Kills the whole orchestrator (its runtime, driver and workers) at several points of a
/// running cycle and restarts it: the cycle completes, and every job's success is recorded
/// exactly once.
#[test]
fn a_crashed_orchestrator_resumes_without_repeating_completed_jobs() {
    let dir = temp_dir("crash");
    let jobs: String = (0..8)
        .map(|i| {
            let after = if i == 0 {
                String::new()
            } else {
                format!(", after: [J{}]", i - 1)
            };
            format!("  - {{ id: J{i}, builtin: sleep, estimate: 5m{after} }}\n")
        })
        .collect();
    let p = plan(&jobs);
    let db = dir.join("warden.db");
    for crash_after_ms in [120u64, 250, 90] {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (store, p2, data) = (db.clone(), p.clone(), dir.join("data"));
        runtime.block_on(async move {
            let store = Store::connect(store.to_str().expect("utf-8"))
                .await
                .expect("store");
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(crash_after_ms),
                run(&store, &p2, &data),
            )
            .await;
        });
        // Dropping the runtime kills the driver and every worker mid-step: a crash.
        runtime.shutdown_background();
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Store::connect(db.to_str().expect("utf-8"))
            .await
            .expect("store");
        let end = run(&store, &p, &dir.join("data")).await;
        let RunEnd::Complete { run_id } = end else {
            panic!("did not complete: {end:?}")
        };
        let f = finishes(&p, &store.load_events(run_id).await.expect("events"));
        for job in &p.jobs {
            let successes = f[&job.id]
                .iter()
                .filter(|(_, o)| *o == Outcome::Succeeded)
                .count();
            assert_eq!(successes, 1, "{}: {:?}", job.id, f[&job.id]);
            // Anything else recorded is an attempt lost in a crash, never a failure.
            assert!(
                f[&job.id]
                    .iter()
                    .all(|(_, o)| matches!(o, Outcome::Succeeded | Outcome::Lost))
            );
        }
    });
}

/// A timed-out shell job is killed as a whole process group (the shell and what it
/// started), reported timed out, and its retry runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_whole_process_group() {
    let dir = temp_dir("timeout");
    let pids = dir.join("pids");
    let jobs = format!(
        r#"  - {{ id: HANGS, run: 'if [ "$WARDEN_ATTEMPT" = 1 ]; then sleep 60 & echo $! >> {pids}; echo $$ >> {pids}; wait; fi', estimate: 1s, timeout: 2s, retries: 1, retry_backoff: 1m }}"#,
        pids = pids.display()
    );
    let p = plan(&jobs);
    let store = common::sqlite_store(&dir).await;
    let started = std::time::Instant::now();
    let end = run(&store, &p, &dir.join("data")).await;
    let RunEnd::Complete { run_id } = end else {
        panic!("did not complete: {end:?}")
    };
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the hung attempt was not left to run its 60 s"
    );
    let f = finishes(&p, &store.load_events(run_id).await.expect("events"));
    assert_eq!(
        f["HANGS"],
        [(1, Outcome::TimedOut), (2, Outcome::Succeeded)]
    );
    // Both the shell and its background child are gone (a zombie awaiting its reaper is
    // dead too).
    let text = std::fs::read_to_string(&pids).expect("pids");
    let listed: Vec<i32> = text.lines().map(|l| l.parse().expect("pid")).collect();
    assert_eq!(listed.len(), 2);
    for pid in listed {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim().chars().next()))
            .flatten();
        assert!(matches!(state, None | Some('Z')), "{pid} still runs");
    }
    let attempts = store.load_attempts(run_id).await.expect("attempts");
    assert_eq!(attempts[0].outcome.as_deref(), Some("timed_out"));
    // Its log says on which clock the timeout was counted.
    let log = std::fs::read_to_string(
        dir.join("data")
            .join(format!("runs/{run_id}/logs/HANGS.1.log")),
    )
    .expect("log");
    assert!(
        log.contains("warden: attempt 1: killed at its timeout of 2s, counted in real time because the job does real work"),
        "{log}"
    );
}

/// On an accelerated clock real work is timed in real time and simulated work on the run's
/// clock: a shell job that really runs 1 s (an hour of this clock) is within its 5-minute
/// timeout, a simulated job whose 10 hours pass its 5-minute timeout is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_work_is_timed_in_real_time_on_an_accelerated_clock() {
    let dir = temp_dir("real-timeout");
    let p = plan(
        "  - { id: REAL, run: 'sleep 1', estimate: 1m, timeout: 5m }\n  - { id: SIMULATED, after: [REAL], builtin: sleep, estimate: 10h, timeout: 5m }",
    );
    let store = common::sqlite_store(&dir).await;
    let end = run(&store, &p, &dir.join("data")).await;
    let RunEnd::Stuck { run_id, failed } = end else {
        panic!("not stuck: {end:?}")
    };
    assert_eq!(failed, ["SIMULATED"]);
    let f = finishes(&p, &store.load_events(run_id).await.expect("events"));
    assert_eq!(f["REAL"], [(1, Outcome::Succeeded)]);
    assert_eq!(f["SIMULATED"], [(1, Outcome::TimedOut)]);
    let log = std::fs::read_to_string(
        dir.join("data")
            .join(format!("runs/{run_id}/logs/SIMULATED.1.log")),
    )
    .expect("log");
    assert!(
        log.contains(
            "killed at its timeout of 5m, counted on the run's clock because the job is simulated"
        ),
        "{log}"
    );
    // Killed at its timeout, not at the next heartbeat (a third of a lease: 20 minutes of
    // this clock).
    let ran = log
        .split("it ran ")
        .nth(1)
        .and_then(|rest| rest.split(" on the run's clock").next())
        .unwrap_or_default();
    let minutes: i64 = ran
        .split_once('m')
        .and_then(|(m, _)| m.parse().ok())
        .unwrap_or(i64::MAX);
    // 5 minutes are 83 ms of real time here; a loaded machine may wake the worker a few
    // tens of milliseconds late, a heartbeat would be 333 ms.
    assert!((4..15).contains(&minutes), "ran {ran:?}: {log}");
}

/// Never two holders of an exclusive resource, never more holders of a counted one than
/// its capacity: asserted from the intervals the attempts really ran, not from the plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_hold_in_the_recorded_intervals() {
    let dir = temp_dir("resources");
    let text = r#"
cycle: resource-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
resources:
  - { id: provider-tables }
  - { id: db-threads, capacity: 2 }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: X1, run: 'sleep 0.1', estimate: 1m, uses: [provider-tables] }
  - { id: X2, run: 'sleep 0.1', estimate: 1m, uses: [provider-tables] }
  - { id: X3, run: 'sleep 0.1', estimate: 1m, uses: [provider-tables] }
  - { id: C1, run: 'sleep 0.1', estimate: 1m, uses: [db-threads] }
  - { id: C2, run: 'sleep 0.1', estimate: 1m, uses: [db-threads] }
  - { id: C3, run: 'sleep 0.1', estimate: 1m, uses: [db-threads] }
  - { id: C4, run: 'sleep 0.1', estimate: 1m, uses: [db-threads] }
  - { id: C5, run: 'sleep 0.1', estimate: 1m, uses: [db-threads] }
"#;
    let p = common::plan_from_yaml("resource-test.yaml", text);
    let store = common::sqlite_store(&dir).await;
    let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(p.start, SPEED));
    let new = NewRun {
        cycle: "resource-test".into(),
        ..new_run("v1")
    };
    let end = run_cycle(
        store.clone(),
        p.clone(),
        &new,
        clock,
        &RunOptions::new(dir.join("data")),
    )
    .await
    .expect("runs");
    let RunEnd::Complete { run_id } = end else {
        panic!("did not complete: {end:?}")
    };
    let attempts = store.load_attempts(run_id).await.expect("attempts");
    assert_eq!(attempts.len(), 8);
    let interval =
        |prefix: &str| -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
            attempts
                .iter()
                .filter(|a| p.jobs[a.job_idx as usize].id.starts_with(prefix))
                .map(|a| (a.started_at, a.finished_at.expect("finished")))
                .collect()
        };
    let most_at_once =
        |spans: &[(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)]| {
            spans
                .iter()
                .map(|(start, _)| {
                    spans
                        .iter()
                        .filter(|(s, e)| s <= start && start < e)
                        .count()
                })
                .max()
                .unwrap_or(0)
        };
    assert_eq!(most_at_once(&interval("X")), 1, "exclusive: one holder");
    assert_eq!(
        most_at_once(&interval("C")),
        2,
        "counted: at most its capacity, and used"
    );
    // Each success is in the history with the time it took on the run's clock.
    let history = store.load_history("resource-test").await.expect("history");
    assert_eq!(history.len(), 8);
    assert!(
        history
            .iter()
            .all(|h| h.seconds > 0.0 && h.business_date == "2025-03-04")
    );
}
