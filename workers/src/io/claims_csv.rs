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

/// A whole number: ASCII digits only (leading zeros allowed, no sign, no separators), at
/// most `max`.
pub fn unsigned(field: &'static str, s: &str, max: u64) -> Result<u64, FieldError> {
    if s.is_empty() {
        return Err(err(field, "missing"));
    }
    if let Some(rest) = s.strip_prefix('-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err(field, format!("negative number `{s}`")));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(field, format!("`{s}` is not a number (digits only)")));
    }
    // Only digits: parsing fails only by overflow.
    match s.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(err(field, format!("`{s}` is too large (at most {max})"))),
    }
}

fn u32_id(field: &'static str, s: &str) -> Result<u32, FieldError> {
    unsigned(field, s, u64::from(u32::MAX)).map(|n| n as u32)
}

fn opt_u64(field: &'static str, s: &str) -> Result<Option<u64>, FieldError> {
    if s.is_empty() {
        Ok(None)
    } else {
        unsigned(field, s, u64::MAX).map(Some)
    }
}

/// A PCP group: 1–65535.
pub fn pcp_group(s: &str) -> Result<u16, FieldError> {
    match unsigned("pcp_group", s, u64::from(u16::MAX))? {
        0 => Err(err("pcp_group", "PCP groups are numbered from 1")),
        g => Ok(g as u16),
    }
}

/// `field` is bad: `missing` if `s` is empty, else `why(s)`.
pub fn unless_missing(
    field: &'static str,
    s: &str,
    why: impl FnOnce(&str) -> String,
) -> FieldError {
    if s.is_empty() {
        err(field, "missing")
    } else {
        err(field, why(s))
    }
}

/// A required code (procedure, diagnosis, place of service, other payer).
fn code(field: &'static str, s: &str) -> Result<Code, FieldError> {
    if s.is_empty() {
        return Err(err(field, "missing"));
    }
    Code::new(s).map_err(|m| err(field, m))
}

/// Parses one row (already split into fields). Each field is trimmed of ASCII whitespace;
/// the fields are checked in column order and the first bad one is the reason.
pub fn parse_row(fields: &[&str], plans: &Plans) -> Result<Claim, FieldError> {
    if fields.len() != COLUMNS.len() {
        return Err(err(
            "row",
            format!("{} fields, expected {}", fields.len(), COLUMNS.len()),
        ));
    }
    let f = |i: usize| fields[i].trim_ascii();
    let id = unsigned("claim_id", f(0), u64::MAX)?;
    let member = u32_id("member", f(1))?;
    let family = u32_id("family", f(2))?;
    let pcp_group = pcp_group(f(3))?;
    let provider = u32_id("provider", f(4))?;
    let stream = Stream::from_letter(f(5)).ok_or_else(|| {
        unless_missing("stream", f(5), |s| format!("`{s}` is not a stream (A–E)"))
    })?;
    let service_date = parse_date(f(6)).map_err(|m| err("service_date", m))?;
    let received = parse_timestamp(f(7)).map_err(|m| err("received", m))?;
    let procedure = code("procedure", f(8))?;
    let diagnosis = code("diagnosis", f(9))?;
    let place_of_service = code("place_of_service", f(10))?;
    let billed = parse_money(f(11)).map_err(|m| err("billed", m))?;
    let prior_auth = opt_u64("prior_auth", f(12))?;
    let cob = if f(13).is_empty() {
        if !f(14).is_empty() || !f(15).is_empty() {
            return Err(err(
                "cob_other_payer",
                "COB amounts given without the other payer",
            ));
        }
        None
    } else {
        Some(Cob {
            other_payer: code("cob_other_payer", f(13))?,
            primary_paid: if f(14).is_empty() {
                0
            } else {
                parse_money(f(14)).map_err(|m| err("cob_primary_paid", m))?
            },
            partner: opt_u64("cob_partner", f(15))?,
        })
    };
    let plan = plans
        .index_of(f(16))
        .ok_or_else(|| unless_missing("plan", f(16), |s| format!("unknown plan `{s}`")))?;
    Ok(Claim {
        id,
        member,
        family,
        pcp_group,
        provider,
        stream,
        service_date,
        received,
        procedure,
        diagnosis,
        place_of_service,
        billed,
        prior_auth,
        cob,
        plan,
    })
}

/// The claims of a `claims.csv` text (header first) whose rows parse; malformed rows (the
/// generator's `--bad-rows`) are left out. Rows are split at commas: this reads what
/// [`write_row`] writes, which never quotes.
pub fn well_formed(text: &str, plans: &Plans) -> Vec<Claim> {
    text.lines()
        .skip(1)
        .filter_map(|row| {
            let fields: Vec<&str> = row.split(',').collect();
            parse_row(&fields, plans).ok()
        })
        .collect()
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
