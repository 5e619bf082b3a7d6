//! The escalation ladder: thresholds, hysteresis, re-notification, acknowledgement, breach.

use chrono::{DateTime, TimeDelta, Utc};
use warden_core::plan::{Plan, PlanOptions};

use super::{tuesday, workflow};
use crate::escalation::{Decision, Escalator, Level, Policy, Reading};

fn plan() -> Plan {
    workflow(
        r#"
jobs:
  - { id: A, day: n1, estimate: 1h }
deadlines:
  - id: filing
    at: "n1 window-closes"
    covers: [A]
    kind: regulatory
    escalation:
      - { margin_below: 2h, notify: [on-call], template: oncall-page }
      - { margin_below: 1h, notify: [on-call, compliance], template: compliance-escalation }
      - { p_miss_above: 0.1, notify: [compliance], template: compliance-escalation }
      - { projected_miss: true, notify: [compliance, counsel], template: regulatory-notice }
"#,
    )
    .instantiate(tuesday(), &PlanOptions::default())
    .expect("plans")
}

struct Ladder {
    plan: Plan,
    e: Escalator,
    log: Vec<(DateTime<Utc>, Decision)>,
}

impl Ladder {
    fn new() -> Self {
        let plan = plan();
        let e = Escalator::new(&plan, "run-1", Policy::default());
        Self {
            plan,
            e,
            log: Vec::new(),
        }
    }

    /// Feeds a reading `minutes` after the window opens with this margin and P(miss).
    fn read(&mut self, minutes: i64, margin_min: i64, p_miss: f64) -> Vec<Decision> {
        let now = self.plan.start + TimeDelta::minutes(minutes);
        let at = self.plan.deadlines[0].at;
        let r = Reading {
            deadline: 0,
            margin: TimeDelta::minutes(margin_min),
            projected_finish: at - TimeDelta::minutes(margin_min),
            planned_margin: Some(TimeDelta::hours(5)),
            p_miss: Some(p_miss),
            finished: None,
        };
        let out = self.e.evaluate(&self.plan, now, &[r]);
        self.log.extend(out.iter().map(|d| (now, d.clone())));
        out
    }

    fn finished(&mut self, minutes: i64, finish_offset_min: i64) -> Vec<Decision> {
        let now = self.plan.start + TimeDelta::minutes(minutes);
        let at = self.plan.deadlines[0].at;
        let finish = at + TimeDelta::minutes(finish_offset_min);
        let r = Reading {
            deadline: 0,
            margin: at - finish,
            projected_finish: finish,
            planned_margin: Some(TimeDelta::hours(5)),
            p_miss: Some(0.0),
            finished: Some(finish),
        };
        let out = self.e.evaluate(&self.plan, now, &[r]);
        self.log.extend(out.iter().map(|d| (now, d.clone())));
        out
    }
}

fn notices(ds: &[Decision]) -> Vec<(usize, u32, Level)> {
    ds.iter()
        .filter_map(|d| match d {
            Decision::Notify {
                step,
                notice,
                level,
                ..
            } => Some((*step, *notice, *level)),
            _ => None,
        })
        .collect()
}

