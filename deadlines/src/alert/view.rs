//! The alert view model and the small formatters templates rely on.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use warden_core::plan::{EarliestReason, Plan, PlanDeadline};
use warden_core::sched::Schedule;
use warden_core::workflow::{DeadlineKind, Trigger, Workflow};

use crate::critical_path::{Chain, ChainLink};

/// How far up the ladder a deadline is. `ok` is the absence of an alert, so it is not a
/// level: [`AlertMessage::previous_level`] is `None` for a deadline that was fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// A first threshold crossed: on-call looks.
    Warning,
    /// A further threshold crossed: compliance is told.
    Escalated,
    /// The projection finishes after the deadline.
    BreachProjected,
    /// The deadline has passed with covered jobs unfinished.
    Breached,
}

impl AlertLevel {
    pub const ALL: [AlertLevel; 4] = [
        AlertLevel::Warning,
        AlertLevel::Escalated,
        AlertLevel::BreachProjected,
        AlertLevel::Breached,
    ];

    /// The stored and serialised name: `warning`, `escalated`, `breach_projected`, `breached`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Warning => "warning",
            AlertLevel::Escalated => "escalated",
            AlertLevel::BreachProjected => "breach_projected",
            AlertLevel::Breached => "breached",
        }
    }

    pub fn parse(text: &str) -> Option<AlertLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == text)
    }

    /// In words, for subjects: `WARNING`, `ESCALATED`, `BREACH PROJECTED`, `BREACHED`.
    pub fn headline(self) -> &'static str {
        match self {
            AlertLevel::Warning => "WARNING",
            AlertLevel::Escalated => "ESCALATED",
            AlertLevel::BreachProjected => "BREACH PROJECTED",
            AlertLevel::Breached => "BREACHED",
        }
    }
}

/// An instant as a reader in the cycle's zone wants it, and as a machine wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTime {
    /// The instant (RFC 3339, UTC).
    pub utc: DateTime<Utc>,
    /// Local wall time in the cycle's zone: `2025-03-02 23:59`.
    pub local: String,
    /// The zone's name: `America/Chicago`.
    pub zone: String,
    /// The zone's abbreviation at that instant: `CST`.
    pub abbreviation: String,
    /// `2025-03-02 23:59 CST`: what templates usually print.
    pub text: String,
}

impl LocalTime {
    pub fn new(utc: DateTime<Utc>, zone: Tz) -> LocalTime {
        let local = utc.with_timezone(&zone);
        let wall = local.format("%Y-%m-%d %H:%M").to_string();
        let abbreviation = local.format("%Z").to_string();
        LocalTime {
            utc,
            text: format!("{wall} {abbreviation}"),
            local: wall,
            zone: zone.name().to_string(),
            abbreviation,
        }
    }
}

/// The deadline an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineView {
    pub id: String,
    /// The declared name, or the id when the workflow gives none.
    pub name: String,
    /// `regulatory`, `window` or `business`.
    pub kind: String,
    pub at: LocalTime,
    /// What missing it costs, as the workflow states it; `null` when none is declared.
    pub penalty: Option<String>,
}

impl DeadlineView {
    pub fn new(deadline: &PlanDeadline, zone: Tz) -> DeadlineView {
        DeadlineView {
            id: deadline.id.clone(),
            name: deadline.name.clone().unwrap_or_else(|| deadline.id.clone()),
            kind: kind_str(deadline.kind).to_string(),
            at: LocalTime::new(deadline.at, zone),
            penalty: deadline.penalty.clone(),
        }
    }
}

fn kind_str(kind: DeadlineKind) -> &'static str {
    match kind {
        DeadlineKind::Regulatory => "regulatory",
        DeadlineKind::Window => "window",
        DeadlineKind::Business => "business",
    }
}

/// A role told of the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    /// The role's id in the workflow (`compliance`): what channel files are keyed by.
    pub id: String,
    /// Its declared name (`Compliance officer`), or the id.
    pub name: String,
}

/// One job of the critical chain, in execution order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStep {
    pub job: String,
    pub start: LocalTime,
    pub finish: LocalTime,
    pub minutes: i64,
    /// How this job is tied to the one before it: `start` (the chain begins here),
    /// `dependency`, `resource_wait`, or `retry`.
    pub tie: String,
    /// The same in words: `after CLAIM-SORT.A`, `waited for provider-tables held by
    /// ADJUD-PHASE1.A`, `starts when the d1 window opens`.
    pub tie_text: String,
    /// The resource waited for, for a `resource_wait`.
    pub resource: Option<String>,
}

