-- The web UI's own audit trail (issue #6): sign-ins, sign-outs, refused actions. Operator
-- commands and acknowledgements are already in `events` and `alert_acks` with their actor.
CREATE TABLE ui_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,        -- wall clock
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,        -- login | login_failed | logout | denied
    run_id  INTEGER,
    job_id  TEXT,
    detail  TEXT
);
CREATE INDEX ui_audit_by_at ON ui_audit (at);
