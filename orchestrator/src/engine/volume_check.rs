//! Adjudication setup's volume check (issue #12): before it adjudicates, setup counts the
//! claims it was given and compares them with the stream's approved volume (the volume the
//! run was started with, which passed the batch impact gate) plus the workflow's
//! `impact.trigger`. Above it, the job stops with that message and on-call and compliance
//! are alerted: February 2025's 12M acquisition claims were already in the pending queue
//! when the cycle began, and nobody had measured them.

use std::io::{BufRead, BufReader};
use std::path::Path;

use warden_core::plan::Plan;
use warden_core::workflow::values::thousands;
use warden_deadlines::alert::{GateEvent, VolumeGateView};
use warden_workers::pipeline::setup::CLAIMS_FILE;

use super::builtins::RunStore;

/// What a job of no stream in a cycle of several is checked as.
const ALL_STREAMS: &str = "all streams";

/// Claims above the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooMany {
    pub stream: String,
    pub claims: u64,
    pub approved: u64,
    pub limit: u64,
}

impl TooMany {
    pub fn message(&self, job: &str, trigger: f64) -> String {
        let volume = if self.stream == ALL_STREAMS {
            "each stream's `--volume STREAM=N`".to_string()
        } else {
            format!("`--volume {}={}`", self.stream, self.claims)
        };
        format!(
            "{job}: {} claims in the input for stream {}, above its approved {} plus the {} trigger ({}): stopped before adjudicating. Volume above what was approved needs a batch impact test (`warden impact run`); if it is expected, start the run with {volume} once a test covers it",
            thousands(self.claims),
            self.stream,
            thousands(self.approved),
            warden_deadlines::alert::format_probability(trigger),
            thousands(self.limit),
        )
    }
}

/// The claim rows of a claims file (lines after the header, blank lines not counted).
pub fn count_claims(input: &Path) -> std::io::Result<u64> {
    let file = std::fs::File::open(input.join(CLAIMS_FILE))?;
    let mut n = 0u64;
    for line in BufReader::with_capacity(1 << 20, file).split(b'\n').skip(1) {
        if !line?.iter().all(u8::is_ascii_whitespace) {
            n += 1;
        }
    }
    Ok(n)
}

/// Whether `claims` for `job`'s stream (all streams for a job of none) is above the limit.
/// A cycle without declared volumes has nothing to check.
pub fn check(plan: &Plan, job: usize, claims: u64) -> Option<TooMany> {
    // A job of no stream reads every stream's claims (the nightly's one stream, usually).
    let (stream, approved) = match (plan.jobs[job].stream, plan.streams.as_slice()) {
        (Some(s), _) => (plan.streams[s].id.clone(), plan.streams[s].volume),
        (None, [only]) => (only.id.clone(), only.volume),
        (None, all) => (ALL_STREAMS.to_string(), all.iter().map(|s| s.volume).sum()),
    };
    if approved == 0 {
        return None;
    }
    let limit = plan.impact.limit(approved);
    (claims > limit).then_some(TooMany {
        stream,
        claims,
        approved,
        limit,
    })
}

/// Raises the gate's alert for a stopped setup (once per run and stream).
pub async fn alert(
    rs: &RunStore,
    plan: &Plan,
    job: usize,
    t: &TooMany,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), warden_store::StoreError> {
    let view = VolumeGateView::new(
        plan,
        rs.run_id,
        &t.stream,
        (t.claims, t.approved, t.limit),
        &GateEvent::SetupCount {
            job: &plan.jobs[job].id,
            claims: t.claims,
        },
        now,
    );
    let raised = rs
        .store
        .raise_alert(&crate::alerts::gate_alert(&view))
        .await?;
    if raised.created {
        tracing::warn!(run = rs.run_id, job = %view.job, stream = %t.stream, claims = t.claims, limit = t.limit, "claims above the approved volume: setup stopped, on-call and compliance alerted");
    }
    Ok(())
}
