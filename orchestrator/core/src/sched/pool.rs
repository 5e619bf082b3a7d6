//! Resource holdings: an exclusive resource is a pool of one.

use chrono::{DateTime, Utc};

use crate::workflow::{JobIdx, Resource, ResourceUse};

/// Free units per resource, and who released each last (to explain resource waits).
#[derive(Debug, Clone)]
pub struct ResourcePool {
    free: Vec<u32>,
    last_release: Vec<Option<(DateTime<Utc>, JobIdx)>>,
}

impl ResourcePool {
    pub fn new(resources: &[Resource]) -> Self {
        Self {
            free: resources.iter().map(|r| r.capacity).collect(),
            last_release: vec![None; resources.len()],
        }
    }

    pub fn fits(&self, uses: &[ResourceUse]) -> bool {
        uses.iter().all(|u| self.free[u.resource] >= u.units)
    }

    /// Takes the units; callers check [`Self::fits`] first.
    pub fn acquire(&mut self, uses: &[ResourceUse]) {
        for u in uses {
            self.free[u.resource] = self.free[u.resource].saturating_sub(u.units);
        }
    }

    pub fn release(&mut self, uses: &[ResourceUse], at: DateTime<Utc>, job: JobIdx) {
        for u in uses {
            self.free[u.resource] += u.units;
            self.last_release[u.resource] = Some((at, job));
        }
    }

    /// Among `uses`, the resource released most recently, and by whom.
    pub fn last_released(&self, uses: &[ResourceUse]) -> Option<(usize, JobIdx)> {
        uses.iter()
            .filter_map(|u| self.last_release[u.resource].map(|(t, j)| (t, u.resource, j)))
            .max_by_key(|(t, r, _)| (*t, std::cmp::Reverse(*r)))
            .map(|(_, r, j)| (r, j))
    }
}
