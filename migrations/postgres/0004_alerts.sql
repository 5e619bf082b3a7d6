-- The alerts outbox (issue 4). An alert is raised once per idempotency key; each
-- (alert, role, channel) is one delivery, retried with backoff until delivered or
-- dead-lettered (kept, never dropped). Acknowledgements are kept with who, when and why.
CREATE TABLE alerts (
    id              BIGSERIAL PRIMARY KEY,
    run_id          BIGINT NOT NULL REFERENCES cycle_runs (id),
    deadline_id     TEXT NOT NULL,
    level           TEXT NOT NULL,               -- warning | escalated | breach_projected | breached
    idempotency_key TEXT NOT NULL UNIQUE,
    raised_at       TIMESTAMPTZ NOT NULL,
    view            JSONB NOT NULL,              -- the AlertView
    template        TEXT,                        -- null: the default template
    roles           JSONB NOT NULL,              -- array of role ids
    fanned_out_at   TIMESTAMPTZ                  -- when its deliveries were created
);
CREATE INDEX alerts_by_run ON alerts (run_id, id);
CREATE INDEX alerts_to_fan_out ON alerts (fanned_out_at, run_id);

CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    alert_id        BIGINT NOT NULL REFERENCES alerts (id),
    role            TEXT NOT NULL,
    channel         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | delivered | dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    delivered_at    TIMESTAMPTZ,
    UNIQUE (alert_id, role, channel)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

CREATE TABLE alert_acks (
    id       BIGSERIAL PRIMARY KEY,
    alert_id BIGINT NOT NULL REFERENCES alerts (id),
    actor    TEXT NOT NULL,
    note     TEXT,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_acks_by_alert ON alert_acks (alert_id);
