//! A compiled benefit plan: what the rules read, in cents and basis points.

use std::collections::{HashMap, HashSet};

use crate::model::{Cents, Code};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitPlan {
    pub id: String,
    /// Allowed amount by procedure code. A procedure missing here is a non-standard code.
    pub fee_schedule: HashMap<Code, Cents>,
    /// Flat copay by procedure; a procedure with a copay has no coinsurance.
    pub copays: HashMap<Code, Cents>,
    /// The member's share after the deductible, in basis points (2000 = 20%).
    pub coinsurance_bp: u32,
    pub deductible_individual: Cents,
    pub deductible_family: Cents,
    pub oop_max_individual: Cents,
    pub oop_max_family: Cents,
    pub prior_auth: HashSet<Code>,
}

/// The plans of a run, in id order; claims and members refer to a plan by its index here.
#[derive(Debug, Clone, Default)]
pub struct Plans {
    plans: Vec<BenefitPlan>,
}

impl Plans {
    pub fn new(mut plans: Vec<BenefitPlan>) -> Plans {
        plans.sort_by(|a, b| a.id.cmp(&b.id));
        Plans { plans }
    }

    pub fn index_of(&self, id: &str) -> Option<u16> {
        self.plans
            .binary_search_by(|p| p.id.as_str().cmp(id))
            .ok()
            .and_then(|i| u16::try_from(i).ok())
    }

    pub fn get(&self, index: u16) -> Option<&BenefitPlan> {
        self.plans.get(usize::from(index))
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.plans.iter().map(|p| p.id.as_str())
    }

    pub fn all(&self) -> &[BenefitPlan] {
        &self.plans
    }

    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }
}
