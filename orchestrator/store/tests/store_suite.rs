//! One test suite, run on both backends: SQLite in a temporary file and PostgreSQL in a
//! private schema per test. PostgreSQL comes from `WARDEN_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); where none answers the PostgreSQL tests are
//! skipped with a printed reason, except under `CI=true`, where they must run.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use warden_core::sched::{Command, Event, KillReason, Outcome};
use warden_store::{
    AccumulatorPost, AccumulatorTotals, Claim, DeadlineEventRow, Enqueue, ExceptionCount,
    ExceptionRow, LoggedEvent, NewRun, ProgressRow, ProjectionRow, Report, Step, Store, StoreError,
    UiAuditRow,
};

// Unique names and a PostgreSQL schema per test, as the orchestrator's tests make them.
#[path = "../../tests/common/shared.rs"]
mod shared;
use shared::{drop_schema, postgres_base_url, postgres_schema_url, unique};
#[path = "store_suite/alerts_cases.rs"]
mod alerts_cases;
use alerts_cases::*;
#[path = "store_suite/impact_cases.rs"]
mod impact_cases;
use impact_cases::*;
#[path = "store_suite/routing_cases.rs"]
mod routing_cases;
use routing_cases::*;

async fn sqlite() -> Option<(Store, Option<String>)> {
    let dir = std::env::temp_dir().join(unique("warden_store_test"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("warden.db");
    let store = Store::connect(path.to_str().expect("utf-8 path"))
        .await
        .expect("sqlite store");
    Some((store, None))
}

async fn postgres() -> Option<(Store, Option<String>)> {
    let (url, schema) = postgres_schema_url().await?;
    let store = Store::connect(&url).await.expect("postgres store");
    Some((store, Some(schema)))
}

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 1, 0, 0)
        .single()
        .expect("valid")
        + TimeDelta::minutes(minutes)
}

fn new_run(cycle: &str) -> NewRun {
    NewRun {
        cycle: cycle.to_string(),
        business_date: "2025-02".into(),
        workflow_sha256: "abc".into(),
        mode: "pipelined".into(),
        options: "{\"volumes\":[]}".into(),
    }
}

fn dispatch(job: i64, attempt: i64, priority: i64) -> Enqueue {
    Enqueue {
        job_idx: job,
        attempt,
        job_id: format!("JOB-{job}"),
        priority,
        needs: Vec::new(),
    }
}

async fn run_with_queue(store: &Store, jobs: &[Enqueue]) -> i64 {
    let run = store
        .open_run(&new_run(&unique("cycle")), t(0))
        .await
        .expect("open");
    let step = Step {
        at: t(0),
        events: vec![LoggedEvent {
            event: None,
            actor: "orchestrator".into(),
            reason: None,
        }],
        dispatch: jobs.to_vec(),
        ..Step::default()
    };
    store
        .commit_step(run.id, &step, t(0))
        .await
        .expect("commit");
    run.id
}

async fn opening_twice_finds_the_same_run(store: Store) {
    let first = store
        .open_run(&new_run("month-end"), t(0))
        .await
        .expect("open");
    let again = store
        .open_run(&new_run("month-end"), t(5))
        .await
        .expect("reopen");
    assert_eq!(
        first, again,
        "re-running the same command resumes the same run"
    );
    assert_eq!(again.created_at, t(0));
    let other = store
        .open_run(
            &NewRun {
                business_date: "2025-03".into(),
                ..new_run("month-end")
            },
            t(0),
        )
        .await
        .expect("open");
    assert_ne!(other.id, first.id);
}

async fn steps_are_logged_in_order_with_actor_and_reason(store: Store) {
    let run = store
        .open_run(&new_run(&unique("c")), t(0))
        .await
        .expect("open");
    let finished = Event::Finished {
        job: 3,
        attempt: 1,
        outcome: Outcome::Failed { exit_code: Some(2) },
    };
    let operator = Event::Operator {
        job: 3,
        command: Command::Rerun,
    };
    let steps = [
        Step {
            at: t(0),
            events: vec![LoggedEvent {
                event: None,
                actor: "orchestrator".into(),
                reason: None,
            }],
            ..Step::default()
        },
        Step {
            at: t(7),
            events: vec![
                LoggedEvent {
                    event: Some(finished),
                    actor: "worker-1".into(),
                    reason: None,
                },
                LoggedEvent {
                    event: Some(operator),
                    actor: "diane".into(),
                    reason: Some("fixed the audit table".into()),
                },
            ],
            ..Step::default()
        },
    ];
    for s in &steps {
        store.commit_step(run.id, s, s.at).await.expect("commit");
    }
    let events = store.load_events(run.id).await.expect("load");
    let shape: Vec<(i64, i64, &str)> = events
        .iter()
        .map(|e| (e.seq, e.step, e.kind.as_str()))
        .collect();
    assert_eq!(
        shape,
        [(1, 1, "tick"), (2, 2, "finished"), (3, 2, "operator")]
    );
    assert_eq!(events[1].event, Some(finished));
    assert_eq!(events[1].at, t(7));
    assert_eq!((events[1].job_idx, events[1].attempt), (Some(3), Some(1)));
    assert_eq!(events[2].event, Some(operator));
    assert_eq!(events[2].actor, "diane");
    assert_eq!(events[2].reason.as_deref(), Some("fixed the audit table"));
}

