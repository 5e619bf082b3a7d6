-- Pended claims (exceptions) of a run, bulk-loaded by the `load-exceptions` job after
-- reconciliation (issue #5): adjudication writes them to sequential files, never to a shared
-- table during the passes (case study 002, finding 1). One row per claim and source (the
-- stream, or `-` for a cycle without streams); a load replaces its source's rows in one
-- transaction, so a rerun leaves one copy.
CREATE TABLE claim_exceptions (
    run_id       BIGINT NOT NULL REFERENCES cycle_runs (id),
    source       TEXT NOT NULL,
    claim_id     BIGINT NOT NULL,
    member       BIGINT NOT NULL,
    family       BIGINT NOT NULL,
    reasons      TEXT NOT NULL,
    billed_cents BIGINT NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, source, claim_id)
);
