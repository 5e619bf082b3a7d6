//! The measurement: the real two-pass engine (`pipeline::adjudicate_partitioned`, what
//! `warden adjudicate` runs) on (a) a sample of the baseline and (b) the same baseline
//! sample plus a sample of the new claims; each stage's wall time and rate, the exception
//! rates, the deferral share, and the elasticity of adjudication time against volume
//! measured between (a) and (c), a quarter of the baseline sample, scaled to the full
//! volumes. Every figure says where it
//! comes from.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::model::{Claim, MemberRow};
use crate::pipeline::driver::Report;
use crate::pipeline::{self, Options as PipelineOptions, Progress, partition};
use crate::plans::Plans;

use super::ImpactError;
use super::claims_dir::{self, ClaimsDir};
use super::combine::{Part, combine};
use super::sample::{Frame, Sample, StratumCount, sample};
use super::timing::{STAGES, StageClock};

#[derive(Debug, Clone)]
pub struct Options {
    /// Share of each population sampled, above 0 and at most 1.
    pub fraction: f64,
    pub seed: u64,
    /// Partitions of both runs (and of the strata).
    pub partitions: usize,
    /// Partitions adjudicated at once; `None`: the cores.
    pub threads: Option<usize>,
    /// Runs of each sample, (a) and (b) alternating; the times are the medians (at least 1).
    pub repeat: usize,
    /// Where the sampled claims directories and the runs' work and output go.
    pub work: PathBuf,
}

/// A number and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub value: f64,
    pub source: String,
}

fn figure(value: f64, source: impl Into<String>) -> Figure {
    Figure {
        value,
        source: source.into(),
    }
}

/// One population and its sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSample {
    pub dir: String,
    pub population_claims: u64,
    pub population_members: u64,
    pub sampled_claims: u64,
    pub not_sampled_claims: u64,
    pub sampled_members: u64,
    pub sampled_families: u64,
    /// Families sampled only because a sampled claim's COB primary is theirs.
    pub cob_families: u64,
    pub strata: Vec<StratumCount>,
}

/// What one engine run did (its reconciliation and pass-1 summaries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub claim_rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub adjudicated: u64,
    pub pended: u64,
    pub deferred: u64,
    pub seconds: f64,
    pub reconciled: bool,
}

/// One stage in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFigures {
    pub stage: String,
    /// Seconds in run (a) and (b).
    pub seconds_a: f64,
    pub seconds_b: f64,
    /// Accepted claims per second of this stage in run (a) and (b).
    pub rate_a: f64,
    pub rate_b: f64,
    /// Run (a)'s seconds scaled to the full baseline volume with the measured elasticity.
    pub projected_baseline_seconds: f64,
    /// Run (b)'s seconds scaled to the full target volume with the measured elasticity.
    pub projected_full_seconds: f64,
}

/// The batch impact measurement (issue #12, "measure, don't assume").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactMeasurement {
    pub fraction: f64,
    pub seed: u64,
    pub partitions: usize,
    /// Runs of each sample; every time is the median of these.
    pub repeat: usize,
    pub baseline: PopulationSample,
    pub new: PopulationSample,
    /// Run (a): the baseline sample.
    pub run_a: RunFigures,
    /// Run (b): the baseline sample plus the new sample.
    pub run_b: RunFigures,
    /// Run (c): a quarter of the baseline sample, for the elasticity (a volume span of 4).
    pub run_c: RunFigures,
    pub stages: Vec<StageFigures>,
    pub baseline_exception_rate: Figure,
    pub new_exception_rate: Figure,
    pub deferral_share_baseline: Figure,
    pub deferral_share_with_new: Figure,
    pub elasticity: Figure,
    /// The part of a run's time that does not grow with its claims (plans, threads, files).
    pub fixed_seconds: Figure,
    /// The full volumes: the baseline's claims, and the baseline's plus the new claims.
    pub full_baseline_claims: u64,
    pub full_target_claims: u64,
    pub full_baseline_seconds: Figure,
    pub full_target_seconds: Figure,
}