async fn claims_follow_priority_and_each_row_goes_to_one_worker(store: Store) {
    run_with_queue(
        &store,
        &[dispatch(0, 1, 0), dispatch(1, 1, 10), dispatch(2, 1, 0)],
    )
    .await;
    let lease = TimeDelta::minutes(1);
    let first = store
        .claim("w1", t(1), lease, None, &[])
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(first.job_idx, 1, "highest priority first");
    let second = store
        .claim("w2", t(1), lease, None, &[])
        .await
        .expect("claim")
        .expect("a job");
    let third = store
        .claim("w1", t(1), lease, None, &[])
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(second.job_idx, 0, "then enqueue order");
    assert_eq!(third.job_idx, 2);
    assert_eq!(
        store
            .claim("w3", t(1), lease, None, &[])
            .await
            .expect("claim"),
        None
    );
    // A worker serving one run only claims that run's rows.
    let other = run_with_queue(&store, &[dispatch(7, 1, 0)]).await;
    assert_eq!(
        store
            .claim("w4", t(1), lease, Some(other + 1000), &[])
            .await
            .expect("claim"),
        None
    );
    let mine = store
        .claim("w4", t(1), lease, Some(other), &[])
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!((mine.run_id, mine.job_idx), (other, 7));
}

/// A job's `runs_on` labels: only a worker carrying all of them claims it; a worker with
/// more labels still takes unlabelled work.
async fn labelled_rows_go_only_to_workers_carrying_their_labels(store: Store) {
    let mut gpu = dispatch(0, 1, 10);
    gpu.needs = vec!["gpu".into()];
    let mut both = dispatch(1, 1, 5);
    both.needs = vec!["bigmem".into(), "gpu".into()];
    run_with_queue(&store, &[gpu, both, dispatch(2, 1, 0)]).await;
    let lease = TimeDelta::minutes(1);
    let none: &[String] = &[];
    let plain = store
        .claim("in-process", t(1), lease, None, none)
        .await
        .expect("claim")
        .expect("the unlabelled job");
    assert_eq!(plain.job_idx, 2);
    assert!(
        !store.has_queued(None, none).await.expect("read"),
        "nothing else for no labels"
    );
    let gpu_only = ["gpu".to_string()];
    assert!(store.has_queued(None, &gpu_only).await.expect("read"));
    let got = store
        .claim("gpu-host", t(1), lease, None, &gpu_only)
        .await
        .expect("claim")
        .expect("the gpu job");
    assert_eq!(got.job_idx, 0);
    assert_eq!(
        store
            .claim("gpu-host", t(1), lease, None, &gpu_only)
            .await
            .expect("claim"),
        None,
        "bigmem is missing"
    );
    let all = [
        "bigmem".to_string(),
        "gpu".to_string(),
        "zone-a".to_string(),
    ];
    let got = store
        .claim("big-host", t(1), lease, None, &all)
        .await
        .expect("claim")
        .expect("the gpu+bigmem job");
    assert_eq!(got.job_idx, 1);
}

/// The fleet's tables: the worker registry, a run's kept sources and published clock, and
/// the schema version a worker compares with its own.
async fn the_worker_registry_sources_and_run_clocks_read_back(store: Store) {
    use warden_store::{RunClock, WorkerInfo, WorkerState};
    let run = run_with_queue(&store, &[]).await;
    let info = WorkerInfo {
        name: "host-a-1-worker".into(),
        host: "host-a".into(),
        pid: 41,
        version: "0.1.0".into(),
    };
    store.register_worker(&info, t(0)).await.expect("register");
    let state = WorkerState::Running {
        run,
        job: "JOB-3".into(),
        attempt: 2,
    };
    store
        .beat_worker(&info.name, t(1), &state, 7)
        .await
        .expect("beat");
    let rows = store.list_workers().await.expect("list");
    assert_eq!(rows.len(), 1);
    let w = &rows[0];
    assert_eq!(
        (
            w.state.as_str(),
            w.run_id,
            w.job_id.as_deref(),
            w.attempt,
            w.jobs_done,
            w.heartbeat_at
        ),
        ("running", Some(run), Some("JOB-3"), Some(2), 7, t(1))
    );
    // A restarted worker of the same name replaces the row.
    let again = WorkerInfo {
        pid: 42,
        ..info.clone()
    };
    store.register_worker(&again, t(2)).await.expect("again");
    let rows = store.list_workers().await.expect("list");
    assert_eq!(
        (
            rows.len(),
            rows[0].pid,
            rows[0].state.as_str(),
            rows[0].jobs_done
        ),
        (1, 42, "idle", 0)
    );

    let files = vec![
        ("cycles/nightly.yaml".to_string(), "cycle: n".to_string()),
        (
            "cycles/calendars/us.yaml".to_string(),
            "holidays: []".to_string(),
        ),
    ];
    store.put_run_sources(run, &files).await.expect("sources");
    // A resumed run keeps the files it was created from.
    store
        .put_run_sources(run, &[("other.yaml".to_string(), "x".to_string())])
        .await
        .expect("again");
    assert_eq!(store.run_sources(run).await.expect("read"), files);
    assert!(store.open_run_clocks().await.expect("clocks").is_empty());
    let clock = RunClock {
        run_id: run,
        origin: t(0),
        wall_start: t(100),
        speed: 60.0,
    };
    store.set_run_clock(&clock).await.expect("clock");
    store
        .set_run_clock(&RunClock {
            speed: 120.0,
            ..clock
        })
        .await
        .expect("republished");
    let clocks = store.open_run_clocks().await.expect("clocks");
    assert_eq!(
        clocks,
        [RunClock {
            speed: 120.0,
            ..clock
        }]
    );
    assert_eq!(
        store.schema_version().await.expect("version"),
        store.built_schema_version()
    );
}

