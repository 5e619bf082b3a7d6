//! Benefit plans: YAML files under `workflows/plans/`, one plan per file.

mod load;
mod plan;

pub use load::{PlanError, load_dir, parse_plan};
pub use plan::{BenefitPlan, Plans};