/// The sampled claims directories written under the work directory: runs (a), (b) and (c).
pub const SAMPLE_DIRS: [&str; 3] = [
    "baseline-sample",
    "combined-sample",
    "baseline-quarter-sample",
];

/// Share of the baseline sample that run (c) takes: the elasticity is measured between (c)
/// and (a), a volume ratio of 4 (`ln 4` = 1.39), not between (a) and (b), whose volumes
/// differ only by the new share (`ln 1.24` = 0.22, so timing noise weighs six times more).
pub const ELASTICITY_SPAN: f64 = 0.25;

/// `log(t_b / t_a) / log(n_b / n_a)`; `None` without a volume change or a time.
pub fn elasticity(n_a: f64, t_a: f64, n_b: f64, t_b: f64) -> Option<f64> {
    let e = (t_b / t_a).ln() / (n_b / n_a).ln();
    (n_a > 0.0 && t_a > 0.0 && t_b > 0.0 && n_b != n_a && e.is_finite()).then_some(e)
}

/// Time as a fixed part plus a part per claim, fitted through two runs of one population.
/// A sample's time is mostly fixed cost (loading plans, starting threads, creating files)
/// that a full run pays once too: scaling the sample's whole time by the volume ratio, or by
/// a power law fitted at sample sizes, misprojects the full run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub fixed: f64,
    pub per_claim: f64,
}

impl Fit {
    /// Through `(claims, seconds)` of a smaller and a larger run; the fixed part is kept
    /// between 0 and the smaller run's time (timing noise can push the line's intercept
    /// below zero or above it). `None` without a volume difference or a time.
    pub fn new((n1, t1): (f64, f64), (n2, t2): (f64, f64)) -> Option<Fit> {
        if !(n2 > n1 && n1 > 0.0 && t1 > 0.0 && t2 > 0.0) {
            return None;
        }
        let slope = (t2 - t1) / (n2 - n1);
        let fixed = (t2 - slope * n2).clamp(0.0, t1);
        Some(Fit {
            fixed,
            per_claim: (t2 - fixed) / n2,
        })
    }

    pub fn at(&self, claims: f64) -> f64 {
        self.fixed + self.per_claim * claims
    }

    /// The same fixed part, and the per-claim time of another run of `n` claims in `t`
    /// seconds (another mix of claims).
    pub fn with_mix(&self, n: f64, t: f64) -> Fit {
        Fit {
            fixed: self.fixed.min(t),
            per_claim: (t - self.fixed.min(t)) / n.max(1.0),
        }
    }
}

/// `seconds` measured at `n` claims, at `full` claims: `seconds × (full / n)^elasticity`.
pub fn scale(seconds: f64, n: f64, full: f64, elasticity: f64) -> f64 {
    seconds * (full / n.max(1.0)).powf(elasticity)
}

/// The claims and member rows of the sampled families.
fn sampled_rows(dir: &ClaimsDir, s: &Sample) -> (Vec<Claim>, Vec<MemberRow>) {
    let claims = dir
        .claims
        .iter()
        .zip(&s.selected)
        .filter(|(_, keep)| **keep)
        .map(|(c, _)| *c)
        .collect();
    let members = dir
        .members
        .iter()
        .filter(|m| s.families.contains(&m.family))
        .copied()
        .collect();
    (claims, members)
}

fn population(path: &Path, dir: &ClaimsDir, s: &Sample, members: usize) -> PopulationSample {
    PopulationSample {
        dir: path.display().to_string(),
        population_claims: dir.claims.len() as u64,
        population_members: dir.members.len() as u64,
        sampled_claims: s.sampled_claims(),
        not_sampled_claims: s.not_sampled_claims(),
        sampled_members: members as u64,
        sampled_families: s.families.len() as u64,
        cob_families: s.cob_families,
        strata: s.strata.clone(),
    }
}

/// The smallest CSV block a sample run reads in.
const MIN_BLOCK: usize = 16 << 10;

