//! The state machine's execution semantics, on small plans and a hand-driven clock.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::diagnostics::render_text;
use crate::plan::PlanOptions;
use crate::workflow::compile_str;

fn plan(jobs: &str) -> Plan {
    let text = format!(
        r#"
cycle: t
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
resources:
  - {{ id: tables }}
days:
  - {{ id: n, window: {{ opens: "22:00", closes: "04:00" }} }}
defaults: {{ builtin: sleep }}
jobs:
{jobs}
"#
    );
    let (sources, c) = compile_str("t.yaml", &text);
    let w = c
        .workflow
        .unwrap_or_else(|| panic!("{}", render_text(&sources, &c.diagnostics)));
    w.instantiate("2025-03-04".parse().expect("date"), &PlanOptions::default())
        .expect("plans")
}

fn dispatched(actions: &[Action]) -> Vec<(JobIdx, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch { job, attempt, .. } => Some((*job, *attempt)),
            _ => None,
        })
        .collect()
}

fn at(p: &Plan, minutes: i64) -> DateTime<Utc> {
    p.start + TimeDelta::minutes(minutes)
}

fn finished(job: JobIdx, attempt: u32, outcome: Outcome) -> Event {
    Event::Finished {
        job,
        attempt,
        outcome,
    }
}

const FAILED: Outcome = Outcome::Failed { exit_code: Some(1) };

#[test]
fn dependencies_gate_dispatch_and_completion_is_reported_once() {
    let p = plan("  - { id: A, estimate: 10m }\n  - { id: B, after: [A], estimate: 5m }");
    let mut m = Machine::new(&p);
    assert_eq!(dispatched(&m.apply(&p, at(&p, 0), [])), [(0, 1)]);
    let actions = m.apply(&p, at(&p, 10), [finished(0, 1, Outcome::Succeeded)]);
    assert_eq!(dispatched(&actions), [(1, 1)]);
    let actions = m.apply(&p, at(&p, 15), [finished(1, 1, Outcome::Succeeded)]);
    assert!(actions.contains(&Action::Complete));
    assert!(m.is_complete());
    assert!(
        !m.apply(&p, at(&p, 16), []).contains(&Action::Complete),
        "reported once"
    );
}

#[test]
fn nothing_starts_before_the_window_opens() {
    let p = plan("  - { id: A, estimate: 10m }");
    let mut m = Machine::new(&p);
    let actions = m.apply(&p, at(&p, -30), []);
    assert!(dispatched(&actions).is_empty());
    assert_eq!(actions, [Action::WakeAt(p.start)]);
    assert_eq!(dispatched(&m.apply(&p, p.start, [])), [(0, 1)]);
}

#[test]
fn stale_attempts_are_fenced() {
    let p = plan("  - { id: A, estimate: 10m, retries: 1, retry_backoff: 1m }");
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    m.apply(&p, at(&p, 1), [Event::Started { job: 0, attempt: 1 }]);
    m.apply(&p, at(&p, 5), [finished(0, 1, FAILED)]);
    let actions = m.apply(&p, at(&p, 6), []);
    assert_eq!(dispatched(&actions), [(0, 2)], "retried as attempt 2");
    // A late report from attempt 1 (a worker that lost its lease) changes nothing.
    m.apply(&p, at(&p, 7), [finished(0, 1, Outcome::Succeeded)]);
    assert!(matches!(
        m.status(0),
        JobStatus::Dispatched { attempt: 2, .. }
    ));
    // A duplicate success is recorded once.
    m.apply(
        &p,
        at(&p, 20),
        [
            finished(0, 2, Outcome::Succeeded),
            finished(0, 2, Outcome::Succeeded),
        ],
    );
    assert!(matches!(
        m.status(0),
        JobStatus::Succeeded { attempt: 2, .. }
    ));
    assert!(m.is_complete());
}

#[test]
fn retries_back_off_exponentially_then_fail() {
    let p = plan(
        "  - { id: A, estimate: 10m, retries: 2, retry_backoff: 4m }\n  - { id: B, after: [A], estimate: 1m }",
    );
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    let actions = m.apply(&p, at(&p, 10), [finished(0, 1, FAILED)]);
    assert_eq!(actions, [Action::WakeAt(at(&p, 14))], "first backoff 4m");
    assert_eq!(dispatched(&m.apply(&p, at(&p, 14), [])), [(0, 2)]);
    let actions = m.apply(&p, at(&p, 20), [finished(0, 2, Outcome::TimedOut)]);
    assert_eq!(
        actions,
        [Action::WakeAt(at(&p, 28))],
        "second backoff doubles to 8m"
    );
    assert_eq!(dispatched(&m.apply(&p, at(&p, 28), [])), [(0, 3)]);
    m.apply(&p, at(&p, 30), [finished(0, 3, FAILED)]);
    assert!(matches!(m.status(0), JobStatus::Failed { attempt: 3, .. }));
    assert_eq!(
        m.status(1),
        JobStatus::Waiting,
        "dependents wait for an operator"
    );
    // Rerun from the failure: attempt 4, and the dependent then runs.
    let actions = m.apply(
        &p,
        at(&p, 40),
        [Event::Operator {
            job: 0,
            command: Command::Rerun,
        }],
    );
    assert_eq!(dispatched(&actions), [(0, 4)]);
    let actions = m.apply(&p, at(&p, 50), [finished(0, 4, Outcome::Succeeded)]);
    assert_eq!(dispatched(&actions), [(1, 1)]);
}

