//! Adopting, not rerunning, the attempts of a worker that died (an orchestrator with
//! in-process workers SIGKILLed, or a `warden worker` process gone).
//!
//! Every shell job runs under a supervisor that records its pid and how it ended beside the
//! attempt (`engine::supervise`). For each attempt still held in the queue by a dead worker:
//! - its command finished (an exit file): the recorded result is reported, as the dead worker
//!   would have, and the job does not run again;
//! - its supervisor still runs: it is followed here (the lease heartbeated, kill requests
//!   honoured, the exit file awaited) and its result reported when it ends;
//! - neither: the attempt is lost with its worker, and the job's `on_lost` policy applies.
//!
//! Reports go under the dead worker's name: the queue's fence is (job, attempt, worker), so
//! an adopter is exactly as entitled as the worker it replaces, and no more (a rescued lease
//! that someone else already closed is refused as fenced and changes nothing).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::task::JoinHandle;
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::sched::{KillReason, Outcome};
use warden_store::{Claim, Store, StoreError};

use super::attempt_paths::AttemptPaths;
use super::exec::kill_group;
use super::supervise::{live_supervisor, read_exit};
use super::worker::{Wakes, finish, patiently};

/// How often a followed supervisor's exit file is looked for.
const EXIT_POLL: Duration = Duration::from_millis(100);

/// What adoption did.
#[derive(Debug, Default)]
pub struct Adoption {
    /// Attempts whose recorded result was reported.
    pub finished: usize,
    /// Process groups of supervisors followed to their end (not to be killed as orphans).
    pub followed: Vec<i32>,
    /// Attempts lost with their worker.
    pub lost: usize,
    /// The followers, ending when their attempts do.
    pub tasks: Vec<JoinHandle<()>>,
}

/// How the adopter heartbeats.
#[derive(Debug, Clone, Copy)]
pub struct Leases {
    /// Lease length on the run's clock.
    pub lease: TimeDelta,
    /// Real time between heartbeats.
    pub heartbeat: Duration,
}

/// Adopts `held` — (job, attempt, dead worker) rows of run `run_id` — from the supervised
/// files under `data_dir`.
#[allow(clippy::too_many_arguments)]
pub async fn adopt(
    store: &Store,
    plan: &Plan,
    clock: &Arc<dyn Clock>,
    run_id: i64,
    data_dir: &Path,
    held: &[(i64, i64, String)],
    leases: Leases,
    wakes: Option<Arc<Wakes>>,
) -> Result<Adoption, StoreError> {
    let mut adoption = Adoption::default();
    for (job, attempt, worker) in held {
        let Some(pj) = usize::try_from(*job).ok().and_then(|j| plan.jobs.get(j)) else {
            continue;
        };
        let claim = Claim {
            run_id,
            job_idx: *job,
            attempt: *attempt,
            job_id: pj.id.clone(),
        };
        let paths = AttemptPaths::new(data_dir, run_id, &pj.id, *attempt);
        let log = paths.log.display().to_string();
        if let Some(outcome) = read_exit(&paths.supervised) {
            tracing::warn!(run = run_id, job = %pj.id, attempt, worker = %worker, ?outcome, "adopted the result of an attempt that ended while its worker was dead; the job does not run again");
            // The start may not have been recorded before the worker died; a second record
            // of it is ignored.
            let _ =
                patiently(|| store.start_attempt(&claim, worker, clock.now(), None, &log)).await;
            finish(store, &claim, worker, outcome, clock).await?;
            adoption.finished += 1;
        } else if let Some(pid) = live_supervisor(&paths.supervised, &paths.run_dir) {
            tracing::warn!(run = run_id, job = %pj.id, attempt, worker = %worker, pid, "re-attached to an attempt still running while its worker was dead");
            let _ = patiently(|| {
                store.start_attempt(&claim, worker, clock.now(), Some(i64::from(pid)), &log)
            })
            .await;
            adoption.followed.push(pid);
            adoption.tasks.push(tokio::spawn(follow(
                store.clone(),
                claim,
                worker.clone(),
                clock.clone(),
                paths,
                pid,
                leases,
                wakes.clone(),
            )));
        } else if store
            .lose_attempt(run_id, *job, *attempt, worker, clock.now())
            .await?
        {
            tracing::warn!(run = run_id, job = %pj.id, attempt, worker = %worker, "attempt lost with its worker (its supervisor is gone too); the job's on-lost policy applies");
            adoption.lost += 1;
        }
    }
    Ok(adoption)
}

/// Follows a re-attached supervisor to its end, heartbeating the attempt's lease.
#[allow(clippy::too_many_arguments)]
async fn follow(
    store: Store,
    claim: Claim,
    worker: String,
    clock: Arc<dyn Clock>,
    paths: AttemptPaths,
    pgid: i32,
    leases: Leases,
    wakes: Option<Arc<Wakes>>,
) {
    let mut beat = tokio::time::interval(leases.heartbeat);
    let outcome = loop {
        tokio::select! {
            _ = tokio::time::sleep(EXIT_POLL) => {}
            _ = beat.tick() => {
                match store.heartbeat(&claim, &worker, clock.now(), leases.lease).await {
                    Ok(None) => {}
                    Ok(Some(why)) => {
                        kill_group(pgid);
                        break match why {
                            KillReason::Timeout => Outcome::TimedOut,
                            KillReason::Operator => Outcome::Failed { exit_code: None },
                        };
                    }
                    Err(StoreError::Fenced { .. }) => {
                        // Someone else owns the attempt's fate now.
                        kill_group(pgid);
                        return;
                    }
                    Err(_) => {} // the store is away: next beat
                }
            }
        }
        if let Some(outcome) = read_exit(&paths.supervised) {
            break outcome;
        }
        if live_supervisor(&paths.supervised, &paths.run_dir).is_none() {
            // Ended between the two looks, or died without a word.
            match read_exit(&paths.supervised) {
                Some(outcome) => break outcome,
                None => {
                    let _ = store
                        .lose_attempt(
                            claim.run_id,
                            claim.job_idx,
                            claim.attempt,
                            &worker,
                            clock.now(),
                        )
                        .await;
                    if let Some(w) = &wakes {
                        w.driver.notify_one();
                    }
                    return;
                }
            }
        }
    };
    if let Err(e) = finish(&store, &claim, &worker, outcome, &clock).await {
        tracing::warn!(job = %claim.job_id, attempt = claim.attempt, error = %e, "the adopted attempt's result could not be reported; its lease will run out");
    }
    if let Some(w) = &wakes {
        w.driver.notify_one();
    }
}
