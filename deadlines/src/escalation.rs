//! The escalation ladder of each deadline, enforced: which steps are active given the
//! latest projection, what to notify and when, and when a deadline is breached.
//!
//! Each step of a deadline's ladder (`margin_below`, `margin_share_below`, `p_miss_above`,
//! `projected_miss`) is on or off. It switches on when its condition holds and off only when
//! the condition is clear by a band ([`Policy`]), so a margin wobbling around a threshold
//! raises one alert, not one per projection (hysteresis). The deadline's level is the most
//! severe active step's:
//!
//! `ok → warning → escalated → breach projected → breached`
//!
//! A `projected_miss` step is *breach projected*; the ladder's first other step is
//! *warning*, later ones *escalated*. *Breached* is final: the deadline's time passed with
//! its jobs unfinished, or they finished late; a breach is recorded with the actual finish
//! and the lateness once known.
//!
//! **A deadline is one incident, not one alert per step.** The rules, per look (one
//! [`Escalator::evaluate`]):
//!
//! - At most one [`Decision::Notify`] per deadline. Only the *top* step may notify: the most
//!   severe step that is on after this look (by level, then the later step).
//! - A step that switches on notifies only if it raises the deadline to a new, more severe
//!   level than it had at the previous look. Steps that switch on without doing so (milder
//!   ones in the same look, or a sibling at the level already reached) are recorded active
//!   silently ([`Decision::Activated`]). So `warning` and `breach_projected` never fire
//!   together: a look that finds the deadline already projected to miss tells once, at
//!   `breach_projected`.
//! - The top step notifies again every `renotify` of its own ([`Renotify`], from the
//!   workflow's `renotify:`; the [`Policy`]'s 30 min by default; `never`: once per
//!   activation) while it stays on unacknowledged. The interval runs from the step's last
//!   notice, its silent activation, or the moment a more severe step of its deadline cleared,
//!   whichever is latest (a de-escalation is not itself a notice), and never from less than
//!   the last notice at the same level of the deadline: at most one notice per (deadline,
//!   level) per interval, even when a step flaps on and off.
//! - An acknowledgement quiets its step and every active step of its deadline at the same or
//!   a milder level ([`Decision::Acknowledged`]`::also`): acknowledging the incident at its
//!   current level silences it. A step that switches on under an acknowledged step at least
//!   as severe inherits the acknowledgement. A quiet step stays quiet until it clears and
//!   switches on again; a new, more severe level always notifies.
//!
//! Pure: the caller feeds readings at times it chooses and stores the decisions (which are
//! also what [`Escalator::restore`] rebuilds the state from after a restart).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use warden_core::plan::Plan;
use warden_core::workflow::{Renotify, Trigger};

/// The escalation state of a deadline, mildest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    Escalated,
    BreachProjected,
    Breached,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Escalated => "escalated",
            Level::BreachProjected => "breach_projected",
            Level::Breached => "breached",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [
            Level::Ok,
            Level::Warning,
            Level::Escalated,
            Level::BreachProjected,
            Level::Breached,
        ]
        .into_iter()
        .find(|l| l.as_str() == text)
    }
}

/// The bands and intervals of the ladder (the same for every deadline of a run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// A margin step clears when the margin is this much above its threshold...
    pub margin_band: TimeDelta,
    /// ...or this share of the threshold, whichever is more.
    pub margin_band_share: f64,
    /// A P(miss) step clears when P(miss) is this far below its threshold...
    pub p_band: f64,
    /// ...or this share of the threshold, whichever is more.
    pub p_band_share: f64,
    /// An active, unacknowledged step notifies again after this long, unless its workflow
    /// step sets its own `renotify:`.
    pub renotify: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            margin_band: TimeDelta::minutes(5),
            margin_band_share: 0.10,
            p_band: 0.02,
            p_band_share: 0.20,
            renotify: TimeDelta::minutes(30),
        }
    }
}

/// What the ladder is told about one deadline at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Index into `plan.deadlines`.
    pub deadline: usize,
    /// Deadline minus the projected finish of what it covers.
    pub margin: TimeDelta,
    pub projected_finish: DateTime<Utc>,
    /// The margin the plan had from estimates (for `margin_share_below`).
    pub planned_margin: Option<TimeDelta>,
    pub p_miss: Option<f64>,
    /// Every covered job is done, at this time (the finish is actual, not projected).
    pub finished: Option<DateTime<Utc>>,
}

