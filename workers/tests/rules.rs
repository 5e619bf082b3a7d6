//! The rules on hand-worked examples (amounts derived by hand in the comments, from the
//! tiny plan below: 25% coinsurance, deductible $100 / $150 family, OOP $300 / $420).

use std::path::Path;

use warden_workers::model::{Claim, Cob, Code, MemberRow, Stream};
use warden_workers::plans::{BenefitPlan, parse_plan};
use warden_workers::rules::{
    AccState, ClaimOutcome, DupIndex, Reason, RefResults, Status, adjudicate,
};

const PLAN: &str = "plan: TINY\ncoinsurance_percent: 25\ndeductible: { individual: 100, family: 150 }\nout_of_pocket_max: { individual: 300, family: 420 }\ncopays: { \"99213\": 30 }\nprior_auth: [\"27447\"]\nfee_schedule:\n  \"99213\": 90\n  \"27447\": 900\n  \"70553\": 395.55\n";

fn plan() -> BenefitPlan {
    parse_plan(Path::new("tiny.yaml"), PLAN).expect("plan")
}

fn claim(id: u64, member: u32, procedure: &str, billed: i64) -> Claim {
    Claim {
        id,
        member,
        family: 1,
        pcp_group: 1,
        provider: 5,
        stream: Stream::Commercial,
        service_date: 20_000,
        received: 1_000 + id as i64,
        procedure: Code::new(procedure).expect("code"),
        diagnosis: Code::new("E119").expect("code"),
        place_of_service: Code::new("11").expect("code"),
        billed,
        prior_auth: None,
        cob: None,
        plan: 0,
    }
}

struct World {
    acc: AccState,
    dups: DupIndex,
    refs: RefResults,
    plan: BenefitPlan,
}

impl World {
    /// Members 1 and 2 of family 1 with (deductible, oop) YTD in cents.
    fn new(m1: (i64, i64), m2: (i64, i64), refs: &[u64]) -> World {
        let rows = [
            MemberRow {
                member: 1,
                family: 1,
                plan: 0,
                deductible_ytd: m1.0,
                oop_ytd: m1.1,
            },
            MemberRow {
                member: 2,
                family: 1,
                plan: 0,
                deductible_ytd: m2.0,
                oop_ytd: m2.1,
            },
        ];
        World {
            acc: AccState::from_rows(&rows),
            dups: DupIndex::default(),
            refs: RefResults::wanting(refs.iter().copied()),
            plan: plan(),
        }
    }
    fn run(&mut self, c: &Claim) -> ClaimOutcome {
        adjudicate(c, &self.plan, &mut self.acc, &mut self.dups, &mut self.refs)
    }
}

fn codes(o: &ClaimOutcome) -> Vec<&'static str> {
    o.reasons.iter().map(Reason::code).collect()
}

#[test]
fn reprice_deductible_coinsurance_rounded_half_up() {
    let mut w = World::new((0, 0), (0, 0), &[]);
    let o = w.run(&claim(1, 1, "70553", 50_000));
    // allowed 395.55; deductible 100.00; 25% of 295.55 = 73.8875 → 73.89.
    assert_eq!(
        (o.status, o.allowed, o.deductible, o.coinsurance),
        (Status::Paid, 39_555, 10_000, 7_389)
    );
    assert_eq!((o.member_share, o.plan_paid), (17_389, 39_555 - 17_389));
    assert_eq!(codes(&o), ["I-REPRICED", "I-DED-IND", "I-COINS"]);
    assert_eq!(w.acc.member(1), (10_000, 17_389));
    assert_eq!(w.acc.family(1), (10_000, 17_389));
}

#[test]
fn the_family_deductible_binds_before_the_individual_one() {
    // Member 2 has met $90 of the $150 family deductible: member 1 owes only $60 more.
    let mut w = World::new((0, 0), (9_000, 9_000), &[]);
    let o = w.run(&claim(1, 1, "70553", 39_555));
    assert_eq!(o.deductible, 6_000);
    assert!(o.reasons.has(Reason::DeductibleFamily), "{:?}", codes(&o));
    // 25% of 335.55 = 83.8875 → 83.89.
    assert_eq!(o.coinsurance, 8_389);
    assert_eq!(w.acc.family(1).0, 15_000);
}

#[test]
fn out_of_pocket_cap_cuts_coinsurance_then_copay_then_deductible() {
    // Member 1: deductible met, $290 of $300 OOP paid: the $30 copay becomes $10.
    let mut w = World::new((10_000, 29_000), (0, 0), &[]);
    let o = w.run(&claim(1, 1, "99213", 9_000));
    assert_eq!(
        (o.copay, o.member_share, o.plan_paid),
        (1_000, 1_000, 8_000)
    );
    assert_eq!(codes(&o), ["I-COPAY", "I-OOP-IND"]);
    // Family OOP: member 2 has paid $400 of $420; member 1 (individual room left) pays $20.
    let mut w = World::new((0, 0), (10_000, 40_000), &[]);
    let o = w.run(&claim(2, 1, "70553", 39_555));
    assert_eq!(
        (o.deductible, o.coinsurance, o.member_share),
        (2_000, 0, 2_000),
        "{o:?}"
    );
    assert!(o.reasons.has(Reason::OopFamily));
    assert_eq!(w.acc.family(1).1, 42_000);
}

