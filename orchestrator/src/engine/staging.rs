//! Job files through the object store (`--objects`), so a job can run on any host.
//!
//! A job works in a local directory (`DATA/runs/RUN/work/JOB`, where the adjudication stages
//! and shell jobs already look for each other's files); around each attempt its worker moves
//! files between that directory and the store, under keys of the attempt's own
//! (`runs/RUN/jobs/JOB/attempts/N/`, `docs/objects.md`):
//!
//! - **in**: the committed output of every job it depends on (directly or not): what each
//!   one's *succeeded* attempt wrote, as the store records it, every file checked against its
//!   SHA-256 manifest; only the files in the job's own directory and its ancestors'
//!   (a setup's input for the other partitions stays with their hosts), in dependency order. And, for a rerun, the newest checkpoint an earlier attempt
//!   of the same job left, so partitioned adjudication resumes where it stopped.
//! - **during**: the work directory every `sync_every` while it changes, each save a
//!   generation of its own (the checkpoint another worker resumes from if this one dies;
//!   taken whole or not at all).
//! - **out**: what the attempt wrote or changed under `work/` (not what it was given) and
//!   its log, before the attempt reports that it finished. Its large files go up while the
//!   job still writes them (`follow_outputs`); stage-out checks them and sends the rest.
//!
//! An attempt's files become the job's output only when its fenced completion commits: a
//! reader takes the attempt the store says succeeded, so a zombie (an attempt declared lost
//! that kept going) writes only under its own attempt's keys, which nobody reads.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::time::{Duration, SystemTime};

use warden_core::plan::Plan;
use warden_core::workflow::Action;
use warden_objects::{
    Error as ObjectError, Follow, ObjectStore, attempt_prefix, download_dir, download_dir_where,
    upload_dir, upload_dir_following,
};
use warden_store::{Claim, Store};

use super::attempt_paths::AttemptPaths;
use super::follow_outputs::OutputFollower;

/// The object store and how often a running attempt's work directory is saved to it.
#[derive(Debug, Clone)]
pub struct Staging {
    pub objects: ObjectStore,
    pub sync_every: Duration,
    /// Whether a running attempt's large outputs go up while it writes them
    /// (`engine::follow_outputs`).
    pub follow_outputs: bool,
}

