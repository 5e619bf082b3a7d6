//! `warden bench dag FILE.json`: end-to-end scheduling overhead against the floor.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use warden_core::clock::Clock;
use warden_core::diagnostics::render_text;
use warden_core::plan::PlanOptions;
use warden_core::workflow::compile_str;
use warden_store::{NewRun, Store};

use super::{CliError, CliResult, Exit};
use crate::bench::Dag;
use crate::engine::clocks::SystemClock;
use crate::engine::run::{RunEnd, RunError, RunOptions, run_cycle};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run a DAG of shell jobs end to end through the driver, workers and a durable store.
    Dag(DagArgs),
    /// Adjudicate the nightly volume end to end (issue #5): partitioned, and serial with --serial.
    Adjudicate(super::bench_adjudicate::AdjudicateBenchArgs),
    /// Post and export year-to-date accumulators through the store at the nightly volume.
    Accumulators(super::bench_accumulators::AccumulatorsBenchArgs),
    /// The batch impact test end to end: sample, engine runs, re-projection, Monte Carlo.
    Impact(Box<super::bench_impact::ImpactBenchArgs>),
    /// The nightly adjudication through `warden worker` processes, job files on the local
    /// disk against an object store (`--objects`).
    Objects(super::bench_objects::ObjectsBenchArgs),
    /// Partner claim files through intake: claims per second and peak memory per layout.
    Intake(super::bench_intake::IntakeBenchArgs),
    /// Claims routing side by side (issue #15): batch on one core, then `warden serve` at a
    /// fixed request rate with rule-set reloads under the load, every answer checked.
    Route(super::bench_route::RouteBenchArgs),
}

#[derive(Debug, Args)]
pub struct DagArgs {
    /// A DAG file: nodes[] (id, day, cmd) and edges[] ([from, to]).
    pub file: PathBuf,
    /// The store to use (a fresh SQLite file in a temporary directory by default).
    #[arg(long)]
    pub db: Option<String>,
    /// Jobs running at once, for Warden and for the baseline; 1 to 1024.
    #[arg(long, default_value_t = 2, value_parser = super::limits::count(super::limits::MAX_WORKERS))]
    pub parallelism: usize,
    /// Run the jobs on this many `warden worker` processes (each with a data directory of
    /// its own) instead of in-process workers: the orchestrator runs with none. Give
    /// --parallelism 1 to compare N remote workers with N in-process ones. 0 to 64.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub remote_workers: u16,
    /// Run shell jobs directly instead of under `warden supervise` (what `warden run` does):
    /// the supervisor's cost, measured by difference.
    #[arg(long)]
    pub unsupervised: bool,
    /// Repetitions (each on a fresh store); the median is reported. 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = super::limits::count(super::limits::MAX_REPEAT))]
    pub repeat: usize,
}

