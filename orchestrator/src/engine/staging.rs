//! Job files through the object store (`--objects`), so a job can run on any host.
//!
//! A job works in a local directory (`DATA/runs/RUN/work/JOB`, where the adjudication stages
//! and shell jobs already look for each other's files); around each attempt its worker moves
//! files between that directory and the store, under keys of the attempt's own
//! (`runs/RUN/jobs/JOB/attempts/N/`, `docs/objects.md`):
//!
//! - **in**: the committed output of every job it depends on (directly or not): the work
//!   directory of each one's *succeeded* attempt, as the store records it, every file checked
//!   against its SHA-256 manifest. And, for a rerun, the newest checkpoint an earlier attempt
//!   of the same job left, so partitioned adjudication resumes where it stopped.
//! - **during**: the work directory every `sync_every` while it changes (the checkpoint
//!   another worker resumes from if this one dies).
//! - **out**: the work directory and the log, before the attempt reports that it finished.
//!
//! An attempt's files become the job's output only when its fenced completion commits: a
//! reader takes the attempt the store says succeeded, so a zombie (an attempt declared lost
//! that kept going) writes only under its own attempt's keys, which nobody reads.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::time::{Duration, SystemTime};

use warden_core::plan::Plan;
use warden_objects::{Error as ObjectError, ObjectStore, attempt_prefix, download_dir, upload_dir};
use warden_store::{Claim, Store};

use super::exec::AttemptPaths;

/// The object store and how often a running attempt's work directory is saved to it.
#[derive(Debug, Clone)]
pub struct Staging {
    pub objects: ObjectStore,
    pub sync_every: Duration,
}

/// What staging in brought.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StagedIn {
    /// Upstream jobs whose committed output was downloaded (not already here).
    pub upstream: Vec<String>,
    /// The earlier attempt whose checkpoint this attempt starts from.
    pub resumed_from: Option<i64>,
    /// The run's `work/` tree once the upstream outputs were in, before the attempt's own
    /// files: what the attempt changes relative to it is its output.
    pub baseline: Fingerprint,
}

/// A fingerprint of a directory's files (names, sizes, modification times): whether it
/// changed since the last save.
pub type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

impl Staging {
    fn prefix(claim: &Claim, job: &str, attempt: i64) -> Result<String, String> {
        attempt_prefix(
            &claim.run_id.to_string(),
            job,
            u32::try_from(attempt).unwrap_or(u32::MAX),
        )
        .map_err(|e| e.to_string())
    }

    /// Brings the committed outputs of `claim`'s upstream jobs, and an earlier attempt's
    /// checkpoint, into this host's work directories.
    pub async fn stage_in(
        &self,
        db: &Store,
        plan: &Plan,
        claim: &Claim,
        paths: &AttemptPaths,
    ) -> Result<StagedIn, String> {
        let job = usize::try_from(claim.job_idx).map_err(|e| e.to_string())?;
        let attempts = db
            .load_attempts(claim.run_id)
            .await
            .map_err(|e| format!("reading the run's attempts: {e}"))?;
        let mut staged = StagedIn::default();
        for upstream in ancestors(plan, job) {
            let Some(committed) = attempts
                .iter()
                .filter(|a| {
                    a.job_idx == upstream as i64 && a.outcome.as_deref() == Some("succeeded")
                })
                .map(|a| a.attempt)
                .max()
            else {
                continue; // skipped or force-completed: nothing it wrote is committed
            };
            let id = &plan.jobs[upstream].id;
            let marker = paths.run_dir.join("staged").join(id);
            if std::fs::read_to_string(&marker).ok().as_deref() == Some(&committed.to_string()) {
                continue;
            }
            // Its output is a tree relative to the run's `work/` (its own directory, and
            // what it wrote into others').
            let work = paths.run_dir.join("work");
            match download_dir(
                &self.objects,
                &out_prefix(claim.run_id, id, committed)?,
                &work,
            )
            .await
            {
                Ok(_) => {
                    mark(&marker, committed)?;
                    staged.upstream.push(id.clone());
                }
                // A job that wrote no files (a simulated one, or one that ran before the
                // store was given) has nothing to bring.
                Err(ObjectError::NoManifest { .. }) => {}
                Err(e) => return Err(format!("{id} attempt {committed}: {e}")),
            }
        }
        staged.baseline = fingerprint(&paths.run_dir.join("work"));
        // A rerun resumes from the newest checkpoint an earlier attempt saved, unless this
        // host already holds the job's work directory.
        let empty = std::fs::read_dir(&paths.work_dir).map_or(true, |mut d| d.next().is_none());
        if empty {
            for earlier in (1..claim.attempt).rev() {
                let prefix = work_prefix(claim.run_id, &claim.job_id, earlier)?;
                match download_dir(&self.objects, &prefix, &paths.work_dir).await {
                    Ok(_) => {
                        staged.resumed_from = Some(earlier);
                        break;
                    }
                    Err(ObjectError::NoManifest { .. }) => {}
                    Err(e) => {
                        return Err(format!("{} attempt {earlier}: {e}", claim.job_id));
                    }
                }
            }
        }
        Ok(staged)
    }

