//! Phase two's output: a validated, date-independent workflow.
//!
//! Everything here has been checked: ids are unique, references resolve to concrete jobs,
//! durations and times parsed, templates expanded (streams × partitions). A [`Workflow`] is
//! turned into a dated [`crate::plan::Plan`] by [`Workflow::instantiate`].

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::{Calendar, MonthEndRule};

/// Index of a job in [`Workflow::jobs`] (and in a plan's jobs: the same order).
pub type JobIdx = usize;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: String,
    pub description: Option<String>,
    pub timezone: Tz,
    pub calendar: Calendar,
    pub schedule: Schedule,
    pub mode: Mode,
    /// Whether the file sets `mode:` (otherwise `mode` is the default, pipelined).
    pub mode_declared: bool,
    pub streams: Vec<Stream>,
    pub resources: Vec<Resource>,
    pub roles: Vec<Role>,
    pub days: Vec<Day>,
    /// Concrete jobs, templates expanded, in declaration order.
    pub jobs: Vec<Job>,
    pub milestones: Vec<Milestone>,
    pub deadlines: Vec<Deadline>,
    /// When new volume needs a batch impact test, and when its result needs a review.
    pub impact: ImpactRules,
}

/// The batch impact test's thresholds (the workflow's `impact:` block), as fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct ImpactRules {
    /// New volume above this share of a stream's volume needs a test before it goes live.
    pub trigger: f64,
    /// The share of the new claims the test samples.
    pub sample: f64,
    /// A margin that shrinks by more than this share needs an architecture review.
    pub review_margin: f64,
    /// A probability of missing a deadline above this needs an architecture review.
    pub p_miss_review: f64,
}

impl ImpactRules {
    /// `approved × (1 + trigger)`, rounded down: a stream carrying more needs a batch impact
    /// test covering it.
    pub fn limit(&self, approved: u64) -> u64 {
        (approved as f64 * (1.0 + self.trigger)).floor() as u64
    }
}

impl Default for ImpactRules {
    /// Case study 002's rule: new data above 5 % of volume is sampled (10 %), run, measured
    /// and projected; an impact above 10 % of the margin goes to an architecture review.
    fn default() -> Self {
        Self {
            trigger: 0.05,
            sample: 0.10,
            review_margin: 0.10,
            p_miss_review: 0.10,
        }
    }
}

/// When a cycle runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Nightly: on every date the cron expression fires (and, if asked, that is a business day).
    Cron {
        expression: String,
        cron: Box<croner::Cron>,
        business_days_only: bool,
    },
    /// Month-end: nights chosen by a calendar rule.
    MonthEnd(MonthEndRule),
}

/// How days relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A job waits only for what it names: stream A's Day 2 work starts when stream A's
    /// Day 1 work is done.
    Pipelined,
    /// Each day's first jobs wait for the whole previous day (the old model).
    Serial,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "pipelined" => Some(Mode::Pipelined),
            "serial" => Some(Mode::Serial),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pipelined => "pipelined",
            Mode::Serial => "serial",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Stream {
    pub id: String,
    pub name: Option<String>,
    /// Claims in a normal cycle: the volume estimates are written for.
    pub volume: u64,
    /// (day index, local time): the stream's jobs that day start no earlier.
    pub not_before: Vec<(usize, NaiveTime)>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    /// 1 for an exclusive resource.
    pub capacity: u32,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: Option<String>,
}

/// Whether a day's jobs wait for its window to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStart {
    Window,
    WhenReady,
}

#[derive(Debug, Clone)]
pub struct Day {
    pub id: String,
    pub name: Option<String>,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub start: DayStart,
}

/// What a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Shell(String),
    Builtin(Builtin),
    /// `builtin: intake`: partner files into the cycle's claims, routed to its streams.
    Intake(IntakeSpec),
}

