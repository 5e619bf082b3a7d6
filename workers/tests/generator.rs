//! The generator's structure is what the case study describes, measured on its output.

mod common;

use std::collections::{HashMap, HashSet};

use warden_workers::generate::Config;

#[test]
fn families_groups_skew_and_special_claims_look_like_the_case_study() {
    let plans = common::plans();
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = Config {
        members: 30_000,
        claims: 60_000,
        seed: 9,
        exception_rate: 0.04,
        ..Config::default()
    };
    let stats = common::generate_into(tmp.path(), &cfg, &plans);
    let members = common::read(&tmp.path().join("members.csv"));
    let mut sizes: HashMap<String, usize> = HashMap::new();
    for line in members.lines().skip(1) {
        *sizes
            .entry(line.split(',').nth(1).expect("family").to_string())
            .or_default() += 1;
    }
    assert_eq!(sizes.values().sum::<usize>(), 30_000);
    for n in 1..=6 {
        assert!(sizes.values().any(|s| *s == n), "a family of {n}");
    }
    let large = sizes.values().filter(|s| **s >= 10).count();
    assert!(
        large > 0 && large * 50 < sizes.len(),
        "a few large employer families: {large} of {}",
        sizes.len()
    );

    let claims = common::read(&tmp.path().join("claims.csv"));
    let mut per_member: HashMap<&str, usize> = HashMap::new();
    let mut family_groups: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    let mut ids = HashSet::new();
    let (mut auths, mut cob, mut nonstd) = (0, 0, 0);
    for line in claims.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 17, "{line}");
        assert!(ids.insert(f[0]), "claim ids are unique");
        *per_member.entry(f[1]).or_default() += 1;
        *family_groups
            .entry(f[2])
            .or_default()
            .entry(f[3])
            .or_default() += 1;
        auths += usize::from(!f[12].is_empty());
        cob += usize::from(!f[13].is_empty());
        nonstd += usize::from(f[8] == "99499" || f[9].contains('.') || f[10] == "35");
    }
    // Skew: the busiest 10% of claiming members file well over 10% of the claims.
    let mut counts: Vec<usize> = per_member.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts.iter().take(counts.len() / 10).sum();
    assert!(
        top * 4 > 60_000,
        "top 10% of members file {top} of 60000 claims"
    );
    // Most of a family's claims are in one PCP group; some families span several.
    let (mut home, mut total, mut spanning) = (0, 0, 0);
    for groups in family_groups.values() {
        home += groups.values().max().copied().unwrap_or(0);
        total += groups.values().sum::<usize>();
        spanning += usize::from(groups.len() > 1);
    }
    assert!(
        home * 100 >= total * 90,
        "{home} of {total} claims in their family's main group"
    );
    assert!(spanning > 0);
    assert!(stats.duplicates > 300 && stats.cob_partners > 0 && auths > 0 && cob > 0);
    let share = nonstd as f64 / 60_000.0;
    assert!(
        (0.03..0.05).contains(&share),
        "non-standard share {share} for --exception-rate 0.04"
    );
}
