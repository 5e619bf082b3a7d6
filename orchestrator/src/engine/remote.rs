//! `warden worker`: a worker process for any host, serving every running cycle of a store.
//!
//! It claims queued attempts of the runs whose orchestrators published their clock
//! (`run_clocks`), runs each exactly as an in-process worker does (`worker::run_claim`: the
//! same fenced start, heartbeats at a third of the lease, fenced report), and beats its own
//! row of the worker registry every few seconds so `warden workers`, the UI and `/metrics`
//! can say who is alive and what it runs.
//!
//! The plan of a run is built here from the files its orchestrator kept (`run_sources`),
//! checked against the run's SHA-256, and planned with the run's own options: the same plan,
//! job for job. Leases and reports are stamped on the run's clock (`PublishedClock`).
//!
//! A worker never fails a job for a reason of its own: a run whose plan it cannot build is
//! left to other workers (the attempt is handed back as lost, which reruns it without using
//! a retry), and the reason is logged.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use warden_core::clock::Clock;
use warden_core::diagnostics::{SourceMap, render_text};
use warden_core::plan::{DateSpec, Plan};
use warden_core::workflow::{StoredLoader, compile};
use warden_store::{Store, StoreError, WorkerInfo, WorkerState};

use super::builtins::BuiltinSettings;
use super::clocks::{PublishedClock, SystemClock};
use super::worker::{Wakes, WorkerConfig, run_claim};

/// How a worker process works.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub info: WorkerInfo,
    /// Lease length in real time (converted to each run's clock).
    pub lease: Duration,
    /// Real time between looks at an empty queue (jittered by a quarter either way, so a
    /// fleet does not poll in step).
    pub idle: Duration,
    /// Real time between beats of the worker's registry row.
    pub beat: Duration,
    pub data_dir: PathBuf,
    /// The `warden` binary shell jobs run under (`engine::supervise`).
    pub supervisor: Option<PathBuf>,
    /// This host's labels: the worker claims jobs whose `runs_on` it carries entirely.
    pub labels: Vec<String>,
    /// Job files through the object store (`engine::staging`).
    pub staging: Option<super::staging::Staging>,
    /// How the built-in jobs run on this host (engine::builtins): its claim input, plans,
    /// intervals.
    pub builtins: BuiltinSettings,
}

