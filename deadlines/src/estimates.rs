//! How long each job will take in this run: the plan's (volume-scaled) estimate, refined by
//! the job's history once it has enough of it.
//!
//! A past run of a job took `s` seconds for volume `v`. At this run's volume `V` the same
//! work takes `s × (V / v)^e`, `e` being the job's elasticity (0: volume does not matter; 1:
//! time per claim is constant). Each past run so normalised is one sample of this run's
//! duration; with at least [`MIN_RUNS`] of them the median replaces the plan's estimate and
//! the samples themselves are the distribution the Monte Carlo draws from. With fewer, the
//! plan's estimate is the median of a log-normal spread of [`DEFAULT_SPREAD`].

use chrono::TimeDelta;
use rand::Rng;
use rand_distr::{Distribution, LogNormal, StandardNormal};
use serde::Serialize;
use warden_core::plan::Plan;
use warden_core::workflow::JobIdx;

/// Past runs a job needs before its history replaces the plan's estimate.
pub const MIN_RUNS: usize = 3;
/// σ of the log-normal spread around an estimate that has no history (≈ ±15 %).
pub const DEFAULT_SPREAD: f64 = 0.15;
/// σ of the jitter added to a history sample, so a handful of runs still gives a spread.
const SAMPLE_JITTER: f64 = 0.05;
/// A running job past its estimate is projected to need this share of it again...
const OVERRUN_SHARE: f64 = 0.10;
/// ...and never less than this.
const OVERRUN_FLOOR: TimeDelta = TimeDelta::minutes(1);

/// One successful past run of a job (from the store's history).
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySample {
    pub job_id: String,
    /// Claims it processed.
    pub volume: u64,
    pub seconds: f64,
}

impl HistorySample {
    /// A stored history row as the estimates read it (a negative volume is none).
    pub fn new(job_id: String, volume: i64, seconds: f64) -> Self {
        Self {
            job_id,
            volume: u64::try_from(volume).unwrap_or(0),
            seconds,
        }
    }
}

/// What a job reports of its own progress (adjudication partitions: claims done / total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JobProgress {
    pub done: u64,
    pub total: u64,
}

/// Where a job's estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EstimateSource {
    /// The workflow's estimate scaled by volume (no or too little history).
    Plan,
    /// The median of this many past runs, scaled to this run's volume.
    History { runs: usize },
}

#[derive(Debug, Clone)]
pub struct JobEstimate {
    /// The median duration at this run's volume.
    pub central: TimeDelta,
    pub source: EstimateSource,
    /// Past durations at this run's volume, in seconds (empty when `source` is the plan).
    samples: Vec<f64>,
}

/// Every job's estimate for one run.
#[derive(Debug, Clone)]
pub struct Estimates {
    jobs: Vec<JobEstimate>,
}

impl Estimates {
    /// The plan's own estimates, nothing learned.
    pub fn from_plan(plan: &Plan) -> Self {
        Self {
            jobs: plan
                .jobs
                .iter()
                .map(|j| JobEstimate {
                    central: j.duration,
                    source: EstimateSource::Plan,
                    samples: Vec::new(),
                })
                .collect(),
        }
    }

    /// The plan's estimates refined by `history` (any order; rows of jobs the plan does not
    /// have, or with no volume or duration, are ignored).
    pub fn from_history(plan: &Plan, history: &[HistorySample]) -> Self {
        let mut by_id: std::collections::HashMap<&str, Vec<&HistorySample>> =
            std::collections::HashMap::new();
        for row in history {
            if row.seconds.is_finite() && row.seconds >= 0.0 {
                by_id.entry(row.job_id.as_str()).or_default().push(row);
            }
        }
        let mut estimates = Self::from_plan(plan);
        for (job, estimate) in estimates.jobs.iter_mut().enumerate() {
            let pj = &plan.jobs[job];
            let Some(rows) = by_id.get(pj.id.as_str()) else {
                continue;
            };
            let volume = plan.job_volume(job) as f64;
            let mut samples: Vec<f64> = rows
                .iter()
                .map(|r| {
                    if pj.elasticity == 0.0 || r.volume == 0 || volume == 0.0 {
                        r.seconds
                    } else {
                        r.seconds * (volume / r.volume as f64).powf(pj.elasticity)
                    }
                })
                .collect();
            if samples.len() < MIN_RUNS {
                continue;
            }
            samples.sort_by(f64::total_cmp);
            estimate.central = seconds(median(&samples));
            estimate.source = EstimateSource::History {
                runs: samples.len(),
            };
            estimate.samples = samples;
        }
        estimates
    }

    /// A what-if's delay: the job takes `extra` longer (its history samples too).
    pub fn add(&mut self, job: JobIdx, extra: TimeDelta) {
        let e = &mut self.jobs[job];
        e.central = (e.central + extra).max(TimeDelta::zero());
        let shift = extra.num_milliseconds() as f64 / 1000.0;
        for s in &mut e.samples {
            *s = (*s + shift).max(0.0);
        }
    }

