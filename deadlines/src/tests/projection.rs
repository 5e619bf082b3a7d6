//! Projection from live state and its Monte Carlo, on small cycles driven through the real
//! scheduling machine.

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::plan::{Plan, PlanOptions};
use warden_core::sched::{Action, Command, Event, Machine, Outcome, Timeline, simulate};
use warden_core::workflow::JobIdx;

use super::{tuesday, workflow};
use crate::{
    Assumption, EstimateSource, Estimates, HistorySample, JobProgress, LiveRun, Phase, breach_risk,
    critical_chain, project,
};

/// A plan and a live machine the test drives by hand.
struct Live {
    plan: Plan,
    machine: Machine,
    timeline: Timeline,
    now: DateTime<Utc>,
}

impl Live {
    fn new(jobs: &str) -> Self {
        let plan = workflow(jobs)
            .instantiate(tuesday(), &PlanOptions::default())
            .expect("plans");
        let machine = Machine::new(&plan);
        let timeline = Timeline::new(&plan);
        let now = plan.start;
        let mut live = Self {
            plan,
            machine,
            timeline,
            now,
        };
        live.step(Vec::new());
        live
    }

    fn job(&self, id: &str) -> JobIdx {
        self.plan.job_index(id).expect("job exists")
    }

    /// Applies events at the current time; starts every dispatch at once.
    fn step(&mut self, events: Vec<Event>) {
        let actions = self.machine.apply(&self.plan, self.now, events);
        self.timeline.record(self.now, &actions);
        let starts: Vec<Event> = actions
            .iter()
            .filter_map(|a| match *a {
                Action::Dispatch { job, attempt, .. } => Some(Event::Started { job, attempt }),
                _ => None,
            })
            .collect();
        if !starts.is_empty() {
            let actions = self.machine.apply(&self.plan, self.now, starts);
            self.timeline.record(self.now, &actions);
        }
    }

    fn at(&mut self, minutes: i64) {
        self.now = self.plan.start + TimeDelta::minutes(minutes);
        self.step(Vec::new());
    }

    fn finish(&mut self, id: &str, outcome: Outcome) {
        let job = self.job(id);
        let attempt = match self.machine.status(job) {
            warden_core::sched::JobStatus::Running { attempt, .. } => attempt,
            other => panic!("{id} is not running: {other:?}"),
        };
        self.step(vec![Event::Finished {
            job,
            attempt,
            outcome,
        }]);
    }

    fn live<'a>(&'a self, progress: &'a [Option<JobProgress>]) -> LiveRun<'a> {
        LiveRun {
            machine: &self.machine,
            timeline: &self.timeline,
            now: self.now,
            progress,
        }
    }
}

const CHAIN: &str = r#"
jobs:
  - { id: EXTRACT, day: n1, estimate: 60m }
  - { id: ADJUD, day: n1, after: [EXTRACT], estimate: 120m }
  - { id: POST, day: n1, after: [ADJUD], estimate: 30m }
deadlines:
  - { id: close, at: "n1 window-closes", covers: [POST], kind: window }
"#;

#[test]
fn a_run_that_has_not_started_projects_exactly_its_plan() {
    let live = Live::new(CHAIN);
    let planned = simulate(&live.plan);
    let p = project(
        &live.plan,
        &live.live(&[]),
        &Estimates::from_plan(&live.plan),
    );
    // EXTRACT is dispatched at the window's opening: running, projected to take its estimate.
    assert_eq!(p.phases[live.job("EXTRACT")], Phase::Running);
    for j in 0..live.plan.jobs.len() {
        assert_eq!(p.schedule.jobs[j].start, planned.jobs[j].start, "{j}");
        assert_eq!(p.schedule.jobs[j].finish, planned.jobs[j].finish, "{j}");
    }
    // 22:00 + 210 min = 01:30; the window closes at 04:00.
    assert_eq!(p.margins[0].margin, TimeDelta::minutes(150));
}