#[test]
fn steps_fire_in_order_and_the_level_follows_the_worst() {
    let mut l = Ladder::new();
    assert!(l.read(0, 300, 0.0).is_empty());
    assert_eq!(l.e.level(0), Level::Ok);
    assert_eq!(notices(&l.read(10, 110, 0.0)), [(0, 1, Level::Warning)]);
    assert_eq!(l.e.level(0), Level::Warning);
    assert_eq!(notices(&l.read(20, 50, 0.0)), [(1, 1, Level::Escalated)]);
    assert_eq!(l.e.level(0), Level::Escalated);
    let out = l.read(25, 40, 0.3);
    assert_eq!(notices(&out), [(2, 1, Level::Escalated)]);
    let out = l.read(28, -15, 0.8);
    assert_eq!(notices(&out), [(3, 1, Level::BreachProjected)]);
    assert_eq!(l.e.level(0), Level::BreachProjected);
    match &out[0] {
        Decision::Notify {
            roles,
            template,
            key,
            trigger,
            ..
        } => {
            assert_eq!(roles, &vec![1, 2], "compliance and counsel");
            assert_eq!(template.as_deref(), Some("regulatory-notice"));
            assert_eq!(key, "run-1/filing/s4/a1/n1");
            assert_eq!(trigger, "projected to miss");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_margin_wobbling_around_a_threshold_notifies_once() {
    let mut l = Ladder::new();
    assert_eq!(notices(&l.read(0, 119, 0.0)).len(), 1);
    // 2 h threshold: the band is max(5 min, 10 % of 2 h = 12 min).
    for (i, m) in [121, 118, 125, 131, 119].iter().enumerate() {
        let out = l.read(1 + i as i64, *m, 0.0);
        assert!(out.is_empty(), "reading {m}: {out:?}");
    }
    let out = l.read(10, 133, 0.0);
    assert!(
        matches!(out[0], Decision::Cleared { step: 0, .. }),
        "{out:?}"
    );
    assert_eq!(l.e.level(0), Level::Ok);
    // Falling again is a new activation with a new key.
    let out = l.read(11, 100, 0.0);
    match &out[0] {
        Decision::Notify {
            activation, key, ..
        } => {
            assert_eq!(*activation, 2);
            assert_eq!(key, "run-1/filing/s1/a2/n1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn p_miss_has_a_band_too() {
    let mut l = Ladder::new();
    assert_eq!(notices(&l.read(0, 180, 0.15)), [(2, 1, Level::Escalated)]);
    // Threshold 10 %: clears below 10 % − max(2 %, 20 % of 10 %) = 8 %.
    assert!(l.read(1, 180, 0.09).is_empty());
    assert!(matches!(
        l.read(2, 180, 0.07)[0],
        Decision::Cleared { step: 2, .. }
    ));
}

#[test]
fn unacknowledged_steps_renotify_and_acknowledged_ones_do_not() {
    let mut l = Ladder::new();
    l.read(0, 100, 0.0);
    assert!(l.read(29, 100, 0.0).is_empty());
    assert_eq!(notices(&l.read(30, 100, 0.0)), [(0, 2, Level::Warning)]);
    let ack = l.e.acknowledge(0, 0, "dokoye").expect("active step");
    assert!(matches!(ack, Decision::Acknowledged { activation: 1, .. }));
    assert!(
        l.e.acknowledge(0, 0, "again").is_none(),
        "already acknowledged"
    );
    assert!(l.read(90, 100, 0.0).is_empty(), "acknowledged: quiet");
    // A worse step still fires.
    assert_eq!(notices(&l.read(91, 30, 0.0)), [(1, 1, Level::Escalated)]);
}

#[test]
fn a_missed_deadline_is_breached_then_settled_with_its_lateness() {
    let mut l = Ladder::new();
    l.read(0, -20, 0.9);
    // The window closes six hours after it opens; at +361 the work is still outstanding.
    let out = l.read(361, -30, 1.0);
    assert!(
        matches!(out[0], Decision::Breached { finish: None, lateness, .. } if lateness == TimeDelta::minutes(1)),
        "{out:?}"
    );
    assert_eq!(notices(&out), [(3, 1, Level::Breached)]);
    assert_eq!(l.e.level(0), Level::Breached);
    assert!(
        l.read(370, -40, 1.0).is_empty(),
        "no re-notify storm after a breach"
    );
    let out = l.finished(400, 35);
    assert!(
        matches!(out[0], Decision::Breached { finish: Some(_), lateness, .. } if lateness == TimeDelta::minutes(35)),
        "{out:?}"
    );
    assert!(l.finished(410, 35).is_empty(), "settled once");
}

#[test]
fn work_done_in_time_meets_the_deadline_and_clears_the_ladder() {
    let mut l = Ladder::new();
    l.read(0, 100, 0.0);
    let out = l.finished(200, -60);
    assert!(matches!(out[0], Decision::Met { margin, .. } if margin == TimeDelta::minutes(60)));
    assert!(
        out.iter()
            .any(|d| matches!(d, Decision::Cleared { step: 0, .. }))
    );
    assert_eq!(l.e.level(0), Level::Ok);
    assert!(l.read(300, -500, 1.0).is_empty(), "met is final");
}

#[test]
fn a_restored_ladder_decides_what_the_original_would() {
    let mut l = Ladder::new();
    l.read(0, 100, 0.0);
    l.read(5, 50, 0.2);
    let ack = l.e.acknowledge(0, 1, "on-call").expect("step 2 is active");
    l.log.push((l.plan.start, ack));
    let mut restored = Escalator::restore(
        &l.plan,
        "run-1",
        Policy::default(),
        l.log.iter().map(|(t, d)| (*t, d)),
    );
    let now = l.plan.start + TimeDelta::minutes(40);
    let r = Reading {
        deadline: 0,
        margin: TimeDelta::minutes(50),
        projected_finish: l.plan.deadlines[0].at - TimeDelta::minutes(50),
        planned_margin: None,
        p_miss: Some(0.2),
        finished: None,
    };
    let a = l.e.evaluate(&l.plan, now, &[r]);
    let b = restored.evaluate(&l.plan, now, &[r]);
    assert_eq!(a, b);
    // Steps 1 and 3 re-notify after 30 minutes; step 2 was acknowledged.
    assert_eq!(
        notices(&a),
        [(0, 2, Level::Warning), (2, 2, Level::Escalated)]
    );
}

#[test]
fn acknowledging_by_key_silences_that_activation_only() {
    let mut l = Ladder::new();
    let out = l.read(0, 100, 0.0);
    let key = match &out[0] {
        Decision::Notify { key, .. } => key.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        l.e.acknowledge_key(&l.plan, "run-1/filing/s1/a9/n1", "x")
            .is_none(),
        "stale activation"
    );
    assert!(
        l.e.acknowledge_key(&l.plan, "run-2/filing/s1/a1/n1", "x")
            .is_none(),
        "another run"
    );
    assert!(l.e.acknowledge_key(&l.plan, "nonsense", "x").is_none());
    let ack =
        l.e.acknowledge_key(&l.plan, &key, "ahmad")
            .expect("acknowledged");
    assert!(
        matches!(ack, Decision::Acknowledged { step: 0, activation: 1, ref by, .. } if by == "ahmad")
    );
    assert!(l.read(45, 100, 0.0).is_empty(), "no re-notify");
}
