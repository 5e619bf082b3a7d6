//! The rules in the order they apply (docs/adjudication.md, "Rules"). Each step either
//! ends the claim (pend, deny) or narrows the amounts; the state changes only at the end,
//! and only for a paid claim, so a claim that stops early leaves no trace.

use super::codes::{
    CodeCheck, diagnosis_check, is_standard_place_of_service, procedure_well_formed,
};
use super::outcome::{ClaimOutcome, Status};
use super::reason::{Reason, Reasons};
use super::state::{AccState, DupIndex, DupKey, RefResult, RefResults};
use crate::model::Claim;
use crate::model::money::percent_of;
use crate::plans::BenefitPlan;

/// Adjudicates `claim` under `plan` against the state, and applies its effects (paid:
/// accumulators credited, duplicate key recorded; every outcome: its result kept if a
/// later claim references it).
pub fn adjudicate(
    claim: &Claim,
    plan: &BenefitPlan,
    acc: &mut AccState,
    dups: &mut DupIndex,
    refs: &mut RefResults,
) -> ClaimOutcome {
    let out = decide(claim, plan, acc, dups, refs);
    if out.status == Status::Paid {
        acc.apply(claim.member, claim.family, out.deductible, out.member_share);
        dups.insert(DupKey::of(claim));
    }
    refs.record(
        claim.id,
        RefResult {
            member: claim.member,
            status: out.status,
            plan_paid: out.plan_paid,
        },
    );
    out
}

fn decide(
    claim: &Claim,
    plan: &BenefitPlan,
    acc: &AccState,
    dups: &DupIndex,
    refs: &RefResults,
) -> ClaimOutcome {
    let stop = |status, reasons| {
        ClaimOutcome::unpaid(
            claim.id,
            claim.member,
            claim.family,
            claim.billed,
            status,
            reasons,
        )
    };
    let mut reasons = Reasons::default();

    // 1. Code validation: every problem is listed, then the claim is pended.
    let proc = claim.procedure.bytes();
    let fee = plan.fee_schedule.get(&claim.procedure).copied();
    if !procedure_well_formed(proc) {
        reasons.add(Reason::ProcedureInvalid);
    } else if fee.is_none() {
        reasons.add(Reason::ProcedureNonStandard);
    }
    let date = crate::model::time::civil_from_days(i64::from(claim.service_date));
    match diagnosis_check(claim.diagnosis.bytes(), date) {
        CodeCheck::Standard => {}
        CodeCheck::NonStandard => reasons.add(Reason::DiagnosisNonStandard),
        CodeCheck::Invalid => reasons.add(Reason::DiagnosisInvalid),
    }
    if !is_standard_place_of_service(claim.place_of_service.bytes(), date) {
        reasons.add(Reason::PlaceOfServiceNonStandard);
    }
    let Some(fee) = fee.filter(|_| reasons.is_empty()) else {
        return stop(Status::Pended, reasons);
    };

    // 2. Duplicate: a paid earlier claim with the same key.
    if dups.contains(&DupKey::of(claim)) {
        reasons.add(Reason::Duplicate);
        return stop(Status::Denied, reasons);
    }

    // 3. Prior authorisation: an earlier paid claim of the same member.
    if plan.prior_auth.contains(&claim.procedure) {
        match claim.prior_auth {
            None => {
                reasons.add(Reason::PriorAuthMissing);
                return stop(Status::Denied, reasons);
            }
            Some(auth) => {
                let valid = auth < claim.id
                    && refs
                        .get(auth)
                        .is_some_and(|r| r.member == claim.member && r.status == Status::Paid);
                if !valid {
                    reasons.add(Reason::PriorAuthInvalid);
                    return stop(Status::Denied, reasons);
                }
            }
        }
    }

    // 8 (checked now, applied last). A COB primary adjudicated here must be an earlier paid
    // claim; otherwise the secondary cannot be priced and is pended.
    let primary_paid = match claim.cob {
        None => None,
        Some(cob) => match cob.partner {
            None => Some(cob.primary_paid),
            Some(p) => match refs
                .get(p)
                .filter(|r| p < claim.id && r.status == Status::Paid)
            {
                Some(r) => Some(r.plan_paid),
                None => {
                    reasons.add(Reason::CobPrimaryMissing);
                    return stop(Status::Pended, reasons);
                }
            },
        },
    };

    // 4. Repricing to the allowed amount.
    let allowed = claim.billed.min(fee);
    if allowed < claim.billed {
        reasons.add(Reason::Repriced);
    }

    // 5. Deductible: the individual and the family remainder, whichever is smaller.
    let (m_ded, m_oop) = acc.member(claim.member);
    let (f_ded, f_oop) = acc.family(claim.family);
    let ind_left = (plan.deductible_individual - m_ded).max(0);
    let fam_left = (plan.deductible_family - f_ded).max(0);
    let mut deductible = allowed.min(ind_left).min(fam_left);
    if deductible > 0 {
        reasons.add(if fam_left < ind_left {
            Reason::DeductibleFamily
        } else {
            Reason::DeductibleIndividual
        });
    }
    let rest = allowed - deductible;

    // 6. Copay (flat, capped at what is left) or coinsurance (percent, half up to the cent).
    let (mut copay, mut coinsurance) = match plan.copays.get(&claim.procedure) {
        Some(&c) => (c.min(rest), 0),
        None => (0, percent_of(rest, plan.coinsurance_bp)),
    };
    if copay > 0 {
        reasons.add(Reason::Copay);
    }
    if coinsurance > 0 {
        reasons.add(Reason::Coinsurance);
    }

    // 7. Out-of-pocket caps: the member pays no more than the smaller remainder; the excess
    // comes off coinsurance first, then the copay, then the deductible.
    let ind_oop_left = (plan.oop_max_individual - m_oop).max(0);
    let fam_oop_left = (plan.oop_max_family - f_oop).max(0);
    let share = deductible + copay + coinsurance;
    let cap = ind_oop_left.min(fam_oop_left);
    if share > cap {
        reasons.add(if fam_oop_left < ind_oop_left {
            Reason::OopFamily
        } else {
            Reason::OopIndividual
        });
        let mut excess = share - cap;
        for part in [&mut coinsurance, &mut copay, &mut deductible] {
            let cut = excess.min(*part);
            *part -= cut;
            excess -= cut;
        }
    }
    let member_share = deductible + copay + coinsurance;
    let mut plan_paid = allowed - member_share;
    let mut patient_pays = member_share;

    // 8. COB secondary: this plan pays what it would have, but no more than what the
    // primary left of the allowed amount.
    let mut cob_primary_paid = 0;
    if let Some(primary) = primary_paid {
        reasons.add(Reason::CobSecondary);
        cob_primary_paid = primary;
        let left = (allowed - primary).max(0);
        plan_paid = plan_paid.min(left);
        patient_pays = (left - plan_paid).max(0);
    }

    ClaimOutcome {
        claim: claim.id,
        member: claim.member,
        family: claim.family,
        status: Status::Paid,
        reasons,
        billed: claim.billed,
        allowed,
        deductible,
        copay,
        coinsurance,
        member_share,
        cob_primary_paid,
        plan_paid,
        patient_pays,
    }
}
