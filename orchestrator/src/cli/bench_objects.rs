//! `warden bench objects`: the nightly adjudication (setup, partitions, merge, pass 2,
//! reconcile) through `warden run` and `warden worker` processes, with the job files on this
//! host's disk and then through an object store: what the data plane costs (issue #14's
//! target: at most 25% slower). Each run is the real binary on a fresh store; the generated
//! input is kept in `--dir` and reused, as `bench adjudicate` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use clap::Args;

use super::bench_adjudicate::generated_input;
use super::{CliError, CliResult, load_plans};
use crate::engine::builtins::{CHECKPOINT_ENV, INPUT_ENV, PLANS_ENV};

#[derive(Debug, Args)]
pub struct ObjectsBenchArgs {
    /// The object store of the measured run: `s3://BUCKET/PREFIX` (endpoint and credentials
    /// from the standard AWS environment, as for `warden run --objects`) or a directory.
    /// Each run writes under a prefix of its own, left there to look at.
    #[arg(long, value_name = "URL")]
    pub objects: String,
    /// Members of the generated input (case study 004's 4.2M), 1 to 50,000,000.
    #[arg(long, default_value_t = 4_200_000, value_parser = super::limits::amount(1, super::limits::MAX_MEMBERS))]
    pub members: u64,
    /// Claims of the generated input (case study 004's 1.8M), 0 to 200,000,000.
    #[arg(long, default_value_t = 1_800_000, value_parser = super::limits::amount(0, super::limits::MAX_CLAIMS))]
    pub claims: u64,
    /// Seed of the generated input.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Partitions of pass 1, 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::limits::count(super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// Claims between checkpoints; at least 1.
    #[arg(long, default_value_t = 50_000, value_parser = super::limits::amount(1, u64::MAX))]
    pub checkpoint_every: u64,
    /// `warden worker` processes (and in-process workers of the first run), 1 to 64.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Seconds between saves of a running job's work directory to the object store (the
    /// workers' `--sync-every`).
    #[arg(long, default_value = "60s")]
    pub sync_every: humantime::Duration,
    /// Run the workers with `--no-follow`: their jobs' outputs go up only after each job
    /// (what following saves is this run against one without the flag).
    #[arg(long)]
    pub no_follow: bool,
    /// The store (default: a fresh SQLite file per run). A PostgreSQL URL is shared by the
    /// runs: each has a cycle name of its own.
    #[arg(long)]
    pub db: Option<String>,
    /// Repetitions of the three runs; the median of each is reported. 1 to 100.
    #[arg(long, default_value_t = 1, value_parser = super::limits::count(super::limits::MAX_REPEAT))]
    pub repeat: usize,
    /// Where the input and the runs go. The input is kept and reused when its parameters
    /// match; of the runs, only the last repetition's are kept (an earlier invocation's are
    /// removed: each run leaves gigabytes).
    #[arg(long, default_value = "target/bench-objects")]
    pub dir: PathBuf,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is there,
    /// else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
}

/// The three ways the same work is run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `warden run --workers N`: the default, one process, the local disk.
    InProcess,
    /// `warden run --workers 0` and N `warden worker` processes sharing one data directory.
    WorkersLocalDisk,
    /// The same with a data directory each, the files through the object store.
    WorkersObjects,
}

impl Mode {
    fn label(self, workers: u16) -> String {
        match self {
            Mode::InProcess => format!("warden run, {workers} in-process workers, local disk"),
            Mode::WorkersLocalDisk => format!("{workers} warden worker processes, local disk"),
            Mode::WorkersObjects => format!("{workers} warden worker processes, object store"),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Mode::InProcess => "in-process",
            Mode::WorkersLocalDisk => "local-disk",
            Mode::WorkersObjects => "objects",
        }
    }
}

const MODES: [Mode; 3] = [
    Mode::InProcess,
    Mode::WorkersLocalDisk,
    Mode::WorkersObjects,
];

