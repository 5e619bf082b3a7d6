//! The stratified, seeded sample of a claims population (pure: rows in, a selection out).
//!
//! **The unit is the family.** Everything adjudication carries from one claim to another
//! stays inside a family: duplicates are the same member's claims, a prior authorisation is
//! an earlier claim of the same member, the deductible and out-of-pocket accumulators are
//! the member's and the family's, and deferral to pass 2 is decided per family. Sampling
//! claims one by one would break those (a duplicate without its original is paid, a
//! family's deductible met by claims left out is not met), and the sample would measure a
//! different workload. So a family is in the sample with all its claims and all its
//! members' rows, or not at all. The one link that crosses families, a COB partner (the
//! primary claim adjudicated here too, of any member), pulls the partner's family in as
//! well, so no sampled claim pends `E-COB-PRIMARY` only because its primary was left out.
//!
//! **Strata** are (partition, claim stream): the partition is the engine's assignment of
//! the claim's PCP group ([`Boundaries::partition_of`]); the stream is the claim type
//! (line of business `A`–`E`). A family belongs to the stratum holding most of its claims.
//! In each stratum the families are taken in a seeded pseudo-random order, each one kept
//! if it brings the stratum's sampled claims closer to `fraction` of its claims: so each
//! stratum's share of the sample follows its share of the population, to within a family.
//!
//! **Seeded.** The order is a hash of (seed, family id), not of the file's order or of a
//! random generator's state: the same seed picks the same families, whatever else changes.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{Claim, Stream};
use crate::pipeline::partition::Boundaries;

/// A stratum: the engine's partition (0-based) and the claim stream.
pub type Key = (usize, Stream);

/// One stratum's claims, counted by each claim's own partition and stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StratumCount {
    /// `P01`, `P02`, …
    pub partition: String,
    /// `A`–`E`.
    pub stream: String,
    pub population_claims: u64,
    pub sampled_claims: u64,
}

/// What was picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Per claim (input order): in the sample?
    pub selected: Vec<bool>,
    /// The families sampled (whole).
    pub families: HashSet<u32>,
    /// Families sampled only because a sampled claim's COB primary is theirs.
    pub cob_families: u64,
    pub strata: Vec<StratumCount>,
}

impl Sample {
    pub fn sampled_claims(&self) -> u64 {
        self.selected.iter().filter(|s| **s).count() as u64
    }

    pub fn not_sampled_claims(&self) -> u64 {
        self.selected.iter().filter(|s| !**s).count() as u64
    }
}

/// SplitMix64: a well-mixed 64-bit hash, the families' seeded order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn order(seed: u64, family: u32) -> u64 {
    mix(mix(seed) ^ u64::from(family))
}

/// Samples `fraction` (0–1) of `claims`' volume by whole families, stratified by
/// (partition under `boundaries`, stream), in `seed`'s order.
pub fn sample(claims: &[Claim], boundaries: &Boundaries, fraction: f64, seed: u64) -> Sample {
    let key = |c: &Claim| -> Key { (boundaries.partition_of(c.pcp_group), c.stream) };

    // Each family's claims per stratum, and so its own stratum (most claims; ties: the
    // smallest key, so the choice does not depend on the file's order).
    let mut per_family: HashMap<u32, BTreeMap<Key, u64>> = HashMap::new();
    for c in claims {
        *per_family
            .entry(c.family)
            .or_default()
            .entry(key(c))
            .or_default() += 1;
    }
    let mut strata: BTreeMap<Key, Vec<(u64, u32, u64)>> = BTreeMap::new();
    for (family, keys) in &per_family {
        let size: u64 = keys.values().sum();
        let best = keys
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, _)| *k);
        if let Some(k) = best {
            strata
                .entry(k)
                .or_default()
                .push((order(seed, *family), *family, size));
        }
    }

    let mut families: HashSet<u32> = HashSet::new();
    for members in strata.values_mut() {
        members.sort_unstable();
        let total: u64 = members.iter().map(|m| m.2).sum();
        let target = (fraction * total as f64).round() as i128;
        let mut taken: i128 = 0;
        for (_, family, size) in members.iter() {
            let after = taken + i128::from(*size);
            if (after - target).abs() < (taken - target).abs() {
                taken = after;
                families.insert(*family);
            }
        }
    }

    // COB partners: the primary's family comes too (until nothing changes: a pulled-in
    // family may have partners of its own).
    let family_of: HashMap<u64, u32> = claims.iter().map(|c| (c.id, c.family)).collect();
    let mut cob_families = 0u64;
    loop {
        let missing: HashSet<u32> = claims
            .iter()
            .filter(|c| families.contains(&c.family))
            .filter_map(|c| c.cob.and_then(|x| x.partner))
            .filter_map(|id| family_of.get(&id).copied())
            .filter(|f| !families.contains(f))
            .collect();
        if missing.is_empty() {
            break;
        }
        cob_families += missing.len() as u64;
        families.extend(missing);
    }

    let selected: Vec<bool> = claims
        .iter()
        .map(|c| families.contains(&c.family))
        .collect();
    let mut counts: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    for (c, s) in claims.iter().zip(&selected) {
        let e = counts.entry(key(c)).or_default();
        e.0 += 1;
        e.1 += u64::from(*s);
    }
    let strata = counts
        .into_iter()
        .map(|((p, s), (population, sampled))| StratumCount {
            partition: format!("P{:02}", p + 1),
            stream: s.letter().to_string(),
            population_claims: population,
            sampled_claims: sampled,
        })
        .collect();
    Sample {
        selected,
        families,
        cob_families,
        strata,
    }
}
