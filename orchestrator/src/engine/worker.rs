//! In-process workers: claim an attempt from the store's queue, report it started, run it
//! while heartbeating the lease, report how it ended. Every write is fenced by (job,
//! attempt, worker) in the store, so a worker that lost its lease cannot overwrite anything.
//! `warden worker` processes on other hosts run each attempt the same way (`engine::remote`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{Notify, watch};
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::{KillReason, Outcome};
use warden_store::{Claim, Report, Store, StoreError};

use super::adjudication::ExceptionAlerts;
use super::attempt_paths::{AttemptPaths, read_progress};
use super::builtins::{BuiltinSettings, RunStore};
use super::exec::{Running, SimulatedDurations};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub name: String,
    /// The run this worker serves.
    pub run_id: i64,
    /// Lease length on the run's clock.
    pub lease: TimeDelta,
    /// Real time between heartbeats while a job runs.
    pub heartbeat: Duration,
    /// Real time to wait when the queue is empty.
    pub idle: Duration,
    pub data_dir: PathBuf,
    /// How long simulated jobs take, where a demo overrides their estimate (run::RunOptions).
    pub simulated: Arc<SimulatedDurations>,
    /// The `warden` binary that supervises shell jobs (`engine::supervise`); `None` runs
    /// them directly (library tests, whose executable is not `warden`).
    pub supervisor: Option<PathBuf>,
    /// Job files through the object store (`engine::staging`); `None`: this host's disk only.
    pub staging: Option<super::staging::Staging>,
    /// How the built-ins run: claim input, plans, intervals (parsed once at start).
    pub builtins: Arc<BuiltinSettings>,
}

/// Wakes shared between the driver and in-process workers, so neither waits for a poll.
#[derive(Debug, Default)]
pub struct Wakes {
    /// Workers notify it after reporting: the driver has something to consume. (A
    /// notification given while the driver is busy is kept for its next wait.)
    pub driver: Notify,
    /// The driver notifies it once per attempt it queued. A notification given while no
    /// worker waits is kept for the next one, so none is lost between a worker's empty claim
    /// and its wait.
    pub work: Notify,
}

