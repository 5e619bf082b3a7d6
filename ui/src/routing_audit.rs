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
//! `journal` answers once the decision is appended to the audit journal, a file of Warden's
//! own with the store's durability (`routing_journal.rs`), and a loader task moves the
//! journal into the store in bulk behind the answers: no request waits for a database
//! commit, and none is answered that is not on record.
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
    /// The answer waits for the decision's append to the audit journal, which a loader
    /// moves into the store behind it.
    Journal,
}

impl AuditMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditMode::BeforeAnswer => "before-answer",
            AuditMode::AfterAnswer => "after-answer",
            AuditMode::Journal => "journal",
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
    /// Decisions recorded: committed to the store, or appended to the journal.
    pub written: AtomicU64,
    /// `journal`: decisions the loader has moved into the store.
    pub loaded: AtomicU64,
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
    /// `journal`: the journal file.
    pub journal: Option<std::path::PathBuf>,
    /// The writer, and in `journal` mode the loader after it.
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl DecisionAudit {
    /// Starts the writer on the current tokio runtime; in `journal` mode, `journal` is the
    /// file (opened, or created), and a loader starts beside the writer.
    pub fn start(
        store: Store,
        mode: AuditMode,
        journal: Option<&std::path::Path>,
    ) -> Result<Self, String> {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let counts = Arc::new(AuditCounts::default());
        let (tasks, journal) = match (mode, journal) {
            (AuditMode::Journal, Some(path)) => {
                let file =
                    crate::routing_journal::Journal::open(path).map_err(|e| e.to_string())?;
                let shared = Arc::new(JournalProgress::default());
                let writer = tokio::spawn(journal_decisions(
                    file,
                    waiting,
                    Arc::clone(&counts),
                    Arc::clone(&shared),
                ));
                let loader = tokio::spawn(load_journal(
                    store,
                    path.to_path_buf(),
                    Arc::clone(&counts),
                    shared,
                ));
                (vec![writer, loader], Some(path.to_path_buf()))
            }
            (AuditMode::Journal, None) => {
                return Err("the journal audit needs its file (--routing-journal)".into());
            }
            _ => (
                vec![tokio::spawn(write_decisions(
                    store,
                    waiting,
                    Arc::clone(&counts),
                ))],
                None,
            ),
        };
        Ok(Self {
            queue,
            mode,
            counts,
            journal,
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
        })
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
        let tasks: Vec<_> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        drop(self.queue);
        // The writer first; the loader then loads what is left and ends.
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Between the journal's writer and its loader: how far the store has the journal, and
/// whether the writer has ended.
#[derive(Debug, Default)]
struct JournalProgress {
    /// The journal id and byte position the store has loaded up to.
    loaded: std::sync::Mutex<(String, u64)>,
    written: tokio::sync::Notify,
    closed: std::sync::atomic::AtomicBool,
}

/// Appends each group of decisions waiting to the journal, then releases their requests; a
/// journal the store has loaded whole and past [`crate::routing_journal::ROTATE_BYTES`] is
/// replaced by a new one.
async fn journal_decisions(
    mut journal: crate::routing_journal::Journal,
    mut waiting: mpsc::Receiver<Pending>,
    counts: Arc<AuditCounts>,
    shared: Arc<JournalProgress>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while waiting.recv_many(&mut batch, BATCH).await > 0 {
        let rows: Vec<RoutingDecisionRow> = batch.iter().map(|p| p.row.clone()).collect();
        // One `write` of a few kilobytes: microseconds, not worth a thread hand-off.
        let outcome = journal.append(&rows).map_err(|e| e.to_string());
        match &outcome {
            Ok(()) => {
                counts
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                shared.written.notify_one();
            }
            Err(e) => {
                counts.failed_writes.fetch_add(1, Ordering::Relaxed);
                tracing::error!(decisions = batch.len(), error = %e, "routing decisions could not be appended to the audit journal: their requests are refused");
            }
        }
        for pending in batch.drain(..) {
            if let Some(waiter) = pending.recorded {
                let _ = waiter.send(outcome.clone());
            }
        }
        let loaded_whole = shared
            .loaded
            .lock()
            .is_ok_and(|l| l.0 == journal.id() && l.1 == journal.len());
        if journal.len() > crate::routing_journal::ROTATE_BYTES && loaded_whole {
            match crate::routing_journal::Journal::create(journal.path()) {
                Ok(next) => {
                    tracing::info!(journal = %next.path().display(), id = next.id(), "routing journal loaded whole: a new one started");
                    journal = next;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a new routing journal could not be started; the old one grows")
                }
            }
        }
    }
    shared.closed.store(true, Ordering::SeqCst);
    shared.written.notify_one();
}

/// Decisions read from the journal per load at most.
const LOAD_BATCH: usize = 20_000;

/// Moves the journal into the store: whatever is new, each time the writer appends (at
/// least every 200 ms), in one transaction with the journal's position; after the writer
/// has ended, until nothing is left. A store that refuses is retried with backoff: the
/// journal keeps the decisions meanwhile.
async fn load_journal(
    store: Store,
    path: std::path::PathBuf,
    counts: Arc<AuditCounts>,
    shared: Arc<JournalProgress>,
) {
    let mut at: Option<(String, u64)> = None;
    let mut backoff = Duration::from_millis(100);
    loop {
        let closed = shared.closed.load(Ordering::SeqCst);
        let read = {
            let (path, from) = (path.clone(), at.as_ref().map_or(0, |a| a.1));
            tokio::task::spawn_blocking(move || {
                crate::routing_journal::read_from(&path, from, LOAD_BATCH)
            })
            .await
        };
        let (id, rows, end) = match read {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the routing journal cannot be read; the loader waits");
                if closed {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(_) => return,
        };
        // A journal not seen before (the first look, or a new one): where the store has it.
        if at.as_ref().is_none_or(|a| a.0 != id) {
            match store.routing_journal_position(&id).await {
                Ok(p) => at = Some((id, u64::try_from(p).unwrap_or(0))),
                Err(e) => {
                    tracing::error!(error = %e, "the routing journal's position cannot be read; retried");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            continue;
        }
        let Some((id, from)) = at.clone() else {
            continue;
        };
        if rows.is_empty() {
            if let Ok(mut l) = shared.loaded.lock() {
                *l = (id.clone(), end.max(from));
            }
            if closed {
                return;
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(200), shared.written.notified()).await;
            continue;
        }
        let (Ok(from_i), Ok(end_i)) = (i64::try_from(from), i64::try_from(end)) else {
            return;
        };
        match store.load_routing_journal(&id, from_i, end_i, &rows).await {
            Ok(true) => {
                counts
                    .loaded
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                at = Some((id.clone(), end));
                if let Ok(mut l) = shared.loaded.lock() {
                    *l = (id, end);
                }
                backoff = Duration::from_millis(100);
            }
            // Someone else moved it: look again where the store has it.
            Ok(false) => at = None,
            Err(e) => {
                tracing::error!(decisions = rows.len(), error = %e, "the routing journal could not be loaded into the store; retried (the journal keeps the decisions)");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
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