#[test]
fn timeouts_kill_the_running_attempt() {
    let p = plan("  - { id: A, estimate: 10m, timeout: 30m }");
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    let actions = m.apply(&p, at(&p, 2), [Event::Started { job: 0, attempt: 1 }]);
    assert_eq!(actions, [Action::WakeAt(at(&p, 32))]);
    let actions = m.apply(&p, at(&p, 32), []);
    assert_eq!(
        actions,
        [Action::Kill {
            job: 0,
            attempt: 1,
            reason: KillReason::Timeout
        }]
    );
    // The driver reports the kill; no retries are configured, so the job fails.
    m.apply(&p, at(&p, 32), [finished(0, 1, Outcome::TimedOut)]);
    assert!(matches!(m.status(0), JobStatus::Failed { .. }));
}

#[test]
fn exclusive_resources_have_one_holder() {
    let p = plan(
        "  - { id: A, estimate: 10m, uses: [tables] }\n  - { id: B, estimate: 20m, uses: [tables] }",
    );
    let mut m = Machine::new(&p);
    let first = dispatched(&m.apply(&p, at(&p, 0), []));
    assert_eq!(first.len(), 1, "only one holder at a time");
    let (job, attempt) = first[0];
    let second = dispatched(&m.apply(&p, at(&p, 20), [finished(job, attempt, Outcome::Succeeded)]));
    assert_eq!(second, [(1 - job, 1)]);
}

#[test]
fn hold_release_skip_kill_and_force_complete() {
    let p = plan(
        "  - { id: A, estimate: 10m }\n  - { id: B, after: [A], estimate: 5m }\n  - { id: C, after: [B], estimate: 5m }",
    );
    let mut m = Machine::new(&p);
    m.apply(
        &p,
        at(&p, -1),
        [Event::Operator {
            job: 0,
            command: Command::Hold,
        }],
    );
    assert!(dispatched(&m.apply(&p, at(&p, 0), [])).is_empty(), "held");
    let actions = m.apply(
        &p,
        at(&p, 5),
        [Event::Operator {
            job: 0,
            command: Command::Release,
        }],
    );
    assert_eq!(dispatched(&actions), [(0, 1)]);
    // Kill the running attempt: it fails without an automatic retry.
    let actions = m.apply(
        &p,
        at(&p, 6),
        [Event::Operator {
            job: 0,
            command: Command::Kill,
        }],
    );
    assert_eq!(
        actions,
        [Action::Kill {
            job: 0,
            attempt: 1,
            reason: KillReason::Operator
        }]
    );
    assert!(matches!(m.status(0), JobStatus::Failed { .. }));
    // Skip the failed job: its dependent goes on.
    let actions = m.apply(
        &p,
        at(&p, 7),
        [Event::Operator {
            job: 0,
            command: Command::Skip,
        }],
    );
    assert_eq!(dispatched(&actions), [(1, 1)]);
    // Force-complete the running dependent: it is killed and counts as succeeded.
    let actions = m.apply(
        &p,
        at(&p, 8),
        [Event::Operator {
            job: 1,
            command: Command::ForceComplete,
        }],
    );
    assert!(actions.contains(&Action::Kill {
        job: 1,
        attempt: 1,
        reason: KillReason::Operator
    }));
    assert_eq!(dispatched(&actions), [(2, 1)]);
    m.apply(&p, at(&p, 13), [finished(2, 1, Outcome::Succeeded)]);
    assert!(m.is_complete());
}

#[test]
fn a_lost_attempt_runs_again_without_using_a_retry() {
    let p = plan("  - { id: A, estimate: 10m, retries: 0 }");
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    let actions = m.apply(&p, at(&p, 3), [finished(0, 1, Outcome::Lost)]);
    assert_eq!(
        dispatched(&actions),
        [(0, 2)],
        "re-dispatched at once as attempt 2"
    );
    m.apply(&p, at(&p, 13), [finished(0, 2, Outcome::Succeeded)]);
    assert!(m.is_complete());
}

