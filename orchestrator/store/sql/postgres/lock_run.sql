-- Serialises a run's replacing loads (its exceptions, its accumulator post): a second one (a
-- rerun while the first attempt, declared lost, still writes) waits for the first to commit,
-- then replaces what it wrote instead of colliding with it.
SELECT id FROM cycle_runs WHERE id = $1 FOR UPDATE