    /// Saves the work directory under the attempt's keys if it changed since `last`;
    /// returns the fingerprint saved.
    pub async fn save(
        &self,
        claim: &Claim,
        paths: &AttemptPaths,
        last: &Fingerprint,
    ) -> Result<Fingerprint, String> {
        let now = fingerprint(&paths.work_dir);
        if now.is_empty() || &now == last {
            return Ok(now);
        }
        let prefix = work_prefix(claim.run_id, &claim.job_id, claim.attempt)?;
        upload_dir(&self.objects, &paths.work_dir, &prefix)
            .await
            .map_err(|e| e.to_string())?;
        Ok(now)
    }

    /// Saves what the attempt wrote under `work/` (its own directory whole, and the files it
    /// changed elsewhere relative to `baseline`) and its log: done before its success is
    /// reported, so a committed attempt's files are all there.
    pub async fn stage_out(
        &self,
        claim: &Claim,
        paths: &AttemptPaths,
        baseline: &Fingerprint,
    ) -> Result<(), String> {
        let work = paths.run_dir.join("work");
        let own = format!("{}/", claim.job_id);
        let before: std::collections::HashMap<&str, (u64, Option<SystemTime>)> = baseline
            .iter()
            .map(|(n, size, t)| (n.as_str(), (*size, *t)))
            .collect();
        let written: Vec<String> = fingerprint(&work)
            .into_iter()
            .filter(|(name, size, t)| {
                name.starts_with(&own) || before.get(name.as_str()) != Some(&(*size, *t))
            })
            .map(|(name, _, _)| name)
            .collect();
        // The files travel as one directory: hard links to them in a scratch tree (no copy).
        let scratch = paths
            .run_dir
            .join(".staging")
            .join(format!("{}.{}", claim.job_id, claim.attempt));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        for name in &written {
            let to = scratch.join(name);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::hard_link(work.join(name), &to)
                .or_else(|_| std::fs::copy(work.join(name), &to).map(|_| ()))
                .map_err(|e| format!("{name}: {e}"))?;
        }
        let uploaded = upload_dir(
            &self.objects,
            &scratch,
            &out_prefix(claim.run_id, &claim.job_id, claim.attempt)?,
        )
        .await
        .map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&scratch);
        uploaded?;
        let prefix = Self::prefix(claim, &claim.job_id, claim.attempt)?;
        if paths.log.is_file() {
            self.objects
                .put_file(&format!("{prefix}/log"), &paths.log)
                .await
                .map_err(|e| e.to_string())?;
        }
        // This host's copy is the committed one once the report lands: later jobs here
        // need not download it.
        mark(
            &paths.run_dir.join("staged").join(&claim.job_id),
            claim.attempt,
        )?;
        Ok(())
    }
}

/// Where attempt `attempt` of `job` keeps its output (a tree relative to the run's `work/`).
pub fn out_prefix(run: i64, job: &str, attempt: i64) -> Result<String, String> {
    attempt_prefix(
        &run.to_string(),
        job,
        u32::try_from(attempt).unwrap_or(u32::MAX),
    )
    .map(|p| format!("{p}/out"))
    .map_err(|e| e.to_string())
}

/// Where attempt `attempt` of `job` saves its work directory while it runs (its checkpoint).
pub fn work_prefix(run: i64, job: &str, attempt: i64) -> Result<String, String> {
    attempt_prefix(
        &run.to_string(),
        job,
        u32::try_from(attempt).unwrap_or(u32::MAX),
    )
    .map(|p| format!("{p}/work"))
    .map_err(|e| e.to_string())
}

fn mark(marker: &Path, attempt: i64) -> Result<(), String> {
    if let Some(dir) = marker.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(marker, attempt.to_string()).map_err(|e| format!("{}: {e}", marker.display()))
}

/// Every job `job` depends on, directly or not.
pub fn ancestors(plan: &Plan, job: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut next: VecDeque<usize> = plan.jobs[job].deps.iter().copied().collect();
    while let Some(j) = next.pop_front() {
        if seen.insert(j) {
            next.extend(plan.jobs[j].deps.iter().copied());
        }
    }
    seen
}

/// Names, sizes and modification times of the files below `dir` (empty when it is absent).
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let name = path
                    .strip_prefix(dir)
                    .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
                out.push((name, meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    out
}