/// Serves until `stop` turns true (after the attempt it runs, if any); returns the attempts
/// it ran.
pub async fn serve(
    store: Store,
    options: RemoteOptions,
    mut stop: watch::Receiver<bool>,
) -> Result<u64, StoreError> {
    let name = options.info.name.clone();
    let wall: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut plans = RunPlans::new(&options.builtins);
    // Before this worker's row replaces a dead predecessor's of the same name: the attempts
    // of this host's dead workers are adopted (engine::adopt), not left to their leases.
    let followers = adopt_dead_workers(&store, &options, &wall, &mut plans).await?;
    store.register_worker(&options.info, Utc::now()).await?;
    let status = Arc::new(Status::default());
    let (beat_stop, beat_stopped) = watch::channel(false);
    let beats = tokio::spawn(beat(
        store.clone(),
        name.clone(),
        status.clone(),
        options.beat,
        beat_stopped,
    ));
    let wakes = Wakes::default();
    let mut done = 0u64;
    let mut unsure = false;
    let mut tick = 0u64;
    loop {
        if *stop.borrow() {
            break;
        }
        let claimed = async {
            let clocks = store.open_run_clocks().await?;
            if unsure {
                let any = clocks.first().copied();
                if let Some(rc) = any {
                    let clock = PublishedClock::new(rc, wall.clone());
                    let lease = clock.clock_duration(options.lease);
                    if let Some(claim) = store.reclaim(&name, clock.now(), lease, None).await? {
                        let rc = clocks
                            .iter()
                            .find(|c| c.run_id == claim.run_id)
                            .copied()
                            .unwrap_or(rc);
                        return Ok(Some((claim, rc)));
                    }
                }
            }
            for rc in clocks {
                if plans.refused.contains(&rc.run_id)
                    || !store.has_queued(Some(rc.run_id), &options.labels).await?
                {
                    continue;
                }
                let clock = PublishedClock::new(rc, wall.clone());
                let lease = clock.clock_duration(options.lease);
                if let Some(claim) = store
                    .claim(&name, clock.now(), lease, Some(rc.run_id), &options.labels)
                    .await?
                {
                    return Ok(Some((claim, rc)));
                }
            }
            Ok::<_, StoreError>(None)
        };
        let claimed = match claimed.await {
            Ok(c) => c,
            Err(e) if e.is_transient() => {
                tracing::warn!(worker = %name, error = %e, "the store is away; trying again");
                unsure = true;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => {
                let _ = beat_stop.send(true);
                let _ = beats.await;
                return Err(e);
            }
        };
        unsure = false;
        let Some((claim, rc)) = claimed else {
            tick += 1;
            tokio::select! {
                _ = tokio::time::sleep(jittered(options.idle, &name, tick)) => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        let clock: Arc<dyn Clock> = Arc::new(PublishedClock::new(rc, wall.clone()));
        let plan = match plans.get(&store, claim.run_id, clock.as_ref()).await {
            Ok(plan) => plan,
            Err(PlanError::Store(e)) => {
                // The claim stands; a transient error is retried with the attempt taken
                // back (reclaim), anything else ends the worker.
                unsure = e.is_transient();
                if unsure {
                    continue;
                }
                let _ = beat_stop.send(true);
                let _ = beats.await;
                return Err(e);
            }
            Err(PlanError::Unusable(why)) => {
                tracing::error!(worker = %name, run = claim.run_id, "this worker cannot build run {}'s plan, so it leaves the run to other workers: {why}", claim.run_id);
                plans.refused.insert(claim.run_id);
                super::worker::hand_back(&store, &claim, &name, clock.as_ref()).await;
                continue;
            }
        };
        set(
            &status,
            WorkerState::Running {
                run: claim.run_id,
                job: claim.job_id.clone(),
                attempt: claim.attempt,
            },
            None,
        );
        let config = WorkerConfig {
            name: name.clone(),
            run_id: claim.run_id,
            lease: clock.clock_duration(options.lease),
            heartbeat: options.lease / 3,
            idle: options.idle,
            data_dir: options.data_dir.clone(),
            simulated: Arc::default(),
            supervisor: options.supervisor.clone(),
            staging: options.staging.clone(),
            builtins: plans.builtins.clone(),
        };
        let ran = run_claim(&store, &plan, &clock, &config, &wakes, &claim).await;
        done += 1;
        let next = if *stop.borrow() {
            WorkerState::Stopping
        } else {
            WorkerState::Idle
        };
        set(&status, next, Some(done as i64));
        if let Err(e) = ran {
            if e.is_transient() {
                unsure = true;
                continue;
            }
            let _ = beat_stop.send(true);
            let _ = beats.await;
            return Err(e);
        }
    }
    // Adopted attempts are this worker's too: it stops when they end.
    for follower in followers {
        let _ = follower.await;
    }
    let _ = beat_stop.send(true);
    let _ = beats.await;
    let done_rows = done as i64;
    if let Err(e) = store
        .beat_worker(&name, Utc::now(), &WorkerState::Stopped, done_rows)
        .await
    {
        tracing::warn!(worker = %name, error = %e, "could not record that the worker stopped");
    }
    Ok(done)
}

/// What the worker's registry row should say, and a wake for its beat when that changes.
#[derive(Debug)]
struct Status {
    now: Mutex<(WorkerState, i64)>,
    changed: tokio::sync::Notify,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            now: Mutex::new((WorkerState::Idle, 0)),
            changed: tokio::sync::Notify::new(),
        }
    }
}

/// Adopts the attempts held by this host's dead workers (their registry row names this
/// host and a pid that is gone) from the supervised files in this worker's data directory
/// (a restarted worker is given its predecessor's `--data`). What is lost is killed: the
/// groups of those attempts' workers, never a live worker's.
async fn adopt_dead_workers(
    store: &Store,
    options: &RemoteOptions,
    wall: &Arc<dyn Clock>,
    plans: &mut RunPlans,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
    let dead: HashSet<String> = store
        .list_workers()
        .await?
        .into_iter()
        .filter(|w| {
            w.host == options.info.host
                && w.state != "stopped"
                && i64::from(std::process::id()) != w.pid
                && pid_is_gone(w.pid)
        })
        .map(|w| w.name)
        .collect();
    let mut followers = Vec::new();
    if dead.is_empty() {
        return Ok(followers);
    }
    for rc in store.open_run_clocks().await? {
        let held: Vec<(i64, i64, String)> = store
            .running_attempts(rc.run_id)
            .await?
            .into_iter()
            .filter(|(_, _, w)| dead.contains(w))
            .collect();
        if held.is_empty() {
            continue;
        }
        let clock: Arc<dyn Clock> = Arc::new(PublishedClock::new(rc, wall.clone()));
        let plan = match plans.get(store, rc.run_id, clock.as_ref()).await {
            Ok(plan) => plan,
            Err(PlanError::Store(e)) => return Err(e),
            Err(PlanError::Unusable(why)) => {
                tracing::error!(
                    run = rc.run_id,
                    "cannot adopt run {}'s attempts: {why}",
                    rc.run_id
                );
                continue;
            }
        };
        let lease = clock.clock_duration(options.lease);
        let adoption = super::adopt::adopt(
            store,
            &plan,
            &clock,
            rc.run_id,
            &options.data_dir,
            &held,
            super::adopt::Leases {
                lease,
                heartbeat: options.lease / 3,
            },
            None,
        )
        .await?;
        let killed = super::host::kill_orphans(
            &super::attempt_paths::run_dir(&options.data_dir, rc.run_id),
            &|worker| worker.is_some_and(|w| dead.contains(w)),
            &adoption.followed,
        );
        if !killed.is_empty() {
            tracing::warn!(run = rc.run_id, groups = ?killed, "killed jobs that dead workers of this host left running");
        }
        followers.extend(adoption.tasks);
    }
    Ok(followers)
}

/// Whether no process has this pid (this host's).
fn pid_is_gone(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return true;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}

/// Records the worker's state (and, when given, its count of attempts run); the registry
/// hears of it at once.
fn set(status: &Status, state: WorkerState, done: Option<i64>) {
    let mut s = status
        .now
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    s.0 = state;
    if let Some(done) = done {
        s.1 = done;
    }
    drop(s);
    status.changed.notify_one();
}

/// Beats the worker's registry row every `every` and at each change of state, until told to
/// stop. A store that is away is skipped: the row only says when the worker was last heard
/// from.
async fn beat(
    store: Store,
    name: String,
    status: Arc<Status>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = status.changed.notified() => {}
            _ = stop.changed() => return,
        }
        let (state, done) = status
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Err(e) = store.beat_worker(&name, Utc::now(), &state, done).await {
            tracing::debug!(worker = %name, error = %e, "the registry beat was not recorded");
        }
    }
}

