//! The online router's audit. By default (`before-answer`) every answer of `POST /api/route`
//! is in the store before the client has it: requests that arrive together are written
//! together (group commit), one writer task takes every decision waiting, writes them in one
//! statement, then releases their requests; a decision the store could not take is not given.
//!
//! `after-answer` answers at once and leaves the decision to the same writer: no request
//! waits for a commit. A write that fails is retried (with backoff) until it is taken, never
//! dropped; the queue is bounded, so a store that stays down slows requests instead of
//! losing decisions. Stopping the server (SIGINT, SIGTERM) writes every queued decision
//! first. What it gives up: a decision answered in the last moments before the process is
//! killed (SIGKILL, a crash) may be missing from the audit.
//!
//! Why a writer task and not an insert per request: SQLite has one writer, and a commit per
//! request would queue every request behind the last one's commit; a batch's commit costs
//! about what one does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use warden_store::{RoutingDecisionRow, Store};
use warden_workers::routing::{Decision, RouteError};

/// When an online decision is recorded, relative to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditMode {
    /// The answer waits for the decision's commit (the default).
    #[default]
    BeforeAnswer,
    /// The answer goes at once; the decision is committed just after.
    AfterAnswer,
}

impl AuditMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditMode::BeforeAnswer => "before-answer",
            AuditMode::AfterAnswer => "after-answer",
        }
    }
}

/// Who asked for a decision and when: what the audit keeps beside the decision itself.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub at: DateTime<Utc>,
    /// `online` or `batch`.
    pub channel: &'a str,
    /// The signed-in user, or the input that was routed.
    pub actor: &'a str,
    pub rule_set_sha256: &'a str,
}

/// One claim's routing outcome as the audit's row: the rule and route, or the rule that
/// could not be evaluated and why. The one mapping for online and batch decisions.
pub fn decision_row(
    claim_id: u64,
    asked: Asked<'_>,
    outcome: &Result<Decision<'_>, RouteError>,
) -> RoutingDecisionRow {
    let (rule, stream, platform, error) = match outcome {
        Ok(d) => (
            d.rule.to_string(),
            Some(d.route.stream.letter().to_string()),
            Some(d.route.platform.to_string()),
            None,
        ),
        Err(e) => (e.rule.clone(), None, None, Some(e.to_string())),
    };
    RoutingDecisionRow {
        id: 0,
        claim_id,
        decided_at: asked.at,
        channel: asked.channel.to_string(),
        actor: asked.actor.to_string(),
        rule_set_sha256: asked.rule_set_sha256.to_string(),
        rule,
        stream,
        platform,
        error,
    }
}

/// Decisions waiting for the writer at most; a request past it waits for room.
const QUEUE: usize = 10_000;
/// Decisions in one transaction at most.
const BATCH: usize = 2_000;

struct Pending {
    row: RoutingDecisionRow,
    /// Who waits for the commit (`before-answer`); nobody after the answer.
    recorded: Option<oneshot::Sender<Result<(), String>>>,
}

/// What the writer has done, for `GET /api/routing`.
#[derive(Debug, Default)]
pub struct AuditCounts {
    pub written: AtomicU64,
    /// Writes the store refused (each retried, or refused to its waiting request).
    pub failed_writes: AtomicU64,
}

/// A handle on the writer task (cheap to clone; the task ends with the last handle, having
/// written everything queued).
#[derive(Debug, Clone)]
pub struct DecisionAudit {
    queue: mpsc::Sender<Pending>,
    pub mode: AuditMode,
    pub counts: Arc<AuditCounts>,
    writer: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl DecisionAudit {
    /// Starts the writer on the current tokio runtime.
    pub fn start(store: Store, mode: AuditMode) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let counts = Arc::new(AuditCounts::default());
        let writer = tokio::spawn(write_decisions(store, waiting, Arc::clone(&counts)));
        Self {
            queue,
            mode,
            counts,
            writer: Arc::new(std::sync::Mutex::new(Some(writer))),
        }
    }

    /// Records one decision: before the answer, returns once it is committed or why it
    /// could not be; after the answer, once it is queued.
    pub async fn record(&self, row: RoutingDecisionRow) -> Result<(), String> {
        let stopped = || "the audit writer has stopped".to_string();
        if self.mode == AuditMode::AfterAnswer {
            return self
                .queue
                .send(Pending {
                    row,
                    recorded: None,
                })
                .await
                .map_err(|_| stopped());
        }
        let (recorded, committed) = oneshot::channel();
        self.queue
            .send(Pending {
                row,
                recorded: Some(recorded),
            })
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }

    /// Waits until the writer has written everything queued and ended: called once the
    /// server has stopped taking requests (every other handle is gone with them).
    pub async fn finish(self) {
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        drop(self.queue);
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

async fn write_decisions(
    store: Store,
    mut waiting: mpsc::Receiver<Pending>,
    counts: Arc<AuditCounts>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut backoff = Duration::from_millis(100);
    loop {
        // Decisions kept from a failed write go first; then whatever arrived meanwhile.
        if batch.is_empty() && waiting.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let rows: Vec<RoutingDecisionRow> = batch.iter().map(|p| p.row.clone()).collect();
        let outcome = store
            .record_routing_decisions(rows)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        match &outcome {
            Ok(()) => {
                counts
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                backoff = Duration::from_millis(100);
            }
            Err(e) => {
                counts.failed_writes.fetch_add(1, Ordering::Relaxed);
                // Counts only: the claims' ids stay out of the log.
                tracing::error!(decisions = batch.len(), error = %e, "routing decisions could not be recorded: those whose requests wait are refused, those already answered are retried");
            }
        }
        let mut kept = Vec::new();
        for pending in batch.drain(..) {
            match pending.recorded {
                // A client that went away no longer waits; its decision is recorded anyway.
                Some(waiter) => {
                    let _ = waiter.send(outcome.clone());
                }
                None if outcome.is_err() => kept.push(pending),
                None => {}
            }
        }
        if !kept.is_empty() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            batch = kept;
        }
    }
}
