-- Deadline watching (issue #4). Times are UTC, RFC 3339 text.

-- Every projection of every deadline, as it was computed during the night: the margin's
-- history, shown on the dashboards and kept for audit.
CREATE TABLE projections (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id           INTEGER NOT NULL REFERENCES cycle_runs (id),
    at               TEXT NOT NULL,              -- the run's clock
    deadline_id      TEXT NOT NULL,
    deadline_at      TEXT NOT NULL,
    finish           TEXT NOT NULL,              -- projected (or, once settled, actual) finish
    margin_seconds   INTEGER NOT NULL,
    p_miss           REAL,
    p50_finish       TEXT,
    p90_finish       TEXT,
    samples          INTEGER NOT NULL DEFAULT 0,
    level            TEXT NOT NULL,              -- ok | warning | escalated | breach_projected | breached
    settled          INTEGER NOT NULL DEFAULT 0, -- 1: every covered job is done
    chain            TEXT NOT NULL,              -- JSON array of the critical chain's job ids
    recorded_at      TEXT NOT NULL               -- wall clock
);
CREATE INDEX projections_by_run ON projections (run_id, deadline_id, at);

-- What the escalation ladders decided: notifications, steps cleared, level changes,
-- breaches (with the actual finish and lateness), deadlines met, acknowledgements. The
-- ladder's state is rebuilt from these on restart; they are also the audit trail.
CREATE TABLE deadline_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES cycle_runs (id),
    at          TEXT NOT NULL,                   -- the run's clock
    deadline_id TEXT NOT NULL,
    kind        TEXT NOT NULL,                   -- notify | cleared | level | breached | met | acknowledged
    level       TEXT,
    notice_key  TEXT,                            -- idempotency key of a notification
    payload     TEXT NOT NULL,                   -- JSON of the decision
    actor       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX deadline_events_by_run ON deadline_events (run_id, id);
CREATE UNIQUE INDEX deadline_events_notice ON deadline_events (run_id, notice_key);

-- Progress a running attempt reports (claims done / total), written with its heartbeat.
ALTER TABLE queue ADD COLUMN progress_done INTEGER;
ALTER TABLE queue ADD COLUMN progress_total INTEGER;