pub(super) fn run(command: &BenchCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let args = match command {
        BenchCommand::Dag(args) => args,
        BenchCommand::Adjudicate(args) => return super::bench_adjudicate::run(args, out, err),
        BenchCommand::Accumulators(args) => {
            return super::bench_accumulators::run(args, out);
        }
        BenchCommand::Impact(args) => return super::bench_impact::run(args, out, err),
        BenchCommand::Objects(args) => return super::bench_objects::run(args, out, err),
        BenchCommand::Intake(args) => return super::bench_intake::run(args, out, err),
        BenchCommand::Route(args) => return super::bench_route::run(args, out, err),
    };
    let dag = match std::fs::read_to_string(&args.file)
        .map_err(|e| e.to_string())
        .and_then(|t| Dag::parse(&t))
    {
        Ok(d) => d,
        Err(e) => {
            return Err(CliError::usage(format!("{}: {e}", args.file.display())));
        }
    };
    let yaml = dag.to_workflow();
    let (sources, compiled) = compile_str("bench-dag.yaml", &yaml);
    let Some(workflow) = compiled.workflow else {
        write!(err, "{}", render_text(&sources, &compiled.diagnostics))?;
        return Err(CliError::Reported(Exit::Usage));
    };
    let date = "2020-01-01".parse().map_err(std::io::Error::other)?;
    let plan = Arc::new(
        workflow
            .instantiate(date, &PlanOptions::default())
            .map_err(std::io::Error::other)?,
    );
    let jobs = plan.jobs.len();
    writeln!(
        out,
        "DAG {}: {jobs} jobs, {} edges, parallelism {}{}{}",
        args.file.display(),
        dag.edges.len(),
        args.parallelism,
        if args.remote_workers > 0 {
            format!("; {} `warden worker` processes", args.remote_workers)
        } else {
            String::new()
        },
        if args.unsupervised {
            "; shell jobs unsupervised"
        } else {
            ""
        }
    )?;

    let mut made = Vec::new();
    let mut baseline = Vec::new();
    let mut warden = Vec::new();
    let runtime = super::runtime::multi_thread()?;
    for i in 0..args.repeat {
        baseline.push(dag.run_baseline(args.parallelism)?.as_secs_f64());
        let dir = std::env::temp_dir().join(format!("warden-bench-{}-{i}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        made.push(dir.clone());
        std::fs::create_dir_all(&dir)?;
        let db = args
            .db
            .clone()
            .unwrap_or_else(|| dir.join("bench.db").to_string_lossy().into_owned());
        let plan = plan.clone();
        let run_dir = dir.clone();
        let yaml = yaml.clone();
        let seconds = runtime.block_on(async move {
            let store = Store::connect(&db).await.map_err(RunError::from)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let mut options = RunOptions::new(run_dir.join("data"));
            options.workers = args.parallelism;
            if !args.unsupervised {
                options.supervisor = crate::engine::supervise::supervisor_binary();
            }
            // Remote workers build the plan from the kept workflow text.
            options.sources = vec![("bench-dag.yaml".to_string(), yaml.clone())];
            let sha: String = <sha2::Sha256 as sha2::Digest>::digest(yaml.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let mut remote = Vec::new();
            let spawn_failed = |e: std::io::Error| {
                RunError::Store(warden_store::StoreError::Invalid(format!(
                    "a `warden worker` could not be started: {e}"
                )))
            };
            if args.remote_workers > 0 {
                options.workers = 0;
                for w in 0..args.remote_workers {
                    remote.push(
                        std::process::Command::new(std::env::current_exe().map_err(spawn_failed)?)
                            .args(["worker", "--db", &db, "--poll", "20ms", "--name"])
                            .arg(format!("bench-{w}"))
                            .arg("--data")
                            .arg(run_dir.join(format!("worker-{w}")))
                            .stdin(std::process::Stdio::null())
                            .stdout(std::process::Stdio::null())
                            .stderr(std::process::Stdio::null())
                            .spawn()
                            .map_err(spawn_failed)?,
                    );
                }
            }
            // The bench measures the driver and the queue; deadline watching is off.
            options.watch = None;
            let new = NewRun {
                cycle: format!("bench-dag-{}-{i}", std::process::id()),
                business_date: "2020-01-01".into(),
                workflow_sha256: sha,
                mode: "pipelined".into(),
                options: "{}".into(),
            };
            let started = Instant::now();
            let end = run_cycle(store, plan, &new, clock, &options).await;
            let elapsed = started.elapsed().as_secs_f64();
            // Each worker's peak resident memory (VmHWM), read before it is asked to stop.
            let peaks: Vec<u64> = remote
                .iter()
                .filter_map(|w| crate::bench::peak_memory_kib(w.id()))
                .collect();
            if let Some(peak) = peaks.iter().max() {
                eprintln!(
                    "worker peak memory (VmHWM): {} MiB at most of {}",
                    peak / 1024,
                    peaks.len()
                );
            }
            crate::bench::stop_workers(remote);
            let end = end?;
            match end {
                RunEnd::Complete { .. } => Ok(elapsed),
                RunEnd::Stuck { failed, .. } => Err(RunError::Store(
                    warden_store::StoreError::Invalid(format!("jobs failed: {failed:?}")),
                )),
            }
        });
        match seconds {
            Ok(s) => warden.push(s),
            Err(e) => {
                return Err(CliError::usage(e));
            }
        }
    }
    // Removed only at the end: ext4 searches past inodes freed in the last minutes when it
    // makes new ones, so deleting one repetition's files would slow the next.
    for dir in made {
        let _ = std::fs::remove_dir_all(dir);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, w) = (median(&mut baseline), median(&mut warden));
    writeln!(
        out,
        "baseline (fork only):   {b:.3} s  ({:.2} ms/job)",
        b * 1000.0 / jobs as f64
    )?;
    writeln!(
        out,
        "warden (durable, e2e):  {w:.3} s  ({:.2} ms/job)",
        w * 1000.0 / jobs as f64
    )?;
    writeln!(
        out,
        "overhead: {:.3} s, {:.2} ms/job; ratio {:.2}x the floor (median of {})",
        w - b,
        (w - b) * 1000.0 / jobs as f64,
        w / b,
        args.repeat
    )?;
    Ok(())
}
