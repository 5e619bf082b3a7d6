-- Warden's durable state (PostgreSQL). Times are timestamptz.

-- One row per cycle run: a workflow instantiated for a business date.
CREATE TABLE cycle_runs (
    id              BIGSERIAL PRIMARY KEY,
    cycle           TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    workflow_sha256 TEXT NOT NULL,
    mode            TEXT NOT NULL,
    options         JSONB NOT NULL,             -- JSON: volumes and other plan options
    status          TEXT NOT NULL DEFAULT 'running',
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (cycle, business_date)
);

-- The append-only event log: the scheduling machine's inputs, grouped into steps, and the
-- audit trail (who, what, when, why). Replaying it rebuilds the machine exactly.
CREATE TABLE events (
    run_id      BIGINT NOT NULL REFERENCES cycle_runs (id),
    seq         BIGINT NOT NULL,
    step        BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,           -- the machine's clock
    kind        TEXT NOT NULL,                  -- tick | started | finished | operator
    job_idx     BIGINT,
    attempt     BIGINT,
    payload     JSONB,                          -- JSON of the event
    actor       TEXT NOT NULL,
    reason      TEXT,
    recorded_at TIMESTAMPTZ NOT NULL,           -- wall clock
    PRIMARY KEY (run_id, seq)
);

-- The job queue: one row per dispatched attempt. Workers claim rows with a lease and every
-- write they make is fenced by (job, attempt, worker).
CREATE TABLE queue (
    run_id         BIGINT NOT NULL REFERENCES cycle_runs (id),
    job_idx        BIGINT NOT NULL,
    attempt        BIGINT NOT NULL,
    job_id         TEXT NOT NULL,
    priority       BIGINT NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'queued', -- queued | running | done | lost
    enqueued_at    TIMESTAMPTZ NOT NULL,
    worker         TEXT,
    lease_until    TIMESTAMPTZ,
    heartbeat_at   TIMESTAMPTZ,
    kill_requested BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (run_id, job_idx, attempt)
);
CREATE INDEX queue_claimable ON queue (status, priority DESC, enqueued_at);

-- What workers report, waiting for the orchestrator to turn it into events (exactly once:
-- a row is deleted in the same transaction that records its event).
CREATE TABLE inbox (
    id       BIGSERIAL PRIMARY KEY,
    run_id   BIGINT NOT NULL REFERENCES cycle_runs (id),
    job_idx  BIGINT NOT NULL,
    attempt  BIGINT NOT NULL,
    kind     TEXT NOT NULL,                      -- started | finished
    outcome  TEXT,                               -- JSON Outcome for finished
    at       TIMESTAMPTZ NOT NULL,
    worker   TEXT NOT NULL
);

-- Attempts as they ran: for status, logs and history.
CREATE TABLE attempts (
    run_id      BIGINT NOT NULL REFERENCES cycle_runs (id),
    job_idx     BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    worker      TEXT NOT NULL,
    pgid        BIGINT,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    outcome     TEXT,
    exit_code   BIGINT,
    log_path    TEXT,
    PRIMARY KEY (run_id, job_idx, attempt)
);

-- Actual durations, per job and per unit of volume, to refine estimates.
CREATE TABLE history (
    cycle           TEXT NOT NULL,
    job_id          TEXT NOT NULL,
    template        TEXT NOT NULL,
    business_date   TEXT NOT NULL,
    volume          BIGINT NOT NULL,
    seconds         DOUBLE PRECISION NOT NULL,
    finished_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX history_by_job ON history (cycle, template, finished_at);
