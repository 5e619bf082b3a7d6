//! A claim written as named fields (a tests file's case, a `POST /api/route` body): the
//! names and types of [`schema::VARIABLES`], each set on a claim that starts as the base
//! claim. One reader for both, so a case and a request mean the same claim.

use super::schema::{self, Kind, OwnedFacts};
use crate::model::claim::{Cob, Code, Stream};
use crate::model::time::{parse_date, parse_timestamp};

/// Sets field `name` of `f` to `v`; the error says what is wrong, in words.
pub fn set(f: &mut OwnedFacts, name: &str, v: &serde_json::Value) -> Result<(), String> {
    let Some(var) = schema::variable(name) else {
        let near = crate::intake::nearest(name, &schema::names());
        return Err(format!(
            "`{name}` is not a field of the claim{near}; the fields are {}",
            schema::names().join(", ")
        ));
    };
    let bad = |why: String| format!("`{name}`: {why}");
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
            match name {
                "claim_id" => c.id = small(u64::MAX)?,
                "member" => c.member = small(u32::MAX.into())? as u32,
                "family" => c.family = small(u32::MAX.into())? as u32,
                "pcp_group" => c.pcp_group = small(u16::MAX.into())? as u16,
                "provider" => c.provider = small(u32::MAX.into())? as u32,
                "received" => c.received = n,
                "billed_cents" => c.billed = n,
                _ => return Err(bad("cannot be set here yet".into())),
            }
        }
        Kind::Bool => {
            let b = v
                .as_bool()
                .ok_or_else(|| bad(format!("give true or false, not {v}")))?;
            match name {
                "prior_auth" => f.claim.prior_auth = b.then_some(1),
                "cob" => {
                    f.claim.cob = b.then(|| Cob {
                        other_payer: f.claim.cob.map_or(Code(*b"OTHER\0\0\0"), |c| c.other_payer),
                        primary_paid: 0,
                        partner: None,
                    })
                }
                _ => return Err(bad("cannot be set here yet".into())),
            }
        }
        Kind::String => {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(bad(format!("give a string, not {other}"))),
            };
            let s = s.trim();
            match name {
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
                _ => return Err(bad("cannot be set here yet".into())),
            }
        }
    }
    Ok(())
}

/// A claim from a JSON object of fields (`POST /api/route`): the base claim with every field
/// it names; `claim_id` is required (the audit names it).
pub fn from_json(body: &serde_json::Value) -> Result<OwnedFacts, String> {
    let Some(fields) = body.as_object() else {
        return Err("give the claim as a JSON object of its fields".into());
    };
    if !fields.contains_key("claim_id") {
        return Err("`claim_id` is required: every decision is audited by claim".into());
    }
    let mut f = schema::base_claim();
    for (name, v) in fields {
        set(&mut f, name, v)?;
    }
    Ok(f)
}

/// A claim as the JSON object of its fields that [`from_json`] reads back as the same claim
/// for routing (every field rules read; `cob_other_payer` only when there is COB). What a
/// client of `POST /api/route` sends; the load generator of `warden bench route` uses it.
pub fn to_json(facts: &schema::Facts<'_>) -> serde_json::Value {
    use cel::context::VariableResolver;
    let mut body = serde_json::Map::new();
    for v in schema::VARIABLES {
        if v.name == "cob_other_payer" && facts.claim.cob.is_none() {
            continue;
        }
        let Some(val) = facts.resolve(v.name) else {
            continue;
        };
        let json = match v.kind {
            Kind::Int => <&i64>::try_from(val.as_ref()).map(|n| serde_json::json!(*n)),
            Kind::Bool => <&bool>::try_from(val.as_ref()).map(|b| serde_json::json!(*b)),
            Kind::String => <&str>::try_from(val.as_ref()).map(|s| serde_json::json!(s)),
        };
        if let Ok(json) = json {
            body.insert(v.name.to_string(), json);
        }
    }
    serde_json::Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_can_be_written() {
        for probe in schema::probes() {
            let body = to_json(&probe.facts());
            let mut got = from_json(&body).expect("every field reads");
            // COB's primary-paid amount is not a routing field; the rest round-trips.
            got.claim.cob = got.claim.cob.map(|c| Cob {
                primary_paid: probe.claim.cob.map_or(0, |p| p.primary_paid),
                partner: probe.claim.cob.and_then(|p| p.partner),
                ..c
            });
            assert_eq!(got, probe, "{body}");
        }
        // Every field is written for a claim with COB.
        let with_cob = &schema::probes()[1];
        assert!(with_cob.claim.cob.is_some());
        let body = to_json(&with_cob.facts());
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(schema::VARIABLES.len())
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = from_json(&serde_json::json!({"claim_id": 1, "billed": 5})).expect_err("unknown");
        assert!(e.contains("did you mean `billed_cents`"), "{e}");
        let e = from_json(&serde_json::json!({"claim_id": 1, "cob": "yes"})).expect_err("bool");
        assert!(e.starts_with("`cob`: give true or false"), "{e}");
        let e = from_json(&serde_json::json!({"member": 1})).expect_err("no id");
        assert!(e.contains("`claim_id` is required"), "{e}");
    }
}
