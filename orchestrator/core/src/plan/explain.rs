//! `warden plan` in words: where the plan's mode comes from, and why each job starts when
//! it does (so a Day 2 job planned in daylight, before its window, says why).

use super::{EarliestReason, Plan};
use crate::sched::{Binding, ScheduledJob};
use crate::workflow::{JobIdx, Mode, Workflow};

/// Where the mode of a plan of `workflow` comes from, and when it makes no difference:
/// `(--mode)`, `(set in the file)` or `(the default: the file sets no mode)`, then for a
/// one-day cycle `; one day, so serial and pipelined plan alike` (the serial barrier is
/// between days).
pub fn mode_origin(workflow: &Workflow, overridden: Option<Mode>) -> String {
    let origin = if overridden.is_some() {
        "--mode"
    } else if workflow.mode_declared {
        "set in the file"
    } else {
        "the default: the file sets no `mode`"
    };
    if workflow.days.len() == 1 {
        format!("{origin}; one day, so serial and pipelined plan alike")
    } else {
        origin.to_string()
    }
}

/// Why job `job` starts when `scheduled` says, in a few words: `after X`, `waits for R
/// (held by X)`, `window opens`, `job's not_before`, `cycle start`. A job that starts before
/// its night's window opens says why it may: its day has `start: when_ready`.
pub fn start_reason(plan: &Plan, job: JobIdx, scheduled: &ScheduledJob) -> String {
    let reason = match scheduled.binding {
        Binding::Dependency { job: dep } => format!("after {}", plan.jobs[dep].id),
        Binding::Resource { resource, holder } => format!(
            "waits for {} (held by {})",
            plan.resources[resource].id, plan.jobs[holder].id
        ),
        Binding::Retry => "retry".to_string(),
        Binding::Earliest { reason } => match reason {
            EarliestReason::CycleStart => "cycle start".to_string(),
            EarliestReason::WindowOpens => "window opens".to_string(),
            EarliestReason::StreamNotBefore => "stream's not_before".to_string(),
            EarliestReason::JobNotBefore => "job's not_before".to_string(),
        },
    };
    let night = &plan.nights[plan.jobs[job].day];
    if scheduled.start < night.opens && night.when_ready {
        format!(
            "{reason}; before its window ({} starts when_ready)",
            night.day_id
        )
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DateSpec, PlanOptions};
    use crate::sched::simulate;
    use crate::workflow::compile_str;

    const TWO_NIGHTS: &str = r#"
cycle: t
timezone: America/New_York
schedule: { month_end: { start_day: 28, nights: 2 } }
days:
  - { id: d1, window: { opens: "20:00", closes: "06:00" } }
  - { id: d2, window: { opens: "20:00", closes: "06:00" }, start: when_ready }
jobs:
  - { id: A, day: d1, builtin: sleep, estimate: 12h }
  - { id: B, day: d2, builtin: sleep, estimate: 1h, after: [A] }
"#;

    #[test]
    fn a_when_ready_job_before_its_window_says_why() {
        let (_, c) = compile_str("t.yaml", TWO_NIGHTS);
        let w = c.workflow.expect("compiles");
        let date: DateSpec = "2025-02".parse().expect("date");
        let plan = w.instantiate(date, &PlanOptions::default()).expect("plans");
        let schedule = simulate(&plan);
        assert_eq!(start_reason(&plan, 0, &schedule.jobs[0]), "cycle start");
        assert_eq!(
            start_reason(&plan, 1, &schedule.jobs[1]),
            "after A; before its window (d2 starts when_ready)"
        );
        assert_eq!(
            mode_origin(&w, None),
            "the default: the file sets no `mode`"
        );
        assert_eq!(mode_origin(&w, Some(Mode::Serial)), "--mode");
    }

    #[test]
    fn a_one_day_cycle_says_its_mode_makes_no_difference() {
        let one_day = "cycle: t\ntimezone: UTC\nschedule: { cron: \"0 1 * * *\" }\nmode: serial\n\
            days: [{ id: n, window: { opens: \"01:00\", closes: \"05:00\" } }]\n\
            jobs: [{ id: A, builtin: sleep, estimate: 5m }]\n";
        let (_, c) = compile_str("t.yaml", one_day);
        let w = c.workflow.expect("compiles");
        assert_eq!(
            mode_origin(&w, None),
            "set in the file; one day, so serial and pipelined plan alike"
        );
    }
}
