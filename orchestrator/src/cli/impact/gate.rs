//! The go-live gate (issue #12): a run whose stream carries more than its approved volume
//! plus the workflow's `impact.trigger` starts only when a batch impact test covering that
//! volume came back `pass`, or `review` and was approved by an architect. The approved
//! volume is the stream's declared `volume` (what the cycle was built for), raised by every
//! such test. The decision is pure ([`decide`]); `warden run` feeds it the store's tests.

use warden_core::plan::Plan;
use warden_core::workflow::values::thousands;
use warden_deadlines::alert::format_probability;
use warden_store::ImpactTestRecord;

/// A stream above its declared volume plus the trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over {
    pub stream: String,
    pub declared: u64,
    pub volume: u64,
    /// `declared × (1 + trigger)`, rounded down.
    pub limit: u64,
}

/// What the gate says.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// No stream is above its limit.
    Open,
    /// Streams are above, and this test covers them.
    Covered { test: i64, how: String },
    /// Refused: why, and what to run.
    Refused { over: Vec<Over>, message: String },
}

/// Streams whose planned volume is above the declared volume plus the trigger.
pub fn over_limit(plan: &Plan) -> Vec<Over> {
    plan.streams
        .iter()
        .filter_map(|s| {
            let limit = plan.impact.limit(s.declared_volume);
            (s.volume > limit).then(|| Over {
                stream: s.id.clone(),
                declared: s.declared_volume,
                volume: s.volume,
                limit,
            })
        })
        .collect()
}

/// Whether a test clears a run: its verdict, and an architect's approval of a review.
fn clears(t: &ImpactTestRecord) -> Result<String, String> {
    match (t.verdict.as_str(), &t.approval) {
        ("pass", _) => Ok(format!("impact test #{} passed", t.id)),
        ("review", Some(a)) => Ok(format!(
            "impact test #{} came back review and was approved by {} ({}) on {}",
            t.id,
            a.approver,
            a.role,
            a.at.format("%Y-%m-%d")
        )),
        ("review", None) => Err(format!(
            "impact test #{} came back review and no architect has approved it: `warden impact show {}`, then `warden impact approve {} --as NAME --note \"...\"` (architect role)",
            t.id, t.id, t.id
        )),
        (verdict, _) => Err(format!(
            "impact test #{} came back {verdict}: the volume cannot go live as tested; see `warden impact show {}` for the mitigations, change the cycle and test again",
            t.id, t.id
        )),
    }
}

/// The gate for `plan`, given the cycle's stored tests (any order).
pub fn decide(plan: &Plan, file: &str, tests: &[ImpactTestRecord]) -> Gate {
    let over = over_limit(plan);
    if over.is_empty() {
        return Gate::Open;
    }
    let covers = |t: &ImpactTestRecord| {
        t.cycle == plan.cycle
            && over
                .iter()
                .all(|o| t.volumes.get(&o.stream).is_some_and(|v| *v >= o.volume))
    };
    let mut covering: Vec<&ImpactTestRecord> = tests.iter().filter(|t| covers(t)).collect();
    covering.sort_by_key(|t| std::cmp::Reverse(t.id));
    if let Some(how) = covering
        .iter()
        .find_map(|t| clears(t).ok().map(|h| (t.id, h)))
    {
        return Gate::Covered {
            test: how.0,
            how: how.1,
        };
    }
    let streams: Vec<String> = over
        .iter()
        .map(|o| {
            format!(
                "stream {} carries {} claims, {} above its approved {} (the trigger is {}: more than {} needs a batch impact test)",
                o.stream,
                thousands(o.volume),
                format_probability(o.volume.saturating_sub(o.declared) as f64 / o.declared.max(1) as f64),
                thousands(o.declared),
                format_probability(plan.impact.trigger),
                thousands(o.limit)
            )
        })
        .collect();
    let why = match covering.first() {
        Some(t) => clears(t).err().unwrap_or_default(),
        None => {
            let example = &over[0];
            format!(
                "no impact test covers this volume: run `warden impact run {file} --date {} --stream {} --baseline DIR --new DIR` (the new claims), or `--volume {}=+{}` without claims",
                plan.date,
                example.stream,
                example.stream,
                example.volume - example.declared
            )
        }
    };
    Gate::Refused {
        message: format!(
            "refused: {}; {why}. An operator may start it anyway with `--override-impact-gate REASON --as NAME` (audited; on-call and compliance are alerted)",
            streams.join("; ")
        ),
        over,
    }
}

#[cfg(test)]
mod tests;
