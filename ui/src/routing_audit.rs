//! The online router's audit: every answer of `POST /api/route` is in the store before the
//! client has it. Requests that arrive together are written together (group commit): one
//! writer task takes every decision waiting, writes them in one transaction, then releases
//! their requests. A decision the store could not take is not given out.
//!
//! Why a writer task and not an insert per request: SQLite has one writer, and a commit per
//! request would queue every request behind the last one's commit; a batch's commit costs
//! about what one does.

use tokio::sync::{mpsc, oneshot};
use warden_store::{RoutingDecisionRow, Store};

/// Decisions waiting for the writer at most; a request past it waits for room.
const QUEUE: usize = 10_000;
/// Decisions in one transaction at most.
const BATCH: usize = 2_000;

struct Pending {
    row: RoutingDecisionRow,
    recorded: oneshot::Sender<Result<(), String>>,
}

/// A handle on the writer task (cheap to clone; the task ends with the last handle).
#[derive(Debug, Clone)]
pub struct DecisionAudit {
    queue: mpsc::Sender<Pending>,
}

impl DecisionAudit {
    /// Starts the writer on the current tokio runtime.
    pub fn start(store: Store) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write_decisions(store, waiting));
        Self { queue }
    }

    /// Records one decision; returns once it is committed, or why it could not be.
    pub async fn record(&self, row: RoutingDecisionRow) -> Result<(), String> {
        let (recorded, committed) = oneshot::channel();
        self.queue
            .send(Pending { row, recorded })
            .await
            .map_err(|_| "the audit writer has stopped".to_string())?;
        committed
            .await
            .map_err(|_| "the audit writer has stopped".to_string())?
    }
}

async fn write_decisions(store: Store, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(BATCH);
    while waiting.recv_many(&mut batch, BATCH).await > 0 {
        let rows: Vec<RoutingDecisionRow> = batch.iter().map(|p| p.row.clone()).collect();
        let outcome = store
            .record_routing_decisions(rows)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            // Counts only: the claims' ids stay out of the log.
            tracing::error!(decisions = batch.len(), error = %e, "routing decisions could not be recorded; their requests are refused");
        }
        for pending in batch.drain(..) {
            // A client that went away no longer waits; its decision is recorded anyway.
            let _ = pending.recorded.send(outcome.clone());
        }
    }
}
