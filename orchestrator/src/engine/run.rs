//! Running a cycle in one process: the driver plus in-process workers over one store.
//!
//! Starting (or resuming) a run: check the data directory can be written, take the run
//! (one orchestrator at a time), kill whatever a dead predecessor left running in the run's
//! directory (those attempts are then reported lost when their leases run out, and run
//! again), and step until the cycle completes or needs an operator. While the store is away
//! the loop waits and rebuilds its state from the store when it is back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::JobStatus;
use warden_store::{NewRun, Store, StoreError};

use super::attempt_paths::run_dir;
use super::builtins::BuiltinSettings;
use super::driver::Driver;
use super::host::{kill_orphans, worker_is_dead};
use super::watch::{Notice, WatchOptions, Watcher};
use super::worker::{Wakes, WorkerConfig, run_worker};

/// The shortest lease in real time, whatever the clock's speed.
const MIN_REAL_LEASE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// In-process workers; 0 leaves every job to `warden worker` processes.
    pub workers: usize,
    /// Lease length on the run's clock.
    pub lease: TimeDelta,
    /// Real time between driver steps when nothing is due sooner.
    pub poll: Duration,
    pub data_dir: PathBuf,
    /// How long (real time) the driver keeps trying while the store is away before it
    /// gives up; the run resumes from the store when `warden run` is started again.
    pub store_patience: Duration,
    /// Deadline watching (projection, breach probability, escalation); `None`: off.
    pub watch: Option<WatchOptions>,
    /// Alert delivery beside the workers (`crate::alerts`); `None` delivers nothing.
    pub outbox: Option<crate::alerts::Outbox>,
    /// Simulated (`builtin: sleep`) jobs that take this long instead of their estimate
    /// (`warden demo`); empty for real runs.
    pub simulated: Arc<super::exec::SimulatedDurations>,
    /// The files the plan was compiled from (path, text; the workflow first), kept with the
    /// run so that `warden worker` processes on other hosts build the same plan. Empty: the
    /// run is for in-process workers only (a plan with edits no file has, as the demo's).
    pub sources: Vec<(String, String)>,
    /// The `warden` binary shell jobs run under (`engine::supervise`), so that a restarted
    /// orchestrator adopts what they did instead of running them again; `None` runs them
    /// directly (library tests).
    pub supervisor: Option<PathBuf>,
    /// Job files through the object store (`--objects`, `engine::staging`), so that jobs run
    /// by in-process workers and by `warden worker` processes elsewhere see each other's.
    pub staging: Option<super::staging::Staging>,
    /// How the built-in jobs run (`--claims-input`, `--plans`, ... or their environment
    /// variables, parsed once when the command starts; engine::builtins). The default has
    /// no claim input: adjudication built-ins are simulated.
    pub builtins: BuiltinSettings,
}

impl RunOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            workers: 16,
            lease: TimeDelta::seconds(30),
            poll: Duration::from_millis(20),
            data_dir,
            store_patience: Duration::from_secs(600),
            watch: Some(WatchOptions::default()),
            outbox: None,
            simulated: Arc::default(),
            sources: Vec::new(),
            supervisor: None,
            staging: None,
            builtins: BuiltinSettings::default(),
        }
    }
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the data directory {path} cannot be used: {source}; give a writable one with --data")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Complete {
        run_id: i64,
    },
    /// Nothing can go on without an operator: these jobs failed for good.
    Stuck {
        run_id: i64,
        failed: Vec<String>,
    },
}