#[test]
fn a_lost_attempt_of_an_on_lost_fail_job_waits_for_an_operator() {
    // PAY-EFT-like: generating payment files must not run twice unseen.
    let p = plan(
        "  - { id: A, estimate: 10m, retries: 3, on_lost: fail }\n  - { id: B, after: [A], estimate: 1m }",
    );
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    m.apply(&p, at(&p, 1), [Event::Started { job: 0, attempt: 1 }]);
    let actions = m.apply(&p, at(&p, 3), [finished(0, 1, Outcome::Lost)]);
    assert!(
        dispatched(&actions).is_empty(),
        "not re-dispatched, retries or not: {actions:?}"
    );
    assert!(matches!(m.status(0), JobStatus::Failed { attempt: 1, .. }));
    assert!(
        dispatched(&m.apply(&p, at(&p, 30), [])).is_empty(),
        "nothing runs until an operator says so"
    );
    assert_eq!(m.status(1), JobStatus::Waiting);
    // The operator checked the payment files and reruns it: attempt 2, then the dependent.
    let actions = m.apply(
        &p,
        at(&p, 40),
        [Event::Operator {
            job: 0,
            command: Command::Rerun,
        }],
    );
    assert_eq!(dispatched(&actions), [(0, 2)]);
    let actions = m.apply(&p, at(&p, 50), [finished(0, 2, Outcome::Succeeded)]);
    assert_eq!(dispatched(&actions), [(1, 1)]);
}

#[test]
fn on_lost_defaults_to_rerun_and_can_be_set_in_defaults() {
    let p = plan("  - { id: A, estimate: 10m }\n  - { id: B, estimate: 10m, on_lost: fail }");
    assert_eq!(p.jobs[0].on_lost, OnLost::Rerun);
    assert_eq!(p.jobs[1].on_lost, OnLost::Fail);
    let text = "cycle: t\ntimezone: UTC\nschedule: { cron: \"0 22 * * *\" }\n\
        days: [{ id: n, window: { opens: \"22:00\", closes: \"04:00\" } }]\n\
        defaults: { builtin: sleep, on_lost: fail }\n\
        jobs: [{ id: A, estimate: 1m }, { id: B, estimate: 1m, on_lost: rerun }]\n";
    let (_, c) = compile_str("t.yaml", text);
    let w = c.workflow.expect("compiles");
    assert_eq!(w.jobs[0].on_lost, OnLost::Fail, "from defaults");
    assert_eq!(w.jobs[1].on_lost, OnLost::Rerun, "the job's own wins");
}

#[test]
fn simulate_until_stops_with_jobs_done_running_and_queued() {
    let p = plan(
        "  - { id: A, estimate: 10m }\n  - { id: B, after: [A], estimate: 30m }\n  - { id: C, after: [B], estimate: 5m }",
    );
    let (m, timeline) = crate::sched::simulate_until(&p, at(&p, 25), |j| p.jobs[j].duration);
    let idx = |id| p.job_index(id).expect("job");
    assert_eq!(
        m.status(idx("A")),
        JobStatus::Succeeded {
            attempt: 1,
            at: at(&p, 10)
        }
    );
    assert_eq!(
        m.status(idx("B")),
        JobStatus::Running {
            attempt: 1,
            since: at(&p, 10)
        }
    );
    assert_eq!(m.status(idx("C")), JobStatus::Waiting);
    assert_eq!(
        timeline.dispatched(idx("B")).map(|d| d.at),
        Some(at(&p, 10))
    );
    // Stopping exactly at a finish: the dependent is queued, not started.
    let (m, _) = crate::sched::simulate_until(&p, at(&p, 40), |j| p.jobs[j].duration);
    assert!(
        matches!(m.status(idx("C")), JobStatus::Dispatched { .. }),
        "{:?}",
        m.status(idx("C"))
    );
}

/// An attempt that ended leaves no wake-up at its timeout: a run with nothing left to do
/// must not wait for a timeout that can no longer fire (an accelerated clock's real-time
/// timeouts are hours of the run's clock).
#[test]
fn a_finished_attempt_leaves_no_wake_up_at_its_timeout() {
    let p = plan("  - { id: A, estimate: 10m, timeout: 5h }\n  - { id: B, estimate: 10m }");
    let mut m = Machine::new(&p);
    m.apply(&p, at(&p, 0), []);
    let actions = m.apply(
        &p,
        at(&p, 1),
        [
            Event::Started { job: 0, attempt: 1 },
            Event::Started { job: 1, attempt: 1 },
        ],
    );
    assert!(
        actions.contains(&Action::WakeAt(at(&p, 301))),
        "A's timeout is a wake-up while it runs: {actions:?}"
    );
    let actions = m.apply(&p, at(&p, 11), [finished(0, 1, Outcome::Succeeded)]);
    assert!(
        !actions.iter().any(|a| matches!(a, Action::WakeAt(_))),
        "A ended: nothing is due any more: {actions:?}"
    );
}