/// What the ladder decided; the caller stores each and acts on the notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Decision {
    /// Notify the step's roles. `key` is unique per notice and stable across restarts (an
    /// idempotency key for the outbox).
    Notify {
        deadline: usize,
        step: usize,
        level: Level,
        /// Indices into `plan.roles`.
        roles: Vec<usize>,
        template: Option<String>,
        /// Which time this step has switched on (1, 2, ...) and which notice of that
        /// activation this is (1 = first, 2... = re-notifications).
        activation: u32,
        notice: u32,
        key: String,
        /// The condition in words ("margin below 6h").
        trigger: String,
    },
    /// The step switched on without a notice of its own: it was not the top step of its
    /// deadline, or it did not raise the deadline's level. It is active like a notified step
    /// (it holds the level, clears by its band, and may notify later as the top step).
    Activated {
        deadline: usize,
        step: usize,
        level: Level,
        activation: u32,
        /// Switched on under an acknowledged step at least as severe: quiet from the start.
        acknowledged: bool,
    },
    /// The step's condition is clear by its band.
    Cleared { deadline: usize, step: usize },
    /// The deadline's level changed.
    Level {
        deadline: usize,
        from: Level,
        to: Level,
    },
    /// The deadline was missed: its time passed with work outstanding (`finish: None`), or
    /// its work finished late.
    Breached {
        deadline: usize,
        finish: Option<DateTime<Utc>>,
        lateness: TimeDelta,
    },
    /// Its work finished in time.
    Met {
        deadline: usize,
        finish: DateTime<Utc>,
        margin: TimeDelta,
    },
    /// Somebody acknowledged this activation of the step: no more re-notifications.
    Acknowledged {
        deadline: usize,
        step: usize,
        activation: u32,
        by: String,
        /// The other active steps of the deadline at the same or a milder level, quieted by
        /// the same acknowledgement (their current activations).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        also: Vec<usize>,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
struct StepState {
    active: bool,
    activations: u32,
    notices: u32,
    /// Where the re-notify interval counts from: the last notice, the silent activation, or
    /// a more severe step of the deadline clearing, whichever was last.
    clock: Option<DateTime<Utc>>,
    acknowledged: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct DeadlineState {
    steps: Vec<StepState>,
    /// Each step's level ([`step_level`]).
    levels: Vec<Level>,
    /// The last notice at each level (indexed by `Level as usize`).
    level_notices: [Option<DateTime<Utc>>; 5],
    level: Level,
    /// The breach was recorded (without an actual finish yet, or with it).
    breach_recorded: Option<bool>,
    met: bool,
}

/// The ladders of every deadline of one run.
#[derive(Debug, Clone)]
pub struct Escalator {
    run: String,
    policy: Policy,
    deadlines: Vec<DeadlineState>,
}

impl Escalator {
    /// `run` names the run in idempotency keys (e.g. its id).
    pub fn new(plan: &Plan, run: impl Into<String>, policy: Policy) -> Self {
        Self {
            run: run.into(),
            policy,
            deadlines: plan
                .deadlines
                .iter()
                .map(|d| DeadlineState {
                    steps: vec![StepState::default(); d.escalation.len()],
                    levels: (0..d.escalation.len()).map(|i| step_level(d, i)).collect(),
                    level_notices: [None; 5],
                    level: Level::Ok,
                    breach_recorded: None,
                    met: false,
                })
                .collect(),
        }
    }

    /// Rebuilds the state from the decisions stored so far, in order.
    pub fn restore<'a>(
        plan: &Plan,
        run: impl Into<String>,
        policy: Policy,
        decisions: impl IntoIterator<Item = (DateTime<Utc>, &'a Decision)>,
    ) -> Self {
        let mut e = Self::new(plan, run, policy);
        for (at, d) in decisions {
            e.absorb(at, d);
        }
        e
    }

    pub fn level(&self, deadline: usize) -> Level {
        self.deadlines.get(deadline).map_or(Level::Ok, |d| d.level)
    }

    /// The idempotency key of a notice: `RUN/DEADLINE/sSTEP/aACTIVATION/nNOTICE`.
    pub fn key(
        &self,
        plan: &Plan,
        deadline: usize,
        step: usize,
        activation: u32,
        notice: u32,
    ) -> String {
        format!(
            "{}/{}/s{}/a{}/n{}",
            self.run,
            plan.deadlines[deadline].id,
            step + 1,
            activation,
            notice
        )
    }

    /// Records an acknowledgement of the step's current activation, which also quiets the
    /// deadline's other active steps at the same or a milder level (`also`); `None` if the
    /// step is not active (nothing to acknowledge) or already acknowledged.
    pub fn acknowledge(&mut self, deadline: usize, step: usize, by: &str) -> Option<Decision> {
        let d = self.deadlines.get(deadline)?;
        let s = d.steps.get(step)?;
        if !s.active || s.acknowledged {
            return None;
        }
        let level = d.levels[step];
        let also = d
            .steps
            .iter()
            .enumerate()
            .filter(|(i, o)| *i != step && o.active && !o.acknowledged && d.levels[*i] <= level)
            .map(|(i, _)| i)
            .collect();
        let decision = Decision::Acknowledged {
            deadline,
            step,
            activation: s.activations,
            by: by.to_string(),
            also,
        };
        self.absorb_ack(&decision);
        Some(decision)
    }

    /// Records an acknowledgement of a notice by its key (`RUN/DEADLINE/sSTEP/aACT/nN`), if
    /// that activation of that step is still the active, unacknowledged one.
    pub fn acknowledge_key(&mut self, plan: &Plan, key: &str, by: &str) -> Option<Decision> {
        let (deadline, step, activation) = parse_key(plan, &self.run, key)?;
        let s = self.deadlines.get(deadline)?.steps.get(step)?;
        if s.activations != activation {
            return None;
        }
        self.acknowledge(deadline, step, by)
    }

    /// Evaluates every reading at `now` and returns what to store and notify.
    pub fn evaluate(
        &mut self,
        plan: &Plan,
        now: DateTime<Utc>,
        readings: &[Reading],
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        for r in readings {
            if r.deadline < self.deadlines.len() {
                self.evaluate_one(plan, now, r, &mut out);
            }
        }
        for d in &out {
            self.absorb(now, d);
        }
        out
    }

    fn evaluate_one(&self, plan: &Plan, now: DateTime<Utc>, r: &Reading, out: &mut Vec<Decision>) {
        let pd = &plan.deadlines[r.deadline];
        let state = &self.deadlines[r.deadline];
        if state.met || state.breach_recorded == Some(true) {
            return; // settled
        }
        // Settled now?
        if let Some(finish) = r.finished {
            let lateness = finish - pd.at;
            if lateness > TimeDelta::zero() {
                out.push(Decision::Breached {
                    deadline: r.deadline,
                    finish: Some(finish),
                    lateness,
                });
                self.level_change(r.deadline, Level::Breached, out);
            } else {
                out.push(Decision::Met {
                    deadline: r.deadline,
                    finish,
                    margin: -lateness,
                });
                for (step, s) in state.steps.iter().enumerate() {
                    if s.active {
                        out.push(Decision::Cleared {
                            deadline: r.deadline,
                            step,
                        });
                    }
                }
                self.level_change(r.deadline, Level::Ok, out);
            }
            return;
        }
        if now > pd.at && state.breach_recorded.is_none() {
            out.push(Decision::Breached {
                deadline: r.deadline,
                finish: None,
                lateness: now - pd.at,
            });
            // Tell the most severe step's roles (or every role of the ladder) at once.
            let step = pd.escalation.len().checked_sub(1);
            if let Some(step) = step {
                out.push(Decision::Notify {
                    deadline: r.deadline,
                    step,
                    level: Level::Breached,
                    roles: pd
                        .escalation
                        .iter()
                        .flat_map(|e| e.notify.iter().copied())
                        .fold(Vec::new(), |mut v, r| {
                            if !v.contains(&r) {
                                v.push(r);
                            }
                            v
                        }),
                    template: pd.escalation[step].template.clone(),
                    // A breach is noticed once, under a key of its own.
                    activation: 1,
                    notice: 1,
                    key: format!("{}/{}/breached", self.run, pd.id),
                    trigger: "deadline passed with work outstanding".to_string(),
                });
            }
            self.level_change(r.deadline, Level::Breached, out);
            return;
        }
        if state.breach_recorded.is_some() {
            return; // breached; waiting for the actual finish
        }
        // Each step's condition (with its band when it is on), then the top step: the most
        // severe one on after this look, the only one that may notify.
        let on: Vec<bool> = pd
            .escalation
            .iter()
            .zip(&state.steps)
            .map(|(es, s)| self.condition(es.trigger, r, s.active))
            .collect();
        let levels = &state.levels;
        let top = (0..on.len())
            .filter(|i| on[*i])
            .max_by_key(|i| (levels[*i], *i));
        let level = top.map_or(Level::Ok, |t| levels[t]);
        for (step, s) in state.steps.iter().enumerate() {
            let step_level = levels[step];
            let interval = match pd.escalation[step].renotify {
                Renotify::Policy => Some(self.policy.renotify),
                Renotify::Every(every) => Some(every),
                Renotify::Never => None,
            };
            // The last notice at this level of the deadline, within this step's interval
            // (the policy's for a step notified once per activation).
            let level_told = state.level_notices[step_level as usize]
                .is_some_and(|t| now - t < interval.unwrap_or(self.policy.renotify));
            match (s.active, on[step]) {
                (false, true) => {
                    let activation = s.activations + 1;
                    if top == Some(step) && step_level > state.level && !level_told {
                        out.push(self.notify(plan, r.deadline, step, step_level, activation, 1, r));
                    } else {
                        // Quiet from the start under an acknowledged step at least as severe
                        // that stays on.
                        let acknowledged = state.steps.iter().enumerate().any(|(i, o)| {
                            o.active && o.acknowledged && on[i] && levels[i] >= step_level
                        });
                        out.push(Decision::Activated {
                            deadline: r.deadline,
                            step,
                            level: step_level,
                            activation,
                            acknowledged,
                        });
                    }
                }
                (true, true) => {
                    // A more severe step clearing now restarts this step's interval.
                    let severe_cleared =
                        state.steps.iter().enumerate().any(|(i, o)| {
                            o.active && !on[i] && (levels[i], i) > (step_level, step)
                        });
                    let due = interval.is_some_and(|every| {
                        s.clock.is_none_or(|t| now - t >= every)
                            && state.level_notices[step_level as usize]
                                .is_none_or(|t| now - t >= every)
                    });
                    if top == Some(step) && due && !s.acknowledged && !severe_cleared {
                        out.push(self.notify(
                            plan,
                            r.deadline,
                            step,
                            step_level,
                            s.activations,
                            s.notices + 1,
                            r,
                        ));
                    }
                }
                (true, false) => out.push(Decision::Cleared {
                    deadline: r.deadline,
                    step,
                }),
                (false, false) => {}
            }
        }
        self.level_change(r.deadline, level, out);
    }

    fn level_change(&self, deadline: usize, to: Level, out: &mut Vec<Decision>) {
        let from = self.deadlines[deadline].level;
        if from != to {
            out.push(Decision::Level { deadline, from, to });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        plan: &Plan,
        deadline: usize,
        step: usize,
        level: Level,
        activation: u32,
        notice: u32,
        r: &Reading,
    ) -> Decision {
        let es = &plan.deadlines[deadline].escalation[step];
        Decision::Notify {
            deadline,
            step,
            level,
            roles: es.notify.clone(),
            template: es.template.clone(),
            activation,
            notice,
            key: self.key(plan, deadline, step, activation, notice),
            trigger: describe(es.trigger, r),
        }
    }

    /// Whether a step's condition holds, with the band applied to a step that is on.
    fn condition(&self, trigger: Trigger, r: &Reading, active: bool) -> bool {
        let p = &self.policy;
        let below = |threshold: TimeDelta| {
            if active {
                let band = p
                    .margin_band
                    .max(scale(threshold.abs(), p.margin_band_share));
                r.margin < threshold + band
            } else {
                r.margin < threshold
            }
        };
        match trigger {
            Trigger::MarginBelow(t) => below(t),
            Trigger::MarginShareBelow(share) => match r.planned_margin {
                Some(planned) if planned > TimeDelta::zero() => below(scale(planned, share)),
                // No positive planned margin: any shortfall counts.
                _ => below(TimeDelta::zero()),
            },
            Trigger::MissProbabilityAbove(threshold) => match r.p_miss {
                Some(pm) if active => pm > threshold - p.p_band.max(threshold * p.p_band_share),
                Some(pm) => pm > threshold,
                None => false,
            },
            Trigger::ProjectedMiss => below(TimeDelta::zero()),
        }
    }

    /// Applies a decision to the state (used for fresh decisions and for restoring).
    fn absorb(&mut self, at: DateTime<Utc>, d: &Decision) {
        match d {
            Decision::Notify {
                deadline,
                step,
                activation,
                notice,
                level,
                ..
            } => {
                if *level == Level::Breached {
                    return;
                }
                if let Some(s) = self.step_mut(*deadline, *step) {
                    if !s.active || s.activations != *activation {
                        s.acknowledged = false;
                    }
                    s.active = true;
                    s.activations = *activation;
                    s.notices = *notice;
                    s.clock = Some(at);
                }
                if let Some(d) = self.deadlines.get_mut(*deadline) {
                    d.level_notices[*level as usize] = Some(at);
                }
            }
            Decision::Activated {
                deadline,
                step,
                activation,
                acknowledged,
                ..
            } => {
                if let Some(s) = self.step_mut(*deadline, *step) {
                    s.active = true;
                    s.activations = *activation;
                    s.notices = 0;
                    s.clock = Some(at);
                    s.acknowledged = *acknowledged;
                }
            }
            Decision::Cleared { deadline, step } => {
                if let Some(d) = self.deadlines.get_mut(*deadline)
                    && *step < d.steps.len()
                {
                    d.steps[*step].active = false;
                    d.steps[*step].acknowledged = false;
                    // The milder steps still on count their interval from now.
                    let cleared = (d.levels[*step], *step);
                    for (i, s) in d.steps.iter_mut().enumerate() {
                        if s.active && (d.levels[i], i) < cleared {
                            s.clock = Some(s.clock.map_or(at, |c| c.max(at)));
                        }
                    }
                }
            }
            Decision::Level { deadline, to, .. } => {
                if let Some(d) = self.deadlines.get_mut(*deadline) {
                    d.level = *to;
                }
            }
            Decision::Breached {
                deadline, finish, ..
            } => {
                if let Some(d) = self.deadlines.get_mut(*deadline) {
                    d.breach_recorded = Some(finish.is_some());
                }
            }
            Decision::Met { deadline, .. } => {
                if let Some(d) = self.deadlines.get_mut(*deadline) {
                    d.met = true;
                    for s in &mut d.steps {
                        s.active = false;
                    }
                }
            }
            Decision::Acknowledged { .. } => self.absorb_ack(d),
        }
    }

    fn absorb_ack(&mut self, d: &Decision) {
        let Decision::Acknowledged {
            deadline,
            step,
            activation,
            also,
            ..
        } = d
        else {
            return;
        };
        let Some(state) = self.deadlines.get_mut(*deadline) else {
            return;
        };
        if state
            .steps
            .get(*step)
            .is_some_and(|s| s.activations == *activation)
        {
            state.steps[*step].acknowledged = true;
            for i in also {
                if let Some(s) = state.steps.get_mut(*i)
                    && s.active
                {
                    s.acknowledged = true;
                }
            }
        }
    }

    fn step_mut(&mut self, deadline: usize, step: usize) -> Option<&mut StepState> {
        self.deadlines.get_mut(deadline)?.steps.get_mut(step)
    }
}

/// (deadline, step, activation) of a notice key of this run.
fn parse_key(plan: &Plan, run: &str, key: &str) -> Option<(usize, usize, u32)> {
    let rest = key.strip_prefix(run)?.strip_prefix('/')?;
    let mut parts = rest.rsplitn(4, '/');
    let _notice = parts.next()?.strip_prefix('n')?;
    let activation: u32 = parts.next()?.strip_prefix('a')?.parse().ok()?;
    let step: usize = parts.next()?.strip_prefix('s')?.parse().ok()?;
    let deadline_id = parts.next()?;
    let deadline = plan.deadlines.iter().position(|d| d.id == deadline_id)?;
    Some((deadline, step.checked_sub(1)?, activation))
}

/// A `projected_miss` step is *breach projected*; the first other step *warning*; later
/// ones *escalated*.
pub fn step_level(deadline: &warden_core::plan::PlanDeadline, step: usize) -> Level {
    if deadline.escalation[step].trigger == Trigger::ProjectedMiss {
        return Level::BreachProjected;
    }
    let first_other = deadline
        .escalation
        .iter()
        .position(|e| e.trigger != Trigger::ProjectedMiss);
    if first_other == Some(step) {
        Level::Warning
    } else {
        Level::Escalated
    }
}

/// The condition of a step in words, with the reading that set it off.
fn describe(trigger: Trigger, r: &Reading) -> String {
    match trigger {
        Trigger::MarginBelow(t) => format!(
            "margin below {}",
            warden_core::workflow::values::format_duration(t)
        ),
        Trigger::MarginShareBelow(s) => {
            format!("margin below {:.0}% of the planned margin", s * 100.0)
        }
        Trigger::MissProbabilityAbove(p) => format!(
            "P(miss) {:.0}% above {:.0}%",
            r.p_miss.unwrap_or(0.0) * 100.0,
            p * 100.0
        ),
        Trigger::ProjectedMiss => "projected to miss".to_string(),
    }
}

fn scale(d: TimeDelta, f: f64) -> TimeDelta {
    TimeDelta::milliseconds((d.num_milliseconds() as f64 * f).round() as i64)
}
