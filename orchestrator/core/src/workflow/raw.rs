//! Phase one: the workflow file exactly as written.
//!
//! These types mirror the YAML one to one. Unknown keys and values of the wrong shape are
//! rejected here (with the closest known key suggested), and reading stops at the first
//! one; every other check — references, cycles, durations, time zones, cron — happens in
//! phase two, which collects all its errors at once. Enum-like
//! fields are plain strings on purpose, so that a bad value is one error among many rather
//! than the end of parsing. See `docs/workflow-language.md` for the language.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::located::Located;
use super::numbers::{Number, Whole};

/// A scalar written as a number or a string (`22M`, `1800000`, `95m`). Durations and volumes
/// accept both so the compiler can say "`95` has no unit" instead of a type error.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    /// The scalar as the user wrote it, for messages.
    pub fn as_text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

/// One cycle definition (a workflow file).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkflow {
    /// The cycle's id, e.g. `month-end`.
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub cycle: Located<String>,
    pub description: Option<String>,
    /// IANA time zone every time of day in this file is read in, e.g. `America/New_York`.
    pub timezone: Located<String>,
    /// Business calendar file, relative to this file (e.g. `calendars/us-federal.yaml`).
    /// Without one, Monday–Friday are business days and there are no holidays.
    pub calendar: Option<Located<String>>,
    /// When the cycle runs: a cron expression (nightly) or a month-end rule.
    pub schedule: Located<RawSchedule>,
    /// `pipelined` (a stream's next-day work waits only for its own dependencies) or
    /// `serial` (each day waits for the whole previous day). Default: pipelined.
    #[schemars(extend("enum" = ["pipelined", "serial", null]))]
    pub mode: Option<Located<String>>,
    /// Values every job gets unless it says otherwise.
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub streams: Vec<RawStream>,
    #[serde(default)]
    pub resources: Vec<RawResource>,
    /// Who escalations notify (on-call, compliance, counsel...).
    #[serde(default)]
    pub roles: Vec<RawRole>,
    pub days: Vec<RawDay>,
    pub jobs: Vec<RawJob>,
    #[serde(default)]
    pub milestones: Vec<RawMilestone>,
    #[serde(default)]
    pub deadlines: Vec<RawDeadline>,
    /// The batch impact test that new claim volume needs before it goes live (docs/impact.md).
    #[serde(default)]
    pub impact: RawImpact,
}