/// An `intake` job's configuration (docs/intake.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntakeSpec {
    /// A mapping's name in the partners directory, or a path to one.
    pub partner: String,
    /// Paths or glob patterns, relative to the directory `warden run` runs in.
    pub files: Vec<String>,
    /// The routing rule set's path, if the claims are routed.
    pub routing: Option<String>,
    /// Whether a refused file fails the job.
    pub fail_on_refused: bool,
}

/// The built-in job kinds Warden knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Builtin {
    /// Sleeps for its estimate: a stand-in for work that has no real command yet.
    Sleep,
    AdjudicateSetup,
    AdjudicatePartition,
    DeferredMerge,
    AdjudicatePass2,
    Reconcile,
    /// Bulk-loads the reconciled exceptions (pended claims) into the store.
    LoadExceptions,
    /// Posts the members whose year-to-date accumulators a reconciled run changed to the store.
    PostAccumulators,
    /// Setup and pass 1 in one job, its partitions on the job's threads (the month-end's
    /// ADJUD-PHASE1, a job per stream).
    AdjudicatePhase1,
    /// Deferred merge, pass 2 and reconciliation in one job (the month-end's ADJUD-PHASE2).
    AdjudicatePhase2,
    /// A partner's claim files into the claims of the streams downstream (its `intake:` block
    /// says which; compiled to [`Action::Intake`]).
    Intake,
}

impl Builtin {
    pub const ALL: [(&'static str, Builtin); 11] = [
        ("sleep", Builtin::Sleep),
        ("adjudicate-setup", Builtin::AdjudicateSetup),
        ("adjudicate-partition", Builtin::AdjudicatePartition),
        ("deferred-merge", Builtin::DeferredMerge),
        ("adjudicate-pass2", Builtin::AdjudicatePass2),
        ("reconcile", Builtin::Reconcile),
        ("load-exceptions", Builtin::LoadExceptions),
        ("post-accumulators", Builtin::PostAccumulators),
        ("adjudicate-phase1", Builtin::AdjudicatePhase1),
        ("adjudicate-phase2", Builtin::AdjudicatePhase2),
        ("intake", Builtin::Intake),
    ];

    pub fn parse(name: &str) -> Option<Builtin> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .map_or("?", |(n, _)| n)
    }
}

/// What happens when an attempt's worker vanished (the orchestrator died or the lease ran
/// out): the attempt is `Lost`, and nobody knows whether the job's work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnLost {
    /// Run it again as a new attempt at once, without using up a retry (the default).
    #[default]
    Rerun,
    /// Fail the job and wait for an operator (rerun, skip or force-complete): for jobs that
    /// must not run twice unseen, such as generating EFT payment files.
    Fail,
}

impl OnLost {
    pub const ALL: [(&'static str, OnLost); 2] = [("rerun", OnLost::Rerun), ("fail", OnLost::Fail)];

    pub fn parse(text: &str) -> Option<OnLost> {
        Self::ALL.iter().find(|(n, _)| *n == text).map(|(_, v)| *v)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnLost::Rerun => "rerun",
            OnLost::Fail => "fail",
        }
    }
}

/// One slice of a fanned-out job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partition {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceUse {
    pub resource: usize,
    pub units: u32,
}

