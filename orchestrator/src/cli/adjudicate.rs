//! `warden adjudicate`: the partitioned two-pass run (or `--serial`), reconciled, and with
//! `--verify-equivalence` both, compared byte for byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use warden_workers::pipeline::driver::Report;
use warden_workers::pipeline::partition::{Boundaries, imbalance};
use warden_workers::pipeline::{self, Options, PipelineError, equivalence};

use super::progress::Bars;
use super::{CliError, CliResult, Exit, load_plans, reported_if};

#[derive(Debug, Args)]
pub struct AdjudicateArgs {
    /// Directory with claims.csv and members.csv (as `warden claims generate` writes).
    #[arg(long, default_value = "claims")]
    pub input: PathBuf,
    /// Where the canonical output goes (adjudicated.csv, accumulators.csv, exceptions.csv,
    /// rejects.csv, deferred.csv, reconciliation.json).
    #[arg(long, default_value = "adjudicated")]
    pub out: PathBuf,
    /// Work files (partition files, checkpoints); OUT/work by default.
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is
    /// there, else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// One serial pass in received order, the audit baseline.
    #[arg(long, conflicts_with_all = ["partitions", "boundaries"])]
    pub serial: bool,
    /// Partitions (balanced ranges of PCP groups), 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::limits::count(super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// Partition boundaries from `warden partitions plan --out` instead of balanced ones.
    #[arg(long)]
    pub boundaries: Option<PathBuf>,
    /// Claims between checkpoints (a rerun resumes from the last one); at least 1.
    #[arg(long, default_value_t = 50_000, value_parser = super::limits::amount(1, u64::MAX))]
    pub checkpoint_every: u64,
    /// Partitions adjudicated at once (default: the cores), 1 to 256.
    #[arg(long, value_parser = super::limits::count(super::limits::MAX_THREADS))]
    pub threads: Option<usize>,
    /// Also run serially and compare the outputs byte for byte (exit 1 if they differ).
    #[arg(long, conflicts_with = "serial")]
    pub verify_equivalence: bool,
}

/// A pipeline failure with its exit code: a missing file is a usage error, other I/O the
/// environment's, bad or corrupt input the input's.
pub(super) fn pipeline_error(e: &PipelineError) -> CliError {
    match e {
        PipelineError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::usage(e)
        }
        PipelineError::Io { .. } => CliError::unavailable(e),
        PipelineError::Input(_) | PipelineError::Corrupt { .. } | PipelineError::Interrupted(_) => {
            CliError::invalid(e)
        }
    }
}

/// Partition boundaries from a JSON file (`warden partitions plan --out`), checked.
pub(super) fn read_boundaries(path: &Path) -> CliResult<Boundaries> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    let b = serde_json::from_str::<Boundaries>(&text).map_err(|e| {
        CliError::invalid(format!(
            "{}:{}:{}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    b.check()
        .map_err(|m| CliError::invalid(format!("{}: {m}", path.display())))?;
    Ok(b)
}

pub(super) fn summary(r: &Report, seconds: f64, out: &mut dyn Write) -> std::io::Result<()> {
    let m = &r.manifest;
    let c = &r.reconciliation;
    writeln!(
        out,
        "input: {} claim rows ({} accepted, {} rejected), {} member rows ({} rejected)",
        m.claim_rows, m.accepted, m.rejected_claims, m.member_rows, m.rejected_members
    )?;
    if r.pass2.is_some() {
        let loads: Vec<u64> = m.partition_claims.clone();
        let ranges: Vec<String> = m
            .boundaries
            .partitions
            .iter()
            .enumerate()
            .map(|(i, b)| format!("P{:02} {}-{} {}", i + 1, b.first, b.last, loads[i]))
            .collect();
        writeln!(
            out,
            "partitions: {} (imbalance {})",
            ranges.join(", "),
            imbalance(&loads).map_or("n/a".into(), |x| format!("{x:.3}:1"))
        )?;
        let adjudicated: u64 = r.pass1.iter().map(|s| s.adjudicated).sum();
        let deferred: u64 = r.pass1.iter().map(|s| s.deferred).sum();
        writeln!(
            out,
            "pass 1: {adjudicated} adjudicated, {deferred} deferred ({:.1}%); pass 2: {} adjudicated",
            100.0 * deferred as f64 / m.accepted.max(1) as f64,
            r.pass2.as_ref().map_or(0, |s| s.adjudicated)
        )?;
        for s in &r.pass1 {
            if s.high_exception_mode {
                writeln!(
                    out,
                    "warning: a partition passed the 5% exception rate and ran in high-exception mode (see its events.jsonl)"
                )?;
                break;
            }
        }
    }
    writeln!(
        out,
        "adjudicated: {} ({} paid, {} denied, {} pended); billed {:.2}, plan paid {:.2}",
        c.adjudicated,
        c.paid,
        c.denied,
        c.pended,
        c.billed_cents as f64 / 100.0,
        c.plan_paid_cents as f64 / 100.0
    )?;
    if c.ok {
        writeln!(
            out,
            "reconciled: every accepted claim adjudicated once; amounts and accumulators balance ({seconds:.2} s)"
        )?;
    } else {
        writeln!(out, "NOT RECONCILED:")?;
        for f in &c.failures {
            writeln!(out, "  {f}")?;
        }
    }
    Ok(())
}

pub(super) fn run(args: &AdjudicateArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let plans = load_plans(args.plans.as_deref(), err)?;
    if !args.input.join("claims.csv").is_file() || !args.input.join("members.csv").is_file() {
        return Err(CliError::usage(format!(
            "{}: needs claims.csv and members.csv (write them with `warden claims generate --out {}`)",
            args.input.display(),
            args.input.display()
        )));
    }
    let boundaries = args
        .boundaries
        .as_deref()
        .map(read_boundaries)
        .transpose()?;
    let mut opts = Options {
        partitions: args.partitions,
        boundaries,
        checkpoint_every: args.checkpoint_every,
        ..Options::default()
    };
    if let Some(t) = args.threads {
        opts.threads = t;
    }
    let work = args.work.clone().unwrap_or_else(|| args.out.join("work"));
    let bars = Bars::new();
    let started = Instant::now();
    let result = if args.serial {
        pipeline::adjudicate_serial(&args.input, &plans, &work, &args.out, &opts, &bars)
    } else {
        pipeline::adjudicate_partitioned(&args.input, &plans, &work, &args.out, &opts, &bars)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            bars.finish();
            return Err(pipeline_error(&e));
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    bars.finish();
    summary(&report, seconds, out)?;
    reported_if(!report.reconciliation.ok)?;
    if args.verify_equivalence {
        let serial_out = args.out.join("serial");
        let serial_work = work.join("serial");
        let started = Instant::now();
        if let Err(e) = pipeline::adjudicate_serial(
            &args.input,
            &plans,
            &serial_work,
            &serial_out,
            &opts,
            &bars,
        ) {
            bars.finish();
            return Err(pipeline_error(&e));
        }
        bars.finish();
        match equivalence::compare(&serial_out, &args.out) {
            Err(e) => return Err(pipeline_error(&e)),
            Ok(Some(d)) => {
                writeln!(out, "NOT EQUIVALENT: {d}")?;
                return Err(CliError::Reported(Exit::Invalid));
            }
            Ok(None) => writeln!(
                out,
                "equivalent: the serial run ({:.2} s) wrote the same bytes: {}",
                started.elapsed().as_secs_f64(),
                equivalence::COMPARED.join(", ")
            )?,
        }
    }
    Ok(())
}