#[test]
fn reported_progress_projects_the_remainder_at_the_observed_rate() {
    let mut live = Live::new(CHAIN);
    live.at(70);
    live.finish("EXTRACT", Outcome::Succeeded);
    // ADJUD started at +70; at +200 (130 minutes in) it has done 65 % of its claims: the
    // remaining 35 % at the same rate take 70 minutes, not the 120 − 130 the estimate says.
    live.at(200);
    let adjud = live.job("ADJUD");
    let mut progress = vec![None; live.plan.jobs.len()];
    progress[adjud] = Some(JobProgress {
        done: 6_500_000,
        total: 10_000_000,
    });
    let p = project(
        &live.plan,
        &live.live(&progress),
        &Estimates::from_plan(&live.plan),
    );
    assert_eq!(p.phases[live.job("EXTRACT")], Phase::Done);
    assert_eq!(
        p.schedule.jobs[live.job("EXTRACT")].finish,
        live.plan.start + TimeDelta::minutes(70),
        "a finished job keeps its actual finish"
    );
    assert_eq!(
        p.schedule.jobs[adjud].finish,
        live.now + TimeDelta::minutes(70)
    );
    let post = live.job("POST");
    assert_eq!(
        p.schedule.jobs[post].start,
        live.now + TimeDelta::minutes(70)
    );
    // Finish at +300 (03:00): 60 minutes of margin to 04:00.
    assert_eq!(p.margins[0].margin, TimeDelta::minutes(60));
    // The chain runs through the actual EXTRACT, the running ADJUD and the projected POST.
    let chain = critical_chain(&live.plan, &p.schedule, &[post]).expect("chain");
    let ids: Vec<&str> = chain
        .jobs
        .iter()
        .map(|j| live.plan.jobs[*j].id.as_str())
        .collect();
    assert_eq!(ids, ["EXTRACT", "ADJUD", "POST"]);
    assert_eq!(chain.start, live.plan.start);

    // Without progress the estimate decides: 120 − 130 < 0, so an overrun of 12 minutes.
    let p = project(
        &live.plan,
        &live.live(&[]),
        &Estimates::from_plan(&live.plan),
    );
    assert_eq!(
        p.schedule.jobs[adjud].finish,
        live.now + TimeDelta::minutes(12)
    );
}

#[test]
fn a_job_failed_for_good_is_assumed_rerun_now() {
    let mut live = Live::new(
        r#"
jobs:
  - { id: A, day: n1, estimate: 60m, retries: 0 }
  - { id: B, day: n1, after: [A], estimate: 30m }
deadlines:
  - { id: close, at: "n1 window-closes", covers: [B], kind: window }
"#,
    );
    live.at(60);
    live.finish("A", Outcome::Failed { exit_code: Some(8) });
    live.at(90);
    let p = project(
        &live.plan,
        &live.live(&[]),
        &Estimates::from_plan(&live.plan),
    );
    let a = live.job("A");
    assert_eq!(p.assumptions, vec![Assumption::RerunNow { job: a }]);
    assert_eq!(p.schedule.jobs[a].start, live.now);
    assert_eq!(
        p.schedule.jobs[live.job("B")].finish,
        live.now + TimeDelta::minutes(90)
    );
}

#[test]
fn a_held_job_is_assumed_released_now() {
    let mut live = Live::new(
        r#"
jobs:
  - { id: A, day: n1, estimate: 60m }
  - { id: B, day: n1, after: [A], estimate: 30m }
"#,
    );
    let b = live.job("B");
    live.step(vec![Event::Operator {
        job: b,
        command: Command::Hold,
    }]);
    live.at(60);
    live.finish("A", Outcome::Succeeded);
    live.at(100);
    let p = project(
        &live.plan,
        &live.live(&[]),
        &Estimates::from_plan(&live.plan),
    );
    assert_eq!(p.assumptions, vec![Assumption::ReleasedNow { job: b }]);
    assert_eq!(p.schedule.jobs[b].start, live.now);
}

#[test]
fn projection_honours_exclusive_resources_and_not_before_times() {
    let mut live = Live::new(
        r#"
jobs:
  - { id: X, day: n1, estimate: 60m, uses: [fee-tables] }
  - { id: Y, day: n1, estimate: 30m, uses: [fee-tables] }
  - { id: LATE, day: n1, estimate: 10m, not_before: "23:30" }
"#,
    );
    live.at(20);
    let p = project(
        &live.plan,
        &live.live(&[]),
        &Estimates::from_plan(&live.plan),
    );
    let (x, y) = (live.job("X"), live.job("Y"));
    let (first, second) = if p.schedule.jobs[x].start < p.schedule.jobs[y].start {
        (x, y)
    } else {
        (y, x)
    };
    assert!(
        p.schedule.jobs[first].finish <= p.schedule.jobs[second].start,
        "never two holders of an exclusive resource"
    );
    assert_eq!(
        p.schedule.jobs[live.job("LATE")].start,
        live.plan.start + TimeDelta::minutes(90)
    );
}

