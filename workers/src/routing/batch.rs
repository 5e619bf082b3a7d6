//! Routing a batch of claims (the intake's, a cycle's): every claim through the same
//! [`RuleSet::route`] as the online router, with counts that reconcile (routed + errors =
//! claims) per rule, stream and platform. What the run's stream volumes come from.

use std::collections::BTreeMap;

use super::router::{Decision, RouteError};
use super::rule_set::RuleSet;
use super::schema::Facts;
use crate::io::claims_csv;
use crate::model::claim::Claim;
use crate::plans::Plans;

/// The counts of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub claims: u64,
    pub routed: u64,
    /// Claims a rule could not be evaluated for (not routed; each reported).
    pub errors: u64,
    /// By rule id (`default` included), stream letter and platform.
    pub by_rule: BTreeMap<String, u64>,
    pub by_stream: BTreeMap<char, u64>,
    pub by_platform: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts one claim's outcome.
    pub fn add(&mut self, outcome: &Result<Decision<'_>, RouteError>) {
        self.claims += 1;
        match outcome {
            Ok(d) => {
                self.routed += 1;
                *self.by_rule.entry(d.rule.to_string()).or_default() += 1;
                *self.by_stream.entry(d.route.stream.letter()).or_default() += 1;
                *self
                    .by_platform
                    .entry(d.route.platform.to_string())
                    .or_default() += 1;
            }
            Err(_) => self.errors += 1,
        }
    }

    /// The routed claims by stream, for a person: `A 6651, B 3639, …`.
    pub fn streams(&self) -> String {
        let parts: Vec<String> = self
            .by_stream
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        parts.join(", ")
    }

    /// Whether the counts agree with each other: every claim routed or an error, and each
    /// breakdown sums to the routed claims.
    pub fn reconciles(&self) -> bool {
        self.routed + self.errors == self.claims
            && self.by_rule.values().sum::<u64>() == self.routed
            && self.by_stream.values().sum::<u64>() == self.routed
            && self.by_platform.values().sum::<u64>() == self.routed
    }
}

/// Routes `claims` in order, calling `each` with every claim's outcome, and counts them.
/// `plan_ids` names the plans by index (the claim model keeps an index); `partner` is the trading
/// partner the batch came from (empty for none).
pub fn route_all<'s>(
    set: &'s RuleSet,
    claims: &[Claim],
    plan_ids: &[String],
    partner: &str,
    mut each: impl FnMut(&Claim, &Result<Decision<'s>, RouteError>),
) -> Tally {
    let mut tally = Tally::default();
    for claim in claims {
        let facts = Facts {
            claim,
            plan: plan_ids
                .get(usize::from(claim.plan))
                .map_or("", String::as_str),
            partner,
        };
        let outcome = set.route(&facts);
        tally.add(&outcome);
        each(claim, &outcome);
    }
    tally
}

/// One claim's decision in a batch, for the store's routing audit.
pub type BatchDecision<'s> = (u64, Result<Decision<'s>, RouteError>);

/// A claims input routed: the claims with their stream set by their route, one line per
/// decision, the claims that could not be routed, and the counts.
#[derive(Debug, Clone, Default)]
pub struct RoutedCsv<'s> {
    /// `claims.csv` (header first) of the routed claims, `stream` set to the route's.
    pub claims_csv: String,
    /// `routes.csv`: claim_id, rule, stream, platform, rule_set_sha256: the batch's audit.
    pub routes_csv: String,
    /// `route-errors.csv`: line, claim_id, field or rule, reason: rows that do not parse
    /// and claims a rule could not be evaluated for. Never silently left out.
    pub errors_csv: String,
    pub tally: Tally,
    /// Rows of the input that did not parse (in `errors_csv`, not in `tally`).
    pub unreadable: u64,
    /// Every claim's decision in input order (routed or not): what the store's audit
    /// records. As many as `tally.claims`.
    pub decisions: Vec<BatchDecision<'s>>,
}

/// The header of `routes.csv`.
pub const ROUTES_HEADER: &str = "claim_id,rule,stream,platform,rule_set_sha256\n";
/// The header of `route-errors.csv`.
pub const ERRORS_HEADER: &str = "line,claim_id,field_or_rule,reason\n";

/// Routes every row of a `claims.csv` text (header first). `partner` is the trading partner
/// the claims came from (empty for none).
pub fn route_csv<'s>(set: &'s RuleSet, text: &str, plans: &Plans, partner: &str) -> RoutedCsv<'s> {
    use std::fmt::Write;
    let ids: Vec<String> = plans.ids().map(str::to_string).collect();
    let mut out = RoutedCsv {
        claims_csv: claims_csv::header(),
        routes_csv: ROUTES_HEADER.to_string(),
        errors_csv: ERRORS_HEADER.to_string(),
        ..RoutedCsv::default()
    };
    let clean = |s: &str| s.replace([',', '"', '\n', '\r'], " ");
    for (i, row) in text.lines().enumerate().skip(1) {
        let line = i + 1;
        if row.is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        let claim = match claims_csv::parse_row(&fields, plans) {
            Ok(c) => c,
            Err(e) => {
                out.unreadable += 1;
                let _ = writeln!(
                    out.errors_csv,
                    "{line},{},{},{}",
                    clean(fields.first().copied().unwrap_or("")),
                    e.field,
                    clean(&e.reason)
                );
                continue;
            }
        };
        let facts = Facts {
            claim: &claim,
            plan: ids.get(usize::from(claim.plan)).map_or("", String::as_str),
            partner,
        };
        let outcome = set.route(&facts);
        out.tally.add(&outcome);
        match &outcome {
            Ok(d) => {
                let routed = Claim {
                    stream: d.route.stream,
                    ..claim
                };
                claims_csv::write_row(&routed, plans, &mut out.claims_csv);
                let _ = writeln!(
                    out.routes_csv,
                    "{},{},{},{},{}",
                    claim.id,
                    d.rule,
                    d.route.stream.letter(),
                    d.route.platform,
                    set.sha256
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out.errors_csv,
                    "{line},{},{},{}",
                    claim.id,
                    e.rule,
                    clean(&e.message)
                );
            }
        }
        out.decisions.push((claim.id, outcome));
    }
    out
}
