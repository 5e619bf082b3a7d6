//! The batch impact test's verdict (issue #12): given each deadline's projection before and
//! after the new volume, and the new claims' measured exception rate, `pass`, `review` or
//! `fail`, per deadline and overall, each with the reasons a review board reads.
//!
//! - `fail`: the 90th-percentile finish after the new volume is past a regulatory deadline.
//! - `review`: the margin shrinks by more than `review_margin` of what it was (or there was
//!   none to lose), P(miss) after is above `p_miss_review`, a non-regulatory deadline's p90
//!   finish is past it, or the new claims' exception rate is above the adjudication
//!   monitor's threshold (5 %).
//! - `pass` otherwise.
//!
//! Pure: the projections come from the same core and Monte Carlo that `warden run` uses.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use warden_core::workflow::ImpactRules;

use crate::alert::format_probability;
use warden_core::workflow::values::format_duration;

/// The exception rate above which adjudication's monitor warns (docs/adjudication.md); new
/// claims above it need a review whatever the margins say.
pub const EXCEPTION_RATE_REVIEW: f64 = 0.05;

/// Worst last: `Pass < Review < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Review,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Review => "review",
            Verdict::Fail => "fail",
        }
    }
}

/// One projection of a deadline's finish.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub p50_finish: DateTime<Utc>,
    pub p90_finish: DateTime<Utc>,
    /// 0–1.
    pub p_miss: f64,
}

/// A deadline before and after the new volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineImpact {
    pub id: String,
    pub regulatory: bool,
    pub at: DateTime<Utc>,
    pub before: Reading,
    pub after: Reading,
}

impl DeadlineImpact {
    /// Margin at the median finish.
    pub fn margin_before(&self) -> TimeDelta {
        self.at - self.before.p50_finish
    }

    pub fn margin_after(&self) -> TimeDelta {
        self.at - self.after.p50_finish
    }
}

/// One deadline's verdict and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineVerdict {
    pub id: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
}

/// The whole test's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub overall: Verdict,
    pub deadlines: Vec<DeadlineVerdict>,
    /// Reasons that are not one deadline's (the exception rate).
    pub reasons: Vec<String>,
}

/// Judges the new volume by `rules`; `exception_rate` is the new claims' measured rate.
pub fn judge(
    deadlines: &[DeadlineImpact],
    exception_rate: Option<f64>,
    rules: &ImpactRules,
) -> Judgement {
    let deadlines: Vec<DeadlineVerdict> = deadlines.iter().map(|d| judge_one(d, rules)).collect();
    let mut reasons = Vec::new();
    let mut overall = deadlines
        .iter()
        .map(|d| d.verdict)
        .max()
        .unwrap_or(Verdict::Pass);
    if let Some(rate) = exception_rate
        && rate > EXCEPTION_RATE_REVIEW
    {
        reasons.push(format!(
            "review: the new claims' exception rate is {}, above the monitor's {}",
            format_probability(rate),
            format_probability(EXCEPTION_RATE_REVIEW)
        ));
        overall = overall.max(Verdict::Review);
    }
    Judgement {
        overall,
        deadlines,
        reasons,
    }
}

