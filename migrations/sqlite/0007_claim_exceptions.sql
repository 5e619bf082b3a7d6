-- Pended claims (exceptions) of a run, bulk-loaded by the `load-exceptions` job after
-- reconciliation (issue #5): adjudication writes them to sequential files, never to a shared
-- table during the passes (case study 002, finding 1). One row per claim and source (the
-- stream, or `-` for a cycle without streams); a load replaces its source's rows in one
-- transaction, so a rerun leaves one copy.
CREATE TABLE claim_exceptions (
    run_id       INTEGER NOT NULL REFERENCES cycle_runs (id),
    source       TEXT NOT NULL,
    claim_id     INTEGER NOT NULL,
    member       INTEGER NOT NULL,
    family       INTEGER NOT NULL,
    reasons      TEXT NOT NULL,
    billed_cents INTEGER NOT NULL,
    loaded_at    TEXT NOT NULL,
    PRIMARY KEY (run_id, source, claim_id)
);
