//! Breach probability: the projection run many times with durations drawn from each job's
//! distribution ([`Estimates::sample`]), giving per deadline the share of runs that miss it
//! and the median and 90th-percentile finish.
//!
//! Seeded, so the same live state and seed give the same figures (tests, audits and the
//! stored projection history agree with each other).

use chrono::{DateTime, TimeDelta, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use warden_core::plan::Plan;
use warden_core::sched::run_forward;

use crate::estimates::Estimates;
use crate::projection::{LiveRun, covered_finish, forward_start};

/// Samples a live projection draws by default (the 1,000).
pub const DEFAULT_SAMPLES: usize = 1000;

/// One deadline's risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeadlineRisk {
    /// Index into `plan.deadlines`.
    pub deadline: usize,
    pub samples: usize,
    /// Samples that finish after the deadline.
    pub misses: usize,
    pub p50_finish: DateTime<Utc>,
    pub p90_finish: DateTime<Utc>,
}

impl DeadlineRisk {
    /// P(miss), 0–1.
    pub fn p_miss(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.misses as f64 / self.samples as f64
        }
    }
}

/// Runs `samples` projections with drawn durations. Deadlines that cover no job are left out.
pub fn breach_risk(
    plan: &Plan,
    live: &LiveRun<'_>,
    estimates: &Estimates,
    samples: usize,
    seed: u64,
) -> Vec<DeadlineRisk> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut finishes: Vec<Vec<i64>> = vec![Vec::with_capacity(samples); plan.deadlines.len()];
    for _ in 0..samples {
        let (start, _, _) = forward_start(plan, live, |job, elapsed| {
            estimates.sample_remaining(
                job,
                elapsed,
                live.progress.get(job).copied().flatten(),
                &mut rng,
            )
        });
        let mut draws: Vec<TimeDelta> = Vec::with_capacity(plan.jobs.len());
        for job in 0..plan.jobs.len() {
            draws.push(estimates.sample(job, &mut rng));
        }
        let schedule = run_forward(plan, start, |job| draws[job]);
        for (d, out) in finishes.iter_mut().enumerate() {
            if let Some(f) = covered_finish(plan, &schedule, d) {
                out.push(f.timestamp_millis());
            }
        }
    }
    finishes
        .into_iter()
        .enumerate()
        .filter(|(_, f)| !f.is_empty())
        .map(|(d, mut f)| {
            f.sort_unstable();
            let at = plan.deadlines[d].at.timestamp_millis();
            DeadlineRisk {
                deadline: d,
                samples: f.len(),
                misses: f.iter().filter(|t| **t > at).count(),
                p50_finish: instant(quantile(&f, 0.5)),
                p90_finish: instant(quantile(&f, 0.9)),
            }
        })
        .collect()
}

/// The nearest-rank quantile of sorted values.
fn quantile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(quantile(&v, 0.5), 5);
        assert_eq!(quantile(&v, 0.9), 9);
        assert_eq!(quantile(&[7], 0.9), 7);
    }
}