async fn concurrent_claimers_never_share_a_row(store: Store) {
    let jobs: Vec<Enqueue> = (0..60).map(|j| dispatch(j, 1, 0)).collect();
    run_with_queue(&store, &jobs).await;
    let mut handles = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store
                .claim(&format!("w{w}"), t(1), TimeDelta::minutes(5), None, &[])
                .await
                .expect("claim")
            {
                mine.push(c.job_idx);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("task"));
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every row claimed once: {all:?}");
    assert_eq!(distinct.len(), 60);
}

async fn reports_are_fenced_by_attempt_and_worker(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0)]).await;
    let claim = store
        .claim("w1", t(1), TimeDelta::minutes(1), None, &[])
        .await
        .expect("claim")
        .expect("job");
    store
        .report(&claim, "w1", Report::Started, t(1))
        .await
        .expect("started");
    assert_eq!(
        store
            .heartbeat(&claim, "w1", t(1), TimeDelta::minutes(1))
            .await
            .expect("beat"),
        None
    );
    let intruder = store.report(&claim, "w2", Report::Started, t(1)).await;
    assert!(
        matches!(intruder, Err(StoreError::Fenced { .. })),
        "{intruder:?}"
    );
    let stale = Claim {
        attempt: 2,
        ..claim.clone()
    };
    assert!(matches!(
        store
            .heartbeat(&stale, "w1", t(1), TimeDelta::minutes(1))
            .await,
        Err(StoreError::Fenced { .. })
    ));
    store
        .report(&claim, "w1", Report::Finished(Outcome::Succeeded), t(4))
        .await
        .expect("finished");
    // The attempt is done: a duplicate report is refused, so completion is recorded once.
    let again = store
        .report(&claim, "w1", Report::Finished(Outcome::Succeeded), t(5))
        .await;
    assert!(matches!(again, Err(StoreError::Fenced { .. })));
    let inbox = store.inbox(run).await.expect("inbox");
    let reports: Vec<Report> = inbox.iter().map(|i| i.report).collect();
    assert_eq!(
        reports,
        [Report::Started, Report::Finished(Outcome::Succeeded)]
    );
    assert_eq!(
        inbox[1].event(),
        Event::Finished {
            job: 0,
            attempt: 1,
            outcome: Outcome::Succeeded
        }
    );
    // Consuming the inbox in a step deletes exactly those rows.
    let step = Step {
        at: t(5),
        events: inbox
            .iter()
            .map(|i| LoggedEvent {
                event: Some(i.event()),
                actor: i.worker.clone(),
                reason: None,
            })
            .collect(),
        consumed_inbox: inbox.iter().map(|i| i.id).collect(),
        ..Step::default()
    };
    store.commit_step(run, &step, t(5)).await.expect("commit");
    assert!(store.inbox(run).await.expect("inbox").is_empty());
    assert_eq!(store.load_events(run).await.expect("events").len(), 3);
}

async fn expired_leases_are_reported_lost_once(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0)]).await;
    let claim = store
        .claim("w1", t(1), TimeDelta::minutes(1), None, &[])
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(
        store.expire_leases(run, t(1)).await.expect("expire"),
        [],
        "lease still valid"
    );
    let lost = store.expire_leases(run, t(3)).await.expect("expire");
    assert_eq!(lost, [(run, 0, 1)]);
    assert_eq!(
        store.expire_leases(run, t(4)).await.expect("expire"),
        [],
        "reported once"
    );
    let inbox = store.inbox(run).await.expect("inbox");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].report, Report::Finished(Outcome::Lost));
    // The worker that lost its lease can no longer write.
    let late = store
        .report(&claim, "w1", Report::Finished(Outcome::Succeeded), t(5))
        .await;
    assert!(matches!(late, Err(StoreError::Fenced { .. })));
}

/// A claim that committed while its answer was lost: the worker takes back what it holds
/// (with a fresh lease), only it, and only while the attempt is running and not lost.
async fn a_worker_takes_back_a_claim_whose_answer_was_lost(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0), dispatch(1, 1, 0)]).await;
    let lease = TimeDelta::minutes(1);
    assert_eq!(
        store
            .reclaim("w1", t(1), lease, Some(run))
            .await
            .expect("reclaim"),
        None,
        "nothing held yet"
    );
    let claim = store
        .claim("w1", t(1), lease, Some(run), &[])
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(
        store
            .reclaim("w2", t(1), lease, Some(run))
            .await
            .expect("reclaim"),
        None,
        "another worker's attempt is not taken"
    );
    let again = store
        .reclaim("w1", t(2), lease, Some(run))
        .await
        .expect("reclaim")
        .expect("the held attempt");
    assert_eq!(again, claim);
    // Taken back with a fresh lease: not expired at t(2.5), where the first lease would be.
    assert_eq!(
        store
            .expire_leases(run, t(2) + TimeDelta::seconds(30))
            .await
            .expect("expire"),
        []
    );
    store
        .report(&again, "w1", Report::Finished(Outcome::Succeeded), t(2))
        .await
        .expect("finished");
    assert_eq!(
        store
            .reclaim("w1", t(3), lease, Some(run))
            .await
            .expect("reclaim"),
        None,
        "a finished attempt is not held"
    );
    // A lost lease is not taken back: the attempt's fate is the driver's.
    let second = store
        .claim("w1", t(3), lease, Some(run), &[])
        .await
        .expect("claim")
        .expect("job");
    assert_eq!(second.job_idx, 1);
    assert_eq!(
        store.expire_leases(run, t(5)).await.expect("expire"),
        [(run, 1, 1)]
    );
    assert_eq!(
        store
            .reclaim("w1", t(5), lease, Some(run))
            .await
            .expect("reclaim"),
        None
    );
}

