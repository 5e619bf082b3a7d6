//! The whole run in one process: serial (the audit baseline) or partitioned two-pass with
//! the partitions on a pool of threads. The orchestrator runs the same stages as separate
//! jobs; this is what `warden adjudicate` and the tests call.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::{At, PipelineError, Result};
use super::finish::{self, Reconciliation, Sources};
use super::layout::{self, Layout};
use super::merge::{self, MergeSummary};
use super::partition::Boundaries;
use super::progress::Progress;
use super::runner::{self, Spec, Summary};
use super::setup::{self, Manifest, Split};
use crate::plans::Plans;

#[derive(Debug, Clone)]
pub struct Options {
    pub partitions: usize,
    /// Given boundaries instead of balanced ones (from `warden partitions plan`).
    pub boundaries: Option<Boundaries>,
    pub checkpoint_every: u64,
    pub monitor_every: u64,
    /// Partitions adjudicated at once (the machine's cores by default).
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            partitions: 6,
            boundaries: None,
            checkpoint_every: 50_000,
            monitor_every: super::monitor::EVERY,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What a run did, stage by stage.
#[derive(Debug, Clone)]
pub struct Report {
    pub manifest: Manifest,
    pub pass1: Vec<Summary>,
    pub merge: MergeSummary,
    pub pass2: Option<Summary>,
    pub reconciliation: Reconciliation,
}

/// Removes the stage directories a previous run left (never anything else in `work`).
fn clear(work: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(work) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = matches!(name.as_str(), "setup" | "merge" | "pass2")
            || (name.len() == 3
                && name.starts_with('p')
                && name[1..].bytes().all(|b| b.is_ascii_digit()));
        if ours {
            std::fs::remove_dir_all(e.path()).at(&e.path())?;
        }
    }
    Ok(())
}

fn spec(name: &str, input: PathBuf, dir: PathBuf, members: PathBuf, opts: &Options) -> Spec {
    Spec {
        name: name.to_string(),
        input,
        dir,
        members,
        deferred: None,
        refs_seed: None,
        checkpoint_every: opts.checkpoint_every,
        monitor_every: opts.monitor_every,
        stop_after: None,
        cancel: None,
    }
}

/// Serial adjudication of `input` into `out` (work files under `work`).
pub fn adjudicate_serial(
    input: &Path,
    plans: &Plans,
    work: &Path,
    out: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    clear(work)?;
    let l = Layout::new(work);
    let manifest = setup::run(input, plans, &Split::Serial, &l, None, progress)?;
    progress.stage("serial: adjudicating", manifest.accepted);
    let s = spec(
        "serial",
        l.partition(0).join(layout::CLAIMS),
        l.partition(0),
        l.setup().join(layout::MEMBERS),
        opts,
    );
    let summary = runner::run(&s, plans, progress)?;
    progress.stage("reconciling", 0);
    let reconciliation = finish::run(
        &Sources {
            manifest: manifest.clone(),
            claims: vec![l.partition(0).join(layout::CLAIMS)],
            stages: vec![l.partition(0)],
            start_members: l.setup().join(layout::MEMBERS),
            rejects: l.setup().join(layout::REJECTS),
            deferred_list: None,
        },
        out,
    )?;
    Ok(Report {
        manifest,
        pass1: vec![summary],
        merge: MergeSummary::default(),
        pass2: None,
        reconciliation,
    })
}

/// Pass 1 for partition `p` of a set-up work directory.
pub fn pass1_spec(l: &Layout, p: usize, opts: &Options) -> Spec {
    let mut s = spec(
        &format!("p{:02}", p + 1),
        l.partition(p).join(layout::CLAIMS),
        l.partition(p),
        l.partition(p).join(layout::MEMBERS),
        opts,
    );
    s.deferred = Some(l.setup().join(layout::DEFERRED_FAMILIES));
    s
}

/// Pass 2 over a merged work directory.
pub fn pass2_spec(l: &Layout, opts: &Options) -> Spec {
    let mut s = spec(
        "pass2",
        l.merge().join(layout::DEFERRED),
        l.pass2(),
        l.merge().join(layout::MEMBERS),
        opts,
    );
    s.refs_seed = Some(l.merge().join(layout::REFS));
    s
}

