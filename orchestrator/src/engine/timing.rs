//! Where the run's clock meets real time.
//!
//! An accelerated clock (`warden run --speed S`) speeds up waiting and simulated work: a
//! `builtin: sleep` job, or an adjudication built-in without claim input, takes its estimate
//! on the run's clock, so S times less real time. It cannot speed up real work: a shell job
//! or an adjudication built-in reading real claims takes the real time it takes, and the
//! run's clock sees S times that (4 s of real setup is 40 minutes at 600×). The rule:
//!
//! - a timeout bounds how long the work *really* runs. Simulated work is timed on the run's
//!   clock (its duration is defined there); real work is timed in real time, so a 30-minute
//!   timeout gives real setup 30 real minutes at any speed. On the real clock both are the
//!   same thing;
//! - the run's clock records what it saw: a real job's start and finish, and so the
//!   projection's actuals and rates, are in the run's time (real time × S). An accelerated
//!   run with real work therefore shows that work S times longer than it really took, and
//!   `warden run` says so when it starts.
//!
//! And a run on the real clock whose deadlines are already past would breach them at once
//! and escalate to compliance and counsel for a cycle nobody is running late: it is refused
//! unless the operator says it really is a late cycle (`--late`).

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::clock::Clock;
use warden_core::plan::Plan;
use warden_core::workflow::values::format_duration;

use super::builtins::BuiltinSettings;
use super::exec::does_real_work;

/// The plan as the run's machine must time it: each real-work job's timeout converted from
/// real time to the run's clock. `None` when nothing changes (the real clock, or no timed
/// real work), so the caller keeps its plan.
pub fn real_work_timeouts(
    plan: &Plan,
    clock: &dyn Clock,
    builtins: &BuiltinSettings,
) -> Option<Plan> {
    let convert = |timeout: TimeDelta| {
        timeout
            .to_std()
            .map(|real| clock.clock_duration(real))
            .unwrap_or(timeout)
    };
    let changes = plan.jobs.iter().any(|j| {
        j.timeout
            .is_some_and(|t| does_real_work(&j.action, builtins) && convert(t) != t)
    });
    if !changes {
        return None;
    }
    let mut timed = plan.clone();
    for job in &mut timed.jobs {
        if does_real_work(&job.action, builtins) {
            job.timeout = job.timeout.map(convert);
        }
    }
    Some(timed)
}

/// How many of the plan's jobs do real work (the note `warden run --speed` prints).
pub fn real_work_jobs(plan: &Plan, builtins: &BuiltinSettings) -> usize {
    plan.jobs
        .iter()
        .filter(|j| does_real_work(&j.action, builtins))
        .count()
}

/// What a timed-out attempt's log and the run's messages say: the limit, and the clock it
/// was counted on, so that a timeout on an accelerated clock explains itself.
pub fn timeout_note(
    limit: TimeDelta,
    real_work: bool,
    real: std::time::Duration,
    clock: &dyn Clock,
) -> String {
    let on_clock = clock.clock_duration(real);
    // A killed simulated job may have run a fraction of a second of real time.
    let real_text = if real < std::time::Duration::from_secs(60) {
        format!("{:.1}s", real.as_secs_f64())
    } else {
        format_duration(TimeDelta::from_std(real).unwrap_or(TimeDelta::MAX))
    };
    let speed = clock
        .clock_duration(std::time::Duration::from_secs(1))
        .num_milliseconds() as f64
        / 1000.0;
    let accelerated = (speed - 1.0).abs() > f64::EPSILON;
    match (real_work, accelerated) {
        (_, false) => format!(
            "killed at its timeout of {}: it ran {real_text}",
            format_duration(limit)
        ),
        (true, true) => format!(
            "killed at its timeout of {}, counted in real time because the job does real work: it ran {real_text} real ({} on the run's clock at {speed}x)",
            format_duration(limit),
            format_duration(on_clock)
        ),
        (false, true) => format!(
            "killed at its timeout of {}, counted on the run's clock because the job is simulated: it ran {} on the run's clock ({real_text} real at {speed}x)",
            format_duration(limit),
            format_duration(on_clock)
        ),
    }
}

/// A deadline that has already passed when a run would start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastDeadline {
    pub id: String,
    pub at: DateTime<Utc>,
    /// How long ago, at `now`.
    pub ago: TimeDelta,
}

/// The plan's deadlines that are already past at `now`, earliest first.
pub fn past_deadlines(plan: &Plan, now: DateTime<Utc>) -> Vec<PastDeadline> {
    let mut past: Vec<PastDeadline> = plan
        .deadlines
        .iter()
        .filter(|d| d.at <= now)
        .map(|d| PastDeadline {
            id: d.id.clone(),
            at: d.at,
            ago: now - d.at,
        })
        .collect();
    past.sort_by_key(|d| d.at);
    past
}

