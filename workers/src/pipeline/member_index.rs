//! Finding a member's row in the member table (sorted by member id) in one memory access:
//! a direct table when ids are dense (enrolment numbers usually are), a hash map otherwise.
//! A binary search over 4.2M rows costs ~22 cache misses per claim; this costs one.

use crate::model::MemberRow;
use crate::rules::hash::FxHashMap;

#[derive(Debug)]
pub enum MemberIndex {
    Dense { base: u32, slots: Vec<u32> },
    Sparse(FxHashMap<u32, u32>),
}

impl MemberIndex {
    pub fn new(rows: &[MemberRow]) -> MemberIndex {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return MemberIndex::Sparse(FxHashMap::default());
        };
        let span = u64::from(last.member - first.member) + 1;
        if span <= 4 * rows.len() as u64 + 1024 {
            let mut slots = vec![u32::MAX; usize::try_from(span).unwrap_or(0)];
            for (i, r) in rows.iter().enumerate() {
                slots[(r.member - first.member) as usize] = u32::try_from(i).unwrap_or(u32::MAX);
            }
            MemberIndex::Dense {
                base: first.member,
                slots,
            }
        } else {
            MemberIndex::Sparse(
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| (r.member, u32::try_from(i).unwrap_or(u32::MAX)))
                    .collect(),
            )
        }
    }

    /// The row index of `member`.
    pub fn get(&self, member: u32) -> Option<usize> {
        let i = match self {
            MemberIndex::Dense { base, slots } => {
                *slots.get(usize::try_from(member.checked_sub(*base)?).ok()?)?
            }
            MemberIndex::Sparse(m) => *m.get(&member)?,
        };
        (i != u32::MAX).then_some(i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ids: &[u32]) -> Vec<MemberRow> {
        ids.iter()
            .map(|&member| MemberRow {
                member,
                family: member,
                plan: 0,
                deductible_ytd: 0,
                oop_ytd: 0,
            })
            .collect()
    }

    #[test]
    fn dense_and_sparse_find_the_same_rows() {
        for ids in [vec![5u32, 6, 8, 9], vec![1, 1_000_000, 4_000_000_000]] {
            let r = rows(&ids);
            let ix = MemberIndex::new(&r);
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(ix.get(*id), Some(i));
            }
            assert_eq!(ix.get(7), None);
            assert_eq!(ix.get(0), None);
            assert_eq!(ix.get(u32::MAX), None);
        }
        assert!(matches!(
            MemberIndex::new(&rows(&[5, 6, 8])),
            MemberIndex::Dense { .. }
        ));
    }
}
