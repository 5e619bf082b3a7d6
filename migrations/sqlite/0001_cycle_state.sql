-- Warden's durable state (SQLite). Times are UTC, stored as RFC 3339 text.

-- One row per cycle run: a workflow instantiated for a business date.
CREATE TABLE cycle_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    cycle           TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    workflow_sha256 TEXT NOT NULL,
    mode            TEXT NOT NULL,
    options         TEXT NOT NULL,              -- JSON: volumes and other plan options
    status          TEXT NOT NULL DEFAULT 'running',
    created_at      TEXT NOT NULL,
    UNIQUE (cycle, business_date)
);

-- The append-only event log: the scheduling machine's inputs, grouped into steps, and the
-- audit trail (who, what, when, why). Replaying it rebuilds the machine exactly.
CREATE TABLE events (
    run_id      INTEGER NOT NULL REFERENCES cycle_runs (id),
    seq         INTEGER NOT NULL,
    step        INTEGER NOT NULL,
    at          TEXT NOT NULL,                  -- the machine's clock
    kind        TEXT NOT NULL,                  -- tick | started | finished | operator
    job_idx     INTEGER,
    attempt     INTEGER,
    payload     TEXT,                           -- JSON of the event
    actor       TEXT NOT NULL,
    reason      TEXT,
    recorded_at TEXT NOT NULL,                  -- wall clock
    PRIMARY KEY (run_id, seq)
);

-- The job queue: one row per dispatched attempt. Workers claim rows with a lease and every
-- write they make is fenced by (job, attempt, worker).
CREATE TABLE queue (
    run_id         INTEGER NOT NULL REFERENCES cycle_runs (id),
    job_idx        INTEGER NOT NULL,
    attempt        INTEGER NOT NULL,
    job_id         TEXT NOT NULL,
    priority       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'queued', -- queued | running | done | lost
    enqueued_at    TEXT NOT NULL,
    worker         TEXT,
    lease_until    TEXT,
    heartbeat_at   TEXT,
    kill_requested INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, job_idx, attempt)
);
CREATE INDEX queue_claimable ON queue (status, priority DESC, enqueued_at);

-- What workers report, waiting for the orchestrator to turn it into events (exactly once:
-- a row is deleted in the same transaction that records its event).
CREATE TABLE inbox (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id   INTEGER NOT NULL REFERENCES cycle_runs (id),
    job_idx  INTEGER NOT NULL,
    attempt  INTEGER NOT NULL,
    kind     TEXT NOT NULL,                      -- started | finished
    outcome  TEXT,                               -- JSON Outcome for finished
    at       TEXT NOT NULL,
    worker   TEXT NOT NULL
);

-- Attempts as they ran: for status, logs and history.
CREATE TABLE attempts (
    run_id      INTEGER NOT NULL REFERENCES cycle_runs (id),
    job_idx     INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    pgid        INTEGER,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT,
    exit_code   INTEGER,
    log_path    TEXT,
    PRIMARY KEY (run_id, job_idx, attempt)
);

-- Actual durations, per job and per unit of volume, to refine estimates.
CREATE TABLE history (
    cycle           TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    template        TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    volume          INTEGER NOT NULL,
    seconds         REAL NOT NULL,
    finished_at     TEXT NOT NULL
);
CREATE INDEX history_by_job ON history (cycle, template, finished_at);
