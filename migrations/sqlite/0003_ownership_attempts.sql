-- One orchestrator at a time per cycle run: the owner holds a lease on the wall clock that
-- it renews while it runs. A second `warden run` of the same cycle is refused while the
-- lease is live; a dead owner on this host (its pid gone) is taken over at once.
ALTER TABLE cycle_runs ADD COLUMN owner TEXT;
ALTER TABLE cycle_runs ADD COLUMN owner_until TEXT;

-- Attempts are looked up per run for status and recovery.
CREATE INDEX attempts_by_run ON attempts (run_id, finished_at);
-- Lease expiry is per run (each run has its own clock).
CREATE INDEX queue_by_run_status ON queue (run_id, status);

-- Why a kill was asked for (`timeout` or `operator`), so the worker reports it as such.
ALTER TABLE queue ADD COLUMN kill_reason TEXT;