#[test]
fn history_replaces_the_estimate_scaled_by_volume() {
    let plan = workflow(
        r#"
streams:
  - { id: A, volume: 20M }
jobs:
  - { id: ELASTIC, day: n1, stream: A, estimate: 100m, elasticity: 1.0 }
  - { id: FLAT, day: n1, stream: A, estimate: 100m, elasticity: 0 }
  - { id: NEW, day: n1, stream: A, estimate: 100m }
"#,
    )
    .instantiate(tuesday(), &PlanOptions::default())
    .expect("plans");
    // Past runs at half the volume took 40, 50 and 60 minutes.
    let history: Vec<HistorySample> = ["ELASTIC.A", "FLAT.A"]
        .iter()
        .flat_map(|id| {
            [40.0, 50.0, 60.0].map(|m| HistorySample {
                job_id: id.to_string(),
                volume: 10_000_000,
                seconds: m * 60.0,
            })
        })
        .chain([HistorySample {
            job_id: "NEW.A".into(),
            volume: 20_000_000,
            seconds: 60.0,
        }])
        .collect();
    let e = Estimates::from_history(&plan, &history);
    let idx = |id| plan.job_index(id).expect("job");
    // Elastic: per claim, so twice the volume takes twice the median 50 minutes.
    assert_eq!(e.central(idx("ELASTIC.A")), TimeDelta::minutes(100));
    assert_eq!(
        e.job(idx("ELASTIC.A")).source,
        EstimateSource::History { runs: 3 }
    );
    // Elasticity 0: volume does not matter.
    assert_eq!(e.central(idx("FLAT.A")), TimeDelta::minutes(50));
    // One run is not enough history: the plan's estimate stands.
    assert_eq!(e.central(idx("NEW.A")), TimeDelta::minutes(100));
    assert_eq!(e.job(idx("NEW.A")).source, EstimateSource::Plan);
}

#[test]
fn monte_carlo_is_seeded_and_reflects_the_margin() {
    let live = Live::new(
        r#"
jobs:
  - { id: A, day: n1, estimate: 2h }
  - { id: B, day: n1, after: [A], estimate: 2h }
deadlines:
  - { id: roomy, at: "n1 window-closes", covers: [B], kind: window }
  - { id: tight, at: "n1 +1d 02:00", covers: [B], kind: business }
  - { id: hopeless, at: "n1 23:00", covers: [B], kind: business }
"#,
    );
    let e = Estimates::from_plan(&live.plan);
    let risk = breach_risk(&live.plan, &live.live(&[]), &e, 400, 7);
    assert_eq!(risk, breach_risk(&live.plan, &live.live(&[]), &e, 400, 7));
    let p = |d: usize| risk[d].p_miss();
    // Planned finish 02:00: 2 h spare for `roomy`, none for `tight`, 3 h late for `hopeless`.
    assert!(p(0) < 0.01, "roomy {}", p(0));
    assert!((0.3..0.7).contains(&p(1)), "tight {}", p(1));
    assert!(p(2) > 0.99, "hopeless {}", p(2));
    for r in &risk {
        assert!(r.p50_finish <= r.p90_finish);
        assert_eq!(r.samples, 400);
    }
    // The median lands near the planned finish.
    let planned = live.plan.start + TimeDelta::hours(4);
    assert!((risk[1].p50_finish - planned).abs() < TimeDelta::minutes(15));
}

