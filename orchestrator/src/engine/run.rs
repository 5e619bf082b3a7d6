//! Running a cycle in one process: the driver plus in-process workers over one store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::JobStatus;
use warden_store::{NewRun, Store, StoreError};

use super::driver::Driver;
use super::worker::{Wakes, WorkerConfig, run_worker};

/// The shortest lease in real time, whatever the clock's speed.
const MIN_REAL_LEASE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub workers: usize,
    /// Lease length on the run's clock.
    pub lease: TimeDelta,
    /// Real time between driver steps when nothing is due sooner.
    pub poll: Duration,
    pub data_dir: PathBuf,
}

impl RunOptions {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            workers: 16,
            lease: TimeDelta::seconds(30),
            poll: Duration::from_millis(20),
            data_dir,
        }
    }
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
) -> Result<RunEnd, StoreError> {
    let mut driver = Driver::open(store.clone(), plan.clone(), new, clock.clone()).await?;
    let run_id = driver.run().id;
    // On an accelerated clock a lease of cycle time can be milliseconds of real time; a
    // worker busy starting a process would miss its heartbeat. Leases get a real-time floor.
    let lease = options.lease.max(clock.clock_duration(MIN_REAL_LEASE));
    let (stop, stopped) = watch::channel(false);
    let wakes = Arc::new(Wakes::default());
    let mut workers = Vec::new();
    for i in 0..options.workers.max(1) {
        let config = WorkerConfig {
            name: format!("{}-w{i}", host_tag()),
            run_id,
            lease,
            heartbeat: clock.real_duration(lease / 3),
            idle: options.poll,
            data_dir: options.data_dir.clone(),
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
    let end = loop {
        let report = driver.step().await?;
        if report.dispatched > 0 {
            wakes.work.send_modify(|generation| *generation += 1);
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
    let _ = stop.send(true);
    for w in workers {
        if let Ok(Err(e)) = w.await {
            return Err(e);
        }
    }
    Ok(end)
}

/// A short tag naming this process in worker ids (host and pid).
fn host_tag() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

/// Where a resumed run's clock should start: the time of its last logged step, so that an
/// accelerated clock never runs backwards across a restart. `None` for a new run.
pub async fn resume_time(
    store: &Store,
    new: &NewRun,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let run = store.open_run(new, chrono::Utc::now()).await?;
    Ok(store.load_events(run.id).await?.last().map(|e| e.at))
}