    pub fn job(&self, job: JobIdx) -> &JobEstimate {
        &self.jobs[job]
    }

    pub fn central(&self, job: JobIdx) -> TimeDelta {
        self.jobs[job].central
    }

    /// One draw of the job's duration: a past run (bootstrap, lightly jittered) when it has
    /// history, else a log-normal around the plan's estimate.
    pub fn sample(&self, job: JobIdx, rng: &mut impl Rng) -> TimeDelta {
        let e = &self.jobs[job];
        if e.samples.is_empty() {
            return scale(e.central, lognormal(rng, DEFAULT_SPREAD));
        }
        let pick = e.samples[rng.gen_range(0..e.samples.len())];
        seconds(pick * lognormal(rng, SAMPLE_JITTER))
    }

    /// How much longer a running job will take, `elapsed` after it started: from its
    /// reported progress where it reports any (the observed rate over what is left), else
    /// its estimate minus what has elapsed (a job past its estimate gets a tenth of it
    /// again, at least a minute: overrunning, but not finished).
    pub fn remaining(
        &self,
        job: JobIdx,
        elapsed: TimeDelta,
        progress: Option<JobProgress>,
    ) -> TimeDelta {
        remaining_from(self.central(job), elapsed, progress)
    }

    /// One draw of [`Estimates::remaining`]: the rate-based remainder with a 10 % spread, or
    /// a sampled duration conditioned on being longer than what has elapsed.
    pub fn sample_remaining(
        &self,
        job: JobIdx,
        elapsed: TimeDelta,
        progress: Option<JobProgress>,
        rng: &mut impl Rng,
    ) -> TimeDelta {
        if let Some(left) = rate_remaining(elapsed, progress) {
            return scale(left, lognormal(rng, 0.10));
        }
        for _ in 0..16 {
            let d = self.sample(job, rng);
            if d > elapsed {
                return d - elapsed;
            }
        }
        overrun(self.central(job))
    }
}

fn remaining_from(
    estimate: TimeDelta,
    elapsed: TimeDelta,
    progress: Option<JobProgress>,
) -> TimeDelta {
    if let Some(left) = rate_remaining(elapsed, progress) {
        return left;
    }
    let left = estimate - elapsed;
    if left > TimeDelta::zero() {
        left
    } else {
        overrun(estimate)
    }
}

/// (total − done) at the rate observed so far; `None` without usable progress.
fn rate_remaining(elapsed: TimeDelta, progress: Option<JobProgress>) -> Option<TimeDelta> {
    let p = progress?;
    if p.total == 0 || p.done == 0 || elapsed <= TimeDelta::zero() {
        return None;
    }
    let left = p.total.saturating_sub(p.done) as f64;
    let per_unit = elapsed.num_milliseconds() as f64 / 1000.0 / p.done as f64;
    Some(seconds(left * per_unit))
}

fn overrun(estimate: TimeDelta) -> TimeDelta {
    scale(estimate, OVERRUN_SHARE).max(OVERRUN_FLOOR)
}

fn lognormal(rng: &mut impl Rng, sigma: f64) -> f64 {
    match LogNormal::new(0.0, sigma) {
        Ok(d) => d.sample(rng),
        // σ is a positive constant here; fall back to a plain normal draw's exponent.
        Err(_) => {
            let z: f64 = StandardNormal.sample(rng);
            (sigma * z).exp()
        }
    }
}

fn scale(d: TimeDelta, factor: f64) -> TimeDelta {
    seconds(d.num_milliseconds() as f64 / 1000.0 * factor)
}

fn seconds(s: f64) -> TimeDelta {
    if s.is_finite() {
        TimeDelta::milliseconds((s.max(0.0) * 1000.0).round() as i64)
    } else {
        TimeDelta::zero()
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_gives_the_remainder_at_the_observed_rate() {
        // 65 % done after 130 minutes: 35 % left at 2 min per percent = 70 minutes.
        let p = Some(JobProgress {
            done: 65,
            total: 100,
        });
        assert_eq!(
            remaining_from(TimeDelta::minutes(110), TimeDelta::minutes(130), p),
            TimeDelta::minutes(70)
        );
    }

    #[test]
    fn without_progress_the_estimate_less_elapsed_and_an_overrun_is_never_zero() {
        let est = TimeDelta::minutes(100);
        assert_eq!(
            remaining_from(est, TimeDelta::minutes(30), None),
            TimeDelta::minutes(70)
        );
        assert_eq!(
            remaining_from(est, TimeDelta::minutes(120), None),
            TimeDelta::minutes(10)
        );
        assert_eq!(
            remaining_from(TimeDelta::minutes(4), TimeDelta::minutes(9), None),
            TimeDelta::minutes(1)
        );
    }

    #[test]
    fn zero_progress_falls_back_to_the_estimate() {
        let p = Some(JobProgress { done: 0, total: 10 });
        assert_eq!(
            remaining_from(TimeDelta::minutes(50), TimeDelta::minutes(20), p),
            TimeDelta::minutes(30)
        );
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 3.0]), 2.0);
    }
}