/// Runs the real engine on the claims directory `input`, a `scale` model of the full run
/// (its claims ÷ the full run's); its stage times and figures.
fn run_engine(
    input: &Path,
    scale: f64,
    name: &str,
    plans: &Plans,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<(RunFigures, [f64; 5]), ImpactError> {
    let mut popts = PipelineOptions {
        partitions: opts.partitions,
        ..PipelineOptions::default()
    };
    if let Some(t) = opts.threads {
        popts.threads = t;
    }
    let clock = StageClock::new(progress);
    let base = opts.work.join(name);
    let started = Instant::now();
    // A scale model of the full run: its files cut into as many blocks as the full ones.
    let block = ((crate::io::parallel_csv::BLOCK as f64 * scale) as usize).max(MIN_BLOCK);
    let report: Report = crate::pipeline::setup::with_csv_block(block, || {
        pipeline::adjudicate_partitioned(
            input,
            plans,
            &base.join("work"),
            &base.join("out"),
            &popts,
            &clock,
        )
    })?;
    let end = Instant::now();
    let seconds = clock.seconds(end);
    let mut stages = [0.0; 5];
    for (i, s) in seconds.iter().enumerate() {
        stages[i] = s.ok_or_else(|| {
            ImpactError::Input(format!(
                "run {name}: the engine never reported its {} stage",
                STAGES[i]
            ))
        })?;
    }
    let r = &report.reconciliation;
    if !r.ok {
        return Err(ImpactError::NotReconciled(format!(
            "run {name} did not reconcile: {}",
            r.failures.join("; ")
        )));
    }
    Ok((
        RunFigures {
            claim_rows: r.claim_rows,
            accepted: r.accepted,
            rejected: r.rejected_claims,
            adjudicated: r.adjudicated,
            pended: r.pended,
            deferred: report.pass1.iter().map(|s| s.deferred).sum(),
            seconds: end.duration_since(started).as_secs_f64(),
            reconciled: r.ok,
        },
        stages,
    ))
}

/// The median of `xs` (the upper middle one of an even count); 0 for none.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Repeated runs of one sample as one: its counts (the same every time: the engine is
/// deterministic) with the median wall time and median stage times.
fn medians(runs: Vec<(RunFigures, [f64; 5])>) -> (RunFigures, [f64; 5]) {
    let mut stages = [0.0; 5];
    for (i, s) in stages.iter_mut().enumerate() {
        *s = median(runs.iter().map(|r| r.1[i]).collect());
    }
    let seconds = median(runs.iter().map(|r| r.0.seconds).collect());
    let mut figures = runs.into_iter().next().map(|r| r.0).unwrap_or(RunFigures {
        claim_rows: 0,
        accepted: 0,
        rejected: 0,
        adjudicated: 0,
        pended: 0,
        deferred: 0,
        seconds: 0.0,
        reconciled: false,
    });
    figures.seconds = seconds;
    (figures, stages)
}

fn share(part: u64, whole: u64) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// Samples `baseline` and `new` (claims directories), runs the engine on both samples and
/// measures.
pub fn measure(
    baseline_dir: &Path,
    new_dir: &Path,
    plans: &Plans,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<ImpactMeasurement, ImpactError> {
    if !(opts.fraction > 0.0 && opts.fraction <= 1.0) {
        return Err(ImpactError::Input(format!(
            "--sample {}: the share sampled must be above 0 and at most 1",
            opts.fraction
        )));
    }
    progress.stage("impact: reading the baseline", 0);
    let baseline = claims_dir::read(baseline_dir, plans)?;
    progress.stage("impact: reading the new claims", 0);
    let new = claims_dir::read(new_dir, plans)?;

    // The strata's partitions: the engine's balanced split of the target volume's groups.
    let mut counts: Vec<u64> = Vec::new();
    for c in baseline.claims.iter().chain(&new.claims) {
        let g = usize::from(c.pcp_group);
        if counts.len() < g {
            counts.resize(g, 0);
        }
        counts[g - 1] += 1;
    }
    let boundaries = partition::plan(&counts, opts.partitions);

    progress.stage("impact: sampling", 0);
    // The baseline is drawn twice (the sample, and a quarter of it): one frame for both.
    let frame = Frame::new(&baseline.claims, &boundaries);
    let s_base = frame.draw(&baseline.claims, &boundaries, opts.fraction, opts.seed);
    let s_new = sample(&new.claims, &boundaries, opts.fraction, opts.seed);
    let s_small = frame.draw(
        &baseline.claims,
        &boundaries,
        opts.fraction * ELASTICITY_SPAN,
        opts.seed,
    );
    let (base_claims, base_members) = sampled_rows(&baseline, &s_base);
    let (small_claims, small_members) = sampled_rows(&baseline, &s_small);
    if small_claims.is_empty() {
        return Err(ImpactError::Input(format!(
            "--sample {}: a quarter of that share of {} holds no claim (the elasticity's smaller run); sample a larger share",
            opts.fraction,
            baseline_dir.display()
        )));
    }
    let (new_claims, new_members) = sampled_rows(&new, &s_new);
    if new_claims.is_empty() {
        return Err(ImpactError::Input(format!(
            "--sample {}: the sample of {} holds no claim; sample a larger share",
            opts.fraction,
            new_dir.display()
        )));
    }
    let combined = combine(
        Part {
            claims: &base_claims,
            members: &base_members,
        },
        Part {
            claims: &new_claims,
            members: &new_members,
        },
    )
    .map_err(|m| ImpactError::Input(format!("{}: {m}", new_dir.display())))?;
    let [dir_a, dir_b, dir_c] = SAMPLE_DIRS.map(|d| opts.work.join(d));
    // The three written side by side (formatting rows is the work; one thread each).
    let written: Vec<Result<(), ImpactError>> = std::thread::scope(|scope| {
        let jobs = [
            (&dir_b, &combined.claims[..], &combined.members[..]),
            (&dir_a, &base_claims[..], &base_members[..]),
            (&dir_c, &small_claims[..], &small_members[..]),
        ];
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(dir, claims, members)| {
                scope.spawn(move || claims_dir::write(dir, claims, members, plans))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ImpactError::Io("a thread writing a sample panicked".into()))
                })
            })
            .collect()
    });
    written.into_iter().collect::<Result<(), _>>()?;

    // Each run models a full one: (a) and (c) the full baseline, (b) baseline + new.
    let full_claims = (baseline.claims.len() as f64).max(1.0);
    let scale_a = base_claims.len() as f64 / full_claims;
    let scale_c = small_claims.len() as f64 / full_claims;
    let scale_b = combined.claims.len() as f64 / (full_claims + new.claims.len() as f64);
    // Alternating, so that a machine busy for a while slows both runs alike.
    let (mut runs_a, mut runs_b, mut runs_c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..opts.repeat.max(1) {
        runs_c.push(run_engine(&dir_c, scale_c, "run-c", plans, opts, progress)?);
        runs_a.push(run_engine(&dir_a, scale_a, "run-a", plans, opts, progress)?);
        runs_b.push(run_engine(&dir_b, scale_b, "run-b", plans, opts, progress)?);
    }
    let (run_a, t_a) = medians(runs_a);
    let (run_b, t_b) = medians(runs_b);
    let (run_c, t_c) = medians(runs_c);

    let (n_a, n_b, n_c) = (
        run_a.accepted as f64,
        run_b.accepted as f64,
        run_c.accepted as f64,
    );
    let full_a = baseline.claims.len() as u64;
    let full_b = full_a + new.claims.len() as u64;
    let (nf_a, nf_b) = (full_a as f64, full_b as f64);
    let whole = Fit::new((n_c, run_c.seconds), (n_a, run_a.seconds)).ok_or_else(|| {
        ImpactError::Input(
            "runs (c) and (a) give no fit (the same volume, or no time): sample a larger share"
                .to_string(),
        )
    })?;
    // The elasticity the fit implies between the full baseline and the full target volume.
    let e = elasticity(nf_a, whole.at(nf_a), nf_b, whole.at(nf_b)).unwrap_or(1.0);
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let fit = Fit::new((n_c, t_c[i]), (n_a, t_a[i])).unwrap_or(Fit {
                fixed: 0.0,
                per_claim: t_a[i] / n_a.max(1.0),
            });
            StageFigures {
                stage: (*name).to_string(),
                seconds_a: t_a[i],
                seconds_b: t_b[i],
                rate_a: n_a / t_a[i].max(1e-9),
                rate_b: n_b / t_b[i].max(1e-9),
                projected_baseline_seconds: fit.at(nf_a),
                projected_full_seconds: fit.with_mix(n_b, t_b[i]).at(nf_b),
            }
        })
        .collect();
    let new_adjudicated = run_b.adjudicated.saturating_sub(run_a.adjudicated);
    let new_pended = run_b.pended.saturating_sub(run_a.pended);
    Ok(ImpactMeasurement {
        fraction: opts.fraction,
        seed: opts.seed,
        partitions: opts.partitions,
        repeat: opts.repeat.max(1),
        baseline: population(baseline_dir, &baseline, &s_base, base_members.len()),
        new: population(new_dir, &new, &s_new, new_members.len()),
        baseline_exception_rate: figure(
            share(run_a.pended, run_a.adjudicated),
            "run (a): pended / adjudicated (reconciliation)",
        ),
        new_exception_rate: figure(
            share(new_pended, new_adjudicated),
            "run (b) − run (a): pended / adjudicated of the new claims (the baseline's claims adjudicate alike in both runs: their families are disjoint from the new ones)",
        ),
        deferral_share_baseline: figure(
            share(run_a.deferred, run_a.accepted),
            "run (a): claims deferred by pass 1 / accepted",
        ),
        deferral_share_with_new: figure(
            share(run_b.deferred, run_b.accepted),
            "run (b): claims deferred by pass 1 / accepted",
        ),
        fixed_seconds: figure(
            whole.fixed,
            "runs (c) and (a), a quarter of the baseline sample and the whole of it: wall time (setup to reconcile) = fixed + per claim × accepted claims, solved for the fixed part (between 0 and run (c)'s time)",
        ),
        elasticity: figure(
            e,
            "log(T(N_b) / T(N_a)) / log(N_b / N_a) on that fit: how the baseline's time grows from its full volume to the target's",
        ),
        full_baseline_seconds: figure(
            whole.at(nf_a),
            "fixed + run (a)'s per-claim time × the full baseline's claims",
        ),
        full_target_seconds: figure(
            whole.with_mix(n_b, run_b.seconds).at(nf_b),
            "fixed + run (b)'s per-claim time (baseline and new claims in their proportion) × the full target's claims",
        ),
        full_baseline_claims: full_a,
        full_target_claims: full_b,
        run_a,
        run_b,
        run_c,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elasticity_is_the_log_ratio_and_scales_back() {
        let e = elasticity(1000.0, 2.0, 2000.0, 4.0).expect("e");
        assert!((e - 1.0).abs() < 1e-12);
        let e = elasticity(1000.0, 2.0, 4000.0, 4.0).expect("e");
        assert!((e - 0.5).abs() < 1e-12);
        assert!((scale(4.0, 4000.0, 16_000.0, e) - 8.0).abs() < 1e-9);
        assert_eq!(
            elasticity(1000.0, 2.0, 1000.0, 3.0),
            None,
            "no volume change"
        );
        assert_eq!(elasticity(1000.0, 0.0, 2000.0, 3.0), None, "no time");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        // 1 s fixed + 1 ms a claim: through 1,000 and 4,000 claims, out to 100,000.
        let fit = Fit::new((1000.0, 2.0), (4000.0, 5.0)).expect("fit");
        assert!((fit.fixed - 1.0).abs() < 1e-9 && (fit.per_claim - 0.001).abs() < 1e-12);
        assert!((fit.at(100_000.0) - 101.0).abs() < 1e-9);
        // New claims twice as costly: run (b) of 5,000 claims (4,000 old, 1,000 new) in 7 s.
        let mixed = fit.with_mix(5000.0, 7.0);
        assert!((mixed.per_claim - 0.0012).abs() < 1e-12);
        // Noise pushing the intercept below zero keeps it at zero.
        assert_eq!(
            Fit::new((1000.0, 1.0), (4000.0, 5.0)).expect("fit").fixed,
            0.0
        );
        assert_eq!(Fit::new((1000.0, 1.0), (1000.0, 5.0)), None);
        assert_eq!(median(vec![5.0]), 5.0);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
