//! `warden bench impact`: the batch impact test end to end (issue #12's speed target: the
//! acquisition case, 1.2M sampled claims through the real engine plus the re-projection and
//! 1,000 Monte Carlo samples, under 60 s on the project's 2-core machine). Times what
//! `warden impact run` does, phase by phase, without storing the report. The claims
//! directories are made beforehand with `warden claims generate` (not timed).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use warden_workers::pipeline::Progress;

use super::cycle_args::CycleArgs;
use super::impact::{Inputs, Measuring, build_report, measure_claims};
use super::progress::Bars;
use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct ImpactBenchArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The stream the new claims join.
    #[arg(long)]
    pub stream: String,
    /// The stream's current claims (a claims directory).
    #[arg(long, value_name = "DIR")]
    pub baseline: PathBuf,
    /// The new volume's claims (a claims directory).
    #[arg(long, value_name = "DIR")]
    pub new: PathBuf,
    /// Share sampled (default: the workflow's `impact.sample`).
    #[arg(long, value_parser = super::limits::fraction)]
    pub sample: Option<f64>,
    /// Monte Carlo samples per projection.
    #[arg(long, default_value_t = 1000, value_parser = super::limits::count(100_000))]
    pub samples: usize,
    /// Partitions of the engine's runs, 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::limits::count(super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// The checkpoint interval the re-projection assumes (the run's adjudication's).
    #[command(flatten)]
    pub checkpoint_every: crate::engine::builtins::CheckpointEvery,
}

pub(super) fn run(args: &ImpactBenchArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = args.cycle.load(err)?;
    let Some((_, added)) = args
        .cycle
        .volume_changes()
        .into_iter()
        .find(|(s, _)| *s == args.stream)
    else {
        return Err(CliError::usage(format!(
            "give the new volume as --volume {}=+N",
            args.stream
        )));
    };
    let added = match added {
        warden_core::plan::VolumeChange::Add(n) if n > 0 => n as u64,
        _ => {
            return Err(CliError::usage(format!(
                "--volume {}: give an addition, +N",
                args.stream
            )));
        }
    };
    let started = Instant::now();
    let measuring = Measuring {
        baseline: &args.baseline,
        new: &args.new,
        sample: args.sample.unwrap_or(loaded.workflow.impact.sample),
        seed: 1,
        partitions: args.partitions,
        threads: None,
        repeat: 1,
        work: None,
        plans: None,
    };
    let measured = measure_claims(&measuring, err)?;
    let measuring_s = started.elapsed().as_secs_f64();
    let bars = Bars::new();
    bars.stage("impact: re-projecting the cycle (Monte Carlo)", 0);
    let reprojecting = Instant::now();
    let inputs = Inputs {
        workflow: &loaded.workflow,
        workflow_file: &args.cycle.file,
        workflow_sha256: &loaded.sha256,
        date: args.cycle.date,
        mode: args.cycle.options().mode,
        added: vec![(args.stream.clone(), added)],
        sources: Default::default(),
        measured: Some((&args.stream, &measured)),
        partitions: args.partitions,
        checkpoint_every: args.checkpoint_every.get(),
        samples: args.samples,
        seed: 1,
    };
    let report = match build_report(&inputs) {
        Ok(r) => r,
        Err(message) => {
            bars.finish();
            return Err(CliError::usage(message));
        }
    };
    bars.finish();
    let reprojecting_s = reprojecting.elapsed().as_secs_f64();
    let m = &measured.measurement;
    let sampled = m.baseline.sampled_claims + m.new.sampled_claims;
    let looks = 2 + report
        .reprojection
        .mitigations
        .iter()
        .filter(|x| x.applies)
        .count();
    writeln!(
        out,
        "populations: {} baseline + {} new claims; sampled {} ({} + {}); engine runs (c) {} (a) {} (b) {} claims",
        m.baseline.population_claims,
        m.new.population_claims,
        sampled,
        m.baseline.sampled_claims,
        m.new.sampled_claims,
        m.run_c.accepted,
        m.run_a.accepted,
        m.run_b.accepted
    )?;
    writeln!(
        out,
        "read + sample + engine: {measuring_s:.2} s (engine: (c) {:.2} s, (a) {:.2} s, (b) {:.2} s)",
        m.run_c.seconds, m.run_a.seconds, m.run_b.seconds
    )?;
    writeln!(
        out,
        "re-projection: {reprojecting_s:.2} s ({looks} projections × {} Monte Carlo samples of {} jobs)",
        args.samples,
        loaded.plan.jobs.len()
    )?;
    writeln!(
        out,
        "total: {:.2} s; verdict {}",
        started.elapsed().as_secs_f64(),
        report.verdict.as_str()
    )?;
    Ok(())
}