/// Runs (or resumes) the cycle until it completes or needs an operator.
pub async fn run_cycle(
    store: Store,
    plan: Arc<Plan>,
    new: &NewRun,
    clock: Arc<dyn Clock>,
    options: &RunOptions,
) -> Result<RunEnd, RunError> {
    let data_dir = usable_data_dir(&options.data_dir)?;
    // Real work is timed in real time, simulated work on the run's clock (engine::timing).
    let plan = match super::timing::real_work_timeouts(&plan, clock.as_ref(), &options.builtins) {
        Some(timed) => Arc::new(timed),
        None => plan,
    };
    let mut driver = Driver::open(store.clone(), plan.clone(), new, clock.clone()).await?;
    let run_id = driver.run().id;
    // Workers on other hosts: the plan's files, and the run's clock (published again at each
    // start, as a resumed accelerated clock starts where the run stopped).
    if !options.sources.is_empty() {
        store.put_run_sources(run_id, &options.sources).await?;
        store
            .set_run_clock(&super::clocks::publish(
                run_id,
                clock.as_ref(),
                chrono::Utc::now(),
            ))
            .await?;
    }
    // On an accelerated clock a lease of cycle time can be milliseconds of real time; a
    // worker busy starting a process would miss its heartbeat. Leases get a real-time floor.
    let lease = options.lease.max(clock.clock_duration(MIN_REAL_LEASE));
    let wakes = Arc::new(Wakes::default());
    // Attempts held by workers of a dead orchestrator on this host: adopted where their
    // supervisor recorded a result or still runs, lost otherwise (engine::adopt). Workers
    // elsewhere keep their leases until they run out.
    let held: Vec<(i64, i64, String)> = store
        .running_attempts(run_id)
        .await?
        .into_iter()
        .filter(|(_, _, worker)| worker_is_dead(worker))
        .collect();
    let adoption = super::adopt::adopt(
        &store,
        &plan,
        &clock,
        run_id,
        &data_dir,
        &held,
        super::adopt::Leases {
            lease,
            heartbeat: clock.real_duration(lease / 3),
        },
        Some(wakes.clone()),
    )
    .await?;
    // What else a dead predecessor left running (an attempt lost above, or one started but
    // never recorded) is killed, so an attempt never runs twice at the same time.
    // Jobs of this host's dead in-process workers only: a `warden worker` sharing the data
    // directory keeps its own.
    let killed = kill_orphans(
        &run_dir(&data_dir, run_id),
        &|worker| worker.is_none_or(worker_is_dead),
        &adoption.followed,
    );
    if !killed.is_empty() {
        tracing::warn!(run = run_id, groups = ?killed, "killed jobs a dead orchestrator left running");
    }
    let (stop, stopped) = watch::channel(false);
    let wakes = Arc::new(Wakes::default());
    let mut workers = Vec::new();
    let builtins = Arc::new(options.builtins.clone());
    // None: an orchestrator only, its jobs run by `warden worker` processes.
    for i in 0..options.workers {
        let config = WorkerConfig {
            name: format!("{}-w{i}", driver.owner().as_str()),
            run_id,
            lease,
            heartbeat: clock.real_duration(lease / 3),
            // Dispatches wake workers directly; the idle poll is only a safety net.
            idle: options.poll.max(Duration::from_millis(250)),
            data_dir: data_dir.clone(),
            simulated: options.simulated.clone(),
            supervisor: options.supervisor.clone(),
            staging: options.staging.clone(),
            builtins: builtins.clone(),
        };
        workers.push(tokio::spawn(run_worker(
            store.clone(),
            plan.clone(),
            clock.clone(),
            config,
            wakes.clone(),
            stopped.clone(),
        )));
    }
    let mut watcher = match &options.watch {
        Some(w) => Some(Watcher::open(&store, plan.clone(), run_id, w.clone()).await?),
        None => None,
    };
    // The alerts outbox: delivers this run's alerts beside the workers, with a last pass
    // when the run stops (crate::alerts). It looks every second, or every minute of the
    // run's clock when that is sooner (an accelerated demo would otherwise deliver an alert
    // 20 minutes of cycle time after it was raised), but never more than ten times a second.
    let outbox_poll = clock
        .real_duration(TimeDelta::minutes(1))
        .clamp(Duration::from_millis(100), Duration::from_secs(1));
    let outbox = options.outbox.as_ref().map(|o| {
        tokio::spawn(crate::alerts::run_outbox(
            store.clone(),
            o.for_run(run_id),
            clock.clone(),
            stopped.clone(),
            outbox_poll,
        ))
    });
    let mut away_since: Option<tokio::time::Instant> = None;
    let end = loop {
        let report = match driver.step().await {
            Ok(report) => {
                if away_since.take().is_some() {
                    tracing::info!(run = run_id, "the store is back; the run goes on");
                }
                report
            }
            Err(e) if e.is_transient() => {
                let since = *away_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() > options.store_patience {
                    let _ = stop.send(true);
                    return Err(e.into());
                }
                tracing::warn!(run = run_id, error = %e, "the store is away; the run waits for it");
                tokio::time::sleep(Duration::from_millis(500)).await;
                // The failed step may have changed the machine without being stored.
                if let Err(e) = driver.recover().await
                    && !e.is_transient()
                {
                    let _ = stop.send(true);
                    return Err(e.into());
                }
                continue;
            }
            Err(e) => {
                let _ = stop.send(true);
                return Err(e.into());
            }
        };
        if report.dispatched > 0 {
            for _ in 0..report.dispatched {
                wakes.work.notify_one();
            }
        }
        if let Some(w) = watcher.as_mut() {
            if report.events > 0 || report.dispatched > 0 {
                w.changed();
            }
            let now = clock.now();
            match w
                .tick(&store, driver.machine(), driver.timeline(), now)
                .await
            {
                Ok(notices) => on_notices(&plan, run_id, &notices),
                // Watching never stops the run; the next projection will try again.
                Err(e) => {
                    tracing::warn!(run = run_id, error = %e, "a projection could not be stored")
                }
            }
        }
        if report.complete {
            break RunEnd::Complete { run_id };
        }
        let statuses = driver.machine().statuses();
        let active = statuses.iter().any(|s| {
            matches!(
                s,
                JobStatus::Dispatched { .. }
                    | JobStatus::Running { .. }
                    | JobStatus::RetryWait { .. }
                    | JobStatus::Ready
            )
        });
        if !active && report.wake_at.is_none() && report.events == 0 {
            let failed = statuses
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s, JobStatus::Failed { .. }))
                .map(|(j, _)| plan.jobs[j].id.clone())
                .collect::<Vec<_>>();
            if !failed.is_empty() {
                break RunEnd::Stuck { run_id, failed };
            }
        }
        let wait = report
            .wake_at
            .map(|t| clock.real_duration(t - clock.now()))
            .unwrap_or(options.poll)
            .min(options.poll);
        tokio::select! {
            _ = wakes.driver.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    };
    if let Some(w) = watcher.as_mut() {
        match w
            .settle(&store, driver.machine(), driver.timeline(), clock.now())
            .await
        {
            Ok(notices) => on_notices(&plan, run_id, &notices),
            Err(e) => {
                tracing::warn!(run = run_id, error = %e, "the final projection could not be stored")
            }
        }
    }
    let _ = stop.send(true);
    for w in workers {
        if let Ok(Err(e)) = w.await {
            return Err(e.into());
        }
    }
    for follower in adoption.tasks {
        let _ = follower.await;
    }
    if let Some(outbox) = outbox {
        let _ = outbox.await;
    }
    driver.release().await?;
    Ok(end)
}

/// What the escalation ladders decided to notify (delivery goes through the alerts outbox).
fn on_notices(plan: &Plan, run_id: i64, notices: &[Notice]) {
    for n in notices {
        tracing::debug!(run = run_id, deadline = %plan.deadlines[n.deadline].id, margin_minutes = n.margin.num_minutes(), "notice");
    }
}

/// Creates the data directory if needed, proves it can be written, and returns it absolute
/// (jobs find their run by it, whatever directory a later `warden run` starts in).
pub fn usable_data_dir(dir: &Path) -> Result<PathBuf, RunError> {
    let fail = |source| RunError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let dir = std::fs::canonicalize(dir).map_err(fail)?;
    let probe = dir.join(format!(".warden-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(dir)
}

/// Where a resumed run's clock should start: the time of its last logged step, so that an
/// accelerated clock never runs backwards across a restart. `None` for a new run.
pub async fn resume_time(
    store: &Store,
    new: &NewRun,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let Some(run) = store.find_run(&new.cycle, &new.business_date).await? else {
        return Ok(None);
    };
    Ok(store.load_events(run.id).await?.last().map(|e| e.at))
}