fn exception(claim: i64, billed: i64) -> ExceptionRow {
    ExceptionRow {
        claim_id: claim,
        member: 1000 + claim,
        family: 7,
        reasons: "E-PROC-NONSTD".into(),
        billed_cents: billed,
    }
}

/// The exceptions bulk load: a load replaces its source's rows (a rerun leaves one copy),
/// a failed load leaves what was there, sources and runs are kept apart, and batches larger
/// than one statement's are all loaded.
async fn exception_loads_replace_their_source_in_one_transaction(store: Store) {
    let run = run_with_queue(&store, &[]).await;
    let many: Vec<ExceptionRow> = (1..=12_001).map(|c| exception(c, 100)).collect();
    let loaded = store
        .replace_exceptions(
            run,
            "A",
            [Ok(many[..7_000].to_vec()), Ok(many[7_000..].to_vec())],
            t(1),
        )
        .await
        .expect("load");
    assert_eq!(loaded, 12_001);
    let again = store
        .replace_exceptions(
            run,
            "A",
            [Ok(vec![exception(5, 250), exception(9, 50)])],
            t(2),
        )
        .await
        .expect("reload");
    assert_eq!(again, 2);
    store
        .replace_exceptions(run, "B", [Ok(vec![exception(3, 10)])], t(2))
        .await
        .expect("load B");
    let failed = store
        .replace_exceptions(
            run,
            "A",
            [
                Ok(vec![exception(1, 1)]),
                Err("exceptions.csv:4: not pended".to_string()),
            ],
            t(3),
        )
        .await;
    assert!(
        matches!(failed, Err(StoreError::Invalid(ref m)) if m.contains(":4:")),
        "{failed:?}"
    );
    let counts = store.exception_counts(run).await.expect("counts");
    assert_eq!(
        counts,
        [
            ExceptionCount {
                source: "A".into(),
                rows: 2,
                billed_cents: 300
            },
            ExceptionCount {
                source: "B".into(),
                rows: 1,
                billed_cents: 10
            },
        ],
        "the failed load changed nothing"
    );
    assert_eq!(
        store.load_exceptions(run, "A", 10).await.expect("rows"),
        [exception(5, 250), exception(9, 50)]
    );
    assert_eq!(
        store
            .load_exceptions(run, "A", 1)
            .await
            .expect("rows")
            .len(),
        1
    );
    let other = run_with_queue(&store, &[]).await;
    assert!(
        store
            .exception_counts(other)
            .await
            .expect("counts")
            .is_empty()
    );
}

/// Two loads of the same source at once (an attempt declared lost that still writes, and its
/// rerun) both succeed, one after the other: the rows are one copy, never a duplicate-key
/// failure of the second.
async fn concurrent_exception_loads_of_one_source_do_not_collide(store: Store) {
    let run = run_with_queue(&store, &[]).await;
    let rows: Vec<ExceptionRow> = (1..=3_000).map(|c| exception(c, 100)).collect();
    let load = |store: Store, rows: Vec<ExceptionRow>| async move {
        store.replace_exceptions(run, "A", [Ok(rows)], t(1)).await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(load(store.clone(), rows.clone())),
        tokio::spawn(load(store.clone(), rows.clone()))
    );
    assert_eq!(a.expect("joined").expect("first load"), 3_000);
    assert_eq!(b.expect("joined").expect("second load"), 3_000);
    let counts = store.exception_counts(run).await.expect("counts");
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].rows, counts[0].billed_cents), (3_000, 300_000));
}

fn post(member: i64, start: i64, end: i64) -> AccumulatorPost {
    AccumulatorPost {
        member,
        family: member / 10,
        deductible_start: start,
        oop_start: start * 2,
        deductible_end: end,
        oop_end: end * 2,
    }
}

async fn preload_all(store: &Store, run: i64, source: &str) -> Vec<(i64, i64, i64)> {
    let mut all = Vec::new();
    let mut after = -1;
    loop {
        let page = store
            .accumulator_preload(run, source, after, 2)
            .await
            .expect("preload");
        let Some(last) = page.last() else { break };
        after = last.member;
        all.extend(
            page.iter()
                .map(|a| (a.member, a.deductible_cents, a.oop_cents)),
        );
    }
    all
}

/// Two posts of the same run at once (an attempt declared lost that still writes, and its
/// rerun) both succeed, one after the other, and leave one post's values.
async fn concurrent_accumulator_posts_of_one_run_do_not_collide(store: Store) {
    let run = run_with_queue(&store, &[]).await;
    let posts: Vec<AccumulatorPost> = (1..=3_000).map(|m| post(m, 0, 10)).collect();
    let once = |store: Store, posts: Vec<AccumulatorPost>| async move {
        store.post_accumulators(run, "A", [Ok(posts)], t(1)).await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(once(store.clone(), posts.clone())),
        tokio::spawn(once(store.clone(), posts.clone()))
    );
    assert_eq!(a.expect("joined").expect("first post"), 3_000);
    assert_eq!(b.expect("joined").expect("second post"), 3_000);
    let totals = store.accumulator_totals(run, "A").await.expect("totals");
    assert_eq!(
        (totals.rows, totals.deductible_cents, totals.oop_cents),
        (3_000, 30_000, 60_000)
    );
}

