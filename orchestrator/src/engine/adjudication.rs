//! The adjudication built-ins (`adjudicate-setup`, `adjudicate-partition`, `deferred-merge`,
//! `adjudicate-pass2`, `reconcile`, and `load-exceptions` and `post-accumulators` after
//! them) run the real engine of `warden-workers` when the run has
//! claim input: `--claims-input DIR` or `WARDEN_CLAIMS_INPUT=DIR` (claims.csv and
//! members.csv, or one such directory per stream, `DIR/STREAM/`) and optionally
//! `--plans DIR` or `WARDEN_PLANS=DIR` (default `workflows/plans`). `--checkpoint-every K`
//! (`WARDEN_CHECKPOINT_EVERY`) sets the checkpoint interval (default 50,000 claims),
//! `--monitor-every K` (`WARDEN_MONITOR_EVERY`) the exception-rate monitor's (default 100,000
//! claims): the run's `BuiltinSettings` (engine::builtins), parsed once when it starts.
//! Without claim input they stay simulated by their estimates, and the attempt's log says so.
//!
//! Setup first exports the store's year-to-date accumulators for its stream
//! (`member_accumulators`) into its work directory, and starts every member found there from
//! them instead of the feed's (`warden_workers::pipeline::ytd`).
//!
//! Each stage works in its job's own work directory, shared by the job's attempts, so a
//! rerun of a killed partition resumes from its checkpoint. The stages of one stream find
//! each other through the plan: the setup, partition (by index), merge, pass-2 and
//! reconcile jobs of the same stream.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use warden_core::plan::Plan;
use warden_core::workflow::{Action, Builtin};
use warden_workers::pipeline::driver::{
    Options, partitioned_sources, pass1_spec, pass2_spec, run_pass1,
};
use warden_workers::pipeline::layout::{Layout, STORE_YTD};
use warden_workers::pipeline::setup::{self, Split};
use warden_workers::pipeline::{NoProgress, PipelineError, finish, merge, runner};
use warden_workers::{plans, run_layout};

use super::attempt_paths::AttemptPaths;
use super::builtins::{BuiltinSettings, INPUT_ENV, PlansError, RunStore};

