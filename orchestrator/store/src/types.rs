//! Rows and records the store reads and writes.

use chrono::{DateTime, Utc};
use warden_core::sched::{Command, Event, KillReason, Outcome};

/// A cycle run to open (or find, if it exists).
#[derive(Debug, Clone)]
pub struct NewRun {
    pub cycle: String,
    pub business_date: String,
    pub workflow_sha256: String,
    pub mode: String,
    /// Plan options as JSON (volumes...).
    pub options: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub workflow_sha256: String,
    pub mode: String,
    pub options: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// An event to log, with who caused it and why. `event: None` is a tick: time passed.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub event: Option<Event>,
    pub actor: String,
    pub reason: Option<String>,
}

/// A dispatched attempt to put on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    pub job_idx: i64,
    pub attempt: i64,
    pub job_id: String,
    pub priority: i64,
    /// Labels the claiming worker must carry (the job's `runs_on`).
    pub needs: Vec<String>,
}

/// One machine step, made durable in a single transaction: its inputs, the inbox rows they
/// came from, and the dispatches and kills it decided.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub events: Vec<LoggedEvent>,
    pub consumed_inbox: Vec<i64>,
    pub dispatch: Vec<Enqueue>,
    /// (job, attempt, why) whose process group must be killed.
    pub kills: Vec<(i64, i64, KillReason)>,
    /// Actual durations of the jobs that succeeded in this step.
    pub history: Vec<HistoryRow>,
    /// The run's last event number and step number, when the caller knows them (the run's
    /// one driver does); otherwise they are read inside the transaction.
    pub after: Option<(i64, i64)>,
    /// Attempts whose start this step records (from the inbox), and attempts it closes.
    pub attempts_started: Vec<AttemptStart>,
    pub attempts_ended: Vec<AttemptEnd>,
}

/// An attempt's row, opened when the driver consumes its start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptStart {
    pub job: i64,
    pub attempt: i64,
    pub worker: String,
    pub at: DateTime<Utc>,
    pub pgid: Option<i64>,
    pub log_path: Option<String>,
}

/// An attempt's end, recorded when the driver consumes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptEnd {
    pub job: i64,
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub exit_code: Option<i64>,
}

impl AttemptEnd {
    pub fn new(job: i64, attempt: i64, at: DateTime<Utc>, outcome: &Outcome) -> Self {
        let (label, exit_code) = outcome_label(outcome);
        Self {
            job,
            attempt,
            at,
            outcome: label.to_string(),
            exit_code,
        }
    }
}

/// One successful run of a job: how long it took for how much volume, to refine estimates.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub cycle: String,
    pub job_id: String,
    pub template: String,
    pub business_date: String,
    /// Claims the job processed (its stream's share, or the whole cycle's for a fan-in).
    pub volume: i64,
    /// On the run's clock.
    pub seconds: f64,
    pub finished_at: DateTime<Utc>,
}

/// An attempt as it ran: who ran it, its process group, when, how it ended, where it logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub job_idx: i64,
    pub attempt: i64,
    pub worker: String,
    pub pgid: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `succeeded`, `failed`, `timed_out` or `lost`.
    pub outcome: Option<String>,
    pub exit_code: Option<i64>,
    pub log_path: Option<String>,
}

/// Who holds a run, when the driver could not take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOwner {
    pub owner: String,
    pub until: DateTime<Utc>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub step: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub job_idx: Option<i64>,
    pub attempt: Option<i64>,
    /// `None` for ticks.
    pub event: Option<Event>,
    pub actor: String,
    pub reason: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// A queue row a worker now holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub run_id: i64,
    pub job_idx: i64,
    pub attempt: i64,
    pub job_id: String,
}

/// What a worker reports about its attempt, or an operator's command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Started,
    Finished(Outcome),
    Operator(Command),
}

/// A worker report waiting to become an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxItem {
    pub id: i64,
    pub job_idx: i64,
    pub attempt: i64,
    pub report: Report,
    pub at: DateTime<Utc>,
    /// The worker, or the operator who gave the command.
    pub worker: String,
    pub reason: Option<String>,
    /// For a start: the attempt's process group and log directory.
    pub process: Option<StartedProcess>,
}

/// What a worker tells about an attempt it started.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct StartedProcess {
    pub pgid: Option<i64>,
    pub log_path: Option<String>,
}

impl InboxItem {
    /// The machine event this report stands for.
    pub fn event(&self) -> Event {
        let job = usize::try_from(self.job_idx).unwrap_or(usize::MAX);
        let attempt = u32::try_from(self.attempt).unwrap_or(u32::MAX);
        match self.report {
            Report::Started => Event::Started { job, attempt },
            Report::Finished(outcome) => Event::Finished {
                job,
                attempt,
                outcome,
            },
            Report::Operator(command) => Event::Operator { job, command },
        }
    }
}

/// The outcome column of an attempt and its exit code.
pub fn outcome_label(outcome: &Outcome) -> (&'static str, Option<i64>) {
    match outcome {
        Outcome::Succeeded => ("succeeded", Some(0)),
        Outcome::Failed { exit_code } => ("failed", exit_code.map(i64::from)),
        Outcome::TimedOut => ("timed_out", None),
        Outcome::Lost => ("lost", None),
    }
}

/// The kind column for an event.
pub(crate) fn event_kind(event: Option<&Event>) -> (&'static str, Option<i64>, Option<i64>) {
    match event {
        None => ("tick", None, None),
        Some(Event::Started { job, attempt }) => {
            ("started", Some(*job as i64), Some(i64::from(*attempt)))
        }
        Some(Event::Finished { job, attempt, .. }) => {
            ("finished", Some(*job as i64), Some(i64::from(*attempt)))
        }
        Some(Event::Operator { job, .. }) => ("operator", Some(*job as i64), None),
    }
}
