//! Margin to each deadline: the deadline minus the finish of what it covers.

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::plan::Plan;
use warden_core::sched::Schedule;

use crate::critical_path::{Chain, critical_chain};

/// One deadline's standing in a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineMargin {
    /// Index into `plan.deadlines`.
    pub deadline: usize,
    pub at: DateTime<Utc>,
    /// When the last covered job finishes.
    pub finish: DateTime<Utc>,
    /// `at - finish`: negative means the deadline is missed.
    pub margin: TimeDelta,
    /// The chain of jobs that decides `finish`.
    pub chain: Chain,
}

impl DeadlineMargin {
    pub fn is_missed(&self) -> bool {
        self.margin < TimeDelta::zero()
    }
}

/// Margins for every deadline of the plan, in declaration order.
pub fn deadline_margins(plan: &Plan, schedule: &Schedule) -> Vec<DeadlineMargin> {
    plan.deadlines
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let chain = critical_chain(plan, schedule, &d.covers)?;
            Some(DeadlineMargin {
                deadline: i,
                at: d.at,
                finish: chain.finish,
                margin: d.at - chain.finish,
                chain,
            })
        })
        .collect()
}