/// Why an adjudication stage failed: its attempt's log says `error: ` and this.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The cycle lacks the job of this stage for the stream, which the stage finds its
    /// files through.
    #[error("the cycle has no {} job for this stream", .0.name())]
    NoStageJob(Builtin),
    #[error("the cycle has no adjudicate-partition jobs for this stream")]
    NoPartitionJobs,
    #[error("not a built-in")]
    NotBuiltin,
    #[error("{} is not a stage of the adjudication engine", .0.name())]
    NotAStage(Builtin),
    #[error("{} needs the run's store", .0.name())]
    NeedsStore(Builtin),
    /// The run's benefit plans do not load.
    #[error(transparent)]
    Plans(#[from] PlansError),
    /// The engine's own failure (`warden_workers::pipeline`).
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Reconciliation found problems; they are listed in the file, not in the log (they name
    /// claims and members).
    #[error("NOT RECONCILED: {problems} problems, listed in {}", .listed.display())]
    NotReconciled { problems: usize, listed: PathBuf },
    #[error("{}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source} (the intake upstream did not put claims for this stream)", .path.display())]
    NoIntakeClaims {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Merging the stream's claims with the intake jobs'.
    #[error(transparent)]
    Merge(#[from] warden_workers::io::merge_claims::MergeError),
    #[error("reading the store's accumulators: {0}")]
    StoreRead(#[source] warden_store::StoreError),
    #[error("the store holds a member id out of range (0 to 4294967295)")]
    MemberOutOfRange,
    /// The blocking thread of the stage (`what`: "stage") or of its input's merge ("merge")
    /// panicked or was cancelled.
    #[error("the {what}'s thread failed: {source}")]
    Thread {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    /// Setup's claims are above the approved volume (engine::volume_check says how far).
    #[error("{0}")]
    OverVolume(String),
    /// `load-exceptions` or `post-accumulators` failed, as they say.
    #[error("{0}")]
    Store(String),
}

impl StageError {
    fn file(path: &Path) -> impl FnOnce(std::io::Error) -> StageError + '_ {
        move |source| StageError::File {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The work directories of `job`'s stream's `stage` jobs, with their partition index (0
/// for a stage that is not partitioned), in plan order.
fn stage_dirs(plan: &Plan, job: usize, run_dir: &Path, stage: Builtin) -> Vec<(u32, PathBuf)> {
    let stream = plan.jobs[job].stream;
    plan.jobs
        .iter()
        .filter(|j| j.stream == stream && matches!(&j.action, Action::Builtin(x) if *x == stage))
        .map(|j| {
            (
                j.partition.map_or(0, |p| p.index),
                run_layout::work_root(run_dir).join(&j.id),
            )
        })
        .collect()
}

/// The work directory of `job`'s stream's `stage` job (the first, if several).
fn stage_dir(plan: &Plan, job: usize, run_dir: &Path, stage: Builtin) -> Option<PathBuf> {
    stage_dirs(plan, job, run_dir, stage)
        .into_iter()
        .next()
        .map(|(_, d)| d)
}

/// The work directories of the adjudication stages of `job`'s stream.
fn layout(plan: &Plan, job: usize, run_dir: &Path) -> Result<Layout, StageError> {
    let one = |b: Builtin| -> Result<PathBuf, StageError> {
        stage_dir(plan, job, run_dir, b).ok_or(StageError::NoStageJob(b))
    };
    let mut parts = stage_dirs(plan, job, run_dir, Builtin::AdjudicatePartition);
    parts.sort();
    if parts.is_empty() {
        return Err(StageError::NoPartitionJobs);
    }
    Ok(Layout::with_dirs(
        one(Builtin::AdjudicateSetup)?,
        parts.into_iter().map(|(_, d)| d).collect(),
        one(Builtin::DeferredMerge)?,
        one(Builtin::AdjudicatePass2)?,
    ))
}

/// The files of an upstream stage's work directory that `reader` reads, where it reads only
/// some: what staging brings to a host for it (`None`: the whole directory, as for any job
/// that declares nothing). A partition needs setup's deferred families, not its 117 MB of
/// members; pass 2 reads only the merge's directory. A file left out here is one the stage
/// opens and does not find: the multi-host test runs every stage on a host of its own.
pub fn reads_of(reader: Builtin, upstream: Builtin) -> Option<&'static [&'static str]> {
    use Builtin::{
        AdjudicatePartition, AdjudicatePass2, AdjudicateSetup, DeferredMerge, Reconcile,
    };
    use warden_workers::pipeline::layout as files;
    match (reader, upstream) {
        (AdjudicatePartition, AdjudicateSetup) => Some(&[files::DEFERRED_FAMILIES]),
        (AdjudicatePass2, AdjudicateSetup | AdjudicatePartition) => Some(&[]),
        (DeferredMerge, AdjudicateSetup) => Some(&[files::DEFERRED_FAMILIES, files::MEMBERS]),
        (DeferredMerge, AdjudicatePartition) => {
            Some(&[files::DEFERRED, files::RESULTS, files::CHANGES])
        }
        (Reconcile, AdjudicateSetup) => Some(&[files::MANIFEST, files::MEMBERS, files::REJECTS]),
        (Reconcile, AdjudicatePartition) => Some(&[
            files::CLAIMS,
            files::RESULTS,
            files::EXCEPTIONS,
            files::CHANGES,
        ]),
        (Reconcile, AdjudicatePass2) => Some(&[files::RESULTS, files::EXCEPTIONS, files::CHANGES]),
        (Reconcile, DeferredMerge) => Some(&[files::DEFERRED_LIST]),
        _ => None,
    }
}

/// One stage, with everything it needs owned (it runs on the blocking pool).
#[derive(Debug)]
struct Stage {
    job: String,
    builtin: Builtin,
    partition: usize,
    layout: Layout,
    input: PathBuf,
    work_dir: PathBuf,
    /// The attempt's progress file (`WORK/.warden-progress`).
    progress: PathBuf,
    /// Setup: the store's accumulators, exported (`None`: the run has no store).
    store_ytd: Option<PathBuf>,
    /// Phase 1: the setup an earlier attempt of this run finished (its manifest is written
    /// last), which this attempt keeps instead of setting up (and pre-loading) again.
    earlier_setup: Option<setup::Manifest>,
    /// Setup: the claims upstream intake jobs put in this stream (engine::intake_job), read
    /// with the stream's own claims.
    intake: Vec<PathBuf>,
    /// The run's settings: its plans, checkpoint and monitor intervals, partitions.
    settings: BuiltinSettings,
}

fn prepare(
    plan: &Plan,
    job: usize,
    paths: &AttemptPaths,
    settings: &BuiltinSettings,
) -> Result<Stage, StageError> {
    let pj = &plan.jobs[job];
    let Action::Builtin(b) = &pj.action else {
        return Err(StageError::NotBuiltin);
    };
    let input = settings.claims_input().unwrap_or(Path::new(""));
    let input = pj
        .stream
        .map(|s| input.join(&plan.streams[s].id))
        .filter(|d| d.join(setup::CLAIMS_FILE).is_file())
        .unwrap_or_else(|| input.to_path_buf());
    let layout = match b {
        // One job for setup and pass 1: its stages under its own work directory.
        Builtin::AdjudicatePhase1 => Layout::new(&paths.work_dir),
        Builtin::AdjudicatePhase2 => Layout::new(
            &stage_dir(plan, job, &paths.run_dir, Builtin::AdjudicatePhase1)
                .ok_or(StageError::NoStageJob(Builtin::AdjudicatePhase1))?,
        ),
        _ => layout(plan, job, &paths.run_dir)?,
    };
    let earlier_setup = match b {
        Builtin::AdjudicatePhase1 => setup::read_manifest(&layout.setup()).ok(),
        _ => None,
    };
    let intake = match b {
        Builtin::AdjudicateSetup | Builtin::AdjudicatePhase1 => {
            let stream = pj.stream.map(|s| plan.streams[s].id.as_str());
            super::intake_job::upstream_intakes(plan, job)
                .into_iter()
                .map(|j| {
                    super::intake_job::claims_for(&paths.work_dir_of(&plan.jobs[j].id), stream)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(Stage {
        job: pj.id.clone(),
        builtin: *b,
        partition: pj
            .partition
            .map_or(0, |p| p.index.saturating_sub(1) as usize),
        layout,
        input,
        work_dir: paths.work_dir.clone(),
        progress: paths.progress.clone(),
        store_ytd: None,
        earlier_setup,
        intake,
        settings: settings.clone(),
    })
}

/// A built-in's progress, written to its attempt's progress file as `DONE TOTAL` the way a
/// shell job would (see `exec::read_progress`): claims done in this attempt, of the claims it
/// had left when it started (after its checkpoint), so the deadline projection's rate is
/// this attempt's. Written at most every quarter second, to a temporary file then renamed.
struct FileProgress {
    path: PathBuf,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    written: std::sync::Mutex<Option<std::time::Instant>>,
}

impl FileProgress {
    /// For runner specs: their inputs' records less their checkpoints' positions.
    fn for_specs(path: PathBuf, specs: &[runner::Spec]) -> FileProgress {
        let left = |spec: &runner::Spec| {
            let records = std::fs::metadata(&spec.input)
                .map(|m| m.len() / warden_workers::io::binary::CLAIM_SIZE as u64)
                .unwrap_or(0);
            let position = warden_workers::pipeline::checkpoint::load(
                &spec.dir.join(warden_workers::pipeline::layout::CHECKPOINT),
            )
            .ok()
            .flatten()
            .map_or(0, |c| c.position);
            records.saturating_sub(position)
        };
        let progress = FileProgress {
            path,
            total: specs.iter().map(left).sum(),
            done: std::sync::atomic::AtomicU64::new(0),
            written: std::sync::Mutex::new(None),
        };
        progress.write(0);
        progress
    }

    /// The last word, whatever the throttle held back.
    fn finish(&self) {
        self.write(self.done.load(std::sync::atomic::Ordering::Relaxed));
    }

    fn write(&self, done: u64) {
        if self.total == 0 {
            return;
        }
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, format!("{} {}\n", done.min(self.total), self.total)).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

impl warden_workers::pipeline::Progress for FileProgress {
    fn advance(&self, n: u64) {
        use std::sync::atomic::Ordering;
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let Ok(mut written) = self.written.lock() else {
            return;
        };
        if written.is_none_or(|t| t.elapsed() >= std::time::Duration::from_millis(250)) {
            *written = Some(std::time::Instant::now());
            self.write(done);
        }
    }
}

/// Runs one stage to the end; the text is what goes to the attempt's log.
fn run_stage(st: &Stage, cancel: Arc<AtomicBool>) -> Result<String, StageError> {
    let plans = st.settings.load_plans()?;
    let l = &st.layout;
    // The nightly's stages are fixed by its partition jobs; a phase-1 job splits itself.
    let n = match st.builtin {
        Builtin::AdjudicatePhase1 => st
            .settings
            .partitions()
            .unwrap_or(Options::default().partitions),
        _ => l.fixed_partitions().unwrap_or(1),
    };
    let mut opts = Options {
        partitions: n,
        ..Options::default()
    };
    if let Some(k) = st.settings.checkpoint_every() {
        opts.checkpoint_every = k;
    }
    if let Some(k) = st.settings.monitor_every() {
        opts.monitor_every = k;
    }
    match st.builtin {
        Builtin::AdjudicateSetup => {
            let split = Split::Balanced(n);
            let ytd = st.store_ytd.as_deref();
            let m = setup::run(&st.input, &plans, &split, l, ytd, &NoProgress)?;
            Ok(format!(
                "setup: {} claim rows, {} accepted, {} rejected; {} partitions {:?}; {} families deferred; {}",
                m.claim_rows,
                m.accepted,
                m.rejected_claims,
                n,
                m.partition_claims,
                m.deferred_families,
                match ytd {
                    Some(_) => format!(
                        "{} members start from the store's accumulators ({} store rows for members not enrolled)",
                        m.ytd.from_store, m.ytd.not_enrolled
                    ),
                    None => "no store: every member starts from the feed's accumulators".into(),
                }
            ))
        }
        Builtin::AdjudicatePartition => {
            let mut spec = pass1_spec(l, st.partition, &opts);
            spec.cancel = Some(cancel);
            let progress =
                FileProgress::for_specs(st.progress.clone(), std::slice::from_ref(&spec));
            let s = runner::run(&spec, &plans, &progress)?;
            progress.finish();
            Ok(format!(
                "pass 1: resumed at claim {}, {} adjudicated, {} deferred, {} exceptions{}",
                s.resumed_from,
                s.adjudicated,
                s.deferred,
                s.exceptions,
                if s.high_exception_mode {
                    " (high-exception mode: see events.jsonl)"
                } else {
                    ""
                }
            ))
        }
        Builtin::DeferredMerge => {
            let m = merge::run(l, n)?;
            Ok(format!(
                "merge: {} deferred claims, {} referenced results; accumulators refreshed ({} pass-1 changes touched deferred families, 0 by design)",
                m.deferred, m.references, m.changes_applied
            ))
        }
        Builtin::AdjudicatePass2 => {
            let s = run_pass2(st, &opts, &plans, cancel)?;
            Ok(format!(
                "pass 2: resumed at claim {}, {} adjudicated, {} exceptions",
                s.resumed_from, s.adjudicated, s.exceptions
            ))
        }
        Builtin::Reconcile => {
            let manifest = setup::read_manifest(&l.setup())?;
            reconcile(l, &manifest, &st.work_dir.join("out"))
        }
        Builtin::AdjudicatePhase1 => {
            // Setup once per run: a later attempt resumes the partitions from their
            // checkpoints.
            let reused = st.earlier_setup.is_some();
            let m = match st.earlier_setup.clone() {
                Some(m) => m,
                None => {
                    let ytd = st.store_ytd.as_deref();
                    setup::run(&st.input, &plans, &Split::Balanced(n), l, ytd, &NoProgress)?
                }
            };
            let n = m.boundaries.len();
            let specs: Vec<runner::Spec> = (0..n).map(|p| pass1_spec(l, p, &opts)).collect();
            let progress = FileProgress::for_specs(st.progress.clone(), &specs);
            let done = run_pass1(l, n, &opts, &plans, &progress, Some(cancel))?;
            progress.finish();
            let sum = |f: fn(&runner::Summary) -> u64| done.iter().map(f).sum::<u64>();
            let resumed = if reused {
                format!(
                    "; resumed: setup done by an earlier attempt, {} claims from checkpoints",
                    sum(|s| s.resumed_from)
                )
            } else {
                String::new()
            };
            Ok(format!(
                "setup and pass 1: {} claim rows, {} accepted, {} rejected; {} members from the store's accumulators; {n} partitions {:?}; {} adjudicated, {} deferred, {} exceptions{resumed}",
                m.claim_rows,
                m.accepted,
                m.rejected_claims,
                m.ytd.from_store,
                m.partition_claims,
                sum(|s| s.adjudicated),
                sum(|s| s.deferred),
                sum(|s| s.exceptions),
            ))
        }
        Builtin::AdjudicatePhase2 => {
            let manifest = setup::read_manifest(&l.setup())?;
            let m = merge::run(l, manifest.boundaries.len())?;
            let s = run_pass2(st, &opts, &plans, cancel)?;
            let text = reconcile(l, &manifest, &st.work_dir.join("out"))?;
            Ok(format!(
                "merge: {} deferred claims; pass 2: resumed at claim {}, {} adjudicated, {} exceptions; {text}",
                m.deferred, s.resumed_from, s.adjudicated, s.exceptions
            ))
        }
        Builtin::Sleep | Builtin::LoadExceptions | Builtin::PostAccumulators | Builtin::Intake => {
            Err(StageError::NotAStage(st.builtin))
        }
    }
}

/// Pass 2 of a stage's layout, reporting progress to the attempt and stopped by `cancel`.
fn run_pass2(
    st: &Stage,
    opts: &Options,
    plans: &plans::Plans,
    cancel: Arc<AtomicBool>,
) -> Result<runner::Summary, PipelineError> {
    let mut spec = pass2_spec(&st.layout, opts);
    spec.cancel = Some(cancel);
    let progress = FileProgress::for_specs(st.progress.clone(), std::slice::from_ref(&spec));
    let s = runner::run(&spec, plans, &progress)?;
    progress.finish();
    Ok(s)
}

/// The store's name for `job`'s stream (`-` for a cycle without streams).
fn source(plan: &Plan, job: usize) -> String {
    plan.jobs[job]
        .stream
        .map_or_else(|| "-".to_string(), |s| plan.streams[s].id.clone())
}

/// Reconciles a finished layout into `out`; a failure lists its problems there, not in the
/// job log (they name claims and members).
fn reconcile(l: &Layout, manifest: &setup::Manifest, out: &Path) -> Result<String, StageError> {
    let r = finish::run(&partitioned_sources(l, manifest), out)?;
    if r.ok {
        Ok(format!(
            "reconciled: {} claims adjudicated once, {} rejected; output in {}",
            r.adjudicated,
            r.rejected_claims,
            out.display()
        ))
    } else {
        Err(StageError::NotReconciled {
            problems: r.failures.len(),
            listed: out.join("reconciliation.json"),
        })
    }
}

/// Starts `load-exceptions` or `post-accumulators` as a task on the runtime (they wait on
/// the store, not on the CPU): the stream's reconciled output into the store, once.
fn start_store_job(
    plan: &Plan,
    job: usize,
    paths: &AttemptPaths,
    store: Option<RunStore>,
    cancel: Arc<AtomicBool>,
    builtin: Builtin,
) -> tokio::task::JoinHandle<bool> {
    let pj = &plan.jobs[job];
    let source = source(plan, job);
    let out = stage_dir(plan, job, &paths.run_dir, Builtin::Reconcile)
        .or_else(|| stage_dir(plan, job, &paths.run_dir, Builtin::AdjudicatePhase2))
        .map(|d| d.join("out"));
    let (log, logs_dir, id) = (
        paths.log.clone(),
        paths.log_dir().to_path_buf(),
        pj.id.clone(),
    );
    tokio::spawn(async move {
        let result = match (store, out) {
            (Some(rs), Some(out)) if builtin == Builtin::PostAccumulators => {
                super::post_accumulators::post(&rs.store, rs.run_id, &source, &out, cancel)
                    .await
                    .map_err(StageError::Store)
            }
            (Some(rs), Some(out)) => {
                super::load_exceptions::load(&rs.store, rs.run_id, &source, &out, cancel)
                    .await
                    .map_err(StageError::Store)
            }
            (None, _) => Err(StageError::NeedsStore(builtin)),
            (_, None) => Err(StageError::NoStageJob(Builtin::Reconcile)),
        };
        write_log(&logs_dir, &log, &id, result)
    })
}

/// Store rows read per page when exporting accumulators for setup.
const YTD_PAGE: i64 = 50_000;

/// Exports the store's accumulators for `source`, as a setup of `run_id` starts from them,
/// to `path` (a `ytd.rs` file); the rows written. (`warden bench accumulators` times it.)
pub(crate) async fn export_ytd(
    store: &warden_store::Store,
    run_id: i64,
    source: &str,
    path: &Path,
) -> Result<u64, StageError> {
    use warden_workers::pipeline::ytd::{Ytd, YtdWriter};
    let fail = StageError::file;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail(path))?;
    }
    let mut w = YtdWriter::create(path).map_err(fail(path))?;
    let mut after = -1i64;
    loop {
        let page = store
            .accumulator_preload(run_id, source, after, YTD_PAGE)
            .await
            .map_err(StageError::StoreRead)?;
        let Some(last) = page.last() else { break };
        after = last.member;
        for a in &page {
            let member = u32::try_from(a.member).map_err(|_| StageError::MemberOutOfRange)?;
            w.write(&Ytd {
                member,
                deductible: a.deductible_cents,
                oop: a.oop_cents,
            })
            .map_err(fail(path))?;
        }
    }
    w.finish().map_err(fail(path))
}

/// Writes a stage's result to the attempt's log; whether it succeeded.
fn write_log(logs_dir: &Path, log: &Path, job: &str, result: Result<String, StageError>) -> bool {
    let _ = std::fs::create_dir_all(logs_dir);
    let (ok, text) = match result {
        Ok(t) => (true, t),
        Err(e) => (false, format!("error: {e}")),
    };
    if let Ok(mut f) = std::fs::File::create(log) {
        let _ = writeln!(f, "{text}");
    }
    if ok {
        tracing::info!(job = %job, "adjudication stage done");
    } else {
        tracing::warn!(job = %job, "adjudication stage failed (see its log)");
    }
    ok
}

/// Starts a stage on the blocking pool (`load-exceptions` on the runtime); the returned flag
/// stops a partition, pass 2 or a load as a kill would. A stage that cannot be prepared
/// (the cycle lacks a stage job) fails at once.
pub fn start(
    plan: &Plan,
    job: usize,
    paths: &AttemptPaths,
    settings: &BuiltinSettings,
    store: Option<RunStore>,
    now: chrono::DateTime<chrono::Utc>,
) -> (tokio::task::JoinHandle<bool>, Arc<AtomicBool>) {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let action = &plan.jobs[job].action;
    if let Action::Builtin(b @ (Builtin::LoadExceptions | Builtin::PostAccumulators)) = action {
        return (start_store_job(plan, job, paths, store, flag, *b), cancel);
    }
    let is_setup = matches!(
        action,
        Action::Builtin(Builtin::AdjudicateSetup | Builtin::AdjudicatePhase1)
    );
    let source = source(plan, job);
    let prepared = prepare(plan, job, paths, settings);
    let log = paths.log.clone();
    let logs_dir = paths.log_dir().to_path_buf();
    let work_dir = paths.work_dir.clone();
    // The volume check needs the plan after this returns.
    let checked = is_setup.then(|| std::sync::Arc::new(plan.clone()));
    let handle = tokio::spawn(async move {
        let _ = std::fs::create_dir_all(&work_dir);
        let _ = std::fs::create_dir_all(&logs_dir);
        let mut prepared = prepared;
        // Setup reads the partner claims upstream intakes put in its stream with the
        // stream's own, merged in received order into its work directory's `input/`.
        if let Ok(st) = &mut prepared
            && !st.intake.is_empty()
            && st.earlier_setup.is_none()
        {
            let (base, intake, into) =
                (st.input.clone(), st.intake.clone(), work_dir.join("input"));
            match tokio::task::spawn_blocking(move || merge_input(&base, &intake, &into)).await {
                Ok(Ok(dir)) => st.input = dir,
                Ok(Err(m)) => prepared = Err(m),
                Err(source) => {
                    prepared = Err(StageError::Thread {
                        what: "merge",
                        source,
                    })
                }
            }
        }
        // Setup counts its claims against the approved volume first (engine::volume_check);
        // a setup an earlier attempt finished was counted then.
        if let (Some(plan), Ok(st)) = (&checked, &prepared)
            && st.earlier_setup.is_none()
            && let Some(stop) = volume_stop(plan, job, &st.input, store.as_ref(), now).await
        {
            prepared = Err(StageError::OverVolume(stop));
        }
        // Setup's pre-load from the store, before setup reads the feed (not for a setup
        // an earlier attempt finished).
        if let (true, Some(rs), Ok(st)) = (is_setup, &store, &mut prepared)
            && st.earlier_setup.is_none()
        {
            let path = st.layout.setup().join(STORE_YTD);
            match export_ytd(&rs.store, rs.run_id, &source, &path).await {
                Ok(_) => st.store_ytd = Some(path),
                Err(m) => prepared = Err(m),
            }
        }
        let job = prepared.as_ref().map_or(String::new(), |st| st.job.clone());
        let stage = tokio::task::spawn_blocking(move || match prepared {
            Ok(st) => run_stage(&st, flag),
            Err(m) => Err(m),
        });
        let result = stage.await.unwrap_or_else(|source| {
            Err(StageError::Thread {
                what: "stage",
                source,
            })
        });
        write_log(&logs_dir, &log, &job, result)
    });
    (handle, cancel)
}

/// Builds a setup's input in `into`: `claims.csv`, the stream's own claims (`base`'s, if it
/// has any) and the intake jobs' claims merged in received order, and `members.csv`, a link
/// to `base`'s. Returns `into`.
fn merge_input(base: &Path, intake: &[PathBuf], into: &Path) -> Result<PathBuf, StageError> {
    use warden_workers::io::merge_claims::{Source, merge};
    let open = |p: &Path| -> Result<Source<std::io::BufReader<std::fs::File>>, StageError> {
        let f = std::fs::File::open(p).map_err(|source| StageError::NoIntakeClaims {
            path: p.to_path_buf(),
            source,
        })?;
        Ok(Source {
            name: p.display().to_string(),
            lines: std::io::BufReader::with_capacity(1 << 20, f),
        })
    };
    let mut sources = Vec::new();
    let own = base.join(setup::CLAIMS_FILE);
    if own.is_file() {
        sources.push(open(&own)?);
    }
    for p in intake {
        sources.push(open(p)?);
    }
    let fail = StageError::file;
    std::fs::create_dir_all(into).map_err(fail(into))?;
    let claims = into.join(setup::CLAIMS_FILE);
    let tmp = into.join("claims.csv.tmp");
    let file = std::fs::File::create(&tmp).map_err(fail(&tmp))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    merge(sources, &mut w)?;
    w.flush().map_err(fail(&tmp))?;
    std::fs::rename(&tmp, &claims).map_err(fail(&claims))?;
    let members = into.join(setup::MEMBERS_FILE);
    let _ = std::fs::remove_file(&members);
    let theirs = std::path::absolute(base.join(setup::MEMBERS_FILE)).map_err(fail(base))?;
    std::os::unix::fs::symlink(&theirs, &members).map_err(fail(&members))?;
    Ok(into.to_path_buf())
}

/// Counts setup's claims; the message that stops it when they are above the approved
/// volume (after alerting on-call and compliance), or `None`. A file that cannot be read is
/// left to setup, which says where.
async fn volume_stop(
    plan: &std::sync::Arc<Plan>,
    job: usize,
    input: &Path,
    store: Option<&RunStore>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    use super::volume_check;
    let dir = input.to_path_buf();
    let claims = tokio::task::spawn_blocking(move || volume_check::count_claims(&dir))
        .await
        .ok()?
        .ok()?;
    let too_many = volume_check::check(plan, job, claims)?;
    if let Some(rs) = store
        && let Err(e) = volume_check::alert(rs, plan, job, &too_many, now).await
    {
        tracing::error!(error = %e, "the volume alert could not be raised");
    }
    Some(too_many.message(&plan.jobs[job].id, plan.impact.trigger))
}

/// Notes in the attempt's log that a built-in ran simulated, and why.
pub fn note_simulated(paths: &AttemptPaths) {
    let _ = std::fs::create_dir_all(paths.log_dir());
    if let Ok(mut f) = std::fs::File::create(&paths.log) {
        let _ = writeln!(
            f,
            "simulated: {INPUT_ENV} is not set, so this built-in takes its estimate instead of adjudicating"
        );
    }
}

/// Where `job`'s stages write their monitor events: its own work directory for a partition
/// or pass 2, each partition's for a phase-1 job (in partition order), phase 1's `pass2/`
/// for a phase-2 job.
fn event_files(plan: &Plan, job: usize, paths: &AttemptPaths) -> Vec<PathBuf> {
    use warden_workers::pipeline::layout::EVENTS;
    match &plan.jobs[job].action {
        Action::Builtin(Builtin::AdjudicatePhase1) => {
            let l = Layout::new(&paths.work_dir);
            (0..)
                .map(|p| l.partition(p))
                .take_while(|d| d.is_dir())
                .map(|d| d.join(EVENTS))
                .collect()
        }
        Action::Builtin(Builtin::AdjudicatePhase2) => {
            stage_dir(plan, job, &paths.run_dir, Builtin::AdjudicatePhase1)
                .map(|d| vec![Layout::new(&d).pass2().join(EVENTS)])
                .unwrap_or_default()
        }
        _ => vec![paths.work_dir.join(EVENTS)],
    }
}

/// Raises the exception-rate alert of a partition or pass-2 attempt once: when the stage's
/// `events.jsonl` (in its work directory, kept with its checkpoints across attempts) holds
/// an exception-rate warning. Looked at on every heartbeat and when the attempt ends, so a
/// warning written before a crash is raised by the next attempt (the key makes it once).
#[derive(Debug, Default)]
pub struct ExceptionAlerts {
    raised: bool,
}

impl ExceptionAlerts {
    /// Whether `job` is a stage that can warn (and has real input).
    pub fn watches(plan: &Plan, job: usize, settings: &BuiltinSettings) -> bool {
        settings.claims_input().is_some()
            && matches!(
                plan.jobs.get(job).map(|j| &j.action),
                Some(Action::Builtin(
                    Builtin::AdjudicatePartition
                        | Builtin::AdjudicatePass2
                        | Builtin::AdjudicatePhase1
                        | Builtin::AdjudicatePhase2
                ))
            )
    }

    pub async fn look(
        &mut self,
        store: &warden_store::Store,
        plan: &Plan,
        run_id: i64,
        job: usize,
        paths: &AttemptPaths,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), warden_store::StoreError> {
        use warden_deadlines::alert::{EXCEPTION_RATE_TEMPLATE, ExceptionRate, ExceptionRateView};
        if self.raised {
            return Ok(());
        }
        let Some(ev) = event_files(plan, job, paths)
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .find_map(|text| warden_workers::pipeline::monitor::first_warning(&text))
        else {
            return Ok(());
        };
        let seen = ExceptionRate {
            partition: &ev.partition,
            at_claim: ev.at_claim,
            exceptions: ev.exceptions,
            rate: ev.rate,
            threshold: ev.threshold,
        };
        let view = ExceptionRateView::new(plan, run_id, &plan.jobs[job].id, &seen, now);
        let alert = warden_store::NewAlert {
            run_id,
            deadline_id: view.job.clone(),
            level: view.level.as_str().to_string(),
            idempotency_key: view.idempotency_key(),
            raised_at: now,
            // Plain data (strings, numbers): it always serialises.
            view: serde_json::to_value(&view).unwrap_or_default(),
            template: Some(EXCEPTION_RATE_TEMPLATE.to_string()),
            roles: view.roles.iter().map(|r| r.id.clone()).collect(),
        };
        if store.raise_alert(&alert).await?.created {
            tracing::warn!(run = run_id, job = %view.job, rate = ev.rate, at_claim = ev.at_claim, "exception rate above the threshold: alert raised");
        }
        self.raised = true;
        Ok(())
    }
}
