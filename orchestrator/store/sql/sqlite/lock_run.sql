-- SQLite's BEGIN IMMEDIATE already gives a replacing load the store to itself; the same
-- statement keeps the two dialects' steps alike.
SELECT id FROM cycle_runs WHERE id = ?1
