//! Running one attempt of a job: a shell command in its own process group, or a built-in.
//!
//! A shell job gets the cycle context in its environment (`WARDEN_CYCLE`, `WARDEN_DATE`,
//! `WARDEN_DAY`, `WARDEN_STREAM`, `WARDEN_PARTITION`, `WARDEN_ATTEMPT`, `WARDEN_JOB`,
//! `WARDEN_WORK_DIR`, `WARDEN_RUN_DIR`, `WARDEN_PROGRESS_FILE`, `WARDEN_WORKER`), runs in the job's work directory with stdout and
//! stderr in the attempt's log file, and is killed as a whole process group (so a shell's children die with it).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::Outcome;
use warden_core::workflow::{Action, Builtin};

use super::attempt_paths::AttemptPaths;
use super::builtins::{BuiltinSettings, RunStore};

/// Simulated jobs' durations where they are not their estimates: `warden demo` makes the
/// scenario's overrunning jobs (the February crisis) really take longer than planned, while
/// the deadline watcher still projects from the estimates, as it would on a real night.
pub type SimulatedDurations = std::collections::HashMap<usize, chrono::TimeDelta>;

/// Whether a job's attempts do real work (a shell command, or an adjudication built-in
/// given claim input by `--claims-input` or `WARDEN_CLAIMS_INPUT`) rather than take their
/// estimate on the run's clock. Real work takes the real time it takes, whatever the
/// clock's speed, so its timeout is counted in real time too (`engine::timing`).
pub fn does_real_work(action: &Action, builtins: &BuiltinSettings) -> bool {
    match action {
        Action::Shell(_) => true,
        Action::Builtin(Builtin::Sleep) => false,
        Action::Builtin(_) => builtins.claims_input().is_some(),
        // The partner's files are real whatever the run's claim input.
        Action::Intake(_) => true,
    }
}

/// An attempt in progress.
#[derive(Debug)]
pub enum Running {
    /// A built-in that takes its planned duration on the run's clock.
    Simulated {
        until: tokio::time::Instant,
    },
    Process {
        child: Child,
        pgid: Option<i32>,
    },
    /// A built-in doing real work in this process: an adjudication stage running the real
    /// engine (engine::adjudication), or a partner intake (engine::intake_job).
    InProcess {
        handle: tokio::task::JoinHandle<bool>,
        cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}

impl Running {
    /// Starts attempt `attempt` of `job`. A shell job runs under `supervisor` (the `warden`
    /// binary, whose `supervise` command records how it ended) where one is given, so that
    /// it can be adopted if this process dies (`engine::adopt`).
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        plan: &Plan,
        job: usize,
        attempt: i64,
        paths: &AttemptPaths,
        clock: &Arc<dyn Clock>,
        simulated: &SimulatedDurations,
        store: Option<RunStore>,
        supervisor: Option<&Path>,
        worker: &str,
        builtins: &BuiltinSettings,
    ) -> std::io::Result<Running> {
        let pj = &plan.jobs[job];
        match &pj.action {
            Action::Intake(spec) => {
                let (handle, cancel) =
                    super::intake_job::start(plan, job, spec, paths, builtins, store);
                Ok(Running::InProcess { handle, cancel })
            }
            action @ Action::Builtin(_) if does_real_work(action, builtins) => {
                let (handle, cancel) =
                    super::adjudication::start(plan, job, paths, builtins, store, clock.now());
                Ok(Running::InProcess { handle, cancel })
            }
            Action::Builtin(b) => {
                // Without claim input (--claims-input, WARDEN_CLAIMS_INPUT) the adjudication
                // built-ins are simulated by their estimates, and their log says so.
                if *b != Builtin::Sleep {
                    super::adjudication::note_simulated(paths);
                }
                // A scenario's injected duration applies to any simulated built-in.
                let took = simulated.get(&job).copied().unwrap_or(pj.duration);
                let wait = clock.real_duration(took);
                Ok(Running::Simulated {
                    until: tokio::time::Instant::now() + wait,
                })
            }
            Action::Shell(command) => {
                // Plain std: a few microseconds, not worth a blocking-pool hand-off.
                std::fs::create_dir_all(&paths.work_dir)?;
                let log = match std::fs::File::create(&paths.log) {
                    Ok(file) => file,
                    Err(_) => {
                        std::fs::create_dir_all(paths.log_dir())?;
                        std::fs::File::create(&paths.log)?
                    }
                };
                let log_too = log.try_clone()?;
                let night = &plan.nights[pj.day];
                let mut cmd = match supervisor {
                    Some(warden) => {
                        if let Some(dir) = paths.supervised.pid.parent() {
                            std::fs::create_dir_all(dir)?;
                        }
                        let mut cmd = Command::new(warden);
                        cmd.arg("supervise")
                            .arg("--pid-file")
                            .arg(&paths.supervised.pid)
                            .arg("--exit-file")
                            .arg(&paths.supervised.exit)
                            .arg("--")
                            .arg("/bin/sh");
                        cmd
                    }
                    None => Command::new("/bin/sh"),
                };
                cmd.arg("-c")
                    .arg(command)
                    .current_dir(&paths.work_dir)
                    .stdin(Stdio::null())
                    .stdout(log)
                    .stderr(log_too)
                    .process_group(0)
                    .env("WARDEN_CYCLE", &plan.cycle)
                    .env("WARDEN_DATE", &plan.date)
                    .env("WARDEN_DAY", &night.day_id)
                    .env("WARDEN_NIGHT", night.date.to_string())
                    .env("WARDEN_JOB", &pj.id)
                    .env("WARDEN_ATTEMPT", attempt.to_string())
                    .env("WARDEN_WORK_DIR", &paths.work_dir)
                    .env("WARDEN_RUN_DIR", &paths.run_dir)
                    // Whose job it is: a restarted orchestrator or worker kills only the
                    // leftovers of dead workers (engine::host), never a live one's.
                    .env("WARDEN_WORKER", worker)
                    .env("WARDEN_PROGRESS_FILE", &paths.progress)
                    .env(
                        "WARDEN_STREAM",
                        pj.stream
                            .map(|s| plan.streams[s].id.clone())
                            .unwrap_or_default(),
                    )
                    .env(
                        "WARDEN_PARTITION",
                        pj.partition
                            .map(|p| p.index.to_string())
                            .unwrap_or_default(),
                    );
                let child = cmd.spawn()?;
                let pgid = child.id().and_then(|id| i32::try_from(id).ok());
                Ok(Running::Process { child, pgid })
            }
        }
    }

