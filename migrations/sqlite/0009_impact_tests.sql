-- Batch impact tests and the go-live gate (issue #12). New volume above the trigger goes live
-- only after an impact test covering it: `impact_tests` keeps every test's verdict, the
-- digests of what it was run on (workflow, sample, thresholds, binary) so a review board can
-- tell which inputs a report speaks for, the volume it tested per stream (what the gate
-- compares a cycle's volume with), and the whole report as the command produced it.
--
-- `volumes` (JSON object: stream id -> total tested volume) and `report` (JSON) are kept as
-- the text written: the report is opaque to the store and read back byte for byte.
CREATE TABLE impact_tests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    cycle             TEXT NOT NULL,        -- the workflow's cycle id
    business_date     TEXT NOT NULL,
    created_at        TEXT NOT NULL,        -- wall clock
    verdict           TEXT NOT NULL CHECK (verdict IN ('pass', 'review', 'fail')),
    workflow_sha256   TEXT NOT NULL,
    sample_sha256     TEXT NOT NULL,
    thresholds_sha256 TEXT NOT NULL,
    binary_version    TEXT NOT NULL,
    volumes           TEXT NOT NULL,
    report            TEXT NOT NULL
);
CREATE INDEX impact_tests_by_cycle ON impact_tests (cycle, created_at);

-- A `review` verdict lets the volume go live once an architect approved it, with a note.
-- One approval per test (UNIQUE): two approvers racing leave one row, and the second learns
-- who approved first.
CREATE TABLE impact_approvals (
    test_id  INTEGER NOT NULL UNIQUE REFERENCES impact_tests (id),
    approver TEXT NOT NULL,
    role     TEXT NOT NULL,
    note     TEXT NOT NULL CHECK (trim(note) <> ''),
    at       TEXT NOT NULL                  -- wall clock
);

-- An operator's override of the gate: never silent, always with a reason and what it let
-- through. `run_id` is NULL for an override given before the cycle's run was opened.
CREATE TABLE impact_overrides (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    cycle         TEXT NOT NULL,
    business_date TEXT NOT NULL,
    run_id        INTEGER REFERENCES cycle_runs (id),
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL CHECK (trim(reason) <> ''),
    detail        TEXT NOT NULL,        -- what was overridden (stream, volume, approved volume)
    at            TEXT NOT NULL         -- wall clock
);
CREATE INDEX impact_overrides_by_cycle ON impact_overrides (cycle, at);
