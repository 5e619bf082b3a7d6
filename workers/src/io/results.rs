//! Result lines: the canonical output, one CSV line per adjudicated claim. Text so an
//! auditor can read and diff it; fixed column order and two-decimal amounts so the same
//! outcome is always the same bytes.

use crate::model::money::{format_money, parse_money};
use crate::rules::{Outcome, Reasons, Status};

pub const HEADER: &str = "claim_id,member,family,status,reasons,billed,allowed,deductible,copay,coinsurance,member_share,cob_primary_paid,plan_paid,patient_pays\n";

pub fn write_line(o: &Outcome, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{},{},{},{},",
        o.claim,
        o.member,
        o.family,
        o.status.word()
    );
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
pub fn parse_line(line: &str) -> Option<Outcome> {
    let f: Vec<&str> = line.trim_end().split(',').collect();
    if f.len() != 14 {
        return None;
    }
    let m = |i: usize| parse_money(f[i]).ok();
    Some(Outcome {
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
