//! Deadlines as first-class constraints, all pure: which chain of jobs binds each finish
//! (the critical path), how much slack every job has, the margin to every deadline, the
//! projection of a live run's rest ([`project`]), its breach probability ([`breach_risk`]),
//! estimates learned from history ([`Estimates`]), the escalation ladder ([`escalation`]),
//! why each deadline is at risk ([`diagnose`]), what an operator's move would do to it
//! ([`project_moves`]), the batch impact test's re-projection ([`reproject`]) and verdict ([`verdict`]).
//!
//! `warden plan` feeds these schedules simulated from estimates; the orchestrator feeds them
//! projections from live state; `warden whatif` feeds them edited states.
//!
//! [`Plan`]: warden_core::plan::Plan

pub mod alert;
mod analysis;
mod critical_path;
mod diagnosis;
pub mod escalation;
mod estimates;
pub mod impact_report;
mod margin;
mod montecarlo;
mod moves;
mod projection;
pub mod reproject;
mod slack;
pub mod verdict;

pub use analysis::{Analysis, analyse};
pub use critical_path::{Chain, ChainLink, critical_chain};
pub use diagnosis::{ChainStep, Diagnosis, StepState, diagnose};
pub use estimates::{
    DEFAULT_SPREAD, EstimateSource, Estimates, HistorySample, JobEstimate, JobProgress, MIN_RUNS,
};
pub use margin::{DeadlineMargin, deadline_margins};
pub use montecarlo::{DEFAULT_SAMPLES, DeadlineRisk, breach_risk};
pub use moves::{DEFAULT_HOLD, MarginChange, Move, margin_changes, project_moves};
pub use projection::{Assumption, LiveRun, Phase, Projection, project};
pub use slack::slack;

#[cfg(test)]
mod tests;