/// Why `warden run` refuses a new real-clock run whose deadlines are past, and what to do.
pub fn past_deadlines_refusal(plan: &Plan, past: &[PastDeadline]) -> String {
    let mut text = format!(
        "error: {} for {} has {} already past on the real clock:\n",
        plan.cycle,
        plan.date,
        if past.len() == 1 {
            "a deadline".to_string()
        } else {
            format!("{} deadlines", past.len())
        }
    );
    for d in past {
        let local = d.at.with_timezone(&plan.timezone);
        text.push_str(&format!(
            "  {} was due {} ({} ago)\n",
            d.id,
            local.format("%Y-%m-%d %H:%M %Z"),
            format_duration(d.ago)
        ));
    }
    text.push_str(
        "  a run started now would record each as breached and escalate it at once (on-call, compliance, counsel)\n",
    );
    text.push_str(&format!(
        "help: to rehearse the cycle, run it on an accelerated clock from its first window: `--speed 3600`\n\
         help: to run a late {} for real, knowing its deadlines are breached and escalate, add `--late`",
        plan.cycle
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::clocks::{AcceleratedClock, SystemClock};
    use warden_core::workflow::compile_str;

    fn plan() -> Plan {
        let text = r#"
cycle: timing-test
timezone: America/New_York
schedule: { cron: "0 22 * * 1-5" }
days:
  - { id: n, window: { opens: "22:00", closes: "04:00" } }
jobs:
  - { id: SHELL, run: "true", estimate: 10m, timeout: 30m }
  - { id: SIM, builtin: sleep, after: [SHELL], estimate: 10m, timeout: 30m }
  - { id: NOLIMIT, run: "true", after: [SIM], estimate: 10m }
deadlines:
  - { id: EARLY, at: "n 23:00", covers: [SHELL], kind: business }
  - { id: LATE, at: "n 23:30", covers: [NOLIMIT], kind: business }
"#;
        let (sources, c) = compile_str("timing.yaml", text);
        let workflow = c.workflow.unwrap_or_else(|| {
            panic!(
                "{}",
                warden_core::diagnostics::render_text(&sources, &c.diagnostics)
            )
        });
        workflow
            .instantiate("2025-03-04".parse().expect("date"), &Default::default())
            .expect("plan")
    }

    #[tokio::test(start_paused = true)]
    async fn real_work_is_timed_in_real_time_and_simulated_work_on_the_runs_clock() {
        let p = plan();
        let clock = AcceleratedClock::new(p.start, 600.0);
        let none = BuiltinSettings::default();
        let timed = real_work_timeouts(&p, &clock, &none).expect("an accelerated clock changes it");
        // The shell job's 30 minutes are 30 real minutes: 300 hours of a 600x clock.
        assert_eq!(timed.jobs[0].timeout, Some(TimeDelta::hours(300)));
        // The simulated job keeps its 30 minutes of the run's clock.
        assert_eq!(timed.jobs[1].timeout, Some(TimeDelta::minutes(30)));
        assert_eq!(timed.jobs[2].timeout, None);
        // On the real clock the two are the same: nothing changes.
        assert!(real_work_timeouts(&p, &SystemClock, &none).is_none());
        assert_eq!(real_work_jobs(&p, &none), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_says_which_clock_it_was_counted_on() {
        let p = plan();
        let clock = AcceleratedClock::new(p.start, 600.0);
        let real = std::time::Duration::from_secs(3);
        let real_work = timeout_note(TimeDelta::minutes(30), true, real, &clock);
        assert!(real_work.contains("counted in real time"), "{real_work}");
        assert!(
            real_work.contains("it ran 3.0s real (30m on the run's clock at 600x)"),
            "{real_work}"
        );
        let simulated = timeout_note(TimeDelta::minutes(30), false, real, &clock);
        assert!(
            simulated.contains("counted on the run's clock"),
            "{simulated}"
        );
        assert!(simulated.contains("(3.0s real at 600x)"), "{simulated}");
        let plain = timeout_note(TimeDelta::minutes(30), true, real, &SystemClock);
        assert_eq!(plain, "killed at its timeout of 30m: it ran 3.0s");
    }

    #[test]
    fn past_deadlines_are_listed_earliest_first_with_what_to_do() {
        let p = plan();
        let early = p
            .deadlines
            .iter()
            .find(|d| d.id == "EARLY")
            .expect("EARLY")
            .at;
        let late = p
            .deadlines
            .iter()
            .find(|d| d.id == "LATE")
            .expect("LATE")
            .at;
        assert!(past_deadlines(&p, early - TimeDelta::seconds(1)).is_empty());
        let one = past_deadlines(&p, early + TimeDelta::minutes(20));
        assert_eq!(
            one,
            [PastDeadline {
                id: "EARLY".into(),
                at: early,
                ago: TimeDelta::minutes(20)
            }]
        );
        let both = past_deadlines(&p, late + TimeDelta::hours(1));
        assert_eq!(
            both.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["EARLY", "LATE"]
        );
        let text = past_deadlines_refusal(&p, &both);
        assert!(text.contains("2 deadlines already past"), "{text}");
        assert!(
            text.contains("EARLY was due 2025-03-04 23:00 EST (1h30m ago)"),
            "{text}"
        );
        assert!(
            text.contains("--speed 3600") && text.contains("--late"),
            "{text}"
        );
    }
}
