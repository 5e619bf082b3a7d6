//! The allowed range of every numeric flag, checked by clap while it parses the command
//! line: a number out of range is refused (exit 2, naming the flag and the range) before
//! any work starts. Without them `warden adjudicate --partitions 100000` grew to 16 GB
//! before its limit was checked, and `warden whatif --samples 1000000000` ran for hours.

use clap::builder::{RangedI64ValueParser, RangedU64ValueParser};

/// Partitions of an adjudication run: each is a bit of a member's 64-bit partition mask.
pub const MAX_PARTITIONS: u64 = warden_workers::pipeline::defer::MAX_PARTITIONS as u64;
/// Clock speed: a month-end's three nights pass in a quarter of a second at this speed.
pub const MAX_SPEED: f64 = 1_000_000.0;
/// Jobs (or bench jobs) at once in one process.
pub const MAX_WORKERS: u64 = 1024;
/// Threads adjudicating partitions at once.
pub const MAX_THREADS: u64 = 256;
/// Monte Carlo samples of `whatif` (the default is 1,000; 100,000 takes minutes).
pub const MAX_SAMPLES: u64 = 100_000;
/// Members of a generated population: about 3 times the largest case study's 12M, and
/// what one process holds in memory comfortably.
pub const MAX_MEMBERS: u64 = 50_000_000;
/// Claims of a generated file: about 3 times the month-end's 62M.
pub const MAX_CLAIMS: u64 = 200_000_000;
/// PCP groups (the case study has 48; balancing is quadratic in them).
pub const MAX_PCP_GROUPS: i64 = 999;
/// Live-update clients of the web UI at once (each open page holds one).
pub const MAX_SSE_CLIENTS: u64 = 10_000;
/// Repetitions of `bench dag`.
pub const MAX_REPEAT: u64 = 100;
/// Imbalance threshold of `partitions rebalance` (largest over smallest partition).
pub const MAX_THRESHOLD: f64 = 100.0;

/// A `usize` flag in `1..=max`.
pub fn count(max: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(1..=max)
}

/// A `usize` flag in `0..=max` (0: none of them, e.g. no in-process workers).
pub fn count_or_none(max: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(0..=max)
}

/// A `u64` flag in `min..=max`.
pub fn amount(min: u64, max: u64) -> RangedU64ValueParser<u64> {
    RangedU64ValueParser::<u64>::new().range(min..=max)
}

/// An `i64` flag in `min..=max`.
pub fn signed(min: i64, max: i64) -> RangedI64ValueParser<i64> {
    RangedI64ValueParser::<i64>::new().range(min..=max)
}

/// PCP groups: `1..=MAX_PCP_GROUPS`, as the type the caller keeps them in.
pub fn pcp_groups<T>() -> RangedI64ValueParser<T>
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
    <T as TryFrom<i64>>::Error: std::error::Error + Send + Sync + 'static,
{
    RangedI64ValueParser::<T>::new().range(1..=MAX_PCP_GROUPS)
}

/// A finite number in `low..=high` (`low` itself excluded when `open`), said the way clap
/// says its integer ranges.
fn real(text: &str, low: f64, high: f64, open: bool) -> Result<f64, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    let above = if open { x > low } else { x >= low };
    if x.is_finite() && above && x <= high {
        Ok(x)
    } else if open {
        Err(format!("{text} is not above {low} and at most {high}"))
    } else {
        Err(format!("{text} is not in {low}..={high}"))
    }
}

/// `--speed`: times real time, above 0 and at most [`MAX_SPEED`].
pub fn speed(text: &str) -> Result<f64, String> {
    real(text, 0.0, MAX_SPEED, true)
}

/// A share such as `--exception-rate`: 0 to 1.
pub fn share(text: &str) -> Result<f64, String> {
    real(text, 0.0, 1.0, false)
}

/// A sampled share such as `impact measure --sample`: above 0 (a sample of nothing measures
/// nothing) and at most 1.
pub fn fraction(text: &str) -> Result<f64, String> {
    real(text, 0.0, 1.0, true)
}

/// `--threshold`: a ratio of largest to smallest partition, 1 to [`MAX_THRESHOLD`].
pub fn threshold(text: &str) -> Result<f64, String> {
    real(text, 1.0, MAX_THRESHOLD, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reals_are_finite_and_in_range() {
        assert_eq!(speed("600"), Ok(600.0));
        assert!(speed("0").is_err());
        assert!(speed("-1").is_err());
        assert!(speed("inf").is_err());
        assert!(speed("NaN").is_err());
        assert_eq!(
            speed("1e9"),
            Err("1e9 is not above 0 and at most 1000000".to_string())
        );
        assert_eq!(share("0"), Ok(0.0));
        assert_eq!(share("1.5"), Err("1.5 is not in 0..=1".to_string()));
        assert_eq!(threshold("1.15"), Ok(1.15));
        assert_eq!(fraction("0.1"), Ok(0.1));
        assert_eq!(fraction("1"), Ok(1.0));
        assert!(fraction("0").is_err());
        assert!(threshold("0.9").is_err());
        assert_eq!(speed("fast"), Err("`fast` is not a number".to_string()));
    }
}
