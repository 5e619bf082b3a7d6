//! `warden impact run FILE --date D`: the whole batch impact test. Measure the new claims
//! on the real engine (`measure.rs`), re-project the cycle with what was measured
//! (`warden_deadlines::reproject`), judge it, and store the report with its inputs' digests.
//! Nothing is written to the store unless every step succeeded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sha2::{Digest, Sha256};
use warden_core::plan::{DateSpec, Plan, VolumeChange};
use warden_core::workflow::values::thousands;
use warden_core::workflow::{Mode, Workflow};
use warden_deadlines::impact_report::{
    Digests, Figure, ImpactReport, MeasuredSection, StageFigure, StreamVolume, render_text,
};
use warden_deadlines::reproject::{Checkpointing, ImpactCase, MeasuredStages, reproject};
use warden_deadlines::verdict::Verdict;
use warden_store::{NewImpactTest, Store};
use warden_workers::impact::ImpactMeasurement;

use super::super::cycle_args::CycleArgs;
use super::super::limits;
use super::super::open_run::store_failed;
use super::super::validate::Format;
use super::super::{CliError, CliResult, reported_if, runtime};
use super::measure::{Measured, Measuring, measure_claims};

/// Claims between checkpoints when neither `--checkpoint-every` nor `WARDEN_CHECKPOINT_EVERY`
/// says (the engine's).
const CHECKPOINT_EVERY: u64 = 50_000;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// The stream the new claims join (default: the one stream given by `--volume`).
    #[arg(long)]
    pub stream: Option<String>,
    /// The new volume's claims (a directory in the `warden claims` format). With it the
    /// engine measures; without it (`--volume` only) the projection uses the declared
    /// estimates and says it measured nothing.
    #[arg(long, value_name = "DIR", requires = "baseline")]
    pub new: Option<PathBuf>,
    /// The stream's current claims, the same format: what the new volume is measured against.
    #[arg(long, value_name = "DIR", requires = "new")]
    pub baseline: Option<PathBuf>,
    /// Share of each population sampled, above 0 and at most 1 (default: the workflow's
    /// `impact.sample`).
    #[arg(long, value_parser = limits::fraction)]
    pub sample: Option<f64>,
    /// Seed of the sample and of the Monte Carlo.
    #[arg(long, default_value_t = 1, value_parser = limits::amount(0, u64::MAX))]
    pub seed: u64,
    /// Partitions of the engine's runs, 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = limits::count(limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// Runs of each sample, 1 to 100 (times are medians).
    #[arg(long, default_value_t = 1, value_parser = limits::count(limits::MAX_REPEAT))]
    pub repeat: usize,
    /// Partitions adjudicated at once (default: the cores), 1 to 256.
    #[arg(long, value_parser = limits::count(limits::MAX_THREADS))]
    pub threads: Option<usize>,
    /// Monte Carlo samples per projection, 1 to 100,000.
    #[arg(long, default_value_t = 1000, value_parser = limits::count(100_000))]
    pub samples: usize,
    /// Keep the samples and the engine's work here (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    /// Benefit plans (default: `workflows/plans`, else the built-in copies).
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// The checkpoint interval the re-projection assumes: the one the run's adjudication
    /// uses (`warden run --checkpoint-every`, `WARDEN_CHECKPOINT_EVERY`), refused alike.
    #[command(flatten)]
    pub checkpoint_every: crate::engine::builtins::CheckpointEvery,
    /// The store the report goes to: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// `text` for people, `json` for tools (the report, every figure with its source).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What the new volume adds to each stream, checked: streams exist, nothing shrinks.
