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
    let plan = common::plan_from_yaml("watch-test.yaml", WORKFLOW);
    let store = common::sqlite_store(&dir).await;
    let db = dir.join("warden.db");
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

    // The ladder's decisions, in order: warning on (told, or recorded silently when the
    // same look already projects the miss: one notice per look, the most severe), projected
    // to miss, breached while running, then breached with the actual finish; `roomy` met.
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
    let warning_on = t
        .iter()
        .position(|k| k == "notify:warning" || k == "activated:warning")
        .unwrap_or_else(|| panic!("the warning step never switched on: {t:?}"));
    assert!(warning_on < first("notify:breach_projected"), "{t:?}");
    let mut looks: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for e in events.iter().filter(|e| e.kind == "notify") {
        *looks.entry((e.deadline_id.as_str(), e.at)).or_default() += 1;
    }
    assert!(
        looks.values().all(|n| *n == 1),
        "one notice per deadline per look: {looks:?}"
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

    // Every notice became one alert in the outbox, under the ladder's key, with the view
    // the templates render: the deadline, the level, the chain that causes it.
    let alerts = store.run_alerts(run_id).await.expect("alerts");
    let mut alert_keys: Vec<&str> = alerts.iter().map(|a| a.idempotency_key.as_str()).collect();
    alert_keys.sort_unstable();
    let mut keys = notice_keys.clone();
    keys.sort_unstable();
    assert_eq!(alert_keys, keys);
    let projected = alerts
        .iter()
        .find(|a| a.level == "breach_projected")
        .expect("a breach-projected alert");
    assert_eq!(projected.template.as_deref(), Some("regulatory-notice"));
    assert_eq!(projected.roles, ["on-call", "compliance"]);
    assert_eq!(projected.view["deadline"]["id"], "tight");
    assert_eq!(projected.view["chain"][0]["job"], "SLOW");
    assert!(
        projected.view["margin_minutes"]
            .as_i64()
            .is_some_and(|m| m < 0)
    );
    assert!(projected.view["p_miss"].as_f64().is_some());

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

/// One job planned at 10 minutes; a deadline six hours out whose first step is on while
/// the job is projected to finish after 00:30.
const ACK_WORKFLOW: &str = r#"
cycle: ack-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
roles:
  - { id: on-call }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: SLOW, builtin: sleep, estimate: 10m }
deadlines:
  - id: close
    at: "n window-closes"
    covers: [SLOW]
    kind: window
    escalation:
      - { margin_below: 5h30m, notify: [on-call], template: oncall-page }
"#;

