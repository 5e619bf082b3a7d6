-- Serialises loads of a run's exceptions: a second load (a rerun while the first attempt,
-- declared lost, still writes) waits for the first to commit, then replaces its rows
-- instead of colliding with them.
SELECT id FROM cycle_runs WHERE id = $1 FOR UPDATE
