//! Result lines: the canonical output, one CSV line per adjudicated claim. Text so an
//! auditor can read and diff it; fixed column order and two-decimal amounts so the same
//! outcome is always the same bytes.

use crate::model::money::{format_money, parse_money, push_uint};
use crate::rules::{ClaimOutcome, Reasons, Status};

pub const HEADER: &str = "claim_id,member,family,status,reasons,billed,allowed,deductible,copay,coinsurance,member_share,cob_primary_paid,plan_paid,patient_pays\n";

pub fn write_line(o: &ClaimOutcome, out: &mut String) {
    push_uint(o.claim, out);
    out.push(',');
    push_uint(u64::from(o.member), out);
    out.push(',');
    push_uint(u64::from(o.family), out);
    out.push(',');
    out.push_str(o.status.word());
    out.push(',');
    o.reasons.write(out);
    for a in [
        o.billed,
        o.allowed,
        o.deductible,
        o.copay,
        o.coinsurance,
        o.member_share,
        o.cob_primary_paid,
        o.plan_paid,
        o.patient_pays,
    ] {
        out.push(',');
        format_money(a, out);
    }
    out.push('\n');
}

/// Parses a line written by [`write_line`] (without its newline).
pub fn parse_line(line: &str) -> Option<ClaimOutcome> {
    // On the stack: finish parses every result line of the run.
    let mut f = [""; 14];
    let mut parts = line.trim_end().split(',');
    for slot in &mut f {
        *slot = parts.next()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let m = |i: usize| parse_money(f[i]).ok();
    Some(ClaimOutcome {
        claim: f[0].parse().ok()?,
        member: f[1].parse().ok()?,
        family: f[2].parse().ok()?,
        status: Status::parse(f[3])?,
        reasons: Reasons::parse(f[4])?,
        billed: m(5)?,
        allowed: m(6)?,
        deductible: m(7)?,
        copay: m(8)?,
        coinsurance: m(9)?,
        member_share: m(10)?,
        cob_primary_paid: m(11)?,
        plan_paid: m(12)?,
        patient_pays: m(13)?,
    })
}

/// The claim id of a result line, without parsing the rest (for merges).
pub fn claim_id(line: &str) -> Option<u64> {
    line.split(',').next()?.parse().ok()
}
