//! Critical chains, margins and slack on small hand-checked cycles.

use chrono::TimeDelta;
use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::workflow::{Mode, Workflow, compile_str};

use crate::{ChainLink, analyse};

mod escalation;
mod projection;

pub(crate) fn workflow(jobs_and_deadlines: &str) -> Workflow {
    let text = format!(
        r#"
cycle: t
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
resources:
  - {{ id: fee-tables }}
roles:
  - {{ id: on-call }}
  - {{ id: compliance }}
  - {{ id: counsel }}
days:
  - {{ id: n1, window: {{ opens: "22:00", closes: "04:00" }} }}
  - {{ id: n2, window: {{ opens: "22:00", closes: "04:00" }}, start: when_ready }}
defaults: {{ builtin: sleep }}
{jobs_and_deadlines}
"#
    );
    let (sources, c) = compile_str("t.yaml", &text);
    assert!(!c.has_errors(), "{}", render_text(&sources, &c.diagnostics));
    c.workflow.expect("compiles")
}

pub(crate) fn tuesday() -> DateSpec {
    "2025-03-04".parse().expect("date")
}

fn names(a: &crate::Analysis, jobs: &[usize]) -> Vec<String> {
    jobs.iter().map(|j| a.plan.jobs[*j].id.clone()).collect()
}

#[test]
fn chain_follows_the_longest_branch() {
    let w = workflow(
        r#"
jobs:
  - { id: A, day: n1, estimate: 10m }
  - { id: SHORT, day: n1, after: [A], estimate: 5m }
  - { id: LONG, day: n1, after: [A], estimate: 50m }
  - { id: Z, day: n1, after: [SHORT, LONG], estimate: 10m }
deadlines:
  - { id: dl, at: "n1 window-closes", covers: [Z], kind: business }
"#,
    );
    let a = analyse(&w, tuesday(), &PlanOptions::default()).expect("plans");
    let chain = a.critical.as_ref().expect("chain");
    assert_eq!(names(&a, &chain.jobs), ["A", "LONG", "Z"]);
    assert_eq!(chain.length(), TimeDelta::minutes(70));
    // Window 22:00–04:00 = 6 h; finish at 23:10 → margin 4h50m.
    assert_eq!(a.margins[0].margin, TimeDelta::minutes(290));
    // SHORT can slip 45 minutes before it delays Z's deadline... plus Z's own margin.
    let short = a.plan.job_index("SHORT").expect("exists");
    assert_eq!(a.slack[short], Some(TimeDelta::minutes(45 + 290)));
    let long = a.plan.job_index("LONG").expect("exists");
    assert_eq!(a.slack[long], Some(TimeDelta::minutes(290)));
}

#[test]
fn chain_crosses_resource_waits() {
    // X and Y both need the exclusive fee tables; Y is ready at the same time but X has the
    // longer tail, so Y waits for X and the chain runs through the wait.
    let w = workflow(
        r#"
jobs:
  - { id: X, day: n1, estimate: 30m, uses: [fee-tables] }
  - { id: XTAIL, day: n1, after: [X], estimate: 30m }
  - { id: Y, day: n1, estimate: 20m, uses: [fee-tables] }
  - { id: END, day: n1, after: [XTAIL, Y], estimate: 10m }
"#,
    );
    let a = analyse(&w, tuesday(), &PlanOptions::default()).expect("plans");
    let y = a.plan.job_index("Y").expect("exists");
    let x = a.plan.job_index("X").expect("exists");
    assert_eq!(
        a.schedule.jobs[y].start, a.schedule.jobs[x].finish,
        "Y waits for X's release"
    );
    let chain = crate::critical_chain(&a.plan, &a.schedule, &[y]).expect("chain");
    assert_eq!(names(&a, &chain.jobs), ["X", "Y"]);
    assert_eq!(chain.links[1], ChainLink::Resource { resource: 0 });
    // Never two holders of the exclusive resource at once.
    assert!(a.schedule.jobs[x].finish <= a.schedule.jobs[y].start);
}

#[test]
fn missed_deadline_has_negative_margin() {
    let w = workflow(
        r#"
jobs:
  - { id: BIG, day: n1, estimate: 7h }
deadlines:
  - { id: dl, at: "n1 window-closes", covers: [BIG], kind: window }
"#,
    );
    let a = analyse(&w, tuesday(), &PlanOptions::default()).expect("plans");
    assert_eq!(a.margins[0].margin, TimeDelta::hours(-1));
    assert!(a.margins[0].is_missed());
}

#[test]
fn serial_mode_waits_for_the_whole_previous_day() {
    let w = workflow(
        r#"
jobs:
  - { id: D1-A, day: n1, estimate: 1h }
  - { id: D1-SLOW, day: n1, estimate: 3h }
  - { id: D2-A, day: n2, after: [D1-A], estimate: 1h }
"#,
    );
    let run = |mode| {
        let options = PlanOptions {
            mode: Some(mode),
            volumes: Vec::new(),
        };
        let a = analyse(&w, tuesday(), &options).expect("plans");
        let d2 = a.plan.job_index("D2-A").expect("exists");
        a.schedule.jobs[d2].start - a.plan.start
    };
    assert_eq!(run(Mode::Pipelined), TimeDelta::hours(1));
    assert_eq!(run(Mode::Serial), TimeDelta::hours(3));
}

#[test]
fn no_deadline_means_no_slack() {
    let w = workflow("jobs:\n  - { id: A, day: n1, estimate: 10m }\n");
    let a = analyse(&w, tuesday(), &PlanOptions::default()).expect("plans");
    assert_eq!(a.slack, vec![None]);
    assert!(a.margins.is_empty());
}
