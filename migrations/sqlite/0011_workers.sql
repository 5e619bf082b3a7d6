-- Scale-out (issue #14): `warden worker` processes on any host claim from the queue.

-- Every worker process: who it is, what it runs, when it was last heard from. A worker
-- beats its row every few seconds of wall-clock time, whether or not it runs a job.
CREATE TABLE workers (
    name         TEXT PRIMARY KEY,              -- host-pid-worker, or --name
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,                 -- the warden binary's version
    started_at   TEXT    NOT NULL,          -- wall clock
    heartbeat_at TEXT    NOT NULL,          -- wall clock
    state        TEXT NOT NULL,                 -- idle | running | stopping | stopped
    run_id       INTEGER,                        -- what it runs now (state running)
    job_id       TEXT,
    attempt      INTEGER,
    jobs_done    INTEGER NOT NULL DEFAULT 0
);

-- The files a run's plan was compiled from (the workflow and every file it references), so
-- that a worker on any host builds the very plan its orchestrator runs.
CREATE TABLE run_sources (
    run_id INTEGER NOT NULL REFERENCES cycle_runs (id),
    seq    INTEGER NOT NULL,                     -- 0: the workflow file
    path   TEXT NOT NULL,                       -- as the compiler named it
    text   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- A run's clock as its orchestrator keeps it: run time = origin + (wall - wall_start) * speed.
-- Rewritten at each start of the orchestrator; a worker elsewhere reads it so that its
-- leases and reports are on the run's clock (hosts' wall clocks kept by NTP).
CREATE TABLE run_clocks (
    run_id     INTEGER PRIMARY KEY REFERENCES cycle_runs (id),
    origin     TEXT    NOT NULL,
    wall_start TEXT    NOT NULL,
    speed      REAL NOT NULL
);

-- The labels a queued attempt needs of its worker (a JSON array, from the job's `runs_on`):
-- only a worker carrying every one claims it; in-process workers carry none.
ALTER TABLE queue ADD COLUMN needs TEXT NOT NULL DEFAULT '[]';

-- Claimable rows only: the index stays as small as the queue's waiting work however long
-- its history grows, and finished rows cost it nothing to vacuum.
DROP INDEX queue_claimable;
CREATE INDEX queue_claimable ON queue (priority DESC, enqueued_at) WHERE status = 'queued';
