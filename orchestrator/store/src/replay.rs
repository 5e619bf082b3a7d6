//! Rebuilding a run's state from its event log: the machine exactly as the driver had it,
//! and the timeline of dispatches (which binding held each job back). Shared by the
//! driver (resume), the CLI (status, operator commands, whatif) and the web UI.

use warden_core::plan::Plan;
use warden_core::sched::{Machine, Timeline};

use crate::types::StoredEvent;

/// Replays the log step by step, as the driver applied it.
pub fn replay(plan: &Plan, events: &[StoredEvent]) -> (Machine, Timeline) {
    let mut machine = Machine::new(plan);
    let mut timeline = Timeline::new(plan);
    let mut i = 0;
    while i < events.len() {
        let step = events[i].step;
        let at = events[i].at;
        let mut inputs = Vec::new();
        while i < events.len() && events[i].step == step {
            inputs.extend(events[i].event);
            i += 1;
        }
        let actions = machine.apply(plan, at, inputs);
        timeline.record(at, &actions);
    }
    (machine, timeline)
}
