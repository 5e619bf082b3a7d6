//! The tests file beside a rule set (`claims.yaml` → `claims.tests.yaml`): claims written by
//! the fields that matter to them, each with the rule that must take it. A set whose tests
//! fail, or that has a rule no test reaches, is refused at load, so a business change to the
//! rules always comes with the cases that show what it does.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::claim_fields;
use super::rule_set::{DEFAULT_RULE, RuleSet};
use super::schema::{self, OwnedFacts};
use crate::located::LocatedError;
use crate::model::claim::Stream;

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

/// The case's claim: the base claim with the fields it names, each problem located at its
/// field.
fn claim(
    raw: &Spanned<BTreeMap<String, Spanned<serde_json::Value>>>,
    at: &dyn Fn(&Location, String) -> LocatedError,
) -> Result<OwnedFacts, LocatedError> {
    let mut f = schema::base_claim();
    for (name, value) in &raw.value {
        claim_fields::set(&mut f, name, &value.value).map_err(|m| at(&value.referenced, m))?;
    }
    Ok(f)
}
