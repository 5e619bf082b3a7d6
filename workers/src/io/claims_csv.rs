//! `claims.csv`, the interchange format: one claim per row, a header naming the columns,
//! dollars with two decimals, ISO dates, UTC timestamps. Each row is checked field by
//! field; the first bad field makes it a reject (field and reason named).

use crate::model::money::{format_money, parse_money};
use crate::model::time::{format_date, format_timestamp, parse_date, parse_timestamp};
use crate::model::{Claim, Cob, Code, Stream};
use crate::plans::Plans;

pub const COLUMNS: [&str; 17] = [
    "claim_id",
    "member",
    "family",
    "pcp_group",
    "provider",
    "stream",
    "service_date",
    "received",
    "procedure",
    "diagnosis",
    "place_of_service",
    "billed",
    "prior_auth",
    "cob_other_payer",
    "cob_primary_paid",
    "cob_partner",
    "plan",
];

pub fn header() -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    s
}

/// A bad field: its column name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

fn err(field: &'static str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field,
        reason: reason.into(),
    }
}

fn id<T: std::str::FromStr>(field: &'static str, s: &str) -> Result<T, FieldError> {
    if s.is_empty() {
        return Err(err(field, "missing"));
    }
    if s.starts_with('-') {
        return Err(err(field, format!("negative id `{s}`")));
    }
    s.parse()
        .map_err(|_| err(field, format!("`{s}` is not a number")))
}

fn opt_id(field: &'static str, s: &str) -> Result<Option<u64>, FieldError> {
    if s.is_empty() {
        Ok(None)
    } else {
        id(field, s).map(Some)
    }
}

/// Parses one row (already split into fields).
pub fn parse_row(fields: &[&str], plans: &Plans) -> Result<Claim, FieldError> {
    if fields.len() != COLUMNS.len() {
        return Err(err(
            "row",
            format!("{} fields, expected {}", fields.len(), COLUMNS.len()),
        ));
    }
    let f = |i: usize| fields[i].trim();
    let code = |i: usize| Code::new(f(i)).map_err(|m| err(COLUMNS[i], m));
    let pcp_group: u16 = id("pcp_group", f(3))?;
    if pcp_group == 0 {
        return Err(err("pcp_group", "PCP groups are numbered from 1"));
    }
    let cob_payer = f(13);
    let cob = if cob_payer.is_empty() {
        if !f(14).is_empty() || !f(15).is_empty() {
            return Err(err(
                "cob_other_payer",
                "COB amounts given without the other payer",
            ));
        }
        None
    } else {
        Some(Cob {
            other_payer: code(13)?,
            primary_paid: if f(14).is_empty() {
                0
            } else {
                parse_money(f(14)).map_err(|m| err("cob_primary_paid", m))?
            },
            partner: opt_id("cob_partner", f(15))?,
        })
    };
    let plan = plans.index_of(f(16)).ok_or_else(|| {
        err(
            "plan",
            if f(16).is_empty() {
                "missing".to_string()
            } else {
                format!("unknown plan `{}`", f(16))
            },
        )
    })?;
    Ok(Claim {
        id: id("claim_id", f(0))?,
        member: id("member", f(1))?,
        family: id("family", f(2))?,
        pcp_group,
        provider: id("provider", f(4))?,
        stream: Stream::from_letter(f(5))
            .ok_or_else(|| err("stream", format!("`{}` is not a stream (A–E)", f(5))))?,
        service_date: parse_date(f(6)).map_err(|m| err("service_date", m))?,
        received: parse_timestamp(f(7)).map_err(|m| err("received", m))?,
        procedure: code(8)?,
        diagnosis: code(9)?,
        place_of_service: code(10)?,
        billed: parse_money(f(11)).map_err(|m| err("billed", m))?,
        prior_auth: opt_id("prior_auth", f(12))?,
        cob,
        plan,
    })
}

/// Writes `c` as a CSV row (the generator's output; the inverse of [`parse_row`]).
pub fn write_row(c: &Claim, plans: &Plans, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{},{},{},{},{},{},",
        c.id,
        c.member,
        c.family,
        c.pcp_group,
        c.provider,
        c.stream.letter()
    );
    format_date(c.service_date, out);
    out.push(',');
    format_timestamp(c.received, out);
    let _ = write!(
        out,
        ",{},{},{},",
        c.procedure.as_str(),
        c.diagnosis.as_str(),
        c.place_of_service.as_str()
    );
    format_money(c.billed, out);
    out.push(',');
    if let Some(a) = c.prior_auth {
        let _ = write!(out, "{a}");
    }
    out.push(',');
    if let Some(cob) = c.cob {
        out.push_str(cob.other_payer.as_str());
        out.push(',');
        format_money(cob.primary_paid, out);
        out.push(',');
        if let Some(p) = cob.partner {
            let _ = write!(out, "{p}");
        }
    } else {
        out.push_str(",,");
    }
    out.push(',');
    out.push_str(plans.get(c.plan).map(|p| p.id.as_str()).unwrap_or(""));
    out.push('\n');
}
