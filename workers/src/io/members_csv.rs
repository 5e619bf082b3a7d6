//! `members.csv`: enrolment and year-to-date accumulators, one row per member
//! (`member,family,plan,deductible_ytd,oop_ytd`). This is the accumulator pre-load.

use crate::model::MemberRow;
use crate::model::money::{format_money, parse_money};
use crate::plans::Plans;

use super::claims_csv::{FieldError, unless_missing, unsigned};

pub const COLUMNS: [&str; 5] = ["member", "family", "plan", "deductible_ytd", "oop_ytd"];

pub fn header() -> String {
    let mut s = COLUMNS.join(",");
    s.push('\n');
    s
}

pub fn parse_row(fields: &[&str], plans: &Plans) -> Result<MemberRow, FieldError> {
    let e = |field: &'static str, reason: String| FieldError { field, reason };
    if fields.len() != COLUMNS.len() {
        return Err(e(
            "row",
            format!("{} fields, expected {}", fields.len(), COLUMNS.len()),
        ));
    }
    let num = |i: usize| -> Result<u32, FieldError> {
        unsigned(COLUMNS[i], fields[i].trim_ascii(), u64::from(u32::MAX)).map(|n| n as u32)
    };
    let plan_id = fields[2].trim_ascii();
    Ok(MemberRow {
        member: num(0)?,
        family: num(1)?,
        plan: plans
            .index_of(plan_id)
            .ok_or_else(|| unless_missing("plan", plan_id, |s| format!("unknown plan `{s}`")))?,
        deductible_ytd: parse_money(fields[3]).map_err(|m| e("deductible_ytd", m))?,
        oop_ytd: parse_money(fields[4]).map_err(|m| e("oop_ytd", m))?,
    })
}

pub fn write_row(m: &MemberRow, plans: &Plans, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "{},{},{},",
        m.member,
        m.family,
        plans.get(m.plan).map(|p| p.id.as_str()).unwrap_or("")
    );
    format_money(m.deductible_ytd, out);
    out.push(',');
    format_money(m.oop_ytd, out);
    out.push('\n');
}