/// Accumulators between cycles: a post creates and updates one row per member; repeating a
/// post, or a setup, inside the same run reads and writes the same values; the next run
/// starts from what the last one posted; a post over values another run changed since
/// changes nothing; sources are kept apart; batches larger than one statement all land.
async fn accumulator_posts_are_exactly_once_per_run(store: Store) {
    let first = run_with_queue(&store, &[]).await;
    let many: Vec<AccumulatorPost> = (1..=7_001).map(|m| post(m, 0, 10)).collect();
    let posted = store
        .post_accumulators(
            first,
            "A",
            [Ok(many[..6_000].to_vec()), Ok(many[6_000..].to_vec())],
            t(1),
        )
        .await
        .expect("post");
    assert_eq!(posted, 7_001);
    // The same run posts again (a rerun of its post job) with fewer members: what it posted
    // before is undone first, so member 3 goes and the rest carry this post's values.
    let again = store
        .post_accumulators(first, "A", [Ok(vec![post(1, 0, 25), post(2, 0, 30)])], t(2))
        .await
        .expect("repost");
    assert_eq!(again, 2);
    let totals = store.accumulator_totals(first, "A").await.expect("totals");
    assert_eq!(
        totals,
        AccumulatorTotals {
            rows: 2,
            deductible_cents: 55,
            oop_cents: 110,
            posted_by_run: 2
        }
    );
    // A setup of the first run, repeated after its post, starts from before the post: the
    // rows it created are not there.
    assert!(preload_all(&store, first, "A").await.is_empty());
    // The next run starts from what the first posted and moves member 2 on.
    let second = run_with_queue(&store, &[]).await;
    assert_eq!(
        preload_all(&store, second, "A").await,
        [(1, 25, 50), (2, 30, 60)]
    );
    store
        .post_accumulators(
            second,
            "A",
            [Ok(vec![post(2, 30, 45), post(4, 0, 5)])],
            t(3),
        )
        .await
        .expect("second post");
    assert_eq!(
        preload_all(&store, second, "A").await,
        [(1, 25, 50), (2, 30, 60)],
        "a repeated setup of the second run reads what it read the first time"
    );
    let third = run_with_queue(&store, &[]).await;
    assert_eq!(
        preload_all(&store, third, "A").await,
        [(1, 25, 50), (2, 45, 90), (4, 5, 10)]
    );
    // The first run posting again now (its start values for member 2 are stale) is
    // refused and changes nothing; so is a post whose batches fail.
    let stale = store
        .post_accumulators(first, "A", [Ok(vec![post(2, 0, 30)])], t(4))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Invalid(ref m)) if m.contains("1 members")),
        "{stale:?}"
    );
    let broken = store
        .post_accumulators(
            third,
            "A",
            [
                Ok(vec![post(1, 25, 26)]),
                Err("accumulators-changed.csv:3: not a number".to_string()),
            ],
            t(4),
        )
        .await;
    assert!(
        matches!(broken, Err(StoreError::Invalid(ref m)) if m.contains(":3:")),
        "{broken:?}"
    );
    assert_eq!(
        preload_all(&store, third, "A").await,
        [(1, 25, 50), (2, 45, 90), (4, 5, 10)],
        "refused posts changed nothing"
    );
    // Another source is its own set of rows.
    store
        .post_accumulators(third, "B", [Ok(vec![post(2, 0, 7)])], t(5))
        .await
        .expect("post B");
    let fourth = run_with_queue(&store, &[]).await;
    assert_eq!(preload_all(&store, fourth, "B").await, [(2, 7, 14)]);
    assert_eq!(
        preload_all(&store, fourth, "A").await,
        [(1, 25, 50), (2, 45, 90), (4, 5, 10)]
    );
    assert_eq!(
        store
            .accumulator_totals(third, "A")
            .await
            .expect("totals")
            .rows,
        3
    );
    assert_eq!(store.delete_accumulators("B").await.expect("delete"), 1);
    assert!(preload_all(&store, fourth, "B").await.is_empty());
    assert_eq!(preload_all(&store, fourth, "A").await.len(), 3);
}

async fn kill_requests_reach_the_worker(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0)]).await;
    let claim = store
        .claim("w1", t(1), TimeDelta::minutes(1), None, &[])
        .await
        .expect("claim")
        .expect("job");
    let step = Step {
        at: t(2),
        kills: vec![(0, 1, KillReason::Timeout)],
        ..Step::default()
    };
    store.commit_step(run, &step, t(2)).await.expect("commit");
    assert_eq!(
        store
            .heartbeat(&claim, "w1", t(2), TimeDelta::minutes(1))
            .await
            .expect("beat"),
        Some(KillReason::Timeout)
    );
}

async fn dispatching_the_same_attempt_twice_queues_it_once(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0)]).await;
    let step = Step {
        at: t(1),
        dispatch: vec![dispatch(0, 1, 0)],
        ..Step::default()
    };
    store.commit_step(run, &step, t(1)).await.expect("commit");
    assert!(
        store
            .claim("w1", t(1), TimeDelta::minutes(1), None, &[])
            .await
            .expect("claim")
            .is_some()
    );
    assert!(
        store
            .claim("w1", t(1), TimeDelta::minutes(1), None, &[])
            .await
            .expect("claim")
            .is_none()
    );
}