fn judge_one(d: &DeadlineImpact, rules: &ImpactRules) -> DeadlineVerdict {
    let mut verdict = Verdict::Pass;
    let mut reasons = Vec::new();
    let mut say = |v: Verdict, reason: String| {
        verdict = verdict.max(v);
        reasons.push(format!("{}: {reason}", v.as_str()));
    };
    let late = d.after.p90_finish - d.at;
    if late > TimeDelta::zero() {
        let v = if d.regulatory {
            Verdict::Fail
        } else {
            Verdict::Review
        };
        say(
            v,
            format!(
                "the 90th-percentile finish is {} past the {}deadline",
                format_duration(late),
                if d.regulatory { "regulatory " } else { "" }
            ),
        );
    }
    let (before, after) = (d.margin_before(), d.margin_after());
    let lost = before - after;
    if lost > TimeDelta::zero() {
        if before <= TimeDelta::zero() {
            say(
                Verdict::Review,
                format!(
                    "there was no margin to lose ({} before), and the finish moves {} later",
                    format_duration(before),
                    format_duration(lost)
                ),
            );
        } else {
            let share = lost.num_seconds() as f64 / before.num_seconds() as f64;
            if share > rules.review_margin {
                say(
                    Verdict::Review,
                    format!(
                        "the margin shrinks by {} ({} to {}), more than the review line of {}",
                        format_probability(share),
                        format_duration(before),
                        format_duration(after),
                        format_probability(rules.review_margin)
                    ),
                );
            }
        }
    }
    if d.after.p_miss > rules.p_miss_review {
        say(
            Verdict::Review,
            format!(
                "P(miss) is {:.2} after ({:.2} before), above the review line of {}",
                d.after.p_miss, d.before.p_miss, rules.p_miss_review
            ),
        );
    }
    DeadlineVerdict {
        id: d.id.clone(),
        verdict,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::minutes(minutes)
    }

    /// A deadline at minute 600 whose median finish moves from `p50_before` to `p50_after`
    /// (p90 30 minutes later), with P(miss) after.
    fn deadline(regulatory: bool, p50_before: i64, p50_after: i64, p_miss: f64) -> DeadlineImpact {
        DeadlineImpact {
            id: "d".into(),
            regulatory,
            at: at(600),
            before: Reading {
                p50_finish: at(p50_before),
                p90_finish: at(p50_before + 30),
                p_miss: 0.0,
            },
            after: Reading {
                p50_finish: at(p50_after),
                p90_finish: at(p50_after + 30),
                p_miss,
            },
        }
    }

    #[test]
    fn a_small_loss_of_margin_passes() {
        let rules = ImpactRules::default();
        // 200 minutes of margin, 15 lost: 7.5 %, under the 10 % line.
        let j = judge(&[deadline(true, 400, 415, 0.0)], Some(0.02), &rules);
        assert_eq!(j.overall, Verdict::Pass, "{j:?}");
        assert!(j.deadlines[0].reasons.is_empty());
    }

    #[test]
    fn a_loss_above_the_review_line_needs_a_review() {
        let rules = ImpactRules::default();
        // 200 minutes of margin, 30 lost: 15 %.
        let j = judge(&[deadline(true, 400, 430, 0.0)], None, &rules);
        assert_eq!(j.overall, Verdict::Review);
        assert_eq!(
            j.deadlines[0].reasons,
            [
                "review: the margin shrinks by 15% (3h20m to 2h50m), more than the review line of 10%"
            ]
        );
    }

    #[test]
    fn a_p90_past_a_regulatory_deadline_fails_and_past_another_needs_a_review() {
        let rules = ImpactRules::default();
        let regulatory = judge(&[deadline(true, 400, 590, 0.4)], None, &rules);
        assert_eq!(regulatory.overall, Verdict::Fail);
        let reasons = &regulatory.deadlines[0].reasons;
        assert!(
            reasons.contains(
                &"fail: the 90th-percentile finish is 20m past the regulatory deadline".to_string()
            ),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("review: P(miss) is 0.40")),
            "{reasons:?}"
        );
        let window = judge(&[deadline(false, 400, 590, 0.4)], None, &rules);
        assert_eq!(window.overall, Verdict::Review);
    }

    #[test]
    fn the_new_claims_exception_rate_above_the_monitor_needs_a_review() {
        let rules = ImpactRules::default();
        let j = judge(&[deadline(true, 400, 405, 0.0)], Some(0.09), &rules);
        assert_eq!(j.overall, Verdict::Review);
        assert_eq!(j.deadlines[0].verdict, Verdict::Pass);
        assert_eq!(
            j.reasons,
            ["review: the new claims' exception rate is 9%, above the monitor's 5%"]
        );
    }

    #[test]
    fn a_deadline_already_without_margin_that_loses_more_needs_a_review() {
        let rules = ImpactRules::default();
        let j = judge(&[deadline(false, 610, 640, 0.0)], None, &rules);
        assert_eq!(j.overall, Verdict::Review);
        assert!(j.deadlines[0].reasons[1].contains("there was no margin to lose (-10m before)"));
    }

    #[test]
    fn the_review_line_is_the_workflows() {
        let strict = ImpactRules {
            review_margin: 0.05,
            ..ImpactRules::default()
        };
        let j = judge(&[deadline(true, 400, 415, 0.0)], None, &strict);
        assert_eq!(j.overall, Verdict::Review, "7.5 % is above a 5 % line");
    }
}
