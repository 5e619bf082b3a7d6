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

use super::{CliResult, EXIT_OK, EXIT_USAGE};
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
    /// Repetitions (each on a fresh store); the median is reported. 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = super::limits::count(super::limits::MAX_REPEAT))]
    pub repeat: usize,
}

pub(super) fn run(command: &BenchCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let args = match command {
        BenchCommand::Dag(args) => args,
        BenchCommand::Adjudicate(args) => return super::bench_adjudicate::run(args, out, err),
        BenchCommand::Accumulators(args) => {
            return super::bench_accumulators::run(args, out, err);
        }
        BenchCommand::Impact(args) => return super::bench_impact::run(args, out, err),
    };
    let dag = match std::fs::read_to_string(&args.file)
        .map_err(|e| e.to_string())
        .and_then(|t| Dag::parse(&t))
    {
        Ok(d) => d,
        Err(e) => {
            writeln!(err, "error: {}: {e}", args.file.display())?;
            return Ok(EXIT_USAGE);
        }
    };
    let (sources, compiled) = compile_str("bench-dag.yaml", &dag.to_workflow());
    let Some(workflow) = compiled.workflow else {
        write!(err, "{}", render_text(&sources, &compiled.diagnostics))?;
        return Ok(EXIT_USAGE);
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
        "DAG {}: {jobs} jobs, {} edges, parallelism {}",
        args.file.display(),
        dag.edges.len(),
        args.parallelism
    )?;

    let mut made = Vec::new();
    let mut baseline = Vec::new();
    let mut warden = Vec::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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
        let seconds = runtime.block_on(async move {
            let store = Store::connect(&db).await.map_err(RunError::from)?;
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            let mut options = RunOptions::new(run_dir.join("data"));
            options.workers = args.parallelism;
            // The bench measures the driver and the queue; deadline watching is off.
            options.watch = None;
            let new = NewRun {
                cycle: format!("bench-dag-{}-{i}", std::process::id()),
                business_date: "2020-01-01".into(),
                workflow_sha256: "bench".into(),
                mode: "pipelined".into(),
                options: "{}".into(),
            };
            let started = Instant::now();
            let end = run_cycle(store, plan, &new, clock, &options).await?;
            let elapsed = started.elapsed().as_secs_f64();
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
                writeln!(err, "error: {e}")?;
                return Ok(EXIT_USAGE);
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
    Ok(EXIT_OK)
}
