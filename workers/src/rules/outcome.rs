//! What adjudication decides for one claim.

use super::reason::Reasons;
use crate::model::Cents;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Paid,
    Denied,
    /// An exception: held for manual review, nothing paid, nothing accumulated.
    Pended,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Paid => "paid",
            Status::Denied => "denied",
            Status::Pended => "pended",
        }
    }
    pub fn parse(text: &str) -> Option<Status> {
        [Status::Paid, Status::Denied, Status::Pended]
            .into_iter()
            .find(|s| s.word() == text)
    }
}

/// The adjudicated amounts. Invariants (checked by reconciliation):
/// `member_share = deductible + copay + coinsurance` and
/// `plan_paid + member_share = allowed` unless COB applies
/// (then `cob_primary_paid + plan_paid + patient_pays = allowed` when the primary paid less
/// than the allowed amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimOutcome {
    pub claim: u64,
    pub member: u32,
    pub family: u32,
    pub status: Status,
    pub reasons: Reasons,
    pub billed: Cents,
    pub allowed: Cents,
    pub deductible: Cents,
    pub copay: Cents,
    pub coinsurance: Cents,
    /// The member's cost share credited to the accumulators (deductible + copay + coinsurance).
    pub member_share: Cents,
    pub cob_primary_paid: Cents,
    pub plan_paid: Cents,
    /// What the member owes after the primary's and this plan's payments.
    pub patient_pays: Cents,
}

impl ClaimOutcome {
    pub fn unpaid(
        claim: u64,
        member: u32,
        family: u32,
        billed: Cents,
        status: Status,
        reasons: Reasons,
    ) -> ClaimOutcome {
        ClaimOutcome {
            claim,
            member,
            family,
            status,
            reasons,
            billed,
            allowed: 0,
            deductible: 0,
            copay: 0,
            coinsurance: 0,
            member_share: 0,
            cob_primary_paid: 0,
            plan_paid: 0,
            patient_pays: 0,
        }
    }
}