/// `idle` varied by up to a quarter either way, differently per worker and per look.
fn jittered(idle: Duration, name: &str, tick: u64) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ tick.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let fraction = (h % 1000) as f64 / 1000.0;
    idle.mul_f64(0.75 + fraction * 0.5)
}

/// Why a run's plan could not be had.
#[derive(Debug)]
enum PlanError {
    Store(StoreError),
    /// The run cannot be planned here: said why, for the log.
    Unusable(String),
}

impl From<StoreError> for PlanError {
    fn from(e: StoreError) -> Self {
        PlanError::Store(e)
    }
}

/// The plans of the runs this worker has served, built once per run.
#[derive(Debug)]
struct RunPlans {
    plans: HashMap<i64, Arc<Plan>>,
    /// Runs this worker cannot plan: it claims nothing more of them.
    refused: HashSet<i64>,
    /// Which jobs do real work here, so which timeouts count real time (engine::timing).
    builtins: Arc<BuiltinSettings>,
}

impl RunPlans {
    fn new(builtins: &BuiltinSettings) -> Self {
        Self {
            plans: HashMap::new(),
            refused: HashSet::new(),
            builtins: Arc::new(builtins.clone()),
        }
    }

    async fn get(
        &mut self,
        store: &Store,
        run_id: i64,
        clock: &dyn Clock,
    ) -> Result<Arc<Plan>, PlanError> {
        if let Some(plan) = self.plans.get(&run_id) {
            return Ok(plan.clone());
        }
        let run = store
            .list_runs()
            .await?
            .into_iter()
            .find(|r| r.id == run_id)
            .ok_or_else(|| PlanError::Unusable(format!("run {run_id} is not in the store")))?;
        let files = store.run_sources(run_id).await?;
        let plan = plan_from_sources(&run, &files).map_err(PlanError::Unusable)?;
        // Real work's timeouts on the run's clock, as the orchestrator's machine holds them.
        let plan = match super::timing::real_work_timeouts(&plan, clock, &self.builtins) {
            Some(timed) => timed,
            None => plan,
        };
        let plan = Arc::new(plan);
        self.plans.insert(run_id, plan.clone());
        Ok(plan)
    }
}

/// A run's plan from the files its orchestrator kept: compiled, checked against the run's
/// SHA-256, planned for its date with its options.
pub fn plan_from_sources(
    run: &warden_store::RunRecord,
    files: &[(String, String)],
) -> Result<Plan, String> {
    let Some(((path, text), referenced)) = files.split_first() else {
        return Err(format!(
            "run {} keeps no workflow files (it was started by a warden without workers on other hosts); resume it with `warden run` and in-process workers",
            run.id
        ));
    };
    let sha: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if sha != run.workflow_sha256 {
        return Err(format!(
            "the kept workflow `{path}` has SHA-256 {sha}, the run was started from {}",
            run.workflow_sha256
        ));
    }
    let mut sources = SourceMap::new();
    let file = sources.add(path.clone(), text.clone());
    let compilation = compile(
        &mut sources,
        file,
        &StoredLoader::new(referenced.iter().cloned()),
    );
    let Some(workflow) = compilation.workflow else {
        return Err(format!(
            "the kept workflow does not compile with this warden:\n{}",
            render_text(&sources, &compilation.diagnostics)
        ));
    };
    let date: DateSpec = run
        .business_date
        .parse()
        .map_err(|e| format!("run {}: business date: {e}", run.id))?;
    let options = warden_ui::catalog::run_options(run)?;
    workflow
        .instantiate(date, &options)
        .map_err(|e| format!("run {}: {e}", run.id))
}

/// The registry heartbeat's period (`warden_store::SILENT_AFTER_SECONDS` is four of them).
pub const REGISTRY_BEAT: Duration = Duration::from_secs(5);

/// This process's worker name: `host-pid-worker`. Never the form of an in-process worker's
/// (`host-pid-wN`), which an orchestrator of the same host may declare dead by its pid.
pub fn default_name() -> String {
    format!("{}-{}-worker", super::host::host_name(), std::process::id())
}
