-- Deadline watching (issue #4).

-- Every projection of every deadline, as it was computed during the night: the margin's
-- history, shown on the dashboards and kept for audit.
CREATE TABLE projections (
    id               BIGSERIAL PRIMARY KEY,
    run_id           BIGINT NOT NULL REFERENCES cycle_runs (id),
    at               TIMESTAMPTZ NOT NULL,       -- the run's clock
    deadline_id      TEXT NOT NULL,
    deadline_at      TIMESTAMPTZ NOT NULL,
    finish           TIMESTAMPTZ NOT NULL,       -- projected (or, once settled, actual) finish
    margin_seconds   BIGINT NOT NULL,
    p_miss           DOUBLE PRECISION,
    p50_finish       TIMESTAMPTZ,
    p90_finish       TIMESTAMPTZ,
    samples          BIGINT NOT NULL DEFAULT 0,
    level            TEXT NOT NULL,              -- ok | warning | escalated | breach_projected | breached
    settled          BOOLEAN NOT NULL DEFAULT FALSE,
    chain            JSONB NOT NULL,             -- the critical chain's job ids
    recorded_at      TIMESTAMPTZ NOT NULL        -- wall clock
);
CREATE INDEX projections_by_run ON projections (run_id, deadline_id, at);

-- What the escalation ladders decided: notifications, steps cleared, level changes,
-- breaches (with the actual finish and lateness), deadlines met, acknowledgements. The
-- ladder's state is rebuilt from these on restart; they are also the audit trail.
CREATE TABLE deadline_events (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES cycle_runs (id),
    at          TIMESTAMPTZ NOT NULL,            -- the run's clock
    deadline_id TEXT NOT NULL,
    kind        TEXT NOT NULL,                   -- notify | cleared | level | breached | met | acknowledged
    level       TEXT,
    notice_key  TEXT,                            -- idempotency key of a notification
    payload     JSONB NOT NULL,                  -- the decision
    actor       TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX deadline_events_by_run ON deadline_events (run_id, id);
CREATE UNIQUE INDEX deadline_events_notice ON deadline_events (run_id, notice_key);

-- Progress a running attempt reports (claims done / total), written with its heartbeat.
ALTER TABLE queue ADD COLUMN progress_done BIGINT;
ALTER TABLE queue ADD COLUMN progress_total BIGINT;
