//! `warden impact measure`: sample the baseline and the new claims, run the real engine on
//! both, print what was measured (the first half of `warden impact run`, on its own).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use warden_workers::impact::{self, ImpactError, ImpactMeasurement};

use super::super::progress::Bars;
use super::super::validate::Format;
use super::super::{CliError, CliResult, load_plans};

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// The baseline claims: a directory with claims.csv and members.csv.
    #[arg(long, value_name = "DIR")]
    pub baseline: PathBuf,
    /// The new volume's claims (an acquisition's, a new partner's), in the same format.
    #[arg(long, value_name = "DIR")]
    pub new: PathBuf,
    /// Share of each population sampled (whole families, stratified), above 0 and at most 1.
    #[arg(long, default_value_t = 0.1, value_parser = super::super::limits::fraction)]
    pub sample: f64,
    /// Seed of the sample: the same seed picks the same families.
    #[arg(long, default_value_t = 1, value_parser = super::super::limits::amount(0, u64::MAX))]
    pub seed: u64,
    /// Partitions of the engine's runs (and of the strata), 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::super::limits::count(super::super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// Runs of each sample, 1 to 100; every time reported is the median (the elasticity
    /// between two volumes 24% apart moves a lot with a few percent of timing noise).
    #[arg(long, default_value_t = 1, value_parser = super::super::limits::count(super::super::limits::MAX_REPEAT))]
    pub repeat: usize,
    /// Partitions adjudicated at once (default: the cores), 1 to 256.
    #[arg(long, value_parser = super::super::limits::count(super::super::limits::MAX_THREADS))]
    pub threads: Option<usize>,
    /// Keep the samples and the runs' work and output here (default: a temporary
    /// directory, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is
    /// there, else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// `text` for people, `json` for tools (every figure with its source).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A fresh temporary directory's path: this process's id and a count, so that two
/// measurements at once (tests run the CLI in one process) never share one.
fn temporary_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("warden-impact-{}-{n}", std::process::id()))
}

/// The claims and how to sample and run them: shared by `measure` and `run`.
#[derive(Debug, Clone)]
pub(crate) struct Measuring<'a> {
    pub baseline: &'a std::path::Path,
    pub new: &'a std::path::Path,
    pub sample: f64,
    pub seed: u64,
    pub partitions: usize,
    pub threads: Option<usize>,
    pub repeat: usize,
    pub work: Option<PathBuf>,
    pub plans: Option<&'a std::path::Path>,
}

/// What was measured, and the SHA-256 of the sampled claims the engine ran.
#[derive(Debug)]
pub(crate) struct Measured {
    pub measurement: ImpactMeasurement,
    pub sample_sha256: String,
}

/// Samples, runs and measures, with progress bars on the terminal (bad plans are printed to
/// `err`).
pub(crate) fn measure_claims(m: &Measuring<'_>, err: &mut dyn Write) -> CliResult<Measured> {
    let plans = load_plans(m.plans, err)?;
    let temporary = m.work.is_none();
    let work = m.work.clone().unwrap_or_else(temporary_dir);
    let opts = impact::Options {
        fraction: m.sample,
        seed: m.seed,
        partitions: m.partitions,
        threads: m.threads,
        repeat: m.repeat,
        work: work.clone(),
    };
    let bars = Bars::new();
    let result = impact::measure(m.baseline, m.new, &plans, &opts, &bars);
    bars.finish();
    let sample_sha256 = sample_digest(&work);
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    match result {
        Ok(measurement) => Ok(Measured {
            measurement,
            sample_sha256,
        }),
        // The engine's own errors keep `warden adjudicate`'s exit codes.
        Err(ImpactError::Pipeline(p)) => Err(super::super::adjudicate::pipeline_error(&p)),
        Err(e @ ImpactError::Input(_)) => Err(CliError::usage(e)),
        Err(e @ ImpactError::Io(_)) => Err(CliError::unavailable(e)),
        Err(e @ ImpactError::NotReconciled(_)) => Err(CliError::invalid(e)),
    }
}

/// SHA-256 over the sampled claims directories the engine ran (each file's name and bytes,
/// in a fixed order): the same sample gives the same digest.
fn sample_digest(work: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for dir in impact::SAMPLE_DIRS {
        for file in ["claims.csv", "members.csv"] {
            let path = work.join(dir).join(file);
            h.update(format!("{dir}/{file}\n").as_bytes());
            h.update(std::fs::read(&path).unwrap_or_default());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn measure(args: &MeasureArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let measuring = Measuring {
        baseline: &args.baseline,
        new: &args.new,
        sample: args.sample,
        seed: args.seed,
        partitions: args.partitions,
        threads: args.threads,
        repeat: args.repeat,
        work: args.work.clone(),
        plans: args.plans.as_deref(),
    };
    let m = measure_claims(&measuring, err)?.measurement;
    match args.format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&m).map_err(std::io::Error::other)?
        )?,
        Format::Text => text(&m, out)?,
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn text(m: &ImpactMeasurement, out: &mut dyn Write) -> std::io::Result<()> {
    for (name, p) in [("baseline", &m.baseline), ("new", &m.new)] {
        writeln!(
            out,
            "{name}: {} claims, sampled {} ({}) in {} families ({} for COB primaries), {} not sampled; {} strata",
            p.population_claims,
            p.sampled_claims,
            pct(p.sampled_claims as f64 / p.population_claims.max(1) as f64),
            p.sampled_families,
            p.cob_families,
            p.not_sampled_claims,
            p.strata.len()
        )?;
    }
    for (name, r) in [
        ("run (c) quarter of the baseline sample", &m.run_c),
        ("run (a) baseline sample", &m.run_a),
        ("run (b) + new sample", &m.run_b),
    ] {
        writeln!(
            out,
            "{name}: {} accepted, {} pended, {} deferred, {:.3} s (median of {}), reconciled",
            r.accepted, r.pended, r.deferred, r.seconds, m.repeat
        )?;
    }
    writeln!(
        out,
        "stage        (a) s   (b) s   (a) claims/s  (b) claims/s  full volume s"
    )?;
    for s in &m.stages {
        writeln!(
            out,
            "{:<10} {:>7.3} {:>7.3} {:>13.0} {:>13.0} {:>14.3}",
            s.stage, s.seconds_a, s.seconds_b, s.rate_a, s.rate_b, s.projected_full_seconds
        )?;
    }
    writeln!(
        out,
        "exception rate: baseline {}, new claims {}",
        pct(m.baseline_exception_rate.value),
        pct(m.new_exception_rate.value)
    )?;
    writeln!(
        out,
        "deferral share: baseline {}, with the new claims {}",
        pct(m.deferral_share_baseline.value),
        pct(m.deferral_share_with_new.value)
    )?;
    writeln!(
        out,
        "elasticity (time vs volume): {:.3}; fixed part of a run: {:.3} s",
        m.elasticity.value, m.fixed_seconds.value
    )?;
    writeln!(
        out,
        "full volume: {} claims {:.3} s → {} claims {:.3} s",
        m.full_baseline_claims,
        m.full_baseline_seconds.value,
        m.full_target_claims,
        m.full_target_seconds.value
    )
}
