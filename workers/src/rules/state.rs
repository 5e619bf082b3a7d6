//! The running state adjudication reads and changes: accumulators per member (family
//! totals derived from them), the duplicate index, and the results of earlier claims that
//! later claims reference (prior authorisations, COB primaries).

use super::hash::{FxHashMap, FxHashSet};
use super::outcome::Status;
use crate::model::{Cents, Claim, Code, MemberRow};

/// Year-to-date deductible and out-of-pocket, per member, and their family sums.
#[derive(Debug, Default, Clone)]
pub struct AccState {
    members: FxHashMap<u32, (Cents, Cents)>,
    families: FxHashMap<u32, (Cents, Cents)>,
}

impl AccState {
    /// Starts from the pre-loaded rows (every member of every family the run will touch).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a MemberRow>) -> AccState {
        let mut s = AccState::default();
        for r in rows {
            s.load(r);
        }
        s
    }

    pub fn load(&mut self, r: &MemberRow) {
        self.members.insert(r.member, (r.deductible_ytd, r.oop_ytd));
        let f = self.families.entry(r.family).or_default();
        f.0 += r.deductible_ytd;
        f.1 += r.oop_ytd;
    }

    pub fn member(&self, member: u32) -> (Cents, Cents) {
        self.members.get(&member).copied().unwrap_or_default()
    }

    pub fn family(&self, family: u32) -> (Cents, Cents) {
        self.families.get(&family).copied().unwrap_or_default()
    }

    /// Adds one claim's deductible and out-of-pocket to the member's row (and so to the
    /// family's sum).
    pub fn apply(&mut self, member: u32, family: u32, deductible: Cents, oop: Cents) {
        let m = self.members.entry(member).or_default();
        m.0 += deductible;
        m.1 += oop;
        let f = self.families.entry(family).or_default();
        f.0 += deductible;
        f.1 += oop;
    }

    pub fn members(&self) -> impl Iterator<Item = (u32, Cents, Cents)> + '_ {
        self.members.iter().map(|(m, (d, o))| (*m, *d, *o))
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Same member, provider, service date, procedure and billed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DupKey {
    pub member: u32,
    pub provider: u32,
    pub service_date: i32,
    pub procedure: Code,
    pub billed: Cents,
}

impl DupKey {
    pub fn of(c: &Claim) -> DupKey {
        DupKey {
            member: c.member,
            provider: c.provider,
            service_date: c.service_date,
            procedure: c.procedure,
            billed: c.billed,
        }
    }
}

/// The keys of the claims paid so far.
#[derive(Debug, Default, Clone)]
pub struct DupIndex(FxHashSet<DupKey>);

impl DupIndex {
    /// An index that holds `n` keys without growing. Growing doubles the table, and the old
    /// and new tables live together while it does: with two partitions of 10M claims each
    /// growing at once, that was pass 1's memory peak at month-end.
    pub fn with_capacity(n: usize) -> DupIndex {
        DupIndex(FxHashSet::with_capacity_and_hasher(n, Default::default()))
    }

    pub fn contains(&self, k: &DupKey) -> bool {
        self.0.contains(k)
    }
    pub fn insert(&mut self, k: DupKey) {
        self.0.insert(k);
    }
}

/// What a referencing claim needs of an earlier claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefResult {
    pub member: u32,
    pub status: Status,
    pub plan_paid: Cents,
}

/// Results of referenced claims, kept only for ids in `wanted` (known before the run from
/// the input), so memory follows the number of references, not of claims.
#[derive(Debug, Default, Clone)]
pub struct RefResults {
    wanted: FxHashSet<u64>,
    results: FxHashMap<u64, RefResult>,
}

impl RefResults {
    pub fn wanting(ids: impl IntoIterator<Item = u64>) -> RefResults {
        RefResults {
            wanted: ids.into_iter().collect(),
            results: FxHashMap::default(),
        }
    }
    pub fn wants(&self, id: u64) -> bool {
        self.wanted.contains(&id)
    }
    pub fn record(&mut self, id: u64, r: RefResult) {
        if self.wanted.contains(&id) {
            self.results.insert(id, r);
        }
    }
    pub fn get(&self, id: u64) -> Option<&RefResult> {
        self.results.get(&id)
    }
}
