//! The sampler's, the combiner's and the reader's rules, on generated populations.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::claims_dir::{self, ClaimsDir};
use super::combine::{Part, combine};
use super::sample::sample;
use crate::generate::{Config, generate};
use crate::pipeline::NoProgress;
use crate::pipeline::partition::{self, Boundaries};
use crate::plans::{Plans, load_dir};

fn plans() -> Plans {
    load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/plans")).expect("plans")
}

fn population(claims: u64, exception_rate: f64, seed: u64) -> ClaimsDir {
    let plans = plans();
    let cfg = Config {
        members: claims / 2,
        claims,
        pcp_groups: 24,
        seed,
        exception_rate,
        ..Config::default()
    };
    let (mut m, mut c) = (Vec::new(), Vec::new());
    generate(&cfg, &plans, &mut m, &mut c, &NoProgress).expect("generate");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("members.csv"), m).expect("members");
    std::fs::write(dir.path().join("claims.csv"), c).expect("claims");
    claims_dir::read(dir.path(), &plans).expect("read")
}

fn boundaries(p: &ClaimsDir, n: usize) -> Boundaries {
    let mut counts = vec![0u64; 24];
    for c in &p.claims {
        counts[usize::from(c.pcp_group) - 1] += 1;
    }
    partition::plan(&counts, n)
}

#[test]
fn the_same_seed_picks_the_same_claims_and_another_seed_others() {
    let p = population(20_000, 0.02, 1);
    let b = boundaries(&p, 4);
    let one = sample(&p.claims, &b, 0.1, 7);
    assert_eq!(one, sample(&p.claims, &b, 0.1, 7));
    assert_ne!(one.selected, sample(&p.claims, &b, 0.1, 8).selected);
}

#[test]
fn sampled_and_not_sampled_claims_add_up_to_the_input() {
    let p = population(20_000, 0.02, 2);
    let s = sample(&p.claims, &boundaries(&p, 6), 0.1, 1);
    assert_eq!(s.sampled_claims() + s.not_sampled_claims(), 20_000);
    let strata_population: u64 = s.strata.iter().map(|x| x.population_claims).sum();
    let strata_sampled: u64 = s.strata.iter().map(|x| x.sampled_claims).sum();
    assert_eq!(strata_population, 20_000);
    assert_eq!(strata_sampled, s.sampled_claims());
    let share = s.sampled_claims() as f64 / 20_000.0;
    assert!((share - 0.1).abs() < 0.01, "sampled share {share}");
}

/// Each stratum's share of the sample is its share of the population, within a point or
/// two (a stratum's sample is whole families, so it can only come within a family).
#[test]
fn each_stratum_keeps_its_share_of_the_population() {
    let p = population(40_000, 0.02, 3);
    let s = sample(&p.claims, &boundaries(&p, 6), 0.1, 11);
    let (all, sampled) = (p.claims.len() as f64, s.sampled_claims() as f64);
    for x in &s.strata {
        let population_share = x.population_claims as f64 / all;
        let sample_share = x.sampled_claims as f64 / sampled;
        assert!(
            (sample_share - population_share).abs() < 0.015,
            "{}/{}: population {population_share:.4}, sample {sample_share:.4}",
            x.partition,
            x.stream
        );
    }
    assert!(s.strata.len() >= 6 * 3, "strata: {}", s.strata.len());
}

/// A sampled family has all its claims in the sample; so has every sampled claim's prior
/// authorisation and COB primary, and each duplicate's possible original (same member).
#[test]
fn families_and_their_references_stay_whole() {
    let p = population(20_000, 0.02, 4);
    families_stay_whole(&p);
}

/// The same with family ids far apart (an extract numbered by another system): the sampler
/// ranks them instead of giving each id a slot.
#[test]
fn families_stay_whole_when_their_ids_are_sparse() {
    let mut p = population(20_000, 0.02, 4);
    for c in &mut p.claims {
        c.family = c.family * 20_011 + 7;
    }
    for m in &mut p.members {
        m.family = m.family * 20_011 + 7;
    }
    families_stay_whole(&p);
    let s = sample(&p.claims, &boundaries(&p, 6), 0.1, 5);
    let share = s.sampled_claims() as f64 / p.claims.len() as f64;
    assert!((share - 0.1).abs() < 0.01, "{share}");
}