/// A concrete job: one instance of a template for one stream and one partition.
#[derive(Debug, Clone)]
pub struct Job {
    /// Concrete id: `TEMPLATE`, `TEMPLATE.STREAM`, `TEMPLATE-P01` or `TEMPLATE.STREAM-P01`.
    pub id: String,
    /// The id written in the file.
    pub template: String,
    pub day: usize,
    pub stream: Option<usize>,
    pub partition: Option<Partition>,
    pub action: Action,
    /// Run time at the declared volume; `None` when the file gives none (planned as zero,
    /// with a warning).
    pub estimate: Option<TimeDelta>,
    pub elasticity: f64,
    /// Streams whose volume this job processes: its own, or every stream for cross-stream jobs.
    pub volume_streams: Vec<usize>,
    /// Jobs this one waits for, as written (the serial-mode day barrier is added per plan).
    pub after: Vec<JobIdx>,
    pub uses: Vec<ResourceUse>,
    pub retries: u32,
    pub retry_backoff: TimeDelta,
    pub timeout: Option<TimeDelta>,
    /// What a lost attempt (its worker vanished) does to the job.
    pub on_lost: OnLost,
    pub not_before: Option<NaiveTime>,
    pub priority: i64,
    /// Labels a worker must carry to run the job (sorted, distinct); empty: any worker.
    pub runs_on: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Milestone {
    pub id: String,
    pub name: Option<String>,
    pub covers: Vec<JobIdx>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadlineKind {
    Regulatory,
    Window,
    Business,
}

impl DeadlineKind {
    pub fn parse(text: &str) -> Option<DeadlineKind> {
        match text {
            "regulatory" => Some(DeadlineKind::Regulatory),
            "window" => Some(DeadlineKind::Window),
            "business" => Some(DeadlineKind::Business),
            _ => None,
        }
    }

    /// The kind as written in a workflow file.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Regulatory => "regulatory",
            DeadlineKind::Window => "window",
            DeadlineKind::Business => "business",
        }
    }
}

/// A time relative to the cycle's nights, resolved to an instant per plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAnchor {
    /// `d3 23:59`, `d1 +1d 06:00`: a local time on the night's date plus whole days.
    DayTime {
        day: usize,
        plus_days: i64,
        time: NaiveTime,
    },
    /// `d1 window-opens`.
    WindowOpens { day: usize },
    /// `d1 window-closes`.
    WindowCloses { day: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeExpr {
    pub anchor: TimeAnchor,
    /// Added after resolving the anchor (`d1 window-closes -30m`).
    pub offset: TimeDelta,
}

/// What makes an escalation step fire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    MarginBelow(TimeDelta),
    /// A share (0–1) of the planned margin.
    MarginShareBelow(f64),
    MissProbabilityAbove(f64),
    ProjectedMiss,
}

/// How often an active, unacknowledged escalation step notifies again (`renotify:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Renotify {
    /// Not written: the watcher's policy (30 minutes).
    #[default]
    Policy,
    /// `renotify: 45m`.
    Every(TimeDelta),
    /// `renotify: never`: once per activation.
    Never,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EscalationStep {
    pub trigger: Trigger,
    /// Indices into [`Workflow::roles`].
    pub notify: Vec<usize>,
    pub template: Option<String>,
    pub renotify: Renotify,
}

#[derive(Debug, Clone)]
pub struct Deadline {
    pub id: String,
    pub name: Option<String>,
    pub at: TimeExpr,
    pub covers: Vec<JobIdx>,
    pub kind: DeadlineKind,
    pub penalty: Option<String>,
    pub escalation: Vec<EscalationStep>,
}

impl Workflow {
    pub fn job_index(&self, id: &str) -> Option<JobIdx> {
        self.jobs.iter().position(|j| j.id == id)
    }

    pub fn stream_index(&self, id: &str) -> Option<usize> {
        self.streams.iter().position(|s| s.id == id)
    }

    pub fn day_index(&self, id: &str) -> Option<usize> {
        self.days.iter().position(|d| d.id == id)
    }

    /// Jobs per day, in day order (the case study counts 312, 247 and 198).
    pub fn jobs_per_day(&self) -> Vec<usize> {
        let mut counts = vec![0; self.days.len()];
        for job in &self.jobs {
            counts[job.day] += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::Builtin;

    /// The JSON Schema lists the built-in kinds by hand (raw.rs); keep them in step.
    #[test]
    fn schema_lists_every_builtin() {
        let raw = include_str!("raw.rs");
        for (name, _) in Builtin::ALL {
            assert!(
                raw.contains(&format!("\"{name}\"")),
                "raw.rs schema enum is missing `{name}`"
            );
        }
    }
}
