//! Deadline analysis over a scheduled plan: which chain of jobs binds each finish (the
//! critical path), how much slack every job has, and the margin to every deadline.
//!
//! Pure functions of a [`Plan`] and a [`Schedule`]; the projection of later issues feeds them
//! schedules simulated from live state, `warden plan` feeds them schedules from estimates.

pub mod alert;
mod analysis;
mod critical_path;
mod margin;
mod slack;

pub use analysis::{Analysis, analyse};
pub use critical_path::{Chain, ChainLink, critical_chain};
pub use margin::{DeadlineMargin, deadline_margins};
pub use slack::slack;

#[cfg(test)]
mod tests;