/// Steps a watcher until a projection it started is stored (it computes on a blocking
/// thread), returning the notices of that projection.
async fn project_now(
    w: &mut warden::engine::watch::Watcher,
    store: &Store,
    run: i64,
    machine: &warden_core::sched::Machine,
    timeline: &warden_core::sched::Timeline,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<warden::engine::watch::Notice> {
    w.changed();
    let before = store.load_projections(run).await.expect("load").len();
    for _ in 0..500 {
        let notices = w.tick(store, machine, timeline, now).await.expect("tick");
        if store.load_projections(run).await.expect("load").len() > before {
            return notices;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("no projection was stored");
}

fn renotified(notices: &[warden::engine::watch::Notice]) -> bool {
    notices.iter().any(|n| {
        matches!(
            &n.decision,
            warden_deadlines::escalation::Decision::Notify {
                step: 0,
                notice: 2,
                ..
            }
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_escalation_stops_renotifying_and_is_audited() {
    let dir = common::temp_dir("watch-ack");
    let plan = common::plan_from_yaml("ack-test.yaml", ACK_WORKFLOW);
    let store = common::sqlite_store(&dir).await;
    let options = WatchOptions {
        samples: 20,
        min_interval: std::time::Duration::ZERO,
        ..WatchOptions::default()
    };
    // SLOW has run 45 of its 10 planned minutes (it really takes three hours).
    let now = plan.start + TimeDelta::minutes(45);
    let later = now + TimeDelta::minutes(40);
    let (machine, timeline) =
        warden_core::sched::simulate_until(&plan, now, |_| TimeDelta::hours(3));

    // Two runs in the same state: one acknowledged, one not (the control).
    let mut runs = Vec::new();
    for date in ["2025-03-04", "2025-03-05"] {
        let run = store
            .open_run(
                &NewRun {
                    cycle: "ack-test".into(),
                    business_date: date.into(),
                    workflow_sha256: "v1".into(),
                    mode: "pipelined".into(),
                    options: "{}".into(),
                },
                plan.start,
            )
            .await
            .expect("run");
        let mut watcher =
            warden::engine::watch::Watcher::open(&store, plan.clone(), run.id, options.clone())
                .await
                .expect("watcher");
        let notices = project_now(&mut watcher, &store, run.id, &machine, &timeline, now).await;
        assert_eq!(notices.len(), 1, "{notices:?}");
        runs.push((run.id, watcher));
    }
    let (acked, _) = &runs[0];
    let alerts = store.run_alerts(*acked).await.expect("alerts");
    assert_eq!(alerts.len(), 1);
    store
        .acknowledge(alerts[0].id, "ahmad", Some("DB2 team on it"), now)
        .await
        .expect("ack")
        .expect("known alert");

    // 40 minutes later, past the 30-minute re-notify interval, the step is still on: the
    // control re-notifies, the acknowledged run does not.
    let (control, mut control_watcher) = runs.pop().expect("control");
    let (acked, mut acked_watcher) = runs.pop().expect("acked");
    let n = project_now(
        &mut control_watcher,
        &store,
        control,
        &machine,
        &timeline,
        later,
    )
    .await;
    assert!(renotified(&n), "the control re-notifies: {n:?}");
    let n = project_now(
        &mut acked_watcher,
        &store,
        acked,
        &machine,
        &timeline,
        later,
    )
    .await;
    assert!(!renotified(&n), "acknowledged: quiet: {n:?}");
    let events = store.load_deadline_events(acked).await.expect("events");
    let ack = events
        .iter()
        .find(|e| e.kind == "acknowledged")
        .expect("audited");
    assert_eq!(ack.actor, "ahmad");
    // A restarted watcher remembers it.
    let mut again = warden::engine::watch::Watcher::open(&store, plan.clone(), acked, options)
        .await
        .expect("watcher");
    let n = project_now(
        &mut again,
        &store,
        acked,
        &machine,
        &timeline,
        later + TimeDelta::minutes(35),
    )
    .await;
    assert!(!renotified(&n), "{n:?}");
    assert_eq!(store.run_alerts(acked).await.expect("alerts").len(), 1);
}

/// One job planned at seven hours in a six-hour window: projected to miss from the first
/// look, when the warning step's condition holds too.
const INCIDENT_WORKFLOW: &str = r#"
cycle: incident-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
roles:
  - { id: on-call }
  - { id: compliance }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: LONG, builtin: sleep, estimate: 7h }
deadlines:
  - id: close
    at: "n window-closes"
    covers: [LONG]
    kind: window
    escalation:
      - { margin_below: 5h, notify: [on-call], renotify: 20m }
      - { projected_miss: true, notify: [on-call, compliance], renotify: 45m }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_look_tells_one_level_and_a_restarted_watcher_keeps_the_milder_step_quiet() {
    use warden_deadlines::escalation::{Decision, Level};
    let dir = common::temp_dir("watch-incident");
    let plan = common::plan_from_yaml("incident-test.yaml", INCIDENT_WORKFLOW);
    let store = common::sqlite_store(&dir).await;
    let options = WatchOptions {
        samples: 0,
        min_interval: std::time::Duration::ZERO,
        ..WatchOptions::default()
    };
    let now = plan.start + TimeDelta::minutes(10);
    let (machine, timeline) =
        warden_core::sched::simulate_until(&plan, now, |_| TimeDelta::hours(7));
    let run = store
        .open_run(
            &NewRun {
                cycle: "incident-test".into(),
                business_date: "2025-03-04".into(),
                workflow_sha256: "v1".into(),
                mode: "pipelined".into(),
                options: "{}".into(),
            },
            plan.start,
        )
        .await
        .expect("run")
        .id;
    let told = |notices: &[warden::engine::watch::Notice]| -> Vec<(usize, u32, Level)> {
        notices
            .iter()
            .filter_map(|n| match &n.decision {
                Decision::Notify {
                    step,
                    notice,
                    level,
                    ..
                } => Some((*step, *notice, *level)),
                _ => None,
            })
            .collect()
    };
    let mut watcher =
        warden::engine::watch::Watcher::open(&store, plan.clone(), run, options.clone())
            .await
            .expect("watcher");
    let n = project_now(&mut watcher, &store, run, &machine, &timeline, now).await;
    assert_eq!(told(&n), [(1, 1, Level::BreachProjected)], "{n:?}");
    let alerts = store.run_alerts(run).await.expect("alerts");
    assert_eq!(
        alerts.iter().map(|a| a.level.as_str()).collect::<Vec<_>>(),
        ["breach_projected"]
    );
    // The warning step is stored as on, without a notice of its own.
    let events = store.load_deadline_events(run).await.expect("events");
    let activated = events
        .iter()
        .find(|e| e.kind == "activated")
        .expect("the warning step's activation is stored");
    assert_eq!(activated.level.as_deref(), Some("warning"));
    assert_eq!(activated.notice_key, None);

    // A restarted watcher (restored from the stored decisions): 25 minutes later the warning
    // step's own 20 minutes have passed, but it is not the top step; the projected miss
    // waits for its 45.
    drop(watcher);
    let mut again =
        warden::engine::watch::Watcher::open(&store, plan.clone(), run, options.clone())
            .await
            .expect("watcher");
    assert_eq!(again.level(0), Level::BreachProjected);
    let n = project_now(
        &mut again,
        &store,
        run,
        &machine,
        &timeline,
        now + TimeDelta::minutes(25),
    )
    .await;
    assert_eq!(told(&n), [], "{n:?}");
    let n = project_now(
        &mut again,
        &store,
        run,
        &machine,
        &timeline,
        now + TimeDelta::minutes(45),
    )
    .await;
    assert_eq!(told(&n), [(1, 2, Level::BreachProjected)], "{n:?}");

    // Acknowledging the breach-projected alert quiets the incident, the warning step with it.
    let bp = store.run_alerts(run).await.expect("alerts")[0].id;
    store
        .acknowledge(bp, "dokoye", None, now + TimeDelta::minutes(50))
        .await
        .expect("ack")
        .expect("exists");
    let n = project_now(
        &mut again,
        &store,
        run,
        &machine,
        &timeline,
        now + TimeDelta::minutes(120),
    )
    .await;
    assert_eq!(told(&n), [], "{n:?}");
    let ack = store
        .load_deadline_events(run)
        .await
        .expect("events")
        .into_iter()
        .find(|e| e.kind == "acknowledged")
        .expect("audited");
    let payload: serde_json::Value = serde_json::from_str(&ack.payload).expect("json");
    assert_eq!(payload["also"], serde_json::json!([0]), "{payload}");
    assert_eq!(store.run_alerts(run).await.expect("alerts").len(), 2);
}
