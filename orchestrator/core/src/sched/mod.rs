//! The scheduling core: which ready job runs next, given dependencies, earliest starts,
//! resources and priorities. Pure; no clock, no I/O.
//!
//! [`Machine`] is the state machine both clocks drive: [`simulate`] runs it forward on a
//! simulated clock from estimates (`warden plan`; the deadline projection from live state),
//! and the orchestrator's driver will run it on the real clock.

mod machine;
mod operate;
mod order;
mod pool;
mod simulate;
mod timeline;

pub use machine::{Action, Command, Event, JobStatus, KillReason, Machine, Outcome};
pub use operate::{command_fits, command_name, command_needs_reason, reason_needed_because};
pub use order::{DispatchOrder, tails};
pub use pool::ResourcePool;
pub use simulate::{
    Binding, ForwardStart, InFlight, Schedule, ScheduledJob, run_forward, simulate, simulate_until,
};
pub use timeline::{Dispatched, Timeline};