/// What staging in brought.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StagedIn {
    /// Upstream jobs whose committed output was downloaded (not already here).
    pub upstream: Vec<String>,
    /// The earlier attempt whose checkpoint this attempt starts from.
    pub resumed_from: Option<i64>,
    /// Bytes downloaded (upstream outputs and the checkpoint).
    pub bytes: u64,
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
        // A job reads its own directory and its ancestors' (that is where the adjudication
        // stages and shell jobs look for each other's files), or the files of them a
        // built-in stage declares: what an upstream job wrote into another job's directory
        // (setup's input for each partition) is left to that job's host.
        let upstream = ancestors(plan, job);
        let jobs: HashSet<&str> = plan.jobs.iter().map(|j| j.id.as_str()).collect();
        let readable = readable(plan, job, &upstream);
        let wanted = |relative: &str| {
            let top = top_dir(relative);
            !jobs.contains(top) || readable.contains(top) || readable.contains(relative)
        };
        let work = warden_workers::run_layout::work_root(&paths.run_dir);
        let mut fresh: HashSet<String> = HashSet::new();
        // In dependency order: a file an upstream job changed wins over its ancestor's copy.
        for up in in_dependency_order(plan, &upstream) {
            let Some(committed) = attempts
                .iter()
                .filter(|a| a.job_idx == up as i64 && a.outcome.as_deref() == Some("succeeded"))
                .map(|a| a.attempt)
                .max()
            else {
                continue; // skipped or force-completed: nothing it wrote is committed
            };
            let id = &plan.jobs[up].id;
            let marker_path = paths.run_dir.join("staged").join(id);
            let mut marker = Marker::read(&marker_path, committed);
            if marker.holds_all(readable.iter().map(String::as_str)) {
                continue;
            }
            // Its output is a tree relative to the run's `work/` (its own directory, and
            // what it wrote into others').
            match download_dir_where(
                &self.objects,
                &out_prefix(claim.run_id, id, committed)?,
                &work,
                |relative| wanted(relative) && !marker.holds_file(relative),
            )
            .await
            {
                Ok(manifest) => {
                    for (name, entry) in &manifest.files {
                        if wanted(name) && !marker.holds_file(name) {
                            fresh.insert(name.clone());
                            staged.bytes += entry.size;
                        }
                    }
                    marker.add(readable.iter().map(String::as_str));
                    marker.write(&marker_path)?;
                    staged.upstream.push(id.clone());
                }
                // A job that wrote no files (a simulated one, or one that ran before the
                // store was given) has nothing to bring.
                Err(ObjectError::NoManifest { .. }) => {}
                Err(e) => return Err(format!("{id} attempt {committed}: {e}")),
            }
        }
        // What ran here before: an earlier attempt of this job on this host.
        let ran_here_path = paths
            .run_dir
            .join("staged")
            .join(format!("{}.ran", claim.job_id));
        let ran_here: i64 = std::fs::read_to_string(&ran_here_path)
            .ok()
            .and_then(|t| attempt_of_this_boot(&t))
            .unwrap_or(0);
        // The attempt's output is what it changes relative to this. In its own directory,
        // what an earlier attempt here left is this attempt's to keep (not given to it);
        // what upstream jobs put there (brought now, or written here by them) is given.
        let own = format!("{}/", claim.job_id);
        staged.baseline = fingerprint(&work)
            .into_iter()
            .filter(|(name, _, _)| ran_here == 0 || !name.starts_with(&own) || fresh.contains(name))
            .collect();
        // A rerun resumes from the newest checkpoint an earlier attempt saved, unless the
        // newest attempt that saved one ran here (its work is here, as new or newer).
        // A checkpoint is taken whole or not at all: it is downloaded beside the work
        // directory and moved in only once every file checked. A save cut off half-way (its
        // host died while overwriting the previous one) does not match its manifest: the
        // next earlier checkpoint is tried, then none.
        let scratch = paths
            .run_dir
            .join(".staging")
            .join(format!("{}.{}.resume", claim.job_id, claim.attempt));
        'attempts: for earlier in (ran_here + 1..claim.attempt).rev() {
            let saves = work_prefix(claim.run_id, &claim.job_id, earlier)?;
            let mut generations = self
                .generations(&saves)
                .await
                .map_err(|e| format!("{} attempt {earlier}: {e}", claim.job_id))?;
            generations.reverse(); // the newest first
            for generation in generations {
                let _ = std::fs::remove_dir_all(&scratch);
                match download_dir(&self.objects, &format!("{saves}/{generation}"), &scratch).await
                {
                    Ok(manifest) => {
                        move_into(&scratch, &paths.work_dir)?;
                        staged.bytes += manifest.total_size();
                        staged.resumed_from = Some(earlier);
                        break 'attempts;
                    }
                    Err(
                        e @ (ObjectError::NoManifest { .. }
                        | ObjectError::Mismatch { .. }
                        | ObjectError::MissingObject { .. }
                        | ObjectError::BadManifest { .. }),
                    ) => {
                        tracing::warn!(job = %claim.job_id, attempt = earlier, generation, "an earlier attempt's saved checkpoint is not whole in the object store, so it is not used: {e}");
                    }
                    Err(e) => {
                        let _ = std::fs::remove_dir_all(&scratch);
                        return Err(format!("{} attempt {earlier}: {e}", claim.job_id));
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        write_atomically(&ran_here_path, &with_boot(claim.attempt))?;
        Ok(staged)
    }

    /// The generations of saves under `saves` that are whole (their manifest written, as it
    /// is last), oldest first.
    async fn generations(&self, saves: &str) -> Result<Vec<String>, ObjectError> {
        let listed = self.objects.list(saves).await?;
        let mut whole: Vec<String> = listed
            .iter()
            .filter_map(|l| {
                let rest = l.key.strip_prefix(saves)?.strip_prefix('/')?;
                let (generation, file) = rest.split_once('/')?;
                (file == warden_objects::MANIFEST_NAME).then(|| generation.to_string())
            })
            .collect();
        whole.sort();
        whole.dedup();
        Ok(whole)
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
        // Each save is a generation of its own (`work/GEN/`, by the time it starts), never
        // an overwrite of the last: a save cut off half-way leaves the one before it whole.
        let saves = work_prefix(claim.run_id, &claim.job_id, claim.attempt)?;
        let generation = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let generation = format!("{generation:015}");
        let prefix = format!("{saves}/{generation}");
        // The job is running and its files change while they are copied. The generation is
        // made of hard links taken checkpoints first: a checkpoint is replaced by a rename,
        // so its link keeps the version taken, and the outputs only grow, so a checkpoint
        // saved never names more than the files saved with it hold (the runner would not
        // trust it: `runner::holds_checkpoint`).
        let scratch = paths
            .run_dir
            .join(".staging")
            .join(format!("{}.{}.save", claim.job_id, claim.attempt));
        let _ = std::fs::remove_dir_all(&scratch);
        let mut names: Vec<&String> = now.iter().map(|(n, _, _)| n).collect();
        let checkpoint = |n: &&String| {
            Path::new(n.as_str()).file_name()
                != Some(std::ffi::OsStr::new(
                    warden_workers::pipeline::layout::CHECKPOINT,
                ))
        };
        names.sort_by_key(checkpoint);
        for name in names {
            let to = scratch.join(name);
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            match std::fs::hard_link(paths.work_dir.join(name), &to) {
                Ok(()) => {}
                // Renamed away since it was listed (a temporary file): not part of the save.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        let saved = self
            .save_generation(&scratch, &saves, &generation, &prefix)
            .await;
        let _ = std::fs::remove_dir_all(&scratch);
        saved.map(|()| now)
    }

    /// Uploads one generation of a running attempt's saves, then drops the older ones.
    async fn save_generation(
        &self,
        from: &Path,
        saves: &str,
        generation: &str,
        prefix: &str,
    ) -> Result<(), String> {
        let mut tries = 0;
        loop {
            match upload_dir(&self.objects, from, prefix).await {
                Ok(_) => {
                    // The older generations are not needed any more (best effort: a reader
                    // that loses one to this takes the newest).
                    for old in self.generations(saves).await.unwrap_or_default() {
                        if old.as_str() < generation {
                            let _ = self.objects.delete_prefix(&format!("{saves}/{old}")).await;
                        }
                    }
                    return Ok(());
                }
                Err(ObjectError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && tries < 3 =>
                {
                    tries += 1;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Starts uploading the attempt's large outputs while it writes them
    /// (`engine::follow_outputs`), under the keys [`Staging::stage_out`] gives them; `None`
    /// when following is off.
    pub fn follow(
        &self,
        claim: &Claim,
        paths: &AttemptPaths,
        baseline: &Fingerprint,
    ) -> Result<Option<OutputFollower>, String> {
        if !self.follow_outputs {
            return Ok(None);
        }
        Ok(Some(OutputFollower::start(
            self.objects.clone(),
            out_prefix(claim.run_id, &claim.job_id, claim.attempt)?,
            warden_workers::run_layout::work_root(&paths.run_dir),
            baseline,
        )))
    }

    /// Saves what the attempt wrote under `work/` (its own directory whole, and the files it
    /// changed elsewhere relative to `baseline`) and its log: done before its success is
    /// reported, so a committed attempt's files are all there. The uploads `follows`
    /// started while the job ran are finished (each file checked again) rather than redone.
    pub async fn stage_out(
        &self,
        claim: &Claim,
        paths: &AttemptPaths,
        baseline: &Fingerprint,
        follows: HashMap<String, Follow>,
    ) -> Result<u64, String> {
        let work = warden_workers::run_layout::work_root(&paths.run_dir);
        let given = Given::of(baseline);
        let written: Vec<String> = fingerprint(&work)
            .into_iter()
            .filter(|(name, size, t)| given.written(name, *size, *t))
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
        let uploaded = upload_dir_following(
            &self.objects,
            &scratch,
            &out_prefix(claim.run_id, &claim.job_id, claim.attempt)?,
            follows,
        )
        .await
        .map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&scratch);
        let bytes = uploaded?.total_size();
        let prefix = Self::prefix(claim, &claim.job_id, claim.attempt)?;
        if paths.log.is_file() {
            self.objects
                .put_file(&format!("{prefix}/log"), &paths.log)
                .await
                .map_err(|e| e.to_string())?;
        }
        // This host's copy is the committed one once the report lands: later jobs here
        // need not download any of it.
        Marker::everything(claim.attempt)
            .write(&paths.run_dir.join("staged").join(&claim.job_id))?;
        Ok(bytes)
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

/// What `job` reads below the run's `work/`: its own directory, and each ancestor's
/// directory, whole (`JOB`) or the files of it its stage declares (`JOB/FILE`,
/// [`super::adjudication::reads_of`]).
fn readable(plan: &Plan, job: usize, upstream: &BTreeSet<usize>) -> HashSet<String> {
    let builtin = |j: usize| match &plan.jobs[j].action {
        Action::Builtin(b) => Some(*b),
        _ => None,
    };
    let mut out = HashSet::from([plan.jobs[job].id.clone()]);
    for &up in upstream {
        let dir = &plan.jobs[up].id;
        let declared = builtin(job)
            .zip(builtin(up))
            .and_then(|(reader, writer)| super::adjudication::reads_of(reader, writer));
        match declared {
            Some(files) => out.extend(files.iter().map(|f| format!("{dir}/{f}"))),
            None => {
                out.insert(dir.clone());
            }
        }
    }
    out
}

/// The first directory of a key relative to `work/` (`.` for a file at the top).
fn top_dir(relative: &str) -> &str {
    relative.split_once('/').map_or(".", |(top, _)| top)
}

/// What this host holds of an upstream job's committed output (`DATA/runs/R/staged/JOB`):
/// the attempt and the boot, then the directories (`DIR`) and files (`DIR/FILE`) brought,
/// one a line (`*`: all of it).
#[derive(Debug, Default)]
struct Marker {
    attempt: i64,
    dirs: BTreeSet<String>,
}

impl Marker {
    /// The marker for `attempt`: empty when the file is absent, names another attempt, or
    /// was written before the host last booted.
    fn read(path: &Path, attempt: i64) -> Marker {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut lines = text.lines();
        if lines.next().and_then(attempt_of_this_boot) != Some(attempt) {
            return Marker {
                attempt,
                ..Marker::default()
            };
        }
        Marker {
            attempt,
            dirs: lines.map(str::to_string).collect(),
        }
    }

    fn everything(attempt: i64) -> Marker {
        Marker {
            attempt,
            dirs: BTreeSet::from(["*".to_string()]),
        }
    }

    /// Whether all of it is here (`*`: this host wrote it).
    fn all(&self) -> bool {
        self.dirs.contains("*")
    }

    fn holds(&self, dir: &str) -> bool {
        self.all() || self.dirs.contains(dir)
    }

    /// Whether the file at `relative` (below `work/`) is here: its directory was brought
    /// whole, or the file by name.
    fn holds_file(&self, relative: &str) -> bool {
        self.holds(top_dir(relative)) || self.dirs.contains(relative)
    }

    /// Whether every entry (`DIR`, or `DIR/FILE`) is here.
    fn holds_all<'a>(&self, entries: impl Iterator<Item = &'a str>) -> bool {
        let held = |e: &str| match e.split_once('/') {
            Some((dir, _)) => self.dirs.contains(dir) || self.dirs.contains(e),
            None => self.dirs.contains(e),
        };
        self.all() || (self.dirs.contains(".") && entries.into_iter().all(held))
    }

    fn add<'a>(&mut self, dirs: impl Iterator<Item = &'a str>) {
        self.dirs.insert(".".to_string());
        self.dirs.extend(dirs.map(str::to_string));
    }

    fn write(&self, path: &Path) -> Result<(), String> {
        let mut text = format!("{}\n", with_boot(self.attempt));
        for d in &self.dirs {
            text.push_str(d);
            text.push('\n');
        }
        write_atomically(path, &text)
    }
}

/// Moves every file below `from` to the same place below `to` (renames on one file system).
fn move_into(from: &Path, to: &Path) -> Result<(), String> {
    for (name, _, _) in fingerprint(from) {
        let target = to.join(&name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::rename(from.join(&name), &target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

/// This boot of the host (Linux's boot id; empty elsewhere). Downloads are renamed into
/// place without waiting for the disk, and a job's own files are written the same way, so
/// after an operating-system crash what a host holds is not taken on trust: the markers of
/// what was brought, and of what ran here, name the boot they were written in.
fn boot() -> &'static str {
    static BOOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|id| id.trim().to_string())
            .unwrap_or_default()
    })
}

/// `ATTEMPT BOOT`: a marker's first line.
fn with_boot(attempt: i64) -> String {
    format!("{attempt} {}", boot())
}

/// The attempt a marker line names, if it was written in this boot.
fn attempt_of_this_boot(line: &str) -> Option<i64> {
    let mut parts = line.split_whitespace();
    let attempt = parts.next()?.parse().ok()?;
    (parts.next().unwrap_or_default() == boot()).then_some(attempt)
}

/// Writes `text` to `path` whole (a temporary file renamed), making its directory.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = std::path::PathBuf::from(temp);
    std::fs::write(&temp, text).map_err(|e| format!("{}: {e}", temp.display()))?;
    std::fs::rename(&temp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `jobs` ordered so that each comes after every one of them it depends on (by the length
/// of its longest chain of dependencies).
fn in_dependency_order(plan: &Plan, jobs: &BTreeSet<usize>) -> Vec<usize> {
    fn depth(plan: &Plan, job: usize, memo: &mut HashMap<usize, usize>) -> usize {
        if let Some(&d) = memo.get(&job) {
            return d;
        }
        let d = plan.jobs[job]
            .deps
            .iter()
            .map(|&p| depth(plan, p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(job, d);
        d
    }
    let mut memo = HashMap::new();
    let mut ordered: Vec<usize> = jobs.iter().copied().collect();
    ordered.sort_by_key(|&j| (depth(plan, j, &mut memo), j));
    ordered
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

/// What an attempt was given: its baseline ([`StagedIn::baseline`]) by name. A file of the
/// work tree that it does not list, or lists with another size or modification time, is
/// the attempt's own writing (what stage-out saves and `follow_outputs` follows).
#[derive(Debug, Clone, Default)]
pub struct Given(HashMap<String, (u64, Option<SystemTime>)>);

impl Given {
    pub fn of(baseline: &Fingerprint) -> Self {
        Given(
            baseline
                .iter()
                .map(|(n, size, t)| (n.clone(), (*size, *t)))
                .collect(),
        )
    }

    /// Whether the file `name`, now of `size` and modified at `modified`, was written by
    /// the attempt.
    pub fn written(&self, name: &str, size: u64, modified: Option<SystemTime>) -> bool {
        self.0.get(name) != Some(&(size, modified))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_belongs_to_its_first_directory() {
        assert_eq!(top_dir("CLMADJUD-P01/claims.bin"), "CLMADJUD-P01");
        assert_eq!(top_dir("CLMSETUP/a/b.bin"), "CLMSETUP");
        assert_eq!(top_dir("notes.txt"), ".");
    }

    #[test]
    fn a_marker_holds_what_was_brought_for_its_attempt_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staged/SETUP");
        let mut m = Marker::read(&path, 2);
        assert!(!m.holds("SETUP") && !m.holds_all(["SETUP"].into_iter()));
        m.add(["SETUP", "P01"].into_iter());
        m.write(&path).expect("written");
        let back = Marker::read(&path, 2);
        assert!(back.holds("SETUP") && back.holds("P01") && back.holds("."));
        assert!(back.holds_all(["SETUP", "P01"].into_iter()));
        assert!(!back.holds("P02") && !back.holds_all(["SETUP", "P02"].into_iter()));
        // Another attempt committed: nothing held.
        assert!(!Marker::read(&path, 3).holds("SETUP"));
        Marker::everything(3).write(&path).expect("written");
        assert!(Marker::read(&path, 3).holds_all(["ANY"].into_iter()));
        // Written before the host last booted: nothing held (downloads are not flushed).
        let text = std::fs::read_to_string(&path).expect("read");
        let first = text.lines().next().expect("a first line").to_string();
        assert_eq!(first, format!("3 {}", boot()));
        let earlier_boot = text.replacen(&first, "3 0f0e0d0c-earlier-boot", 1);
        std::fs::write(&path, earlier_boot).expect("written");
        assert!(!Marker::read(&path, 3).holds("ANY"));
        assert_eq!(attempt_of_this_boot(&with_boot(7)), Some(7));
        assert_eq!(attempt_of_this_boot("7 another-boot"), None);
    }

    #[test]
    fn upstream_outputs_come_in_dependency_order() {
        let text = r#"cycle: order
timezone: UTC
schedule: { cron: "0 0 * * *" }
days:
  - { id: n, window: { opens: "00:00", closes: "23:00" } }
jobs:
  - { id: LAST, run: 'true', estimate: 1m, after: [MID] }
  - { id: MID, run: 'true', estimate: 1m, after: [FIRST] }
  - { id: FIRST, run: 'true', estimate: 1m }
  - { id: END, run: 'true', estimate: 1m, after: [LAST, FIRST] }
"#;
        let (_, compiled) = warden_core::workflow::compile_str("order.yaml", text);
        let plan = compiled
            .workflow
            .expect("compiles")
            .instantiate(
                "2025-03-04".parse().expect("date"),
                &warden_core::plan::PlanOptions::default(),
            )
            .expect("plans");
        let end = plan.job_index("END").expect("END");
        let order: Vec<&str> = in_dependency_order(&plan, &ancestors(&plan, end))
            .into_iter()
            .map(|j| plan.jobs[j].id.as_str())
            .collect();
        assert_eq!(order, ["FIRST", "MID", "LAST"]);
    }

    #[test]
    fn stages_bring_only_the_files_they_declare() {
        let nightly = concat!(env!("CARGO_MANIFEST_DIR"), "/../workflows/nightly.yaml");
        let plan = crate::load::load_workflow(nightly)
            .expect("readable")
            .compilation
            .workflow
            .expect("compiles")
            .instantiate(
                "2025-03-04".parse().expect("date"),
                &warden_core::plan::PlanOptions::default(),
            )
            .expect("plans");
        let reads = |id: &str| {
            let j = plan.job_index(id).expect(id);
            let mut r: Vec<String> = readable(&plan, j, &ancestors(&plan, j))
                .into_iter()
                .collect();
            r.sort();
            r
        };
        // A partition: its own directory (setup wrote its input there) and setup's
        // deferred families, not setup's members.
        assert_eq!(
            reads("CLMADJUD-P02"),
            ["CLMADJUD-P02", "CLMSETUP/deferred-families.bin"]
        );
        // Pass 2: the merge's directory, nothing of setup's or the partitions'.
        assert_eq!(reads("CLMADJUD-PASS2"), ["CLMADJUD-PASS2", "CLMDEFMERGE"]);
        let reconcile = reads("CLMRECONCILE");
        assert!(reconcile.contains(&"CLMADJUD-P01/claims.bin".to_string()));
        assert!(reconcile.contains(&"CLMSETUP/members.bin".to_string()));
        assert!(!reconcile.contains(&"CLMADJUD-P01/members.bin".to_string()));
        assert!(
            !reconcile
                .iter()
                .any(|r| r == "CLMSETUP" || r == "CLMADJUD-P01")
        );
        // A job that declares nothing reads its ancestors' directories whole.
        let loads = reads("CLMEXCLOAD");
        assert!(loads.contains(&"CLMRECONCILE".to_string()));
        assert!(loads.contains(&"CLMSETUP".to_string()));
    }

    #[test]
    fn a_marker_holds_files_brought_by_name_and_directories_brought_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staged/SETUP");
        let mut m = Marker::read(&path, 1);
        m.add(["P01", "SETUP/deferred-families.bin"].into_iter());
        m.write(&path).expect("written");
        let m = Marker::read(&path, 1);
        assert!(m.holds_file("SETUP/deferred-families.bin"));
        assert!(
            !m.holds_file("SETUP/members.bin"),
            "not brought by the partition"
        );
        assert!(m.holds_file("P01/claims.bin"));
        assert!(m.holds_all(["P01", "SETUP/deferred-families.bin"].into_iter()));
        // The merge also needs setup's members: not all of it is here.
        assert!(!m.holds_all(["SETUP/deferred-families.bin", "SETUP/members.bin"].into_iter()));
        assert!(!m.holds_all(["SETUP"].into_iter()));
    }
}
