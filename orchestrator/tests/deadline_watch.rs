//! Deadline watching end to end: a cycle run through the real driver, workers and SQLite
//! store on an accelerated clock, with a job that overruns its estimate. The watcher must
//! store the margin's history, escalate, record the breach with the actual lateness, record
//! the other deadline met, and carry a job's reported progress into the store.

mod common;

use std::sync::Arc;

use chrono::TimeDelta;
use warden::engine::clocks::AcceleratedClock;
use warden::engine::run::{RunEnd, RunOptions, run_cycle};
use warden::engine::watch::WatchOptions;
use warden_core::clock::Clock;
use warden_core::diagnostics::render_text;
use warden_core::plan::PlanOptions;
use warden_core::workflow::compile_str;
use warden_store::{NewRun, Store};

/// An hour of cycle time per real second.
const SPEED: f64 = 3600.0;

const WORKFLOW: &str = r#"
cycle: watch-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
roles:
  - { id: on-call }
  - { id: compliance }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: QUICK, builtin: sleep, estimate: 5m }
  # Planned at 10 minutes; really 1.6 s = 96 minutes of cycle time, reporting progress.
  - id: SLOW
    run: 'echo "10 100" > "$WARDEN_PROGRESS_FILE"; sleep 0.8; echo "55 100" > "$WARDEN_PROGRESS_FILE"; sleep 0.8'
    estimate: 10m
deadlines:
  - id: tight
    at: "n 23:00"
    covers: [SLOW]
    kind: regulatory
    escalation:
      - { margin_below: 30m, notify: [on-call], template: oncall-page }
      - { projected_miss: true, notify: [on-call, compliance], template: regulatory-notice }
  - id: roomy
    at: "n window-closes"
    covers: [QUICK]
    kind: window
    escalation:
      - { projected_miss: true, notify: [on-call], template: oncall-page }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overrunning_job_is_escalated_breached_and_settled_with_its_lateness() {
    let dir = common::temp_dir("watch");
    let (sources, c) = compile_str("watch-test.yaml", WORKFLOW);
    let w = c
        .workflow
        .unwrap_or_else(|| panic!("{}", render_text(&sources, &c.diagnostics)));
    let plan = Arc::new(
        w.instantiate("2025-03-04".parse().expect("date"), &PlanOptions::default())
            .expect("plans"),
    );
    let db = dir.join("warden.db");
    let store = Store::connect(db.to_str().expect("utf-8"))
        .await
        .expect("store");
    let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(plan.start, SPEED));
    let mut options = RunOptions::new(dir.join("data"));
    options.watch = Some(WatchOptions {
        samples: 50,
        min_interval: std::time::Duration::from_millis(50),
        every: TimeDelta::minutes(2),
        ..WatchOptions::default()
    });
    let new = NewRun {
        cycle: "watch-test".into(),
        business_date: "2025-03-04".into(),
        workflow_sha256: "v1".into(),
        mode: "pipelined".into(),
        options: "{}".into(),
    };
    let end = run_cycle(store.clone(), plan.clone(), &new, clock, &options)
        .await
        .expect("runs");
    let RunEnd::Complete { run_id } = end else {
        panic!("did not complete: {end:?}")
    };

    // The margin's history: several projections of `tight`, getting worse, ending settled.
    let projections = store.load_projections(run_id).await.expect("projections");
    let tight: Vec<_> = projections
        .iter()
        .filter(|p| p.deadline_id == "tight")
        .collect();
    assert!(tight.len() >= 3, "{} projections of tight", tight.len());
    // First: about the plan's 50 minutes (a queued job is projected to take its whole
    // estimate from the moment of the projection, a little after the window opens).
    assert!(
        (45 * 60..=50 * 60).contains(&tight[0].margin_seconds),
        "{:?}",
        tight[0]
    );
    assert!(
        tight.iter().any(|p| p.level == "breach_projected"),
        "{tight:#?}"
    );
    let last = tight.last().expect("some");
    assert!(last.settled, "the final projection is settled: {last:?}");
    assert_eq!(last.level, "breached");
    let lateness = -last.margin_seconds / 60;
    assert!(
        (20..=70).contains(&lateness),
        "about 36 minutes late (96 − 60), measured {lateness}"
    );
    assert!(tight.iter().all(|p| p.samples == 50 || p.settled));

    // The ladder's decisions, in order: warned, projected to miss, breached while running,
    // then breached with the actual finish; `roomy` met.
    let events = store.load_deadline_events(run_id).await.expect("events");
    let of = |id: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.deadline_id == id)
            .map(|e| format!("{}:{}", e.kind, e.level.as_deref().unwrap_or("")))
            .collect()
    };
    let t = of("tight");
    let first = |what: &str| {
        t.iter()
            .position(|k| k == what)
            .unwrap_or_else(|| panic!("{what} not in {t:?}"))
    };
    assert!(
        first("notify:warning") < first("notify:breach_projected"),
        "{t:?}"
    );
    assert!(
        first("notify:breach_projected") < first("breached:breached"),
        "{t:?}"
    );
    let breaches: Vec<serde_json::Value> = events
        .iter()
        .filter(|e| e.deadline_id == "tight" && e.kind == "breached")
        .map(|e| serde_json::from_str(&e.payload).expect("json"))
        .collect();
    assert_eq!(breaches.len(), 2, "{breaches:?}");
    assert!(
        breaches[0]["finish"].is_null(),
        "first while work is outstanding"
    );
    assert!(
        breaches[1]["finish"].is_string(),
        "then with the actual finish"
    );
    let notice_keys: Vec<&str> = events
        .iter()
        .filter_map(|e| e.notice_key.as_deref())
        .collect();
    let unique: std::collections::HashSet<&&str> = notice_keys.iter().collect();
    assert_eq!(unique.len(), notice_keys.len(), "each notice once");
    assert_eq!(of("roomy").first().map(String::as_str), Some("met:ok"));

    // The job's progress went from its file through the worker's heartbeat into the store.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open");
    let (done, total): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT progress_done, progress_total FROM queue WHERE job_id = 'SLOW'")
            .fetch_one(&pool)
            .await
            .expect("queue row");
    assert_eq!(total, Some(100));
    assert!(matches!(done, Some(10 | 55)), "{done:?}");
}