/// Everything an alert says, ready for a template, the outbox and a webhook.
///
/// Built by the escalation code from a projection; every field is filled (optional ones are
/// `null`), so a strict template that names a field always finds it. Times are given both
/// as instants and as local text in the cycle's zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// The cycle's id (`month-end`).
    pub cycle: String,
    /// The run's business date as written (`2025-02`).
    pub business_date: String,
    pub run_id: i64,
    pub deadline: DeadlineView,
    pub level: AlertLevel,
    /// The level before this alert; `None` (`null`) when the deadline was fine.
    pub previous_level: Option<AlertLevel>,
    /// [`AlertLevel::headline`] of `level`, for subjects.
    pub headline: String,
    /// The ladder step's trigger in words ([`describe_trigger`]): `margin below 6h`.
    pub trigger: String,
    pub projected_finish: LocalTime,
    /// Deadline minus projected finish, in whole minutes; negative when late.
    pub margin_minutes: i64,
    /// [`format_margin`]: `2h 15m`, `1h 30m late`.
    pub margin_text: String,
    /// Whether the projected finish is after the deadline.
    pub late: bool,
    /// How late, when late: `1h 30m` (`null` otherwise).
    pub lateness_text: Option<String>,
    /// The same in whole minutes (`90`), when late.
    pub lateness_minutes: Option<i64>,
    /// Probability of missing the deadline (0–1), when a Monte Carlo projection ran.
    pub p_miss: Option<f64>,
    /// [`format_probability`] of `p_miss`: `12%`.
    pub p_miss_text: Option<String>,
    pub p50_finish: Option<LocalTime>,
    pub p90_finish: Option<LocalTime>,
    /// The chain of jobs that binds the deadline's finish, first job first.
    pub chain: Vec<ChainStep>,
    pub roles: Vec<RoleView>,
    pub raised_at: LocalTime,
    /// The alert's id in the outbox: `None` until it is stored; the dispatcher sets it
    /// before rendering, so templates can say `warden ack {{alert_id}}`.
    pub alert_id: Option<i64>,
}

impl AlertMessage {
    /// The view of deadline `deadline` (an index into `plan.deadlines`) at `level`, from a
    /// projected finish: margin fields computed, times local to the plan's zone. The
    /// chain, roles and probabilities start empty; set them with [`chain_steps`],
    /// [`role_views`] and [`AlertMessage::set_probability`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plan: &Plan,
        run_id: i64,
        deadline: usize,
        level: AlertLevel,
        previous_level: Option<AlertLevel>,
        trigger: &Trigger,
        projected_finish: DateTime<Utc>,
        raised_at: DateTime<Utc>,
    ) -> AlertMessage {
        let zone = plan.timezone;
        let d = &plan.deadlines[deadline];
        let mut view = AlertMessage {
            cycle: plan.cycle.clone(),
            business_date: plan.date.clone(),
            run_id,
            deadline: DeadlineView::new(d, zone),
            level,
            previous_level,
            headline: level.headline().to_string(),
            trigger: describe_trigger(trigger),
            projected_finish: LocalTime::new(projected_finish, zone),
            margin_minutes: 0,
            margin_text: String::new(),
            late: false,
            lateness_text: None,
            lateness_minutes: None,
            p_miss: None,
            p_miss_text: None,
            p50_finish: None,
            p90_finish: None,
            chain: Vec::new(),
            roles: Vec::new(),
            raised_at: LocalTime::new(raised_at, zone),
            alert_id: None,
        };
        view.set_margin(d.at, projected_finish);
        view
    }

    /// The outbox's idempotency key for this alert: `RUN:DEADLINE:LEVEL:N`, where `n` counts
    /// the deadline's escalations (transitions and re-notifications) in the run, so the same
    /// escalation raised again after a restart is the same key, and a re-notification is a
    /// new one.
    pub fn idempotency_key(&self, n: u32) -> String {
        format!(
            "{}:{}:{}:{n}",
            self.run_id,
            self.deadline.id,
            self.level.as_str()
        )
    }

    /// Sets P(miss) and the p50 / p90 finishes (from a Monte Carlo projection).
    pub fn set_probability(
        &mut self,
        p_miss: f64,
        p50: DateTime<Utc>,
        p90: DateTime<Utc>,
        zone: Tz,
    ) {
        self.p_miss = Some(p_miss);
        self.p_miss_text = Some(format_probability(p_miss));
        self.p50_finish = Some(LocalTime::new(p50, zone));
        self.p90_finish = Some(LocalTime::new(p90, zone));
    }

    /// Sets the margin fields from deadline and projected finish (the margin is rounded
    /// down to whole minutes, so a finish 30 s late reads `0m late`, never `0m`).
    pub fn set_margin(&mut self, deadline: DateTime<Utc>, finish: DateTime<Utc>) {
        let margin = deadline - finish;
        self.margin_minutes = margin.num_seconds().div_euclid(60);
        self.margin_text = format_margin(margin);
        self.late = margin < TimeDelta::zero();
        if self.late {
            self.lateness_text = Some(format_margin(-margin));
            self.lateness_minutes = Some(-self.margin_minutes);
        } else {
            self.lateness_text = None;
            self.lateness_minutes = None;
        }
    }
}

