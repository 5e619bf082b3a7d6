//! A member's enrolment and year-to-date accumulators: one row per member (never a shared
//! family row: a family total is the sum of its members' rows, so no two partitions ever
//! write the same row).

use super::money::Cents;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRow {
    pub member: u32,
    pub family: u32,
    pub plan: u16,
    /// Deductible met so far this plan year.
    pub deductible_ytd: Cents,
    /// Out-of-pocket paid so far this plan year (deductible, copays, coinsurance).
    pub oop_ytd: Cents,
}