/// The sources `finish` reconciles for a partitioned run.
pub fn partitioned_sources(l: &Layout, manifest: &Manifest) -> Sources {
    let n = manifest.boundaries.len();
    let mut stages: Vec<PathBuf> = (0..n).map(|p| l.partition(p)).collect();
    stages.push(l.pass2());
    Sources {
        manifest: manifest.clone(),
        claims: (0..n)
            .map(|p| l.partition(p).join(layout::CLAIMS))
            .collect(),
        stages,
        start_members: l.setup().join(layout::MEMBERS),
        rejects: l.setup().join(layout::REJECTS),
        deferred_list: Some(l.merge().join(layout::DEFERRED_LIST)),
    }
}

/// Pass 1 of the `n` partitions of a set-up layout, `opts.threads` at a time, each resuming
/// from its checkpoint; `cancel` stops them all as a kill would (their checkpoints stand).
pub fn run_pass1(
    l: &Layout,
    n: usize,
    opts: &Options,
    plans: &Plans,
    progress: &dyn Progress,
    cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
) -> Result<Vec<Summary>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Summary>>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.clamp(1, n.max(1)) {
            scope.spawn(|| {
                loop {
                    let p = next.fetch_add(1, Ordering::SeqCst);
                    if p >= n {
                        break;
                    }
                    let mut spec = pass1_spec(l, p, opts);
                    spec.cancel.clone_from(&cancel);
                    let r = runner::run(&spec, plans, progress);
                    if let Ok(mut v) = results.lock() {
                        v[p] = Some(r);
                    }
                }
            });
        }
    });
    let mut pass1 = Vec::with_capacity(n);
    for r in results
        .into_inner()
        .map_err(|_| PipelineError::Input("a partition thread panicked".into()))?
    {
        pass1.push(r.ok_or_else(|| PipelineError::Input("a partition did not run".into()))??);
    }
    Ok(pass1)
}

/// Partitioned two-pass adjudication of `input` into `out`.
pub fn adjudicate_partitioned(
    input: &Path,
    plans: &Plans,
    work: &Path,
    out: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Report> {
    // Before any work: balancing costs memory in partitions × groups, and more than the
    // limit would only be refused after it.
    if opts.boundaries.is_none() && opts.partitions > super::defer::MAX_PARTITIONS {
        return Err(PipelineError::Input(format!(
            "{} partitions; at most {} are supported",
            opts.partitions,
            super::defer::MAX_PARTITIONS
        )));
    }
    clear(work)?;
    let l = Layout::new(work);
    let split = match &opts.boundaries {
        Some(b) => Split::Given(b.clone()),
        None => Split::Balanced(opts.partitions.max(1)),
    };
    let manifest = setup::run(input, plans, &split, &l, None, progress)?;
    let n = manifest.boundaries.len();
    progress.stage(&format!("pass 1: {n} partitions"), manifest.accepted);
    let pass1 = run_pass1(&l, n, opts, plans, progress, None)?;
    progress.stage("deferred merge", 0);
    let merge = merge::run(&l, n)?;
    progress.stage("pass 2: deferred claims", merge.deferred);
    let pass2 = runner::run(&pass2_spec(&l, opts), plans, progress)?;
    progress.stage("reconciling", 0);
    let reconciliation = finish::run(&partitioned_sources(&l, &manifest), out)?;
    Ok(Report {
        manifest,
        pass1,
        merge,
        pass2: Some(pass2),
        reconciliation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_partitions_are_refused_before_any_work() {
        let dir = std::env::temp_dir().join(format!("warden-driver-limit-{}", std::process::id()));
        let opts = Options {
            partitions: 100_000,
            ..Options::default()
        };
        // No input at all: the limit is checked before anything is read or written.
        let e = adjudicate_partitioned(
            &dir.join("input"),
            &Plans::default(),
            &dir.join("work"),
            &dir.join("out"),
            &opts,
            &super::super::progress::NoProgress,
        )
        .expect_err("refused");
        assert!(
            e.to_string().contains("100000 partitions; at most 64"),
            "{e}"
        );
        assert!(!dir.exists(), "nothing written");
    }
}
