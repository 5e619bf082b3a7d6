//! The partitioner: PCP groups to N contiguous ranges balancing claim counts (the case
//! study splits 48 groups into six ranges of eight). Contiguous because a range is what an
//! operator reads and moves ("P1 gets 01–07, P6 gets 40–48"); balanced by an exact
//! linear-partition search that minimises the largest partition.

use serde::{Deserialize, Serialize};

/// A partition: PCP groups `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub first: u16,
    pub last: u16,
}

/// Boundaries for N partitions, in group order, covering groups 1..=max.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundaries {
    pub partitions: Vec<Range>,
}

impl Boundaries {
    /// The partition of a PCP group; groups past the last range belong to the last one.
    pub fn partition_of(&self, group: u16) -> usize {
        match self.partitions.iter().position(|r| group <= r.last) {
            Some(p) => p,
            None => self.partitions.len().saturating_sub(1),
        }
    }

    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Claims per partition for per-group `counts` (index = group − 1).
    pub fn loads(&self, counts: &[u64]) -> Vec<u64> {
        let mut loads = vec![0u64; self.len()];
        for (i, c) in counts.iter().enumerate() {
            let g = u16::try_from(i + 1).unwrap_or(u16::MAX);
            loads[self.partition_of(g)] += c;
        }
        loads
    }

    /// Checks the ranges are contiguous from group 1 and each non-empty.
    pub fn check(&self) -> Result<(), String> {
        let mut next = 1u16;
        if self.partitions.is_empty() {
            return Err("no partitions".into());
        }
        for (i, r) in self.partitions.iter().enumerate() {
            if r.first != next || r.last < r.first {
                return Err(format!(
                    "partition P{:02} is {}–{}; it must start at group {next} and end at or after it",
                    i + 1,
                    r.first,
                    r.last
                ));
            }
            next = r.last.saturating_add(1);
        }
        Ok(())
    }
}

/// The largest partition over the smallest (1.0 is perfect); `None` if one is empty.
pub fn imbalance(loads: &[u64]) -> Option<f64> {
    let max = *loads.iter().max()?;
    let min = *loads.iter().min()?;
    (min > 0).then(|| max as f64 / min as f64)
}

/// The contiguous split of `counts` (index = group − 1) into `n` ranges that minimises
/// the largest range's count (dynamic programming, O(n × groups²): 48 groups is instant).
/// Ties go to the earliest boundary, so the result is deterministic.
pub fn plan(counts: &[u64], n: usize) -> Boundaries {
    let g = counts.len().max(1);
    let n = n.clamp(1, g);
    let mut prefix = vec![0u64; g + 1];
    for i in 0..g {
        prefix[i + 1] = prefix[i] + counts.get(i).copied().unwrap_or(0);
    }
    let sum = |a: usize, b: usize| prefix[b] - prefix[a];
    // best[k][i]: the smallest largest load splitting groups 0..i into k ranges.
    let mut best = vec![vec![u64::MAX; g + 1]; n + 1];
    let mut cut = vec![vec![0usize; g + 1]; n + 1];
    best[0][0] = 0;
    for k in 1..=n {
        for i in k..=g {
            for j in (k - 1)..i {
                if best[k - 1][j] == u64::MAX {
                    continue;
                }
                let v = best[k - 1][j].max(sum(j, i));
                if v < best[k][i] {
                    best[k][i] = v;
                    cut[k][i] = j;
                }
            }
        }
    }
    let mut ends = Vec::with_capacity(n);
    let mut i = g;
    for k in (1..=n).rev() {
        ends.push(i);
        i = cut[k][i];
    }
    ends.reverse();
    let mut partitions = Vec::with_capacity(n);
    let mut first = 1usize;
    for end in ends {
        partitions.push(Range {
            first: u16::try_from(first).unwrap_or(u16::MAX),
            last: u16::try_from(end).unwrap_or(u16::MAX),
        });
        first = end + 1;
    }
    Boundaries { partitions }
}

/// A rebalancing proposal: the current split's imbalance and, past the threshold, a better one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub current_loads: Vec<u64>,
    pub current_ratio: Option<f64>,
    pub threshold: f64,
    /// `None` when the current boundaries are within the threshold.
    pub proposed: Option<Boundaries>,
    pub proposed_loads: Vec<u64>,
    pub proposed_ratio: Option<f64>,
}

pub fn rebalance(current: &Boundaries, counts: &[u64], threshold: f64) -> Proposal {
    let current_loads = current.loads(counts);
    let current_ratio = imbalance(&current_loads);
    let over = current_ratio.is_none_or(|r| r > threshold);
    let (proposed, proposed_loads, proposed_ratio) = if over {
        let b = plan(counts, current.len());
        let loads = b.loads(counts);
        let r = imbalance(&loads);
        (Some(b), loads, r)
    } else {
        (None, Vec::new(), None)
    };
    Proposal {
        current_loads,
        current_ratio,
        threshold,
        proposed,
        proposed_loads,
        proposed_ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equal_groups_split_evenly() {
        let b = plan(&[10; 48], 6);
        assert_eq!(b.partitions[0], Range { first: 1, last: 8 });
        assert_eq!(
            b.partitions[5],
            Range {
                first: 41,
                last: 48
            }
        );
        assert_eq!(imbalance(&b.loads(&[10; 48])), Some(1.0));
    }

    #[test]
    fn the_case_study_onboarding_is_rebalanced() {
        // Group 05 gains 25% of P1's volume: the 8-group split goes past 1.15.
        let mut counts = vec![38_000u64; 48];
        counts[4] += 77_000;
        let eights = plan(&[1; 48], 6);
        let p = rebalance(&eights, &counts, 1.15);
        let before = p.current_ratio.expect("no empty partition");
        assert!(before > 1.15, "{before}");
        let after = p.proposed_ratio.expect("proposal");
        assert!(after < before && after < 1.15, "{after}");
        let proposed = p.proposed.expect("proposal");
        assert!(
            proposed.partitions[0].last < 8,
            "P1 gives up groups: {proposed:?}"
        );
        // Within the threshold, nothing is proposed.
        assert!(rebalance(&eights, &[1; 48], 1.15).proposed.is_none());
    }

    proptest! {
        #[test]
        fn plans_are_contiguous_and_no_worse_than_equal_ranges(
            counts in prop::collection::vec(0u64..1000, 1..60), n in 1usize..9
        ) {
            let b = plan(&counts, n);
            prop_assert!(b.check().is_ok());
            prop_assert_eq!(b.len(), n.min(counts.len()));
            prop_assert_eq!(b.partitions.last().map(|r| usize::from(r.last)), Some(counts.len()));
            let loads = b.loads(&counts);
            prop_assert_eq!(loads.iter().sum::<u64>(), counts.iter().sum::<u64>());
            // The optimum is at most the largest single group plus the average.
            let avg = counts.iter().sum::<u64>() / b.len() as u64;
            let big = counts.iter().copied().max().unwrap_or(0);
            prop_assert!(*loads.iter().max().unwrap_or(&0) <= avg + big);
        }
    }
}
