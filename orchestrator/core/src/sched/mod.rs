//! The scheduling core: which ready job runs next, given dependencies, earliest starts,
//! resources and priorities. Pure; no clock, no I/O.
//!
//! [`simulate`] runs a plan forward on a simulated clock from estimates. `warden plan` uses it
//! directly; the deadline projection will run it from a live state, and the orchestrator's
//! dispatcher applies the same [`DispatchOrder`] and [`ResourcePool`] rules on the real clock.

mod order;
mod pool;
mod simulate;

pub use order::{DispatchOrder, tails};
pub use pool::ResourcePool;
pub use simulate::{Binding, Schedule, ScheduledJob, simulate};