/// Thresholds of the batch impact test, each a percentage such as `5%`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawImpact {
    /// New volume above this share of a stream's volume needs an impact test before it goes
    /// live. Default `5%`.
    pub trigger: Option<Located<Scalar>>,
    /// The share of the new claims the test samples and runs through the real engine.
    /// Default `10%`.
    pub sample: Option<Located<Scalar>>,
    /// A deadline margin that shrinks by more than this share needs an architecture review.
    /// Default `10%`.
    pub review_margin: Option<Located<Scalar>>,
    /// A probability of missing a deadline (0 to 1, as `p_miss_above`) above this after the
    /// new volume needs an architecture review. Default `0.1`.
    pub p_miss_review: Option<Located<Number>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// 5-field crontab expression in the cycle's time zone, e.g. `0 23 * * 1-5`.
    pub cron: Option<Located<String>>,
    /// With `cron`: skip dates the calendar says are not business days. Default true.
    pub business_days_only: Option<bool>,
    pub month_end: Option<Located<RawMonthEnd>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMonthEnd {
    /// Day of the month the first night begins (clamped to the month's last day).
    pub start_day: Located<Whole>,
    /// `previous` (default), `next` or `keep`: what to do when the start day is not a business day.
    #[schemars(extend("enum" = ["previous", "next", "keep", null]))]
    pub when_not_business_day: Option<Located<String>>,
    /// How many nights the cycle spans.
    pub nights: Located<Whole>,
    /// `calendar` (default: consecutive calendar nights) or `business` (consecutive business days).
    #[schemars(extend("enum" = ["calendar", "business", null]))]
    pub spacing: Option<Located<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[schemars(extend("enum" = ["sleep", "adjudicate-setup", "adjudicate-partition", "deferred-merge", "adjudicate-pass2", "reconcile", "load-exceptions", "post-accumulators", "adjudicate-phase1", "adjudicate-phase2", "intake", null]))]
    pub builtin: Option<Located<String>>,
    /// For `builtin: intake`: the partner, its files and the routing rule set.
    pub intake: Option<Located<RawIntake>>,
    pub elasticity: Option<Located<Number>>,
    pub retries: Option<Located<Whole>>,
    pub retry_backoff: Option<Located<Scalar>>,
    pub timeout: Option<Located<Scalar>>,
    /// `rerun` (default) or `fail`: what a lost attempt (its worker vanished) does to a job.
    #[schemars(extend("enum" = ["rerun", "fail", null]))]
    pub on_lost: Option<Located<String>>,
    pub priority: Option<Located<Whole>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStream {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
    /// Claims this stream carries in a normal cycle: `22M`, `500K`, `1800000`.
    pub volume: Located<Scalar>,
    /// Per day: the stream's jobs on that day start no earlier than this time (`d1: "21:30"`).
    #[serde(default)]
    pub not_before: BTreeMap<String, Located<String>>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResource {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    /// How many holders at once; absent means exclusive (1).
    pub capacity: Option<Located<Whole>>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDay {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
    pub window: Located<RawWindow>,
    /// `window` (default: jobs wait for the window to open) or `when_ready` (jobs start as
    /// soon as their dependencies allow; the window still sets the day's window deadline).
    #[schemars(extend("enum" = ["window", "when_ready", null]))]
    pub start: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Local time the window opens on the night's date, `HH:MM`.
    pub opens: Located<String>,
    /// Local time it closes; at or before `opens` means the next morning.
    pub closes: Located<String>,
}

/// How many units of a resource a job holds: a bare name (one unit) or `{name: units}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawUse {
    One(String),
    Counted(BTreeMap<String, i64>),
}

/// Which streams a job template expands over: `all` or a list of stream ids.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawStreams {
    All(String),
    List(Vec<String>),
}

/// A job's estimate: one duration, one per partition (a list), or one per stream (a map).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawEstimate {
    One(Scalar),
    PerPartition(Vec<Scalar>),
    PerStream(BTreeMap<String, Scalar>),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
    /// The day (night) this job belongs to; may be omitted when the cycle has one day.
    pub day: Option<Located<String>>,
    /// Expand once per stream: `all` or a list of stream ids.
    pub streams: Option<Located<RawStreams>>,
    /// Bind a single job to one stream (its volume and not-before apply).
    pub stream: Option<Located<String>>,
    /// Fan out into this many partitions.
    pub partitions: Option<Located<Whole>>,
    /// Jobs this one waits for.
    #[serde(default)]
    pub after: Vec<Located<String>>,
    /// Shell command to run.
    pub run: Option<Located<String>>,
    /// Built-in job kind (`sleep`, `adjudicate-partition`, ...).
    #[schemars(extend("enum" = ["sleep", "adjudicate-setup", "adjudicate-partition", "deferred-merge", "adjudicate-pass2", "reconcile", "load-exceptions", "post-accumulators", "adjudicate-phase1", "adjudicate-phase2", "intake", null]))]
    pub builtin: Option<Located<String>>,
    /// For `builtin: intake`: the partner, its files and the routing rule set.
    pub intake: Option<Located<RawIntake>>,
    /// Expected run time at the stream's declared volume.
    pub estimate: Option<Located<RawEstimate>>,
    /// How run time scales with volume: duration × (volume / declared volume) ^ elasticity.
    pub elasticity: Option<Located<Number>>,
    /// Resources held while running.
    #[serde(default)]
    pub uses: Vec<Located<RawUse>>,
    pub retries: Option<Located<Whole>>,
    pub retry_backoff: Option<Located<Scalar>>,
    pub timeout: Option<Located<Scalar>>,
    /// When an attempt's worker vanished (the orchestrator died or its lease ran out):
    /// `rerun` (default: run again as a new attempt, without using a retry) or `fail` (the job
    /// fails and waits for an operator; for jobs that must not run twice unseen).
    #[schemars(extend("enum" = ["rerun", "fail", null]))]
    pub on_lost: Option<Located<String>>,
    /// Local time of the job's night before which it must not start.
    pub not_before: Option<Located<String>>,
    /// Higher runs first when several jobs are ready.
    pub priority: Option<Located<Whole>>,
    /// Labels of the host the job needs (`[gpu]`, `[bigmem, pci-zone]`): only a
    /// `warden worker --label ...` carrying every one of them runs it (in-process workers
    /// run only jobs without labels).
    #[serde(default)]
    #[schemars(extend("items" = {"type": "string", "maxLength": 64, "pattern": "^[a-z0-9][a-z0-9_-]*$"}))]
    pub runs_on: Vec<Located<String>>,
    pub description: Option<String>,
}

/// What an `intake` job takes in (docs/intake.md): a partner's files through its mapping,
/// and optionally through a routing rule set to the cycle's streams.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawIntake {
    /// The partner's mapping: a name in the partners directory (`acme-pbm`) or a path.
    pub partner: Located<String>,
    /// The partner's files: paths or glob patterns (`inbound/acme/*.csv`), relative to the
    /// directory `warden run` runs in; taken in name order.
    pub files: Vec<Located<String>>,
    /// The routing rule set (docs/routing.md) that sends each claim to its stream.
    pub routing: Option<Located<String>>,
    /// When a file is refused whole (its envelope or control totals): `fail` the job
    /// (default) or `continue` with the other files (the refusal is in the acknowledgement).
    #[schemars(extend("enum" = ["fail", "continue", null]))]
    pub on_refused: Option<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMilestone {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
    /// Jobs (or days, or other milestones) whose completion makes the milestone.
    pub covers: Vec<Located<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDeadline {
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"))]
    pub id: Located<String>,
    pub name: Option<String>,
    /// When, relative to the cycle's nights: `d3 23:59`, `d1 +1d 06:00`, `d1 window-closes`.
    pub at: Located<String>,
    /// Jobs, days or milestones that must be finished by then.
    pub covers: Vec<Located<String>>,
    /// `regulatory`, `window` or `business`.
    #[schemars(extend("enum" = ["regulatory", "window", "business"]))]
    pub kind: Located<String>,
    pub penalty: Option<String>,
    #[serde(default)]
    pub escalation: Vec<Located<RawEscalationStep>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEscalationStep {
    /// Fire when the margin falls below a duration (`4h`) or a share of the planned margin (`25%`).
    pub margin_below: Option<Located<Scalar>>,
    /// Fire when the probability of a miss exceeds this (0–1).
    pub p_miss_above: Option<Located<Number>>,
    /// Fire when the projected finish is after the deadline.
    pub projected_miss: Option<Located<bool>>,
    /// Roles to notify.
    pub notify: Vec<Located<String>>,
    /// Alert template name (rendered by the alerting issue).
    pub template: Option<Located<String>>,
    /// How often the step notifies again while it stays on unacknowledged: a duration
    /// (`45m`) or `never` (once per activation). Default: the watcher's 30m.
    pub renotify: Option<Located<Scalar>>,
}