async fn operator_commands_wait_in_the_inbox_with_actor_and_reason(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0)]).await;
    store
        .submit_command(run, 0, Command::Skip, "diane", Some("loaded by hand"), t(3))
        .await
        .expect("submit");
    let inbox = store.inbox(run).await.expect("inbox");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].report, Report::Operator(Command::Skip));
    assert_eq!(inbox[0].worker, "diane");
    assert_eq!(inbox[0].reason.as_deref(), Some("loaded by hand"));
    assert_eq!(
        inbox[0].event(),
        Event::Operator {
            job: 0,
            command: Command::Skip
        }
    );
}

fn projection_row(minutes: i64, deadline: &str, margin: i64, level: &str) -> ProjectionRow {
    ProjectionRow {
        at: t(minutes),
        deadline_id: deadline.to_string(),
        deadline_at: t(600),
        finish: t(600 - margin),
        margin_seconds: margin * 60,
        p_miss: Some(0.25),
        p50_finish: Some(t(590 - margin)),
        p90_finish: Some(t(610 - margin)),
        samples: 1000,
        level: level.to_string(),
        settled: false,
        chain: "[\"CLAIM-EXTRACT.A\",\"ADJUD-PHASE1.A\"]".to_string(),
        recorded_at: t(minutes),
    }
}

fn deadline_event(minutes: i64, kind: &str, key: Option<&str>) -> DeadlineEventRow {
    DeadlineEventRow {
        id: 0,
        at: t(minutes),
        deadline_id: "cms-filing".into(),
        kind: kind.into(),
        level: Some("warning".into()),
        notice_key: key.map(str::to_string),
        payload: format!("{{\"kind\":\"{kind}\"}}"),
        actor: "orchestrator".into(),
        recorded_at: t(minutes),
    }
}

async fn projections_and_ladder_decisions_are_kept_in_order(store: Store) {
    let run = run_with_queue(&store, &[]).await;
    let written = store
        .record_watch(
            run,
            &[
                projection_row(1, "cms-filing", 300, "ok"),
                projection_row(1, "day1-window", 20, "warning"),
            ],
            &[
                deadline_event(1, "notify", Some("1/day1-window/s1/a1/n1")),
                deadline_event(1, "level", None),
            ],
        )
        .await
        .expect("record");
    assert_eq!(written, ["1/day1-window/s1/a1/n1"]);
    // The same notice again (a restarted watcher) is not written twice; other rows are.
    let written = store
        .record_watch(
            run,
            &[projection_row(2, "cms-filing", 280, "ok")],
            &[
                deadline_event(2, "notify", Some("1/day1-window/s1/a1/n1")),
                deadline_event(2, "cleared", None),
            ],
        )
        .await
        .expect("record again");
    assert!(written.is_empty(), "{written:?}");
    // JSONB (PostgreSQL) normalises the chain's whitespace: compare it as JSON.
    let projections: Vec<ProjectionRow> = store
        .load_projections(run)
        .await
        .expect("load")
        .into_iter()
        .map(|mut p| {
            let chain: serde_json::Value = serde_json::from_str(&p.chain).expect("chain json");
            p.chain = chain.to_string();
            p
        })
        .collect();
    assert_eq!(
        projections,
        vec![
            projection_row(1, "cms-filing", 300, "ok"),
            projection_row(1, "day1-window", 20, "warning"),
            projection_row(2, "cms-filing", 280, "ok"),
        ]
    );
    let events = store.load_deadline_events(run).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["notify", "level", "cleared"]);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    let payload: serde_json::Value = serde_json::from_str(&events[2].payload).expect("json");
    assert_eq!(payload["kind"], "cleared");
    // Another run's history is its own.
    let other = run_with_queue(&store, &[]).await;
    assert!(
        store
            .load_projections(other)
            .await
            .expect("load")
            .is_empty()
    );
}

async fn progress_is_fenced_and_read_back_for_running_attempts(store: Store) {
    let run = run_with_queue(&store, &[dispatch(0, 1, 0), dispatch(1, 1, 0)]).await;
    let claim = store
        .claim("w1", t(1), TimeDelta::minutes(1), Some(run), &[])
        .await
        .expect("claim")
        .expect("job");
    store
        .report(&claim, "w1", Report::Started, t(1))
        .await
        .expect("started");
    store
        .report_progress(&claim, "w1", 650, 1000)
        .await
        .expect("progress");
    let intruder = store.report_progress(&claim, "w2", 999, 1000).await;
    assert!(
        matches!(intruder, Err(StoreError::Fenced { .. })),
        "{intruder:?}"
    );
    let progress = store.load_progress(run).await.expect("load");
    assert_eq!(
        progress,
        vec![ProgressRow {
            job_idx: claim.job_idx,
            attempt: 1,
            done: 650,
            total: 1000
        }]
    );
    store
        .report(&claim, "w1", Report::Finished(Outcome::Succeeded), t(2))
        .await
        .expect("finished");
    assert!(
        store.load_progress(run).await.expect("load").is_empty(),
        "finished attempts report none"
    );
}