#[test]
fn the_diagnosis_names_the_overrunning_job_and_when_the_deadline_needs_it() {
    let mut live = Live::new(CHAIN);
    live.at(70);
    live.finish("EXTRACT", Outcome::Succeeded);
    live.at(200);
    let adjud = live.job("ADJUD");
    let mut progress = vec![None; live.plan.jobs.len()];
    progress[adjud] = Some(JobProgress {
        done: 6_500_000,
        total: 10_000_000,
    });
    let estimates = Estimates::from_plan(&live.plan);
    let p = project(&live.plan, &live.live(&progress), &estimates);
    let d = crate::diagnose(&live.live(&progress), &p, &estimates);
    assert_eq!(d.len(), 1);
    let d = &d[0];
    // ADJUD: 130 minutes in at 65 %: 70 more at that rate, so it runs 200 of its 120.
    // POST then finishes at +300; the window closes at +360: margin 60.
    assert_eq!(d.margin, TimeDelta::minutes(60));
    let names: Vec<&str> = d
        .steps
        .iter()
        .map(|s| live.plan.jobs[s.job].id.as_str())
        .collect();
    assert_eq!(names, ["EXTRACT", "ADJUD", "POST"]);
    let first = &d.steps[d.first_look.expect("a job to look at")];
    assert_eq!(live.plan.jobs[first.job].id, "ADJUD");
    assert_eq!(first.state, crate::StepState::Running);
    assert_eq!(first.elapsed, Some(TimeDelta::minutes(130)));
    assert_eq!(first.overrun, TimeDelta::minutes(80));
    assert_eq!(first.progress, Some(0.65));
    assert_eq!(first.finish, live.plan.start + TimeDelta::minutes(270));
    assert_eq!(first.needed_by, live.plan.start + TimeDelta::minutes(330));
    assert_eq!(d.steps[0].state, crate::StepState::Done);
    assert_eq!(
        d.steps[0].overrun,
        TimeDelta::minutes(10),
        "EXTRACT ran 70 of 60"
    );
    assert_eq!(d.overrun_total, TimeDelta::minutes(90));
}

#[test]
fn a_failed_step_is_the_one_to_look_at_first() {
    let mut live = Live::new(CHAIN);
    live.at(70);
    live.finish("EXTRACT", Outcome::Failed { exit_code: Some(1) });
    let estimates = Estimates::from_plan(&live.plan);
    let p = project(&live.plan, &live.live(&[]), &estimates);
    let d = crate::diagnose(&live.live(&[]), &p, &estimates);
    let first = &d[0].steps[d[0].first_look.expect("a job to look at")];
    assert_eq!(live.plan.jobs[first.job].id, "EXTRACT");
    assert_eq!(first.state, crate::StepState::Failed);
}

#[test]
fn moves_are_projected_with_their_effect_on_the_margin() {
    use crate::{Move, margin_changes, project_moves};
    use warden_core::sched::Command;
    let mut live = Live::new(CHAIN);
    live.at(30);
    let estimates = Estimates::from_plan(&live.plan);
    let before = project(&live.plan, &live.live(&[]), &estimates);
    assert_eq!(before.margins[0].margin, TimeDelta::minutes(150));
    let after = |moves: &[Move]| {
        let p = project_moves(
            &live.plan,
            &live.live(&[]),
            &estimates,
            moves,
            TimeDelta::minutes(60),
        );
        margin_changes(&before, &p)[0]
    };
    let (extract, adjud, post) = (live.job("EXTRACT"), live.job("ADJUD"), live.job("POST"));
    // Held for an hour from +30: ADJUD starts at +90, not +60: 30 minutes lost.
    let hold = after(&[Move::Command {
        job: adjud,
        command: Command::Hold,
    }]);
    assert_eq!(hold.after, TimeDelta::minutes(120));
    assert_eq!(hold.gain(), TimeDelta::minutes(-30));
    // Killed at +30 and rerun at once: EXTRACT starts over, 30 minutes lost.
    let kill = after(&[Move::Command {
        job: extract,
        command: Command::Kill,
    }]);
    assert_eq!(kill.after, TimeDelta::minutes(120));
    // Skipping POST (the covered job) marks it done now, at +30: what it covers is done.
    let skip = after(&[Move::Command {
        job: post,
        command: Command::Skip,
    }]);
    assert_eq!(skip.after, TimeDelta::minutes(330));
    // ADJUD 45 minutes slower.
    let delay = after(&[Move::Delay {
        job: adjud,
        by: TimeDelta::minutes(45),
    }]);
    assert_eq!(delay.after, TimeDelta::minutes(105));
    // Nothing moved: the same margin.
    assert_eq!(after(&[]).gain(), TimeDelta::zero());
}
