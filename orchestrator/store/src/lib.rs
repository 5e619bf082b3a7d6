//! Warden's durable state, on SQLite (the embedded default) and PostgreSQL.
//!
//! How it is built: [`Store`] is either backend (`backend.rs`: opening, migrating, what a
//! write needs on each database). Each table area below is one file holding its methods once
//! for both dialects, with that dialect's statements from `sql/<dialect>/`, and the list of
//! those `Store` forwards (`dialect.rs` says how). A new query is one SQL file per dialect,
//! one method body and one forwarding line, in its area's file.
//!
//! What is stored, and why it is enough to survive a crash of any process:
//! - `cycle_runs`: one row per workflow × business date; reopening finds the same run
//!   (`runs.rs`).
//! - `events`: the append-only log of the scheduling machine's inputs, grouped in steps
//!   (`now` + the events applied together), with actor and reason: the audit trail. Replaying
//!   it into a fresh [`warden_core::sched::Machine`] rebuilds the state exactly (`events.rs`).
//! - `queue`: one row per dispatched attempt, written in the same transaction as the step
//!   that dispatched it, so a dispatch is never lost nor duplicated. Workers claim rows with
//!   a lease, heartbeat, and every write they make is fenced by (job, attempt, worker)
//!   (`queue.rs`).
//! - `inbox`: what workers report, consumed exactly once (deleted in the transaction that
//!   records the corresponding event).
//! - `attempts`, `history`: what ran, for status, logs and estimates (`attempts.rs`).
//! - `projections`, `deadline_events`: every projection of every deadline (the margin's
//!   history) and the escalation ladders' decisions (their state on restart, and the audit
//!   trail of notifications, breaches and acknowledgements); `queue.progress_*`: what running
//!   attempts report of their progress (`watch.rs`).
//! - `alerts`, `deliveries`, `alert_acks`: the alerts outbox (`alerts.rs`): an alert
//!   raised once per idempotency key, one delivery per (alert, role, channel) retried until
//!   delivered or dead-lettered, and who acknowledged what (once per alert: acknowledging
//!   again returns the first acknowledgement).
//! - `workers`, `run_sources`, `run_clocks`: what workers on other hosts need besides the
//!   queue (`fleet.rs`).
//! - `routing_decisions`: every decision of the claims router, online and in batch, with
//!   the rule set's SHA-256, queryable by claim (`routing.rs`).
//! - `ui_audit`: the web UI's sign-ins, sign-outs and refused actions (`ui.rs`).
//! - `claim_exceptions`: pended claims bulk-loaded after adjudication by the
//!   `load-exceptions` job (`exceptions.rs`), one transaction per load.
//! - `member_accumulators`: year-to-date accumulators between cycles, one row per member and
//!   stream, pre-loaded by setup and posted by the `post-accumulators` job
//!   (`accumulators.rs`).
//! - `impact_tests`, `impact_approvals`, `impact_overrides`: batch impact tests of new volume
//!   (verdict, input digests, tested volume per stream, the report), the architect's approval
//!   of a `review` verdict (one per test), and operators' overrides of the go-live gate, each
//!   with a reason (`impact.rs`).
//!
//! The same test suite runs against both backends (`tests/store_suite.rs`).

mod accumulators;
mod alerts;
mod attempts;
mod backend;
mod dialect;
mod error;
mod events;
mod exceptions;
mod fleet;
mod impact;
mod queue;
mod replay;
mod routing;
mod runs;
mod types;
mod ui;
mod url;
mod watch;

pub use accumulators::{AccumulatorPost, AccumulatorTotals, StoredAccumulators};
pub use alerts::{
    AckOutcome, AlertAck, AlertRecord, AlertToFanOut, DeliveryRecord, DeliveryTarget, DueDelivery,
    NewAlert, Raised,
};
pub use backend::{OpenMode, PgStore, SqliteStore, Store};
pub use error::StoreError;
pub use exceptions::{ExceptionCount, ExceptionRow};
pub use fleet::{RunClock, SILENT_AFTER_SECONDS, WorkerInfo, WorkerRow, WorkerState};
pub use impact::{
    ApproveOutcome, ImpactApproval, ImpactOverrideRecord, ImpactTestRecord, NewImpactOverride,
    NewImpactTest,
};
pub use replay::replay;
pub use routing::{
    RoutingDecisionCount, RoutingDecisionRow, decision_json as routing_decision_json,
};
pub use types::{
    AttemptEnd, AttemptRecord, AttemptStart, Claim, Enqueue, HistoryRow, InboxItem, LoggedEvent,
    NewRun, Report, RunOwner, RunRecord, StartedProcess, Step, StoredEvent, outcome_label,
};
pub use ui::UiAuditRow;
pub use url::redact_url;
pub use watch::{DeadlineEventRow, ProgressRow, ProjectionRow};
