//! The escalation ladder: thresholds, hysteresis, re-notification, acknowledgement, breach;
//! a deadline as one incident (one notice per look, the most severe; per-step intervals).

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
    // The P(miss) step is escalated too: the deadline's level does not rise, so it is
    // recorded active without a notice of its own.
    let out = l.read(25, 40, 0.3);
    assert_eq!(notices(&out), []);
    assert!(
        matches!(
            out[..],
            [Decision::Activated {
                step: 2,
                level: Level::Escalated,
                activation: 1,
                acknowledged: false,
                ..
            }]
        ),
        "{out:?}"
    );
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
    // Falling again is a new activation; the warning was told 11 minutes ago, so it is
    // recorded silently (at most one notice per level per interval) and notifies one
    // interval after it switched on, under a new key.
    let out = l.read(11, 100, 0.0);
    assert!(
        matches!(
            out[..],
            [
                Decision::Activated {
                    step: 0,
                    activation: 2,
                    ..
                },
                Decision::Level {
                    to: Level::Warning,
                    ..
                }
            ]
        ),
        "{out:?}"
    );
    assert!(l.read(40, 100, 0.0).is_empty());
    let out = l.read(41, 100, 0.0);
    match &out[..] {
        [
            Decision::Notify {
                activation, key, ..
            },
        ] => {
            assert_eq!(*activation, 2);
            assert_eq!(key, "run-1/filing/s1/a2/n1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_step_that_clears_and_returns_after_its_interval_notifies_at_once() {
    let mut l = Ladder::new();
    assert_eq!(notices(&l.read(0, 100, 0.0)), [(0, 1, Level::Warning)]);
    assert!(matches!(
        l.read(5, 200, 0.0)[0],
        Decision::Cleared { step: 0, .. }
    ));
    let out = l.read(35, 100, 0.0);
    assert_eq!(notices(&out), [(0, 1, Level::Warning)]);
    assert!(matches!(&out[0], Decision::Notify { key, .. } if key == "run-1/filing/s1/a2/n1"));
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
    // Steps 2 (margin below 1h) and 3 (P(miss)) switch on together, both escalated: the
    // later one is the top step and tells; step 2 is recorded active silently.
    assert_eq!(notices(&l.read(5, 50, 0.2)), [(2, 1, Level::Escalated)]);
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
    // Acknowledging step 2 quieted every active step at its level or milder (steps 1 and
    // 3): the incident is acknowledged, nothing re-notifies.
    assert!(
        matches!(&l.log.last().expect("ack").1, Decision::Acknowledged { also, .. } if also == &[0, 2]),
        "{:?}",
        l.log.last()
    );
    assert_eq!(notices(&a), []);
    // Without the acknowledgement, only the top step would have re-notified.
    let unacked: Vec<_> = l.log[..l.log.len() - 1].to_vec();
    let mut e = Escalator::restore(
        &l.plan,
        "run-1",
        Policy::default(),
        unacked.iter().map(|(t, d)| (*t, d)),
    );
    assert_eq!(
        notices(&e.evaluate(&l.plan, now, &[r])),
        [(2, 2, Level::Escalated)]
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

/// Every decision of type Notify in `ds`.
fn notify_count(ds: &[Decision]) -> usize {
    ds.iter()
        .filter(|d| matches!(d, Decision::Notify { .. }))
        .count()
}

#[test]
fn a_look_that_finds_a_projected_miss_tells_once_at_breach_projected() {
    let mut l = Ladder::new();
    // Every step's condition holds at the first look: one notice, the most severe level;
    // the milder steps are recorded active, so the deadline's level and their bands hold.
    let out = l.read(0, -15, 0.8);
    assert_eq!(notices(&out), [(3, 1, Level::BreachProjected)]);
    let activated: Vec<(usize, Level)> = out
        .iter()
        .filter_map(|d| match d {
            Decision::Activated { step, level, .. } => Some((*step, *level)),
            _ => None,
        })
        .collect();
    assert_eq!(
        activated,
        [
            (0, Level::Warning),
            (1, Level::Escalated),
            (2, Level::Escalated)
        ]
    );
    assert_eq!(l.e.level(0), Level::BreachProjected);
    // Milder steps do not re-notify while a more severe one is on: one notice per interval.
    for minute in 1..=95 {
        let out = l.read(minute, -15, 0.8);
        let expected: &[(usize, u32, Level)] = match minute {
            30 => &[(3, 2, Level::BreachProjected)],
            60 => &[(3, 3, Level::BreachProjected)],
            90 => &[(3, 4, Level::BreachProjected)],
            _ => &[],
        };
        assert_eq!(notices(&out), expected, "minute {minute}: {out:?}");
    }
}

#[test]
fn a_de_escalation_is_not_a_notice_and_restarts_the_milder_steps_interval() {
    let mut l = Ladder::new();
    assert_eq!(
        notices(&l.read(0, -15, 0.8)),
        [(3, 1, Level::BreachProjected)]
    );
    // The margin recovers to +20 min: the projected miss clears (its band is 5 min), the
    // escalated steps stay on. The level drops; nobody is notified of that.
    let out = l.read(40, 20, 0.3);
    assert_eq!(notify_count(&out), 0, "{out:?}");
    assert!(
        out.iter()
            .any(|d| matches!(d, Decision::Cleared { step: 3, .. }))
    );
    assert_eq!(l.e.level(0), Level::Escalated);
    // The top step now (P(miss), escalated, switched on silently at 0) counts its interval
    // from the de-escalation: quiet until 40 + 30.
    assert!(l.read(69, 20, 0.3).is_empty());
    let out = l.read(70, 20, 0.3);
    assert_eq!(notices(&out), [(2, 1, Level::Escalated)], "{out:?}");
    assert!(matches!(&out[0], Decision::Notify { key, .. } if key == "run-1/filing/s3/a1/n1"));
}

#[test]
fn acknowledging_the_incident_quiets_it_and_a_new_level_still_tells() {
    let mut l = Ladder::new();
    assert_eq!(notices(&l.read(0, 50, 0.0)), [(1, 1, Level::Escalated)]);
    // Acknowledging the top step quiets the milder warning step with it.
    let ack = l.e.acknowledge(0, 1, "dokoye").expect("active");
    assert!(matches!(&ack, Decision::Acknowledged { step: 1, also, .. } if also == &[0]));
    assert!(l.e.acknowledge(0, 0, "again").is_none(), "quieted with it");
    // A sibling at the same level switching on inherits the acknowledgement.
    let out = l.read(10, 50, 0.3);
    assert!(
        matches!(
            out[..],
            [Decision::Activated {
                step: 2,
                acknowledged: true,
                ..
            }]
        ),
        "{out:?}"
    );
    for minute in [30, 45, 60, 90] {
        assert!(l.read(minute, 50, 0.3).is_empty(), "minute {minute}: quiet");
    }
    // A new, more severe level tells, acknowledged or not.
    let out = l.read(100, -10, 0.6);
    assert_eq!(notices(&out), [(3, 1, Level::BreachProjected)]);
    assert_eq!(
        notices(&l.read(130, -10, 0.6)),
        [(3, 2, Level::BreachProjected)]
    );
    // Acknowledged at its new level: quiet again.
    assert!(l.e.acknowledge(0, 3, "x").is_some());
    assert!(l.read(200, -10, 0.6).is_empty());
}

#[test]
fn acknowledging_a_milder_step_leaves_the_more_severe_one_telling() {
    let mut l = Ladder::new();
    assert_eq!(
        notices(&l.read(0, -10, 0.6)),
        [(3, 1, Level::BreachProjected)]
    );
    let ack =
        l.e.acknowledge(0, 0, "x")
            .expect("the warning step is active");
    assert!(matches!(&ack, Decision::Acknowledged { also, .. } if also.is_empty()));
    assert_eq!(
        notices(&l.read(30, -10, 0.6)),
        [(3, 2, Level::BreachProjected)]
    );
}

/// A ladder whose steps set their own re-notify intervals.
fn paced_plan() -> Plan {
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
      - { margin_below: 2h, notify: [on-call], renotify: 60m }
      - { margin_below: 1h, notify: [on-call, compliance], renotify: 15m }
      - { p_miss_above: 0.1, notify: [compliance] }
      - { projected_miss: true, notify: [compliance, counsel], renotify: never }
"#,
    )
    .instantiate(tuesday(), &PlanOptions::default())
    .expect("plans")
}

#[test]
fn each_step_renotifies_at_its_own_interval_from_the_workflow() {
    use warden_core::workflow::Renotify;
    let plan = paced_plan();
    let renotify: Vec<Renotify> = plan.deadlines[0]
        .escalation
        .iter()
        .map(|s| s.renotify)
        .collect();
    assert_eq!(
        renotify,
        [
            Renotify::Every(TimeDelta::minutes(60)),
            Renotify::Every(TimeDelta::minutes(15)),
            Renotify::Policy,
            Renotify::Never
        ]
    );
    let mut e = Escalator::new(&plan, "r", Policy::default());
    let at = plan.deadlines[0].at;
    let mut read = |minute: i64, margin: i64| {
        let r = Reading {
            deadline: 0,
            margin: TimeDelta::minutes(margin),
            projected_finish: at - TimeDelta::minutes(margin),
            planned_margin: None,
            p_miss: Some(0.0),
            finished: None,
        };
        notices(&e.evaluate(&plan, plan.start + TimeDelta::minutes(minute), &[r]))
    };
    // Warning: every 60 minutes.
    let told: Vec<i64> = (0..=130).filter(|m| !read(*m, 100).is_empty()).collect();
    assert_eq!(told, [0, 60, 120]);
    // Escalated: every 15.
    let told: Vec<i64> = (131..=170).filter(|m| !read(*m, 50).is_empty()).collect();
    assert_eq!(told, [131, 146, 161]);
    // Projected miss: once per activation.
    let told: Vec<i64> = (171..=300).filter(|m| !read(*m, -5).is_empty()).collect();
    assert_eq!(told, [171]);
}

/// A tiny deterministic generator (the ladder is pure: so is its test).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn on_a_wandering_margin_each_look_tells_once_each_level_once_per_interval_and_restores() {
    use warden_core::workflow::Renotify;
    let plan = paced_plan();
    let policy = Policy::default();
    let interval = |step: usize| match plan.deadlines[0].escalation[step].renotify {
        Renotify::Every(d) => d,
        Renotify::Policy | Renotify::Never => policy.renotify,
    };
    for seed in 1..=40u64 {
        let mut rng = Lcg(seed);
        let mut e = Escalator::new(&plan, "r", policy);
        let mut log: Vec<(DateTime<Utc>, Decision)> = Vec::new();
        let mut told: Vec<(DateTime<Utc>, Level, usize)> = Vec::new();
        let (mut margin, mut p) = (150i64, 0.0f64);
        let mut minute = 0i64;
        while minute < 330 {
            minute += 1 + rng.next(12) as i64;
            margin += rng.next(61) as i64 - 32;
            margin = margin.clamp(-120, 200);
            p = (p + (rng.next(21) as f64 - 10.0) / 100.0).clamp(0.0, 1.0);
            let now = plan.start + TimeDelta::minutes(minute);
            if rng.next(5) == 0 {
                let step = rng.next(4) as usize;
                if let Some(d) = e.acknowledge(0, step, "someone") {
                    log.push((now, d));
                }
            }
            let r = Reading {
                deadline: 0,
                margin: TimeDelta::minutes(margin),
                projected_finish: plan.deadlines[0].at - TimeDelta::minutes(margin),
                planned_margin: Some(TimeDelta::hours(5)),
                p_miss: Some(p),
                finished: None,
            };
            // A ladder restored from the decisions so far decides exactly the same.
            let mut restored =
                Escalator::restore(&plan, "r", policy, log.iter().map(|(t, d)| (*t, d)));
            let out = e.evaluate(&plan, now, &[r]);
            assert_eq!(
                restored.evaluate(&plan, now, &[r]),
                out,
                "seed {seed} minute {minute}"
            );
            assert!(
                notify_count(&out) <= 1,
                "seed {seed} minute {minute}: {out:?}"
            );
            for d in &out {
                if let Decision::Notify { level, step, .. } = d {
                    if let Some((t, _, _)) = told.iter().rev().find(|(_, l, _)| l == level) {
                        assert!(
                            now - *t >= interval(*step),
                            "seed {seed}: {level:?} told at {t} and again at {now}"
                        );
                    }
                    told.push((now, *level, *step));
                }
            }
            log.extend(out.into_iter().map(|d| (now, d)));
        }
        assert!(!told.is_empty(), "seed {seed} never escalated");
    }
}