fn families_stay_whole(p: &ClaimsDir) {
    let s = sample(&p.claims, &boundaries(p, 6), 0.1, 5);
    let in_sample: HashSet<u64> = p
        .claims
        .iter()
        .zip(&s.selected)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c.id)
        .collect();
    let ids: HashSet<u64> = p.claims.iter().map(|c| c.id).collect();
    let (mut prior_auths, mut partners) = (0, 0);
    for (c, keep) in p.claims.iter().zip(&s.selected) {
        assert_eq!(*keep, s.families.contains(&c.family), "claim {}", c.id);
        if !keep {
            continue;
        }
        if let Some(r) = c.prior_auth
            && ids.contains(&r)
        {
            prior_auths += 1;
            assert!(in_sample.contains(&r), "claim {}'s prior auth {r}", c.id);
        }
        if let Some(r) = c.cob.and_then(|x| x.partner)
            && ids.contains(&r)
        {
            partners += 1;
            assert!(in_sample.contains(&r), "claim {}'s COB primary {r}", c.id);
        }
    }
    assert!(prior_auths > 0 && partners > 0, "{prior_auths} {partners}");
}

#[test]
fn combined_new_claims_are_renumbered_above_the_baseline_in_received_order() {
    let base = population(2_000, 0.02, 5);
    let new = population(1_000, 0.09, 6);
    let c = combine(
        Part {
            claims: &base.claims,
            members: &base.members,
        },
        Part {
            claims: &new.claims,
            members: &new.members,
        },
    )
    .expect("combine");
    assert_eq!(c.claims.len(), 3_000);
    assert_eq!(c.new.iter().filter(|n| **n).count(), 1_000);
    assert_eq!(c.members.len(), base.members.len() + new.members.len());
    let members: HashSet<u32> = c.members.iter().map(|m| m.member).collect();
    assert_eq!(members.len(), c.members.len(), "no member number twice");
    let family: HashMap<u32, u32> = c.members.iter().map(|m| (m.member, m.family)).collect();
    let mut references = 0;
    for (i, w) in c.claims.windows(2).enumerate() {
        assert_eq!(w[0].id, i as u64 + 1);
        assert!(w[0].received <= w[1].received);
    }
    for x in &c.claims {
        assert_eq!(family.get(&x.member), Some(&x.family), "claim {}", x.id);
        if let Some(r) = x.prior_auth
            && r != u64::MAX
        {
            references += 1;
            let original = &c.claims[usize::try_from(r).expect("id") - 1];
            assert_eq!(original.member, x.member, "a prior auth stays the member's");
        }
    }
    assert!(references > 0);
}

fn dir_with(claims: &str, members: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().expect("tempdir");
    let path = d.path().to_path_buf();
    std::fs::write(path.join("claims.csv"), claims).expect("claims");
    std::fs::write(path.join("members.csv"), members).expect("members");
    (d, path)
}

#[test]
fn bad_claims_directories_are_refused_with_file_and_line() {
    let plans = plans();
    let members = "member,family,plan,deductible_ytd,oop_ytd\n1,1,GOLD-PPO,0.00,0.00\n";
    let header = crate::io::claims_csv::header();
    let row = "1,1,1,1,1,A,2025-03-01,2025-03-03T20:00:00Z,99213,E119,11,100.00,,,,,GOLD-PPO\n";
    let missing = claims_dir::read(Path::new("/no/such/claims"), &plans).expect_err("missing");
    assert!(
        missing
            .to_string()
            .contains("/no/such/claims: no such directory"),
        "{missing}"
    );
    let (_d, p) = dir_with("", members);
    let e = claims_dir::read(&p, &plans).expect_err("empty");
    assert!(
        e.to_string().contains("claims.csv:1: the file is empty"),
        "{e}"
    );
    let (_d, p) = dir_with(&header, members);
    let e = claims_dir::read(&p, &plans).expect_err("no claims");
    assert!(e.to_string().contains("claims.csv:2: no claims"), "{e}");
    let bad = format!(
        "{header}{row}2,1,1,1,1,A,2025-03-01,2025-03-03T20:00:00Z,99213,E119,11,-5,,,,,GOLD-PPO\n"
    );
    let (_d, p) = dir_with(&bad, members);
    let e = claims_dir::read(&p, &plans).expect_err("malformed");
    assert!(
        e.to_string()
            .contains("claims.csv:3: billed: negative amount"),
        "{e}"
    );
    let (_d, p) = dir_with(&format!("{header}{row}{row}"), members);
    let e = claims_dir::read(&p, &plans).expect_err("order");
    assert!(e.to_string().contains("claims.csv:3: claim_id"), "{e}");
    let (_d, p) = dir_with(&format!("{header}{row}"), members);
    assert_eq!(claims_dir::read(&p, &plans).expect("good").claims.len(), 1);
}