async fn runs_are_listed_newest_first_and_the_ui_audit_is_kept(store: Store) {
    let older = store
        .open_run(&new_run(&unique("listed")), t(0))
        .await
        .expect("open");
    let newer = store
        .open_run(&new_run(&unique("listed")), t(60))
        .await
        .expect("open");
    let runs = store.list_runs().await.expect("list");
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let (at_newer, at_older) = (
        ids.iter()
            .position(|&i| i == newer.id)
            .expect("newer listed"),
        ids.iter()
            .position(|&i| i == older.id)
            .expect("older listed"),
    );
    assert!(at_newer < at_older, "newest first: {ids:?}");
    assert_eq!(runs[at_newer], newer);
    let before = store.load_ui_audit().await.expect("audit").len();
    for (action, job) in [("login", None), ("denied", Some("PAY-EFT"))] {
        store
            .record_ui_audit(&UiAuditRow {
                id: 0,
                at: t(120),
                actor: "dana".into(),
                action: action.into(),
                run_id: Some(newer.id),
                job_id: job.map(str::to_string),
                detail: Some(format!("{action} detail")),
            })
            .await
            .expect("record");
    }
    let audit = store.load_ui_audit().await.expect("audit");
    assert_eq!(audit.len(), before + 2);
    let last = &audit[audit.len() - 1];
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.job_id.as_deref(),
            last.run_id,
            last.at
        ),
        ("dana", "denied", Some("PAY-EFT"), Some(newer.id), t(120))
    );
    assert!(audit[audit.len() - 2].id < last.id, "oldest first");
}

async fn a_long_margin_history_is_read_thinned_with_its_ends(store: Store) {
    let run = run_with_queue(&store, &[]).await;
    for i in 1..=100 {
        store
            .record_watch(
                run,
                &[
                    projection_row(i, "cms-filing", 1000 - i, "ok"),
                    projection_row(i, "day1-window", 50 - i, "warning"),
                ],
                &[],
            )
            .await
            .expect("record");
    }
    let sampled = store.load_projections_sampled(run, 10).await.expect("load");
    for deadline in ["cms-filing", "day1-window"] {
        let mine: Vec<&ProjectionRow> = sampled
            .iter()
            .filter(|p| p.deadline_id == deadline)
            .collect();
        assert!(
            (10..=12).contains(&mine.len()),
            "{deadline}: {} rows",
            mine.len()
        );
        assert_eq!(mine[0].at, t(1), "the first projection is kept");
        assert_eq!(mine[mine.len() - 1].at, t(100), "the latest is kept");
        assert!(mine.windows(2).all(|w| w[0].at < w[1].at), "oldest first");
    }
    assert_eq!(store.load_projections(run).await.expect("all").len(), 200);
}

macro_rules! suite {
    ($backend:ident) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        if let Some((store, schema)) = super::$backend().await {
                            super::$name(store).await;
                            if let Some(schema) = schema {
                                super::drop_schema(&schema).await;
                            }
                        }
                    }
                };
            }

            case!(opening_twice_finds_the_same_run);
            case!(steps_are_logged_in_order_with_actor_and_reason);
            case!(claims_follow_priority_and_each_row_goes_to_one_worker);
            case!(concurrent_claimers_never_share_a_row);
            case!(labelled_rows_go_only_to_workers_carrying_their_labels);
            case!(the_worker_registry_sources_and_run_clocks_read_back);
            case!(reports_are_fenced_by_attempt_and_worker);
            case!(expired_leases_are_reported_lost_once);
            case!(a_worker_takes_back_a_claim_whose_answer_was_lost);
            case!(exception_loads_replace_their_source_in_one_transaction);
            case!(concurrent_exception_loads_of_one_source_do_not_collide);
            case!(concurrent_accumulator_posts_of_one_run_do_not_collide);
            case!(accumulator_posts_are_exactly_once_per_run);
            case!(kill_requests_reach_the_worker);
            case!(dispatching_the_same_attempt_twice_queues_it_once);
            case!(operator_commands_wait_in_the_inbox_with_actor_and_reason);
            case!(projections_and_ladder_decisions_are_kept_in_order);
            case!(progress_is_fenced_and_read_back_for_running_attempts);
            case!(raising_the_same_key_twice_is_one_alert);
            case!(deliveries_are_fanned_out_once_and_come_due);
            case!(failures_retry_then_dead_letter_and_successes_close);
            case!(acknowledgements_are_kept_with_who_when_and_why);
            case!(acknowledging_again_stores_nothing_and_returns_the_first);
            case!(acknowledging_all_of_a_run_is_one_idempotent_step);
            case!(runs_are_listed_newest_first_and_the_ui_audit_is_kept);
            case!(a_long_margin_history_is_read_thinned_with_its_ends);
            case!(impact_tests_read_back_as_written_newest_first);
            case!(a_review_test_is_approved_once);
            case!(only_an_existing_review_test_can_be_approved);
            case!(racing_approvers_leave_one_approval);
            case!(overrides_are_kept_with_their_reason);
            case!(routing_decisions_read_back_by_claim);
            case!(journal_loads_are_exactly_once);
        }
    };
}

suite!(sqlite);
suite!(postgres);

