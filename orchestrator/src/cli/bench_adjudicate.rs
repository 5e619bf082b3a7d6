//! `warden bench adjudicate`: the nightly volume end to end, from input files to reconciled
//! output, partitioned and (with `--serial`) serial for the speed-up. Generating the input
//! is not timed; it is kept in `--dir` and reused when its parameters match.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use warden_workers::generate::{self, Config};
use warden_workers::pipeline::{self, Options, Progress};

/// Records when each stage starts, to print where the time went.
#[derive(Debug, Default)]
struct Stages(std::sync::Mutex<Vec<(String, Instant)>>);

impl Progress for Stages {
    fn stage(&self, name: &str, _total: u64) {
        if let Ok(mut v) = self.0.lock() {
            v.push((name.to_string(), Instant::now()));
        }
    }
}

impl Stages {
    fn report(&self, end: Instant, out: &mut dyn Write) -> std::io::Result<()> {
        let v = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        for (i, (name, t)) in v.iter().enumerate() {
            let next = v.get(i + 1).map_or(end, |x| x.1);
            writeln!(out, "  {name:36} {:7.2} s", (next - *t).as_secs_f64())?;
        }
        Ok(())
    }
}

use super::adjudicate::{pipeline_error, summary};
use super::progress::Bars;
use super::{CliError, CliResult, Exit, load_plans, reported_if};

#[derive(Debug, Args)]
pub struct AdjudicateBenchArgs {
    /// Members of the generated input (case study 004's 4.2M), 1 to 50,000,000.
    #[arg(long, default_value_t = 4_200_000, value_parser = super::limits::amount(1, super::limits::MAX_MEMBERS))]
    pub members: u64,
    /// Claims of the generated input (case study 004's 1.8M), 0 to 200,000,000.
    #[arg(long, default_value_t = 1_800_000, value_parser = super::limits::amount(0, super::limits::MAX_CLAIMS))]
    pub claims: u64,
    /// Partitions, 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::limits::count(super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// Claims between checkpoints; at least 1.
    #[arg(long, default_value_t = 50_000, value_parser = super::limits::amount(1, u64::MAX))]
    pub checkpoint_every: u64,
    /// Seed of the generated input.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also time the serial run and report the speed-up.
    #[arg(long)]
    pub serial: bool,
    /// Where the input and the outputs go (kept; reused when the parameters match).
    #[arg(long, default_value = "target/bench-adjudicate")]
    pub dir: PathBuf,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is
    /// there, else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// Partitions adjudicated at once (default: the cores), 1 to 256.
    #[arg(long, value_parser = super::limits::count(super::limits::MAX_THREADS))]
    pub threads: Option<usize>,
}

pub(super) fn run(
    args: &AdjudicateBenchArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let plans = load_plans(args.plans.as_deref(), err)?;
    let input = generated_input(&args.dir, args.members, args.claims, args.seed, &plans, out)?;
    let mut opts = Options {
        partitions: args.partitions,
        checkpoint_every: args.checkpoint_every,
        ..Options::default()
    };
    if let Some(t) = args.threads {
        opts.threads = t;
    }
    let stages = Stages::default();
    let started = Instant::now();
    let report = match pipeline::adjudicate_partitioned(
        &input,
        &plans,
        &args.dir.join("work"),
        &args.dir.join("out"),
        &opts,
        &stages,
    ) {
        Ok(r) => r,
        Err(e) => return Err(pipeline_error(&e)),
    };
    let partitioned = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "partitioned ({} partitions, {} threads, checkpoints every {}):",
        args.partitions, opts.threads, args.checkpoint_every
    )?;
    summary(&report, partitioned, out)?;
    stages.report(
        started + std::time::Duration::from_secs_f64(partitioned),
        out,
    )?;
    writeln!(
        out,
        "partitioned end to end: {partitioned:.2} s ({:.0} claims/s)",
        args.claims as f64 / partitioned
    )?;
    reported_if(!report.reconciliation.ok)?;
    if args.serial {
        let stages = Stages::default();
        let started = Instant::now();
        let report = match pipeline::adjudicate_serial(
            &input,
            &plans,
            &args.dir.join("work-serial"),
            &args.dir.join("out-serial"),
            &opts,
            &stages,
        ) {
            Ok(r) => r,
            Err(e) => return Err(pipeline_error(&e)),
        };
        let serial = started.elapsed().as_secs_f64();
        stages.report(started + std::time::Duration::from_secs_f64(serial), out)?;
        writeln!(
            out,
            "serial end to end: {serial:.2} s ({:.0} claims/s); reconciled: {}",
            args.claims as f64 / serial,
            report.reconciliation.ok
        )?;
        writeln!(out, "speed-up: {:.2}x", serial / partitioned)?;
        match pipeline::equivalence::compare(&args.dir.join("out-serial"), &args.dir.join("out")) {
            Ok(None) => writeln!(
                out,
                "equivalent: serial and partitioned outputs are byte-identical"
            )?,
            Ok(Some(d)) => {
                writeln!(out, "NOT EQUIVALENT: {d}")?;
                return Err(CliError::Reported(Exit::Invalid));
            }
            Err(e) => return Err(pipeline_error(&e)),
        }
    }
    Ok(())
}

/// The generated input in `dir/input` (members.csv, claims.csv), made unless the one there
/// has the same parameters. Generating is not timed by the benches that use it.
pub(super) fn generated_input(
    dir: &Path,
    members: u64,
    claims: u64,
    seed: u64,
    plans: &warden_workers::plans::Plans,
    out: &mut dyn Write,
) -> CliResult<PathBuf> {
    let input = dir.join("input");
    let stamp = format!("members={} claims={} seed={}\n", members, claims, seed);
    let stamp_path = input.join("parameters.txt");
    if std::fs::read_to_string(&stamp_path).ok().as_deref() != Some(stamp.as_str()) {
        std::fs::create_dir_all(&input)
            .map_err(|e| CliError::unavailable(format!("{}: {e}", input.display())))?;
        let started = Instant::now();
        let cfg = Config {
            members,
            claims,
            seed,
            ..Config::default()
        };
        let mut m = BufWriter::with_capacity(1 << 20, File::create(input.join("members.csv"))?);
        let mut c = BufWriter::with_capacity(1 << 20, File::create(input.join("claims.csv"))?);
        let bars = Bars::new();
        warden_workers::pipeline::Progress::stage(&bars, "generating input (not timed)", claims);
        generate::generate(&cfg, plans, &mut m, &mut c, &bars)?;
        m.flush()?;
        c.flush()?;
        bars.finish();
        std::fs::write(&stamp_path, &stamp)?;
        writeln!(
            out,
            "generated {} claims, {} members in {:.1} s (not timed below)",
            claims,
            members,
            started.elapsed().as_secs_f64()
        )?;
    }
    Ok(input)
}
