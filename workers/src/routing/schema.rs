//! The claim as a routing rule sees it: the names a CEL expression may use, their types, and
//! the resolver that hands a claim's fields to the interpreter without copying it. Names
//! follow `claims.csv`'s columns (what an architect already knows), with the money in cents
//! and the optional links as booleans, so every name has a value for every claim and a rule
//! never trips on a missing field.

use cel::common::types::{CelBool, CelInt, CelString};
use cel::common::value::CowVal;
use cel::context::VariableResolver;

use crate::model::claim::{Claim, Code, Stream};
use crate::model::time::format_date;

/// A CEL type a claim's field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    String,
    Bool,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::String => "string",
            Kind::Bool => "bool",
        }
    }
}

/// One name a rule may use.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
}

const fn var(name: &'static str, kind: Kind, doc: &'static str) -> Variable {
    Variable { name, kind, doc }
}

/// Every name a rule may use (docs/routing.md lists them from here).
pub const VARIABLES: [Variable; 17] = [
    var("claim_id", Kind::Int, "the claim's id"),
    var("member", Kind::Int, "the member's id"),
    var("family", Kind::Int, "the subscriber's family"),
    var(
        "pcp_group",
        Kind::Int,
        "the member's primary-care-physician group",
    ),
    var("provider", Kind::Int, "the billing provider's id"),
    var(
        "stream",
        Kind::String,
        "the line of business the file gave: A to E",
    ),
    var(
        "service_date",
        Kind::String,
        "the date of service, YYYY-MM-DD",
    ),
    var(
        "received",
        Kind::Int,
        "when the claim was received, seconds since 1970 (UTC)",
    ),
    var("procedure", Kind::String, "the procedure code (CPT/HCPCS)"),
    var(
        "diagnosis",
        Kind::String,
        "the principal diagnosis code (ICD-10)",
    ),
    var(
        "place_of_service",
        Kind::String,
        "the place-of-service code",
    ),
    var("billed_cents", Kind::Int, "the billed amount in cents"),
    var(
        "prior_auth",
        Kind::Bool,
        "the claim names a prior authorisation",
    ),
    var(
        "cob",
        Kind::Bool,
        "the member has other coverage that pays first",
    ),
    var(
        "cob_other_payer",
        Kind::String,
        "the other payer's code, empty without COB",
    ),
    var("plan", Kind::String, "the benefit plan's id"),
    var(
        "partner",
        Kind::String,
        "the trading partner the claim came from, empty if none",
    ),
];

/// The names, for error messages and suggestions.
pub fn names() -> Vec<&'static str> {
    VARIABLES.iter().map(|v| v.name).collect()
}

/// The variable called `name`.
pub fn variable(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|v| v.name == name)
}

/// One claim as rules see it: the claim, and what the claim model keeps elsewhere (its plan's
/// id, its partner).
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub claim: &'a Claim,
    pub plan: &'a str,
    pub partner: &'a str,
}

/// A claim's facts that own their strings (a test case's claim, a request's body).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedFacts {
    pub claim: Claim,
    pub plan: String,
    pub partner: String,
}

impl OwnedFacts {
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            claim: &self.claim,
            plan: &self.plan,
            partner: &self.partner,
        }
    }
}

fn int(v: impl Into<i64>) -> Option<CowVal<'static, 'static>> {
    Some(CowVal::owned(CelInt::from(v.into())))
}

fn text(s: &str) -> Option<CowVal<'_, '_>> {
    Some(CowVal::owned(CelString::from(s)))
}

fn code(c: &Code) -> Option<CowVal<'_, '_>> {
    text(c.as_str())
}

