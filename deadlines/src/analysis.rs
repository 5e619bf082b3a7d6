//! A plan with everything `warden plan` shows computed from it.

use chrono::TimeDelta;
use warden_core::plan::{DateSpec, Plan, PlanError, PlanOptions};
use warden_core::sched::{Schedule, simulate};
use warden_core::workflow::Workflow;

use crate::{Chain, DeadlineMargin, critical_chain, deadline_margins, slack};

#[derive(Debug)]
pub struct Analysis {
    pub plan: Plan,
    pub schedule: Schedule,
    /// The chain that binds the whole cycle's finish.
    pub critical: Option<Chain>,
    pub margins: Vec<DeadlineMargin>,
    pub slack: Vec<Option<TimeDelta>>,
}

/// Plans `workflow` for `date` from estimates and analyses the result.
pub fn analyse(
    workflow: &Workflow,
    date: DateSpec,
    options: &PlanOptions,
) -> Result<Analysis, PlanError> {
    let plan = workflow.instantiate(date, options)?;
    let schedule = simulate(&plan);
    let all: Vec<usize> = (0..plan.jobs.len()).collect();
    let critical = critical_chain(&plan, &schedule, &all);
    let margins = deadline_margins(&plan, &schedule);
    let slack = slack(&plan, &schedule);
    Ok(Analysis {
        plan,
        schedule,
        critical,
        margins,
        slack,
    })
}