fn added_volumes(plan: &Plan, args: &RunArgs) -> Result<Vec<(String, u64)>, String> {
    let mut added = Vec::new();
    for (stream, change) in &args.cycle.volume_changes() {
        let Some(s) = plan.streams.iter().find(|s| &s.id == stream) else {
            return Err(format!(
                "--volume {stream}=…: `{}` has no stream `{stream}`; its streams are {}",
                plan.cycle,
                plan.streams
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let n = match *change {
            VolumeChange::Add(n) if n > 0 => n as u64,
            VolumeChange::Set(v) if v > s.declared_volume => v - s.declared_volume,
            _ => {
                return Err(format!(
                    "--volume {stream}: the volume shrinks or stays at {} (declared {}): a batch impact test is for new volume; give `{stream}=+N` or a volume above the declared one",
                    thousands(s.volume),
                    thousands(s.declared_volume)
                ));
            }
        };
        added.push((stream.clone(), n));
    }
    if let Some(stream) = &args.stream
        && !plan.streams.iter().any(|s| &s.id == stream)
    {
        return Err(format!(
            "--stream {stream}: `{}` has no stream `{stream}`; its streams are {}",
            plan.cycle,
            plan.streams
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(added)
}

/// The stream the claims join: `--stream`, else the one `--volume` names.
fn measured_stream(args: &RunArgs, added: &[(String, u64)]) -> Result<String, String> {
    match (&args.stream, added) {
        (Some(s), _) => Ok(s.clone()),
        (None, [(s, _)]) => Ok(s.clone()),
        _ => Err("--new: say which stream the new claims join with `--stream ID`".to_string()),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The report's measured section: every figure with its source.
fn measured_section(m: &ImpactMeasurement) -> MeasuredSection {
    let fig = |name: &str, value: f64, unit: &str, source: &str| Figure {
        name: name.to_string(),
        value,
        unit: unit.to_string(),
        source: source.to_string(),
    };
    let mut figures = vec![
        fig(
            "baseline population",
            m.baseline.population_claims as f64,
            "claims",
            "claims.csv rows of the baseline directory",
        ),
        fig(
            "new population",
            m.new.population_claims as f64,
            "claims",
            "claims.csv rows of the new directory",
        ),
        fig(
            "baseline sampled",
            m.baseline.sampled_claims as f64,
            "claims",
            "whole families, stratified by partition × claim stream, seeded",
        ),
        fig(
            "new sampled",
            m.new.sampled_claims as f64,
            "claims",
            "whole families, stratified by partition × claim stream, seeded",
        ),
    ];
    for (name, r, what) in [
        ("run (c)", &m.run_c, "a quarter of the baseline sample"),
        ("run (a)", &m.run_a, "the baseline sample"),
        (
            "run (b)",
            &m.run_b,
            "the baseline sample plus the new sample",
        ),
    ] {
        figures.push(fig(
            &format!("{name} wall time"),
            r.seconds,
            "s",
            &format!(
                "the real two-pass engine on {what}: {} accepted, {} pended, {} deferred, reconciled",
                thousands(r.accepted),
                thousands(r.pended),
                thousands(r.deferred)
            ),
        ));
    }
    for (name, f, unit) in [
        ("baseline exception rate", &m.baseline_exception_rate, "%"),
        ("new claims' exception rate", &m.new_exception_rate, "%"),
        ("deferral share, baseline", &m.deferral_share_baseline, "%"),
        (
            "deferral share, with the new claims",
            &m.deferral_share_with_new,
            "%",
        ),
        ("fixed part of a run's time", &m.fixed_seconds, "s"),
        ("elasticity (time vs volume)", &m.elasticity, ""),
        ("full baseline adjudication", &m.full_baseline_seconds, "s"),
        ("full target adjudication", &m.full_target_seconds, "s"),
    ] {
        figures.push(fig(name, f.value, unit, &f.source));
    }
    MeasuredSection {
        baseline_dir: m.baseline.dir.clone(),
        new_dir: m.new.dir.clone(),
        sample: m.fraction,
        seed: m.seed,
        partitions: m.partitions,
        repeat: m.repeat,
        stages: m
            .stages
            .iter()
            .map(|s| StageFigure {
                stage: s.stage.clone(),
                sample_before_s: s.seconds_a,
                sample_after_s: s.seconds_b,
                full_before_s: s.projected_baseline_seconds,
                full_after_s: s.projected_full_seconds,
            })
            .collect(),
        figures,
    }
}

fn stages(m: &ImpactMeasurement, stream: &str) -> MeasuredStages {
    let mut before = [0.0; 5];
    let mut after = [0.0; 5];
    for (i, s) in m.stages.iter().enumerate().take(5) {
        before[i] = s.projected_baseline_seconds;
        after[i] = s.projected_full_seconds;
    }
    MeasuredStages {
        stream: stream.to_string(),
        before,
        after,
        volume_ratio: m.full_target_claims as f64 / m.full_baseline_claims.max(1) as f64,
        elasticity: m.elasticity.value,
    }
}

/// Everything a report is made from.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    pub workflow: &'a Workflow,
    pub workflow_file: &'a str,
    pub workflow_sha256: &'a str,
    pub date: DateSpec,
    pub mode: Option<Mode>,
    /// Claims added per stream, and where each figure comes from.
    pub added: Vec<(String, u64)>,
    pub sources: BTreeMap<String, String>,
    /// The stream the measured claims join, and what was measured.
    pub measured: Option<(&'a str, &'a Measured)>,
    pub partitions: usize,
    /// Claims between checkpoints the run's adjudication takes (`None`: the engine's default).
    pub checkpoint_every: Option<u64>,
    pub samples: usize,
    pub seed: u64,
}

/// Re-projects and judges: the report, not yet stored.
pub(crate) fn build_report(i: &Inputs<'_>) -> Result<ImpactReport, String> {
    let rules = i.workflow.impact;
    let case = ImpactCase {
        workflow: i.workflow,
        date: i.date,
        mode: i.mode,
        added: i.added.clone(),
        measured: i.measured.map(|(s, m)| stages(&m.measurement, s)),
        exception_rate: i
            .measured
            .map(|(_, m)| m.measurement.new_exception_rate.value),
        checkpointing: Checkpointing {
            every: i.checkpoint_every.unwrap_or(CHECKPOINT_EVERY),
            partitions: i.partitions,
        },
        samples: i.samples,
        seed: i.seed,
    };
    let reprojection = reproject(&case, &rules).map_err(|e| e.to_string())?;
    let declared = |stream: &str| {
        i.workflow
            .streams
            .iter()
            .find(|s| s.id == stream)
            .map_or(0, |s| s.volume)
    };
    let volumes: Vec<StreamVolume> = i
        .added
        .iter()
        .map(|(stream, n)| StreamVolume {
            stream: stream.clone(),
            declared: declared(stream),
            added: *n,
            tested: declared(stream) + n,
            source: i.sources.get(stream).cloned().unwrap_or_default(),
        })
        .collect();
    let thresholds = serde_json::to_vec(&rules).map_err(|e| e.to_string())?;
    Ok(ImpactReport {
        id: None,
        cycle: i.workflow.id.clone(),
        business_date: i.date.to_string(),
        workflow_file: i.workflow_file.to_string(),
        created_at: chrono::Utc::now(),
        digests: Digests {
            workflow_sha256: i.workflow_sha256.to_string(),
            sample_sha256: i.measured.map(|(_, m)| m.sample_sha256.clone()),
            thresholds_sha256: sha256_hex(&thresholds),
            binary_version: format!("warden {}", env!("CARGO_PKG_VERSION")),
        },
        rules,
        volumes,
        measured: i.measured.map(|(_, m)| measured_section(&m.measurement)),
        verdict: reprojection.judgement.overall,
        reprojection,
    })
}

/// Stores the report whole; its id.
pub(crate) async fn store_report(
    store: &Store,
    report: &ImpactReport,
) -> Result<i64, warden_store::StoreError> {
    let json = serde_json::to_string(report)?;
    store
        .record_impact_test(&NewImpactTest {
            cycle: report.cycle.clone(),
            business_date: report.business_date.clone(),
            created_at: report.created_at,
            verdict: report.verdict.as_str().to_string(),
            workflow_sha256: report.digests.workflow_sha256.clone(),
            sample_sha256: report.digests.sample_sha256.clone().unwrap_or_default(),
            thresholds_sha256: report.digests.thresholds_sha256.clone(),
            binary_version: report.digests.binary_version.clone(),
            volumes: report.tested_volumes(),
            report: json,
        })
        .await
}

/// The claims the new volume adds when `--volume` does not say: the directories' proportion
/// of the declared volume.
pub(crate) fn proportional(declared: u64, m: &Measured) -> (u64, String) {
    let share = m.measurement.new.population_claims as f64
        / m.measurement.baseline.population_claims.max(1) as f64;
    (
        (declared as f64 * share).round() as u64,
        format!(
            "the claims directories' proportion: {} new ÷ {} baseline claims × the declared volume",
            thousands(m.measurement.new.population_claims),
            thousands(m.measurement.baseline.population_claims)
        ),
    )
}

pub(super) fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = args.cycle.load(err)?;
    let plan = &loaded.plan;
    let rules = loaded.workflow.impact;
    let mut added = match added_volumes(plan, args) {
        Ok(a) => a,
        Err(message) => {
            return Err(CliError::usage(message));
        }
    };
    if args.new.is_none() && added.is_empty() {
        return Err(CliError::usage(
            "nothing to test: give the new claims (`--stream ID --baseline DIR --new DIR`) and/or `--volume STREAM=+N`",
        ));
    }
    let mut sources: BTreeMap<String, String> = added
        .iter()
        .map(|(s, _)| (s.clone(), "--volume".to_string()))
        .collect();
    let mut measured = None;
    if let (Some(new), Some(baseline)) = (&args.new, &args.baseline) {
        let stream = match measured_stream(args, &added) {
            Ok(s) => s,
            Err(message) => {
                return Err(CliError::usage(message));
            }
        };
        let measuring = Measuring {
            baseline,
            new,
            sample: args.sample.unwrap_or(rules.sample),
            seed: args.seed,
            partitions: args.partitions,
            threads: args.threads,
            repeat: args.repeat,
            work: args.work.clone(),
            plans: args.plans.as_deref(),
        };
        let m = measure_claims(&measuring, err)?;
        if !added.iter().any(|(s, _)| *s == stream) {
            let declared = plan
                .streams
                .iter()
                .find(|s| s.id == stream)
                .map_or(0, |s| s.declared_volume);
            let (n, source) = proportional(declared, &m);
            added.push((stream.clone(), n));
            sources.insert(stream.clone(), source);
        }
        measured = Some((stream, m));
    }
    let inputs = Inputs {
        workflow: &loaded.workflow,
        workflow_file: &args.cycle.file,
        workflow_sha256: &loaded.sha256,
        date: args.cycle.date,
        mode: args.cycle.options().mode,
        added,
        sources,
        measured: measured.as_ref().map(|(s, m)| (s.as_str(), m)),
        partitions: args.partitions,
        checkpoint_every: args.checkpoint_every.get(),
        samples: args.samples,
        seed: args.seed,
    };
    let bars = super::super::progress::Bars::new();
    warden_workers::pipeline::Progress::stage(
        &bars,
        "impact: re-projecting the cycle (Monte Carlo)",
        0,
    );
    let built = build_report(&inputs);
    bars.finish();
    let mut report = built.map_err(CliError::usage)?;
    let id = runtime::block_on(async {
        let store = Store::connect(&args.db).await?;
        store_report(&store, &report).await
    })?
    .map_err(store_failed(&args.db))?;
    report.id = Some(id);
    match args.format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?
        )?,
        Format::Text => {
            write!(out, "{}", render_text(&report))?;
            writeln!(
                out,
                "\nstored as impact test #{id} in {}",
                warden_store::redact_url(&args.db)
            )?;
            if report.verdict == Verdict::Review {
                writeln!(
                    out,
                    "an architect approves it with `warden impact approve {id} --as NAME --note \"...\"`"
                )?;
            }
        }
    }
    reported_if(report.verdict != Verdict::Pass)
}