/// Only `warden run` creates a store: opening one that must exist creates nothing where
/// there is none (no file, an empty file, a schema without Warden's tables) and says so.
#[tokio::test]
async fn sqlite_a_store_that_must_exist_is_never_created() {
    use warden_store::OpenMode;
    let dir = std::env::temp_dir().join(unique("warden_store_open"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("typo.db");
    let url = path.to_str().expect("utf-8 path");
    let e = Store::open(url, OpenMode::MustExist)
        .await
        .expect_err("no file, no store");
    assert!(matches!(e, StoreError::NoStore(_)), "{e}");
    assert_eq!(e.to_string(), format!("no store at sqlite://{url}"));
    assert!(!path.exists(), "nothing is created");
    // An empty file is not a store either, and stays empty.
    std::fs::write(&path, b"").expect("empty file");
    let e = Store::open(url, OpenMode::MustExist)
        .await
        .expect_err("an empty file is no store");
    assert!(matches!(e, StoreError::NoStore(_)), "{e}");
    std::fs::remove_file(&path).expect("remove");
    // Once `run` made it, it opens.
    Store::open(url, OpenMode::Create).await.expect("create");
    let store = Store::open(url, OpenMode::MustExist)
        .await
        .expect("an existing store opens");
    assert!(
        store
            .find_run("none", "2025-02")
            .await
            .expect("read")
            .is_none()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_a_store_that_must_exist_is_never_created() {
    use warden_store::OpenMode;
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let e = Store::open(&url, OpenMode::MustExist)
        .await
        .expect_err("a schema without tables is no store");
    assert!(matches!(e, StoreError::NoStore(_)), "{e}");
    Store::open(&url, OpenMode::Create).await.expect("create");
    Store::open(&url, OpenMode::MustExist)
        .await
        .expect("an existing store opens");
    // A database that does not exist is no store, with the password not shown.
    let base = postgres_base_url();
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    let missing = format!(
        "{}/warden_no_such_db",
        server.replacen("postgres@", "postgres:hunter2@", 1)
    );
    let e = Store::open(&missing, OpenMode::MustExist)
        .await
        .expect_err("no such database");
    assert!(matches!(e, StoreError::NoStore(_)), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    drop_schema(&schema).await;
}

/// A store written before migration 0010 kept every repeated acknowledgement of an alert:
/// two alerts, the first acknowledged three times.
const OLD_ACKS: &str = "
INSERT INTO cycle_runs (cycle, business_date, workflow_sha256, mode, options, created_at)
VALUES ('old', '2025-02', 'abc', 'serial', '{}', '2025-03-01T01:00:00+00:00');
INSERT INTO alerts (run_id, deadline_id, level, idempotency_key, raised_at, view, roles)
VALUES (1, 'day1-window', 'warning', 'old/k1', '2025-03-01T01:00:00+00:00', '{}', '[]'),
       (1, 'day1-window', 'breach_projected', 'old/k2', '2025-03-01T01:00:00+00:00', '{}', '[]');
INSERT INTO alert_acks (alert_id, actor, note, at)
VALUES (1, 'first', 'on it', '2025-03-01T01:10:00+00:00'),
       (1, 'second', 'again', '2025-03-01T01:20:00+00:00'),
       (2, 'only', NULL, '2025-03-01T01:25:00+00:00'),
       (1, 'third', NULL, '2025-03-01T01:30:00+00:00');
";

/// The migrations of `dialect` before 0010 (idempotent acknowledgements).
async fn migrations_before_0010(dialect: &str) -> sqlx::migrate::Migrator {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(dialect);
    let mut m = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    m.migrations = m
        .migrations
        .iter()
        .filter(|x| x.version < 10)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    m
}

/// 0010 keeps each alert's first acknowledgement and moves the repeats aside (kept).
async fn repeated_acks_are_moved_aside(store: &Store, repeated: i64) {
    let acks = store.run_acks(1).await.expect("acks");
    assert_eq!(
        acks.iter()
            .map(|a| (a.alert_id, a.actor.as_str()))
            .collect::<Vec<_>>(),
        [(1, "first"), (2, "only")]
    );
    assert_eq!(
        repeated, 2,
        "the second and third acknowledgements of alert 1 are kept aside"
    );
    let again = store
        .acknowledge(1, "fourth", None, t(90))
        .await
        .expect("ack")
        .expect("exists");
    assert!(again.already_acknowledged);
    assert_eq!(
        (again.actor.as_str(), again.note.as_deref()),
        ("first", Some("on it"))
    );
}

#[tokio::test]
async fn sqlite_repeated_acknowledgements_of_an_old_store_are_moved_aside() {
    let dir = std::env::temp_dir().join(unique("warden_store_acks"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("old.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    migrations_before_0010("sqlite")
        .await
        .run(&pool)
        .await
        .expect("0001-0009");
    sqlx::raw_sql(OLD_ACKS)
        .execute(&pool)
        .await
        .expect("old rows");
    pool.close().await;
    let store = Store::connect(path.to_str().expect("utf-8"))
        .await
        .expect("0010 applies");
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    let repeated: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_acks_repeated")
        .fetch_one(&pool)
        .await
        .expect("count");
    repeated_acks_are_moved_aside(&store, repeated).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn postgres_repeated_acknowledgements_of_an_old_store_are_moved_aside() {
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&url).await.expect("postgres");
    migrations_before_0010("postgres")
        .await
        .run(&pool)
        .await
        .expect("0001-0009");
    sqlx::raw_sql(OLD_ACKS)
        .execute(&pool)
        .await
        .expect("old rows");
    let store = Store::connect(&url).await.expect("0010 applies");
    let repeated: i64 = sqlx::query_scalar("SELECT count(*) FROM alert_acks_repeated")
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    repeated_acks_are_moved_aside(&store, repeated).await;
    drop(store);
    drop_schema(&schema).await;
}