/// Claims and runs jobs until `stop` turns true. In-process workers carry no label: they run
/// the jobs without `runs_on`.
///
/// A worker woken for queued work claims at once. Otherwise (after a job, or when its idle
/// wait ran out) it first reads whether anything is queued, so an empty queue costs no
/// write: on SQLite every write waits for the one writer.
pub async fn run_worker(
    store: Store,
    plan: Arc<Plan>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    wakes: Arc<Wakes>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), StoreError> {
    let mut woken = false;
    // A claim whose answer was lost (the store went away mid-statement) may have committed:
    // the next try first takes back what this worker may hold without knowing it.
    let mut unsure = false;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let claimed = async {
            let run = Some(config.run_id);
            if unsure
                && let Some(claim) = store
                    .reclaim(&config.name, clock.now(), config.lease, run)
                    .await?
            {
                tracing::warn!(worker = %config.name, job = %claim.job_id, attempt = claim.attempt, "took back an attempt claimed while the store was away");
                return Ok(Some(claim));
            }
            if !woken && !store.has_queued(run, &[]).await? {
                return Ok(None);
            }
            store
                .claim(&config.name, clock.now(), config.lease, run, &[])
                .await
        };
        let claimed = match claimed.await {
            Ok(claimed) => claimed,
            Err(e) if e.is_transient() => {
                tracing::warn!(worker = %config.name, error = %e, "the store is away; trying again");
                unsure = true;
                tokio::time::sleep(STORE_RETRY).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        unsure = false;
        woken = false;
        match claimed {
            Some(claim) => run_claim(&store, &plan, &clock, &config, &wakes, &claim).await?,
            None => {
                tokio::select! {
                    _ = wakes.work.notified() => woken = true,
                    _ = tokio::time::sleep(config.idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

pub(super) async fn run_claim(
    store: &Store,
    plan: &Plan,
    clock: &Arc<dyn Clock>,
    config: &WorkerConfig,
    wakes: &Wakes,
    claim: &Claim,
) -> Result<(), StoreError> {
    let name = config.name.as_str();
    tracing::debug!(job = %claim.job_id, attempt = claim.attempt, worker = name, "claimed");
    let started = clock.now();
    let job = usize::try_from(claim.job_idx).unwrap_or(usize::MAX);
    if job >= plan.jobs.len() {
        let outcome = Outcome::Failed { exit_code: None };
        return finish(store, claim, name, outcome, clock).await;
    }
    // Start first, then report it started with its process group in one write. A crash in
    // between leaves a process that carries its run directory: the next orchestrator finds
    // and kills it (engine::host).
    let paths = AttemptPaths::new(&config.data_dir, claim.run_id, &claim.job_id, claim.attempt);
    let log_dir = paths.log.display().to_string();
    // What the job reads comes first: the committed outputs upstream, and a checkpoint.
    let mut baseline = super::staging::Fingerprint::new();
    if let Some(staging) = &config.staging {
        match staged_in(staging, store, plan, claim, &paths, name, clock).await {
            Some(b) => baseline = b,
            None => {
                wakes.driver.notify_one();
                tokio::time::sleep(STAGING_BACKOFF).await;
                return Ok(());
            }
        }
    }
    let mut running = match Running::start(
        plan,
        job,
        claim.attempt,
        &paths,
        clock,
        &config.simulated,
        Some(RunStore {
            store: store.clone(),
            run_id: claim.run_id,
        }),
        config.supervisor.as_deref(),
        name,
        &config.builtins,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(job = %claim.job_id, attempt = claim.attempt, error = %e, "the job could not be started");
            patiently(|| store.start_attempt(claim, name, started, None, &log_dir)).await?;
            return finish(
                store,
                claim,
                name,
                Outcome::Failed { exit_code: None },
                clock,
            )
            .await;
        }
    };
    // Its large outputs go up while it writes them; dropped on an early return below, the
    // follows are given up.
    let follower = match &config.staging {
        Some(staging) => match staging.follow(claim, &paths, &baseline) {
            Ok(follower) => follower,
            Err(why) => {
                tracing::debug!(job = %claim.job_id, "outputs not followed: {why}");
                None
            }
        },
        None => None,
    };
    let pgid = running.pgid().map(i64::from);
    // A built-in runs inside the worker: no process group, no log of its own.
    let log_dir = if pgid.is_some() {
        log_dir
    } else {
        String::new()
    };
    // The start is recorded while the job already runs: a short job need not wait for the
    // write. The attempt is the worker's by its claim; if the write is refused (the lease
    // was lost in between), the job is killed.
    let start = patiently(|| store.start_attempt(claim, name, started, pgid, &log_dir));
    tokio::pin!(start);
    let mut ended = None;
    let recorded = loop {
        tokio::select! {
            recorded = &mut start => break recorded,
            outcome = running.wait(), if ended.is_none() => ended = Some(outcome),
        }
    };
    match recorded {
        Ok(()) => {}
        Err(StoreError::Fenced { .. }) => {
            running.kill();
            return Ok(());
        }
        Err(e) => {
            running.kill();
            return Err(e);
        }
    }
    // An adjudication stage's exception-rate warning becomes an alert while it runs.
    let mut alerts =
        ExceptionAlerts::watches(plan, job, &config.builtins).then(ExceptionAlerts::default);
    let outcome = match ended {
        Some(outcome) => outcome,
        None => match run_to_end(
            store,
            claim,
            name,
            clock,
            config,
            &mut running,
            &paths,
            &mut alerts,
            plan,
            job,
        )
        .await
        {
            Ok(outcome) => outcome,
            // The lease is gone: someone else owns this attempt's fate now.
            Err(StoreError::Fenced { .. }) => return Ok(()),
            Err(e) => return Err(e),
        },
    };
    if let Some(a) = alerts.as_mut()
        && let Err(e) = a
            .look(store, plan, claim.run_id, job, &paths, clock.now())
            .await
    {
        tracing::warn!(job = %claim.job_id, error = %e, "the exception-rate alert could not be raised; the stage's events.jsonl keeps the warning");
    }
    tracing::debug!(job = %claim.job_id, attempt = claim.attempt, ?outcome, "ended");
    // What the job wrote goes to the store before its success is reported: a committed
    // attempt's files are all there. A failed one's log and work go too, for the operator.
    if let Some(staging) = &config.staging {
        let began = tokio::time::Instant::now();
        let follows = match follower {
            Some(follower) => follower.stop().await,
            None => Default::default(),
        };
        let followed: u64 = follows.values().map(warden_objects::Follow::taken).sum();
        match staging.stage_out(claim, &paths, &baseline, follows).await {
            Ok(bytes) => {
                let seconds = began.elapsed().as_secs_f64();
                tracing::info!(job = %claim.job_id, attempt = claim.attempt, bytes, followed, seconds, "staged out to the object store");
            }
            Err(why) if outcome == Outcome::Succeeded => {
                tracing::error!(job = %claim.job_id, attempt = claim.attempt, worker = name, "the job succeeded but its files could not be saved to the object store, so the attempt is handed back: {why}");
                hand_back(store, claim, name, clock.as_ref()).await;
                wakes.driver.notify_one();
                tokio::time::sleep(STAGING_BACKOFF).await;
                return Ok(());
            }
            Err(why) => {
                tracing::warn!(job = %claim.job_id, attempt = claim.attempt, "the failed attempt's files could not be saved to the object store: {why}");
            }
        }
    }
    let result = finish(store, claim, name, outcome, clock).await;
    tracing::debug!(job = %claim.job_id, attempt = claim.attempt, "reported");
    wakes.driver.notify_one();
    result
}

/// Waits for a recorded attempt to end, heartbeating its lease; `None` when the lease was
/// lost (the job is then killed and its fate is someone else's).
#[allow(clippy::too_many_arguments)]
async fn run_to_end(
    store: &Store,
    claim: &Claim,
    name: &str,
    clock: &Arc<dyn Clock>,
    config: &WorkerConfig,
    running: &mut Running,
    paths: &AttemptPaths,
    alerts: &mut Option<ExceptionAlerts>,
    plan: &Plan,
    job: usize,
) -> Result<Outcome, StoreError> {
    let started = tokio::time::Instant::now();
    // The worker enforces the timeout itself, to the moment: the driver's kill request only
    // reaches it with a heartbeat (a third of a lease), which on an accelerated clock is many
    // minutes of the run's time. The driver's kill stays as the backstop.
    let timeout = plan.jobs[job]
        .timeout
        .map(|t| started + clock.real_duration(t));
    let mut beat = tokio::time::interval(config.heartbeat);
    beat.tick().await;
    let mut reported: Option<(i64, i64)> = None;
    // The work directory saved to the object store while it changes: the checkpoint another
    // worker resumes from if this one dies. One save at a time, beside the heartbeats.
    let mut sync = tokio::time::interval(
        config
            .staging
            .as_ref()
            .map_or(Duration::from_secs(3600), |s| s.sync_every),
    );
    sync.tick().await;
    let mut saving: Option<tokio::task::JoinHandle<Result<super::staging::Fingerprint, String>>> =
        None;
    let mut saved = super::staging::Fingerprint::new();
    let staging_on = config.staging.is_some();
    loop {
        tokio::select! {
            outcome = running.wait() => {
                if let Some(task) = saving.take() {
                    let _ = task.await;
                }
                return Ok(outcome);
            }
            _ = sync.tick(), if staging_on => {
                if let Some(task) = saving.take() {
                    if !task.is_finished() {
                        saving = Some(task);
                        continue;
                    }
                    match task.await {
                        Ok(Ok(f)) => saved = f,
                        Ok(Err(why)) => tracing::warn!(job = %claim.job_id, "the checkpoint could not be saved to the object store (tried again at the next one): {why}"),
                        Err(_) => {}
                    }
                }
                if let Some(staging) = config.staging.clone() {
                    let (claim, paths, last) = (claim.clone(), paths.clone(), saved.clone());
                    saving = Some(tokio::spawn(async move { staging.save(&claim, &paths, &last).await }));
                }
            }
            _ = sleep_until_or_never(timeout) => {
                running.kill();
                note_timeout(plan, job, clock.as_ref(), started.elapsed(), paths, claim, &config.builtins);
                return Ok(Outcome::TimedOut);
            }
            _ = beat.tick() => {
                match store.heartbeat(claim, name, clock.now(), config.lease).await {
                    Ok(None) => {
                        let progress = read_progress(&paths.progress);
                        if let Some((done, total)) = progress
                            && progress != reported
                            && store.report_progress(claim, name, done, total).await.is_ok()
                        {
                            reported = progress;
                        }
                        // A store that is briefly away: looked at again next beat.
                        if let Some(a) = alerts.as_mut() {
                            let _ = a.look(store, plan, claim.run_id, job, paths, clock.now()).await;
                        }
                    }
                    Ok(Some(why)) => {
                        running.kill();
                        return Ok(match why {
                            KillReason::Timeout => {
                                note_timeout(plan, job, clock.as_ref(), started.elapsed(), paths, claim, &config.builtins);
                                Outcome::TimedOut
                            }
                            KillReason::Operator => Outcome::Failed { exit_code: None },
                        });
                    }
                    Err(StoreError::Fenced { .. }) => {
                        // Cut off for longer than the lease: the attempt was declared lost
                        // and runs again elsewhere. This one stops; whatever it would still
                        // report or save is refused or never read.
                        tracing::warn!(job = %claim.job_id, attempt = claim.attempt, worker = name, "the heartbeat was refused: the attempt is not this worker's any more (its lease ran out and it runs again elsewhere); it is stopped and its report would be refused");
                        running.kill();
                        return Err(fenced_claim(claim, name));
                    }
                    // A store that is briefly away: keep running, try again next beat.
                    Err(_) => {}
                }
            }
        }
    }
}

/// Sleeps until `at`, or forever when there is no such time.
async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Says in the attempt's log (and the run's log) that it was killed at its timeout, and on
/// which clock the timeout was counted (engine::timing): on an accelerated clock a bare
/// "timed_out" does not explain itself.
fn note_timeout(
    plan: &Plan,
    job: usize,
    clock: &dyn Clock,
    ran: Duration,
    paths: &AttemptPaths,
    claim: &Claim,
    builtins: &BuiltinSettings,
) {
    let pj = &plan.jobs[job];
    let real_work = super::exec::does_real_work(&pj.action, builtins);
    // The plan the machine runs holds real work's timeout on the run's clock: say it as the
    // workflow wrote it.
    let limit = match pj.timeout {
        Some(t) if real_work => TimeDelta::from_std(clock.real_duration(t)).unwrap_or(t),
        Some(t) => t,
        None => TimeDelta::zero(),
    };
    let note = super::timing::timeout_note(limit, real_work, ran, clock);
    tracing::warn!(job = %claim.job_id, attempt = claim.attempt, "{note}");
    let _ = std::fs::create_dir_all(paths.log_dir());
    if let Ok(mut log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
    {
        use std::io::Write;
        let _ = writeln!(log, "warden: attempt {}: {note}", claim.attempt);
    }
}

fn fenced_claim(claim: &Claim, name: &str) -> StoreError {
    StoreError::Fenced {
        job: claim.job_idx,
        attempt: claim.attempt,
        worker: name.to_string(),
    }
}

pub(super) async fn finish(
    store: &Store,
    claim: &Claim,
    name: &str,
    outcome: Outcome,
    clock: &Arc<dyn Clock>,
) -> Result<(), StoreError> {
    let at = clock.now();
    match patiently(|| store.report(claim, name, Report::Finished(outcome), at)).await {
        Err(StoreError::Fenced { .. }) => {
            // A late report (the lease ran out while the worker was cut off, and the attempt
            // was run again) changes nothing; nor does a retried one whose first try landed.
            tracing::warn!(job = %claim.job_id, attempt = claim.attempt, worker = name, ?outcome, "the report was refused: the attempt is not this worker's any more (its lease ran out and it runs again elsewhere), or it was recorded already");
            Ok(())
        }
        other => other,
    }
}

/// Stages the attempt's files in (`engine::staging`); its baseline, or `None` when that
/// failed and the attempt was handed back (the worker's own trouble, not the job's: it runs again, here or
/// elsewhere, without using a retry).
async fn staged_in(
    staging: &super::staging::Staging,
    store: &Store,
    plan: &Plan,
    claim: &Claim,
    paths: &AttemptPaths,
    name: &str,
    clock: &Arc<dyn Clock>,
) -> Option<super::staging::Fingerprint> {
    {
        // Real time, not the run's clock: what moving the files cost on this host.
        let began = tokio::time::Instant::now();
        match staging.stage_in(store, plan, claim, paths).await {
            Ok(staged) => {
                if !staged.upstream.is_empty() || staged.resumed_from.is_some() {
                    let seconds = began.elapsed().as_secs_f64();
                    tracing::info!(job = %claim.job_id, attempt = claim.attempt, upstream = ?staged.upstream, resumed_from = ?staged.resumed_from, bytes = staged.bytes, seconds, "staged in from the object store");
                }
                Some(staged.baseline)
            }
            Err(why) => {
                tracing::error!(job = %claim.job_id, attempt = claim.attempt, worker = name, "the job's files could not be brought from the object store, so the attempt is handed back: {why}");
                hand_back(store, claim, name, clock.as_ref()).await;
                None
            }
        }
    }
}

/// How long a worker waits after handing an attempt back for a trouble of its own (an object
/// store it cannot reach), so it does not claim and hand back in a tight loop.
const STAGING_BACKOFF: Duration = Duration::from_secs(5);

/// Gives an attempt back for a reason of the worker's own: reported lost, so it runs again
/// (here or elsewhere) without using one of the job's retries.
pub(super) async fn hand_back(store: &Store, claim: &Claim, name: &str, clock: &dyn Clock) {
    let lost = store
        .lose_attempt(
            claim.run_id,
            claim.job_idx,
            claim.attempt,
            name,
            clock.now(),
        )
        .await;
    if let Err(e) = lost {
        tracing::warn!(worker = %name, job = %claim.job_id, error = %e, "could not hand the attempt back; its lease will run out");
    }
}

/// Real time between tries while the store is away.
const STORE_RETRY: Duration = Duration::from_millis(500);
/// How long a worker keeps trying to make a report before giving up; its lease then runs
/// out and the attempt is reported lost by the driver.
const STORE_PATIENCE: Duration = Duration::from_secs(600);

/// Runs a store write again while the store is away (a report must not be lost to a
/// restarting database). Reports are idempotent under their fence: a retried report whose
/// first try did commit is refused as fenced, which callers already treat as done.
pub(super) async fn patiently<T, F, Fut>(mut write: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let started = tokio::time::Instant::now();
    loop {
        match write().await {
            Err(e) if e.is_transient() && started.elapsed() < STORE_PATIENCE => {
                tracing::warn!(error = %e, "the store is away; trying the report again");
                tokio::time::sleep(STORE_RETRY).await;
            }
            other => return other,
        }
    }
}