impl VariableResolver for Facts<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let c = self.claim;
        match variable {
            "claim_id" => int(i64::try_from(c.id).unwrap_or(i64::MAX)),
            "member" => int(c.member),
            "family" => int(c.family),
            "pcp_group" => int(c.pcp_group),
            "provider" => int(c.provider),
            "stream" => text(STREAM_LETTERS[c.stream as usize]),
            "service_date" => {
                let mut s = String::with_capacity(10);
                format_date(c.service_date, &mut s);
                Some(CowVal::owned(CelString::from(s)))
            }
            "received" => int(c.received),
            "procedure" => code(&c.procedure),
            "diagnosis" => code(&c.diagnosis),
            "place_of_service" => code(&c.place_of_service),
            "billed_cents" => int(c.billed),
            "prior_auth" => Some(CowVal::owned(CelBool::from(c.prior_auth.is_some()))),
            "cob" => Some(CowVal::owned(CelBool::from(c.cob.is_some()))),
            "cob_other_payer" => match &c.cob {
                Some(cob) => code(&cob.other_payer),
                None => text(""),
            },
            "plan" => text(self.plan),
            "partner" => text(self.partner),
            _ => None,
        }
    }
}

/// The streams' letters as `&'static str`, so `stream` needs no allocation.
const STREAM_LETTERS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// A claim with every field set to an ordinary value: what a test case's claim starts from
/// (it names only the fields its case is about), and the first probe of a rule's types.
pub fn base_claim() -> OwnedFacts {
    OwnedFacts {
        claim: Claim {
            id: 1,
            member: 1,
            family: 1,
            pcp_group: 1,
            provider: 1,
            stream: Stream::Commercial,
            // 2025-03-04
            service_date: 20_151,
            received: 1_741_089_600,
            procedure: Code(*b"99213\0\0\0"),
            diagnosis: Code(*b"J069\0\0\0\0"),
            place_of_service: Code(*b"11\0\0\0\0\0\0"),
            billed: 12_500,
            prior_auth: None,
            cob: None,
            plan: 0,
        },
        plan: "GOLD-PPO".into(),
        partner: String::new(),
    }
}

/// Claims a rule is evaluated against at load, to find what a parse cannot: a comparison of
/// a string with an int, a function on the wrong type, a result that is not a boolean. Every
/// field takes two different values across them, optional links both present and absent.
pub fn probes() -> Vec<OwnedFacts> {
    let base = base_claim();
    let mut other = base.clone();
    other.claim.id = 987_654_321;
    other.claim.member = 424_242;
    other.claim.family = 4_242;
    other.claim.pcp_group = 77;
    other.claim.provider = 9_999;
    other.claim.stream = Stream::Pharmacy;
    other.claim.service_date = 20_454;
    other.claim.received = 1_767_225_600;
    other.claim.procedure = Code(*b"J1100\0\0\0");
    other.claim.diagnosis = Code(*b"E119\0\0\0\0");
    other.claim.place_of_service = Code(*b"21\0\0\0\0\0\0");
    other.claim.billed = 1_234_567;
    other.claim.prior_auth = Some(1);
    other.claim.cob = Some(crate::model::claim::Cob {
        other_payer: Code(*b"MCARE\0\0\0"),
        primary_paid: 1_000,
        partner: None,
    });
    other.plan = "SILVER-HMO".into();
    other.partner = "ACME-PBM".into();
    vec![base, other]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_resolves_for_every_probe_and_no_other_name_does() {
        for p in probes() {
            let facts = p.facts();
            for v in VARIABLES {
                assert!(facts.resolve(v.name).is_some(), "{}", v.name);
            }
            assert!(facts.resolve("billed").is_none());
        }
    }

    #[test]
    fn the_base_claim_reads_as_its_fields() {
        let base = base_claim();
        let facts = base.facts();
        let date = facts.resolve("service_date").expect("a date");
        let date: &str = date.as_ref().try_into().expect("a string");
        assert_eq!(date, "2025-03-04");
        let stream = facts.resolve("stream").expect("a stream");
        let stream: &str = stream.as_ref().try_into().expect("a string");
        assert_eq!(stream, "A");
    }
}