/// The measured cycle: the nightly's adjudication jobs, no window to wait for.
fn workflow(cycle: &str, partitions: usize) -> String {
    format!(
        r#"cycle: {cycle}
timezone: UTC
schedule: {{ cron: "0 0 * * *", business_days_only: false }}
days:
  - {{ id: night, window: {{ opens: "00:00", closes: "23:59" }}, start: when_ready }}
jobs:
  - {{ id: CLMSETUP, builtin: adjudicate-setup, estimate: 5m }}
  - {{ id: CLMADJUD, builtin: adjudicate-partition, partitions: {partitions}, after: [CLMSETUP], estimate: 35m }}
  - {{ id: CLMDEFMERGE, builtin: deferred-merge, after: [CLMADJUD], estimate: 5m }}
  - {{ id: CLMADJUD-PASS2, builtin: adjudicate-pass2, after: [CLMDEFMERGE], estimate: 22m }}
  - {{ id: CLMRECONCILE, builtin: reconcile, after: [CLMADJUD-PASS2], estimate: 3m }}
"#
    )
}

/// One measured run: its wall time and the workers' peak memory (KiB).
struct Measured {
    seconds: f64,
    worker_peak_kib: Option<u64>,
}

pub(super) fn run(args: &ObjectsBenchArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let plans = load_plans(args.plans.as_deref(), err)?;
    let input = generated_input(&args.dir, args.members, args.claims, args.seed, &plans, out)?;
    let input = std::path::absolute(input)?;
    let exe = std::env::current_exe()?;
    writeln!(
        out,
        "nightly adjudication: {} claims, {} partitions, checkpoints every {}; objects {}{}",
        args.claims,
        args.partitions,
        args.checkpoint_every,
        args.objects,
        if args.no_follow {
            " (--no-follow: outputs uploaded after each job)"
        } else {
            ""
        }
    )?;
    // Each run leaves gigabytes (the work directories of two hosts, and a local store): an
    // earlier invocation's runs are removed, and of this one's only the last repetition is
    // kept to look at.
    let _ = std::fs::remove_dir_all(args.dir.join("runs"));
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    let mut peak: Option<u64> = None;
    for i in 0..args.repeat {
        for (m, mode) in MODES.iter().enumerate() {
            let tag = format!("{}-{}-{i}", mode.tag(), std::process::id());
            let run_dir = std::path::absolute(args.dir.join("runs").join(&tag))?;
            let _ = std::fs::remove_dir_all(&run_dir);
            std::fs::create_dir_all(&run_dir)?;
            let measured = measure(args, *mode, &exe, &input, &run_dir, &tag);
            if i + 1 < args.repeat {
                let _ = std::fs::remove_dir_all(&run_dir);
            }
            match measured {
                Ok(measured) => {
                    writeln!(
                        out,
                        "  {:<52} {:7.2} s",
                        mode.label(args.workers),
                        measured.seconds
                    )?;
                    times[m].push(measured.seconds);
                    peak = peak.max(measured.worker_peak_kib);
                }
                Err(e) => {
                    return Err(CliError::unavailable(format!(
                        "{}: {e}",
                        mode.label(args.workers)
                    )));
                }
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<f64> = times.iter_mut().map(median).collect();
    writeln!(out, "median of {}:", args.repeat)?;
    for (mode, t) in MODES.iter().zip(&medians) {
        writeln!(out, "  {:<52} {t:7.2} s", mode.label(args.workers))?;
    }
    writeln!(
        out,
        "the object store against the local disk (same worker processes): {:+.1} %",
        (medians[2] / medians[1] - 1.0) * 100.0
    )?;
    if let Some(kib) = peak {
        writeln!(
            out,
            "worker peak memory (VmHWM): {} MiB at most",
            kib / 1024
        )?;
    }
    Ok(())
}

/// Runs the cycle once in `mode` and times `warden run` from its start to its exit.
fn measure(
    args: &ObjectsBenchArgs,
    mode: Mode,
    exe: &Path,
    input: &Path,
    run_dir: &Path,
    tag: &str,
) -> Result<Measured, String> {
    let cycle = format!("bench-objects-{tag}");
    let file = run_dir.join("nightly-adjudication.yaml");
    std::fs::write(&file, workflow(&cycle, args.partitions))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| run_dir.join("warden.db").to_string_lossy().into_owned());
    let objects = format!("{}/{tag}", args.objects.trim_end_matches('/'));
    // A local store must exist (`--objects` creates nothing); an S3 prefix needs nothing.
    if !objects.starts_with("s3://") {
        let dir = objects.strip_prefix("file://").unwrap_or(&objects);
        std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    }
    let env = |c: &mut Command| {
        c.env(INPUT_ENV, input)
            .env(CHECKPOINT_ENV, args.checkpoint_every.to_string())
            .env_remove("WARDEN_PARTITIONS")
            .env_remove("WARDEN_MONITOR_EVERY");
        if let Some(p) = &args.plans {
            c.env(PLANS_ENV, p);
        }
        c.stdin(Stdio::null());
    };
    let mut orchestrator = Command::new(exe);
    orchestrator
        .arg("run")
        .arg(&file)
        .args(["--date", "2020-01-01", "--db", &db, "--data"])
        .arg(run_dir.join("orchestrator"))
        .stdout(log(run_dir, "orchestrator")?)
        .stderr(log(run_dir, "orchestrator.err")?);
    env(&mut orchestrator);
    let workers = args.workers.to_string();
    match mode {
        Mode::InProcess => {
            orchestrator.args(["--workers", &workers]);
        }
        Mode::WorkersLocalDisk => {
            orchestrator.args(["--workers", "0"]);
        }
        Mode::WorkersObjects => {
            orchestrator.args(["--workers", "0", "--objects", &objects]);
        }
    }
    let started = Instant::now();
    let mut run = orchestrator
        .spawn()
        .map_err(|e| format!("warden run: {e}"))?;
    let mut remote: Vec<Child> = Vec::new();
    if mode != Mode::InProcess {
        // Workers open the store only once `warden run` has made it.
        wait_for_store(&db, &mut run)?;
        for w in 0..args.workers {
            let name = format!("bench-{w}");
            let data = match mode {
                Mode::WorkersObjects => run_dir.join(&name),
                _ => run_dir.join("shared-data"),
            };
            let mut c = Command::new(exe);
            c.args([
                "worker", "--db", &db, "--poll", "20ms", "--name", &name, "--data",
            ])
            .arg(&data)
            .stdout(log(run_dir, &name)?)
            .stderr(log(run_dir, &format!("{name}.err"))?);
            if mode == Mode::WorkersObjects {
                c.args(["--objects", &objects, "--sync-every"])
                    .arg(args.sync_every.to_string());
                if args.no_follow {
                    c.arg("--no-follow");
                }
            }
            env(&mut c);
            remote.push(c.spawn().map_err(|e| format!("warden worker: {e}"))?);
        }
    }
    let status = run.wait().map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let worker_peak_kib = remote
        .iter()
        .filter_map(|w| crate::bench::peak_memory_kib(w.id()))
        .max();
    crate::bench::stop_workers(remote);
    if !status.success() {
        return Err(format!(
            "warden run ended with {status}; see {}",
            run_dir.join("orchestrator.err.log").display()
        ));
    }
    Ok(Measured {
        seconds,
        worker_peak_kib,
    })
}

fn log(dir: &Path, name: &str) -> Result<std::fs::File, String> {
    let path = dir.join(format!("{name}.log"));
    std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Waits until the store `warden run` makes answers with Warden's tables (or the run ends).
fn wait_for_store(db: &str, run: &mut Child) -> Result<(), String> {
    let runtime = super::runtime::current_thread().map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        let open = runtime.block_on(warden_store::Store::open(
            db,
            warden_store::OpenMode::Worker,
        ));
        if open.is_ok() {
            return Ok(());
        }
        if let Some(status) = run.try_wait().map_err(|e| e.to_string())? {
            return Err(format!(
                "warden run ended with {status} before its store was made"
            ));
        }
        if started.elapsed().as_secs() > 60 {
            return Err(format!("no store at {db} after a minute"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