    /// The process group to remember, so a restarted orchestrator can find it again.
    pub fn pgid(&self) -> Option<i32> {
        match self {
            Running::Simulated { .. } | Running::InProcess { .. } => None,
            Running::Process { pgid, .. } => *pgid,
        }
    }

    /// Waits for the attempt to end.
    pub async fn wait(&mut self) -> Outcome {
        match self {
            Running::Simulated { until } => {
                tokio::time::sleep_until(*until).await;
                Outcome::Succeeded
            }
            Running::Process { child, .. } => match child.wait().await {
                Ok(status) if status.success() => Outcome::Succeeded,
                Ok(status) => Outcome::Failed {
                    exit_code: status.code(),
                },
                Err(_) => Outcome::Failed { exit_code: None },
            },
            Running::InProcess { handle, .. } => match handle.await {
                Ok(true) => Outcome::Succeeded,
                Ok(false) => Outcome::Failed { exit_code: Some(1) },
                Err(_) => Outcome::Failed { exit_code: None },
            },
        }
    }

    /// Kills the attempt (the whole process group).
    pub fn kill(&mut self) {
        match self {
            Running::Process {
                pgid: Some(pgid), ..
            } => kill_group(*pgid),
            // A stage stops at its next check, its last checkpoint standing.
            Running::InProcess { cancel, .. } => {
                cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// SIGKILL to a process group; a group that is already gone is fine.
pub fn kill_group(pgid: i32) {
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta, Utc};
    use warden_core::plan::PlanOptions;
    use warden_core::workflow::compile_str;

    use crate::engine::clocks::AcceleratedClock;

    fn plan() -> Plan {
        let text = r#"
cycle: exec-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: OVERRUN, builtin: sleep, estimate: 30m }
  - { id: ON-TIME, builtin: sleep, estimate: 20m }
  - { id: SETUP, builtin: adjudicate-setup, estimate: 10m }
"#;
        let (_, c) = compile_str("exec-test.yaml", text);
        c.workflow
            .expect("compiles")
            .instantiate("2025-03-04".parse().expect("date"), &PlanOptions::default())
            .expect("plans")
    }

    /// How long a simulated attempt of `job` takes on the run's clock.
    async fn takes(plan: &Plan, job: usize, overrides: &SimulatedDurations) -> TimeDelta {
        let dir = std::env::temp_dir().join(format!("warden-exec-test-{}", std::process::id()));
        let clock: Arc<dyn Clock> =
            Arc::new(AcceleratedClock::new(DateTime::<Utc>::UNIX_EPOCH, 600.0));
        let paths = AttemptPaths::new(&dir, 1, &plan.jobs[job].id, 1);
        let started = tokio::time::Instant::now();
        let running = Running::start(
            plan,
            job,
            1,
            &paths,
            &clock,
            overrides,
            None,
            None,
            "test-w0",
            &BuiltinSettings::default(),
        )
        .await
        .expect("starts");
        let _ = std::fs::remove_dir_all(&dir);
        match running {
            Running::Simulated { until } => clock.clock_duration(until - started),
            other => panic!("not simulated: {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_override_sets_a_simulated_jobs_duration_and_nothing_else() {
        let plan = plan();
        let none = SimulatedDurations::new();
        assert_eq!(takes(&plan, 0, &none).await, TimeDelta::minutes(30));
        let overrides: SimulatedDurations =
            [(0, TimeDelta::minutes(75)), (2, TimeDelta::minutes(99))]
                .into_iter()
                .collect();
        // The overridden sleep job takes the override, on the run's clock.
        assert_eq!(takes(&plan, 0, &overrides).await, TimeDelta::minutes(75));
        // A job without an override takes its estimate.
        assert_eq!(takes(&plan, 1, &overrides).await, TimeDelta::minutes(20));
        // A simulated adjudication stage (no claim input) is simulated the same way: the
        // month-end's ADJUD-PHASE1 is one, and the February 2025 scenario overrides it.
        assert_eq!(takes(&plan, 2, &overrides).await, TimeDelta::minutes(99));
        // The plan, which the deadline watcher projects from, is not changed.
        assert_eq!(plan.jobs[0].duration, TimeDelta::minutes(30));
    }
}
