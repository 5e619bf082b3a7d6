//! The tests file beside a rule set (`claims.yaml` → `claims.tests.yaml`): claims written by
//! the fields that matter to them, each with the rule that must take it. A set whose tests
//! fail, or that has a rule no test reaches, is refused at load, so a business change to the
//! rules always comes with the cases that show what it does.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::rule_set::{DEFAULT_RULE, RuleSet};
use super::schema::{self, Kind, OwnedFacts};
use crate::located::LocatedError;
use crate::model::claim::{Cob, Code, Stream};
use crate::model::time::{parse_date, parse_timestamp};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Spanned<String>,
    claim: Spanned<BTreeMap<String, Spanned<serde_json::Value>>>,
    expect: Spanned<RawExpect>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    rule: Spanned<String>,
    #[serde(default)]
    stream: Option<Spanned<String>>,
    #[serde(default)]
    platform: Option<Spanned<String>>,
}

/// Runs the cases of `text` (the tests file at `file`) against `set`: the number that passed
/// (all of them), or the first that failed, located.
pub fn run(set: &RuleSet, file: &Path, text: &str) -> Result<usize, LocatedError> {
    let cases: Spanned<Vec<Spanned<RawCase>>> = serde_saphyr::from_str(text)
        .map_err(|e| LocatedError::from_yaml(file, &e, "tests file"))?;
    let at = |loc: &Location, message: String| LocatedError::at(file, loc, message);
    if cases.value.is_empty() {
        return Err(at(
            &cases.referenced,
            "the tests file has no cases: give each rule a claim it must take".into(),
        ));
    }
    let mut reached: Vec<&str> = Vec::new();
    for case in &cases.value {
        let case = &case.value;
        let facts = claim(&case.claim, &at)?;
        let name = case.name.value.as_str();
        let expect = &case.expect.value;
        let wanted = expect.rule.value.trim();
        if wanted != DEFAULT_RULE && !set.rules.iter().any(|r| r.id == wanted) {
            let ids: Vec<&str> = set.rules.iter().map(|r| r.id.as_str()).collect();
            let near = crate::intake::nearest(wanted, &ids);
            return Err(at(
                &expect.rule.referenced,
                format!("case `{name}`: there is no rule `{wanted}`{near} (or `{DEFAULT_RULE}`)"),
            ));
        }
        let decision = set
            .route(&facts.facts())
            .map_err(|e| at(&case.name.referenced, format!("case `{name}`: {e}")))?;
        if decision.rule != wanted {
            return Err(at(
                &expect.rule.referenced,
                format!(
                    "case `{name}`: the claim is taken by rule `{}`, not `{wanted}`; a rule \
                     before `{wanted}` matches it, or `{wanted}`'s expression does not",
                    decision.rule
                ),
            ));
        }
        if let Some(s) = &expect.stream
            && Stream::from_letter(s.value.trim()) != Some(decision.route.stream)
        {
            return Err(at(
                &s.referenced,
                format!(
                    "case `{name}`: rule `{wanted}` sends the claim to stream {}, not {}",
                    decision.route.stream.letter(),
                    s.value
                ),
            ));
        }
        if let Some(p) = &expect.platform
            && p.value.trim() != &*decision.route.platform
        {
            return Err(at(
                &p.referenced,
                format!(
                    "case `{name}`: rule `{wanted}` sends the claim to platform `{}`, not `{}`",
                    decision.route.platform, p.value
                ),
            ));
        }
        reached.push(decision.rule);
    }
    if let Some(r) = set.rules.iter().find(|r| !reached.contains(&r.id.as_str())) {
        return Err(at(
            &cases.referenced,
            format!(
                "no case is taken by rule `{}`: add a claim it must route (a rule no case \
                 reaches may be shadowed by the rules before it)",
                r.id
            ),
        ));
    }
    Ok(cases.value.len())
}

/// The case's claim: the base claim with the fields it names.
fn claim(
    raw: &Spanned<BTreeMap<String, Spanned<serde_json::Value>>>,
    at: &dyn Fn(&Location, String) -> LocatedError,
) -> Result<OwnedFacts, LocatedError> {
    let mut f = schema::base_claim();
    for (name, value) in &raw.value {
        let Some(var) = schema::variable(name) else {
            let near = crate::intake::nearest(name, &schema::names());
            return Err(at(
                &value.referenced,
                format!(
                    "`{name}` is not a field of the claim{near}; the fields are {}",
                    schema::names().join(", ")
                ),
            ));
        };
        let bad = |why: String| at(&value.referenced, format!("`{name}`: {why}"));
        let v = &value.value;
        match var.kind {
            Kind::Int => {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    // `received` may also be written as a timestamp.
                    .or_else(|| {
                        (name == "received")
                            .then(|| v.as_str().and_then(|s| parse_timestamp(s).ok()))
                            .flatten()
                    })
                    .ok_or_else(|| bad(format!("give an integer, not {v}")))?;
                let small = |max: u64| {
                    u64::try_from(n)
                        .ok()
                        .filter(|x| *x <= max)
                        .ok_or_else(|| bad(format!("{n} is out of range (0 to {max})")))
                };
                let c = &mut f.claim;
                match name.as_str() {
                    "claim_id" => c.id = small(u64::MAX)?,
                    "member" => c.member = small(u32::MAX.into())? as u32,
                    "family" => c.family = small(u32::MAX.into())? as u32,
                    "pcp_group" => c.pcp_group = small(u16::MAX.into())? as u16,
                    "provider" => c.provider = small(u32::MAX.into())? as u32,
                    "received" => c.received = n,
                    "billed_cents" => c.billed = n,
                    _ => return Err(unsettable(name, &bad)),
                }
            }
            Kind::Bool => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| bad(format!("give true or false, not {v}")))?;
                match name.as_str() {
                    "prior_auth" => f.claim.prior_auth = b.then_some(1),
                    "cob" => {
                        f.claim.cob = b.then(|| Cob {
                            other_payer: f
                                .claim
                                .cob
                                .map_or(Code(*b"OTHER\0\0\0"), |c| c.other_payer),
                            primary_paid: 0,
                            partner: None,
                        })
                    }
                    _ => return Err(unsettable(name, &bad)),
                }
            }
            Kind::String => {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => return Err(bad(format!("give a string, not {other}"))),
                };
                let s = s.trim();
                match name.as_str() {
                    "stream" => {
                        f.claim.stream = Stream::from_letter(s)
                            .ok_or_else(|| bad("a stream is a letter from A to E".into()))?
                    }
                    "service_date" => f.claim.service_date = parse_date(s).map_err(&bad)?,
                    "procedure" => f.claim.procedure = Code::new(s).map_err(&bad)?,
                    "diagnosis" => f.claim.diagnosis = Code::new(s).map_err(&bad)?,
                    "place_of_service" => f.claim.place_of_service = Code::new(s).map_err(&bad)?,
                    "cob_other_payer" => {
                        let payer = Code::new(s).map_err(&bad)?;
                        f.claim.cob = Some(Cob {
                            other_payer: payer,
                            primary_paid: 0,
                            partner: None,
                        });
                    }
                    "plan" => f.plan = s.to_string(),
                    "partner" => f.partner = s.to_string(),
                    _ => return Err(unsettable(name, &bad)),
                }
            }
        }
    }
    Ok(f)
}

/// A claim field with no arm above: a programming error, reported rather than ignored (the
/// unit test `every_field_can_be_written_in_a_case` keeps it from happening).
fn unsettable(name: &str, bad: &dyn Fn(String) -> LocatedError) -> LocatedError {
    bad(format!("`{name}` cannot be set in a test case yet"))
}