/// The roles a ladder step notifies (`EscalationStep::notify`: indices into
/// `workflow.roles`), with their names.
pub fn role_views(workflow: &Workflow, notify: &[usize]) -> Vec<RoleView> {
    notify
        .iter()
        .filter_map(|&r| workflow.roles.get(r))
        .map(|r| RoleView {
            id: r.id.clone(),
            name: r.name.clone().unwrap_or_else(|| r.id.clone()),
        })
        .collect()
}

/// A margin for people: `2h 15m`, `45m`, `0m`, `1h 30m late`. Whole minutes, rounded
/// towards "less margin" (a margin of 59 s is `0m`, a lateness of 10 s is `1m late`).
pub fn format_margin(margin: TimeDelta) -> String {
    let seconds = margin.num_seconds();
    let (late, minutes) = if seconds < 0 {
        (true, (-seconds + 59) / 60)
    } else {
        (false, seconds / 60)
    };
    let (h, m) = (minutes / 60, minutes % 60);
    let amount = match (h, m) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    };
    if late {
        format!("{amount} late")
    } else {
        amount
    }
}

/// `0.1` → `10%`, `0.125` → `12.5%`, `0.003` → `0.3%`.
pub fn format_probability(p: f64) -> String {
    let percent = (p * 1000.0).round() / 10.0;
    if percent.fract() == 0.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// A ladder step's trigger in words: `margin below 6h`, `margin below 50% of the planned
/// margin`, `P(miss) above 10%`, `projected miss`.
pub fn describe_trigger(trigger: &Trigger) -> String {
    match trigger {
        Trigger::MarginBelow(d) => format!("margin below {}", format_margin(*d)),
        Trigger::MarginShareBelow(share) => format!(
            "margin below {} of the planned margin",
            format_probability(*share)
        ),
        Trigger::MissProbabilityAbove(p) => format!("P(miss) above {}", format_probability(*p)),
        Trigger::ProjectedMiss => "projected miss".to_string(),
    }
}

/// The chain's jobs with their (projected) times and how each is tied to the previous one.
pub fn chain_steps(plan: &Plan, schedule: &Schedule, chain: &Chain) -> Vec<ChainStep> {
    let zone = plan.timezone;
    chain
        .jobs
        .iter()
        .zip(&chain.links)
        .enumerate()
        .map(|(i, (&job, link))| {
            let times = &schedule.jobs[job];
            let previous = i
                .checked_sub(1)
                .and_then(|p| chain.jobs.get(p))
                .map(|&p| plan.jobs[p].id.as_str())
                .unwrap_or("?");
            let (tie, tie_text, resource) = match link {
                ChainLink::Start { reason } => {
                    let day = plan
                        .nights
                        .iter()
                        .find(|n| n.day == plan.jobs[job].day)
                        .map(|n| n.day_id.as_str())
                        .unwrap_or("its day's");
                    let why = match reason {
                        EarliestReason::CycleStart => "starts when the cycle starts".to_string(),
                        EarliestReason::WindowOpens => {
                            format!("starts when the {day} window opens")
                        }
                        EarliestReason::StreamNotBefore => {
                            "starts at its stream's start time".to_string()
                        }
                        EarliestReason::JobNotBefore => "starts at its not-before time".to_string(),
                    };
                    ("start", why, None)
                }
                ChainLink::Dependency => ("dependency", format!("after {previous}"), None),
                ChainLink::Resource { resource } => {
                    let name = plan
                        .resources
                        .get(*resource)
                        .map(|r| r.id.clone())
                        .unwrap_or_else(|| format!("resource {resource}"));
                    (
                        "resource_wait",
                        format!("waited for {name} held by {previous}"),
                        Some(name),
                    )
                }
                ChainLink::Retry => ("retry", "a retry of this job".to_string(), None),
            };
            ChainStep {
                job: plan.jobs[job].id.clone(),
                start: LocalTime::new(times.start, zone),
                finish: LocalTime::new(times.finish, zone),
                minutes: (times.finish - times.start).num_minutes(),
                tie: tie.to_string(),
                tie_text,
                resource,
            }
        })
        .collect()
}
