//! Property: for any input and any partition count, the partitioned two-pass run writes the
//! same bytes as the serial run. The generators aim at what could break it: families split
//! across partitions, duplicates across partitions, prior authorisations and COB partners
//! in other partitions, and deductibles and out-of-pocket maximums crossed mid-family (a
//! tiny plan whose limits a few claims exhaust).

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use warden_workers::io::{claims_csv, members_csv};
use warden_workers::model::{Claim, Cob, Code, MemberRow, Stream};
use warden_workers::pipeline::{self, NoProgress, Options, equivalence};
use warden_workers::plans::{Plans, parse_plan};

const PLAN: &str = "plan: TINY\ncoinsurance_percent: 25\ndeductible: { individual: 100, family: 150 }\nout_of_pocket_max: { individual: 300, family: 420 }\ncopays: { \"99213\": 30 }\nprior_auth: [\"27447\"]\nfee_schedule:\n  \"99213\": 90\n  \"27447\": 900\n  \"70553\": 395.55\n  \"36415\": 3.33\n";

fn plans() -> Plans {
    Plans::new(vec![
        parse_plan(Path::new("tiny.yaml"), PLAN).expect("tiny plan"),
    ])
}

/// A member: family index, home PCP group, YTD deductible and OOP in cents.
#[derive(Debug, Clone)]
struct M {
    family: usize,
    group: u16,
    ded: i64,
    oop: i64,
}

/// A claim before ids are assigned: what it copies or references is by earlier index.
#[derive(Debug, Clone)]
enum Kind {
    Fresh {
        member: usize,
        procedure: usize,
        billed: i64,
        other_group: Option<u16>,
    },
    DuplicateOf(usize),
    AuthorisedBy {
        member: usize,
        auth: usize,
    },
    CobSecondaryOf {
        member: usize,
        primary: usize,
    },
    CobExternal {
        member: usize,
        procedure: usize,
        billed: i64,
        primary_paid: i64,
    },
}

const PROCS: [&str; 6] = ["99213", "27447", "70553", "36415", "99499", "99213"];

fn member() -> impl Strategy<Value = M> {
    (0usize..5, 1u16..=6, 0i64..12_000, 0i64..30_000).prop_map(|(family, group, ded, oop)| M {
        family,
        group,
        ded,
        oop: oop.max(ded),
    })
}

fn kind(members: usize) -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => (0..members, 0usize..PROCS.len(), 1i64..120_000, prop::option::weighted(0.15, 1u16..=6))
            .prop_map(|(member, procedure, billed, other_group)| Kind::Fresh { member, procedure, billed, other_group }),
        1 => (0usize..64).prop_map(Kind::DuplicateOf),
        1 => (0..members, 0usize..64).prop_map(|(member, auth)| Kind::AuthorisedBy { member, auth }),
        1 => (0..members, 0usize..64).prop_map(|(member, primary)| Kind::CobSecondaryOf { member, primary }),
        1 => (0..members, 0usize..PROCS.len(), 1i64..50_000, 0i64..60_000)
            .prop_map(|(member, procedure, billed, primary_paid)| Kind::CobExternal { member, procedure, billed, primary_paid }),
    ]
}

fn case() -> impl Strategy<Value = (Vec<M>, Vec<Kind>, usize, u64)> {
    prop::collection::vec(member(), 2..12).prop_flat_map(|ms| {
        let n = ms.len();
        (
            Just(ms),
            prop::collection::vec(kind(n), 1..70),
            1usize..=5,
            3u64..25,
        )
    })
}

/// Builds claims in received order from the kinds.
fn claims(ms: &[M], kinds: &[Kind]) -> Vec<Claim> {
    let mut out: Vec<Claim> = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let id = 500 + i as u64;
        let received = 1_741_032_000 + (i as i64) * 60;
        let fresh = |member: usize, procedure: usize, billed: i64, group: Option<u16>| Claim {
            id,
            member: 10 + member as u32,
            family: 10 + family_id(ms, member),
            pcp_group: group.unwrap_or(ms[member].group),
            provider: 7,
            stream: Stream::Commercial,
            service_date: 20_100,
            received,
            procedure: Code::new(PROCS[procedure]).expect("code"),
            diagnosis: Code::new("E119").expect("code"),
            place_of_service: Code::new("11").expect("code"),
            billed,
            prior_auth: None,
            cob: None,
            plan: 0,
        };
        let c = match k {
            Kind::Fresh {
                member,
                procedure,
                billed,
                other_group,
            } => fresh(*member, *procedure, *billed, *other_group),
            Kind::DuplicateOf(j) if !out.is_empty() => {
                let mut d = out[j % out.len()];
                d.id = id;
                d.received = received;
                d
            }
            Kind::AuthorisedBy { member, auth } if !out.is_empty() => {
                let mut c = fresh(*member, 1, 95_000, None);
                c.prior_auth = Some(out[auth % out.len()].id);
                c
            }
            Kind::CobSecondaryOf { member, primary } if !out.is_empty() => {
                let p = out[primary % out.len()];
                let mut c = fresh(*member, 0, p.billed, None);
                c.procedure = p.procedure;
                c.cob = Some(Cob {
                    other_payer: Code::new("WARDEN").expect("code"),
                    primary_paid: 0,
                    partner: Some(p.id),
                });
                c
            }
            Kind::CobExternal {
                member,
                procedure,
                billed,
                primary_paid,
            } => {
                let mut c = fresh(*member, *procedure, *billed, None);
                c.cob = Some(Cob {
                    other_payer: Code::new("AETNA").expect("code"),
                    primary_paid: *primary_paid,
                    partner: None,
                });
                c
            }
            _ => fresh(0, 0, 1_000, None),
        };
        out.push(c);
    }
    out
}

