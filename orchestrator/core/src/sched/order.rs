//! The order in which ready jobs are offered resources.

use std::cmp::Reverse;

use chrono::TimeDelta;

use crate::plan::Plan;
use crate::workflow::JobIdx;

/// Ready jobs are started in this order: higher priority first, then the job with the
/// longest chain of work still behind it (critical-path first), then declaration order, so
/// the choice is deterministic and favours the jobs deadlines depend on.
pub type DispatchOrder = (Reverse<i64>, Reverse<i64>, JobIdx);

impl Plan {
    pub fn dispatch_order(&self, job: JobIdx, tails: &[TimeDelta]) -> DispatchOrder {
        (
            Reverse(self.jobs[job].priority),
            Reverse(tails[job].num_seconds()),
            job,
        )
    }
}

/// For each job, its duration plus the longest chain of durations after it.
pub fn tails(plan: &Plan) -> Vec<TimeDelta> {
    let order = match petgraph::algo::toposort(&plan.graph, None) {
        Ok(order) => order,
        // Compiled plans are acyclic; a cyclic one gets no tie-break rather than a panic.
        Err(_) => return vec![TimeDelta::zero(); plan.jobs.len()],
    };
    let successors = plan.successors();
    let mut tail = vec![TimeDelta::zero(); plan.jobs.len()];
    for node in order.into_iter().rev() {
        let j = plan.graph[node];
        let after = successors[j]
            .iter()
            .map(|s| tail[*s])
            .max()
            .unwrap_or_default();
        tail[j] = plan.jobs[j].duration + after;
    }
    tail
}