#[test]
fn the_later_duplicate_is_denied_and_changes_nothing() {
    let mut w = World::new((0, 0), (0, 0), &[]);
    let first = w.run(&claim(1, 1, "99213", 9_000));
    let before = w.acc.member(1);
    let mut again = claim(2, 1, "99213", 9_000);
    again.received += 10;
    let o = w.run(&again);
    assert_eq!((first.status, o.status), (Status::Paid, Status::Denied));
    assert_eq!(codes(&o), ["D-DUPLICATE"]);
    assert_eq!((o.plan_paid, o.member_share), (0, 0));
    assert_eq!(w.acc.member(1), before);
    // Another amount is no duplicate.
    assert_eq!(w.run(&claim(3, 1, "99213", 9_001)).status, Status::Paid);
}

#[test]
fn prior_authorisation_needs_an_earlier_paid_claim_of_the_same_member() {
    let mut w = World::new((10_000, 10_000), (0, 0), &[1, 2]);
    assert_eq!(w.run(&claim(1, 1, "99213", 9_000)).status, Status::Paid);
    assert_eq!(w.run(&claim(2, 2, "99213", 9_000)).status, Status::Paid);
    let missing = w.run(&claim(3, 1, "27447", 90_000));
    assert_eq!(codes(&missing), ["D-PA-MISSING"]);
    let mut other = claim(4, 1, "27447", 90_000);
    other.prior_auth = Some(2); // member 2's claim
    assert_eq!(codes(&w.run(&other)), ["D-PA-INVALID"]);
    let mut unknown = claim(5, 1, "27447", 90_000);
    unknown.prior_auth = Some(99);
    assert_eq!(codes(&w.run(&unknown)), ["D-PA-INVALID"]);
    let mut ok = claim(6, 1, "27447", 90_000);
    ok.prior_auth = Some(1);
    assert_eq!(w.run(&ok).status, Status::Paid);
}

#[test]
fn cob_secondary_pays_at_most_what_the_primary_left() {
    let mut w = World::new((0, 0), (0, 0), &[1]);
    let mut c = claim(1, 1, "70553", 39_555);
    c.cob = Some(Cob {
        other_payer: Code::new("AETNA").expect("code"),
        primary_paid: 30_000,
        partner: None,
    });
    let o = w.run(&c);
    // Alone it would pay 221.66; the primary left 95.55 of the allowed amount.
    assert_eq!(
        (o.cob_primary_paid, o.plan_paid, o.patient_pays),
        (30_000, 9_555, 0)
    );
    assert_eq!(
        o.member_share, 17_389,
        "accumulators credit the cost share as primary"
    );
    // A partner claim adjudicated here: its payment is the primary's.
    let mut s = claim(2, 2, "70553", 39_555);
    s.cob = Some(Cob {
        other_payer: Code::new("WARDEN").expect("code"),
        primary_paid: 0,
        partner: Some(1),
    });
    let o2 = w.run(&s);
    assert_eq!(o2.cob_primary_paid, o.plan_paid);
    // A partner not (yet) adjudicated pends the claim.
    let mut p = claim(3, 2, "99213", 9_000);
    p.cob = Some(Cob {
        other_payer: Code::new("WARDEN").expect("code"),
        primary_paid: 0,
        partner: Some(77),
    });
    let o3 = w.run(&p);
    assert_eq!(
        (o3.status, codes(&o3)),
        (Status::Pended, vec!["E-COB-PRIMARY"])
    );
}

#[test]
fn bad_codes_pend_with_every_reason() {
    let mut w = World::new((0, 0), (0, 0), &[]);
    let mut c = claim(1, 1, "99499", 9_000);
    c.diagnosis = Code::new("E11.9").expect("code");
    c.place_of_service = Code::new("35").expect("code");
    let o = w.run(&c);
    assert_eq!(o.status, Status::Pended);
    assert_eq!(
        codes(&o),
        ["E-PROC-NONSTD", "E-DIAG-NONSTD", "E-POS-NONSTD"]
    );
    assert_eq!(w.acc.member(1), (0, 0));
    let o = w.run(&claim(2, 1, "9921X", 9_000));
    assert_eq!(codes(&o), ["E-PROC-INVALID"]);
}

/// Issue #11: U071 (COVID-19, ICD-10-CM from 2020-04-01) and places of service 27 (from
/// 2023-10-01) and 66 (from 2024-08-01) are standard for 2025 service dates; the code sets
/// are those of the service date, so the same codes on a 2019 claim pend.
#[test]
fn codes_are_checked_against_the_code_sets_of_the_service_date() {
    let date = |s: &str| warden_workers::model::time::parse_date(s).expect("date");
    let mut w = World::new((0, 0), (0, 0), &[]);
    for (id, pos) in [(1, "27"), (2, "66")] {
        let mut c = claim(id, 1, "99213", 9_000 + id as i64);
        c.service_date = date("2025-03-01");
        c.diagnosis = Code::new("U071").expect("code");
        c.place_of_service = Code::new(pos).expect("code");
        assert_eq!(w.run(&c).status, Status::Paid, "POS {pos}");
    }
    let mut old = claim(3, 1, "99213", 9_100);
    old.service_date = date("2019-06-01");
    old.diagnosis = Code::new("U071").expect("code");
    old.place_of_service = Code::new("66").expect("code");
    let o = w.run(&old);
    assert_eq!(o.status, Status::Pended);
    assert_eq!(codes(&o), ["E-DIAG-INVALID", "E-POS-NONSTD"]);
}
