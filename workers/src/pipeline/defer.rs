//! Which claims pass 1 may adjudicate, decided once, in setup, over the whole input.
//!
//! A family is the unit: its members' deductibles and out-of-pocket maximums aggregate, so
//! either every claim of a family is adjudicated in one partition's pass 1, or every claim
//! of it waits for pass 2. A family is deferred when
//! - its claims are in more than one partition (a member's own claims split means a
//!   possible duplicate in another partition; members split means shared family totals);
//! - a claim references (prior authorisation, COB primary) an earlier claim in another
//!   partition;
//! - a claim references an earlier claim of a deferred family (its result is known only in
//!   pass 2), repeated until nothing changes.

use crate::model::{Claim, MemberRow};
use crate::rules::hash::{FxHashMap, FxHashSet};

pub const MEMBER_SPLIT: u32 = 1;
pub const FAMILY_SPLIT: u32 = 2;
pub const PRIOR_AUTH_ELSEWHERE: u32 = 4;
pub const COB_PARTNER_ELSEWHERE: u32 = 8;
pub const DEPENDS_ON_DEFERRED: u32 = 16;

/// `possible-duplicate-in-other-partition+family-spans-partitions`.
pub fn reason_text(bits: u32) -> String {
    let names = [
        (MEMBER_SPLIT, "possible-duplicate-in-other-partition"),
        (FAMILY_SPLIT, "family-spans-partitions"),
        (PRIOR_AUTH_ELSEWHERE, "prior-auth-in-other-partition"),
        (COB_PARTNER_ELSEWHERE, "cob-partner-in-other-partition"),
        (DEPENDS_ON_DEFERRED, "references-deferred-claim"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join("+")
}

/// Where a referenced claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    pub partition: u8,
    pub member: u32,
    pub family: u32,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    from_member: u32,
    from_family: u32,
    from_part: u8,
    to: u64,
    cob: bool,
}

/// Collected while setup streams the accepted claims.
/// Partitions are bits of a `u64` mask.
pub const MAX_PARTITIONS: usize = 64;

/// Memory: one mask per enrolled member (8 bytes, indexed like the sorted member table)
/// and one edge per reference; no per-claim state, so 62M claims stream through.
#[derive(Debug, Default)]
pub struct Analysis {
    member_parts: Vec<u64>,
    edges: Vec<Edge>,
}

fn bit(part: usize) -> u64 {
    1u64 << (part % MAX_PARTITIONS)
}

impl Analysis {
    /// For a member table of `members` rows.
    pub fn new(members: usize) -> Analysis {
        Analysis {
            member_parts: vec![0; members],
            edges: Vec::new(),
        }
    }

    /// Claim `c`, of the member at `member_index` in the sorted member table, is in `part`.
    pub fn observe(&mut self, c: &Claim, member_index: usize, part: usize) {
        if let Some(m) = self.member_parts.get_mut(member_index) {
            *m |= bit(part);
        }
        let from_part = u8::try_from(part).unwrap_or(u8::MAX);
        if let Some(a) = c.prior_auth {
            self.edges.push(Edge {
                from_member: c.member,
                from_family: c.family,
                from_part,
                to: a,
                cob: false,
            });
        }
        if let Some(p) = c.cob.and_then(|x| x.partner) {
            self.edges.push(Edge {
                from_member: c.member,
                from_family: c.family,
                from_part,
                to: p,
                cob: true,
            });
        }
    }

    /// The partitions each family with claims has claims in (a bit each).
    pub fn family_partitions(&self, members: &[MemberRow]) -> FxHashMap<u32, u64> {
        let mut families: FxHashMap<u32, u64> = FxHashMap::default();
        for (m, parts) in members.iter().zip(&self.member_parts) {
            if *parts != 0 {
                *families.entry(m.family).or_default() |= parts;
            }
        }
        families
    }

    /// Claim ids some claim references: setup looks up where they are.
    pub fn referenced(&self) -> FxHashSet<u64> {
        self.edges.iter().map(|e| e.to).collect()
    }

    /// The deferred families and why, given where each referenced claim that exists is
    /// (partition, member, family). A reference to a claim not in the input, or a prior
    /// authorisation naming another member's claim, is no dependency: the rules deny or
    /// pend it the same way wherever it runs.
    pub fn decide(
        &self,
        members: &[MemberRow],
        located: &FxHashMap<u64, Located>,
    ) -> FxHashMap<u32, u32> {
        let depends = |e: &Edge| {
            located
                .get(&e.to)
                .filter(|l| e.cob || l.member == e.from_member)
        };
        let mut deferred: FxHashMap<u32, u32> = FxHashMap::default();
        for (m, parts) in members.iter().zip(&self.member_parts) {
            if parts.count_ones() > 1 {
                *deferred.entry(m.family).or_default() |= MEMBER_SPLIT;
            }
        }
        let families = self.family_partitions(members);
        for (family, parts) in &families {
            if parts.count_ones() > 1 {
                *deferred.entry(*family).or_default() |= FAMILY_SPLIT;
            }
        }
        for e in &self.edges {
            if let Some(l) = depends(e)
                && l.partition != e.from_part
            {
                {
                    *deferred.entry(e.from_family).or_default() |= if e.cob {
                        COB_PARTNER_ELSEWHERE
                    } else {
                        PRIOR_AUTH_ELSEWHERE
                    };
                }
            }
        }
        loop {
            let mut changed = false;
            for e in &self.edges {
                let Some(l) = depends(e) else {
                    continue;
                };
                if deferred.contains_key(&l.family) && !deferred.contains_key(&e.from_family) {
                    deferred.insert(e.from_family, DEPENDS_ON_DEFERRED);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        deferred
    }
}