/// A family's id is its first member's id.
fn family_id(ms: &[M], member: usize) -> u32 {
    let f = ms[member].family;
    ms.iter().position(|m| m.family == f).unwrap_or(member) as u32
}

fn write_input(dir: &Path, ms: &[M], cs: &[Claim], plans: &Plans) {
    std::fs::create_dir_all(dir).expect("dir");
    let mut m = members_csv::header();
    for (i, x) in ms.iter().enumerate() {
        let row = MemberRow {
            member: 10 + i as u32,
            family: 10 + family_id(ms, i),
            plan: 0,
            deductible_ytd: x.ded,
            oop_ytd: x.oop,
        };
        members_csv::write_row(&row, plans, &mut m);
    }
    std::fs::write(dir.join("members.csv"), m).expect("members");
    let mut c = claims_csv::header();
    for x in cs {
        claims_csv::write_row(x, plans, &mut c);
    }
    let _ = write!(c, "");
    std::fs::write(dir.join("claims.csv"), c).expect("claims");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn partitioned_two_pass_equals_serial((ms, kinds, partitions, k) in case()) {
        let plans = plans();
        let tmp = tempfile::tempdir().expect("tempdir");
        let input = tmp.path().join("in");
        let cs = claims(&ms, &kinds);
        write_input(&input, &ms, &cs, &plans);
        let opts = Options { partitions, checkpoint_every: k, threads: 2, ..Options::default() };
        let s = pipeline::adjudicate_serial(&input, &plans, &tmp.path().join("ws"), &tmp.path().join("os"), &opts, &NoProgress).expect("serial");
        prop_assert!(s.reconciliation.ok, "{:?}", s.reconciliation.failures);
        let p = pipeline::adjudicate_partitioned(&input, &plans, &tmp.path().join("wp"), &tmp.path().join("op"), &opts, &NoProgress).expect("partitioned");
        prop_assert!(p.reconciliation.ok, "{:?}", p.reconciliation.failures);
        let diff = equivalence::compare(&tmp.path().join("os"), &tmp.path().join("op")).expect("compare");
        prop_assert!(diff.is_none(), "{}", diff.map(|d| d.to_string()).unwrap_or_default());
    }
}

#[test]
fn the_generators_reach_the_hard_cases() {
    // Not a tautology check: the strategy must actually produce split families, caps hit
    // and cross-partition references, or the property above proves little.
    let plans = plans();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut split, mut oop_hit, mut cross_refs, mut dups) = (0, 0, 0, 0);
    for _ in 0..30 {
        let (ms, kinds, partitions, k) = case().new_tree(&mut runner).expect("tree").current();
        let tmp = tempfile::tempdir().expect("tempdir");
        let input = tmp.path().join("in");
        write_input(&input, &ms, &claims(&ms, &kinds), &plans);
        let opts = Options {
            partitions,
            checkpoint_every: k,
            ..Options::default()
        };
        let p = pipeline::adjudicate_partitioned(
            &input,
            &plans,
            &tmp.path().join("w"),
            &tmp.path().join("o"),
            &opts,
            &NoProgress,
        )
        .expect("run");
        let deferred =
            std::fs::read_to_string(tmp.path().join("o/deferred.csv")).expect("deferred");
        split += usize::from(deferred.contains("family-spans-partitions"));
        cross_refs += usize::from(
            deferred.contains("in-other-partition")
                && (deferred.contains("prior-auth") || deferred.contains("cob-partner")),
        );
        let out = std::fs::read_to_string(tmp.path().join("o/adjudicated.csv")).expect("out");
        oop_hit += usize::from(out.contains("I-OOP-FAM") || out.contains("I-DED-FAM"));
        dups += usize::from(out.contains("D-DUPLICATE"));
        assert!(p.reconciliation.ok);
    }
    assert!(
        split >= 5 && oop_hit >= 5 && cross_refs >= 3 && dups >= 5,
        "split {split}, family caps {oop_hit}, cross refs {cross_refs}, duplicates {dups}"
    );
}
