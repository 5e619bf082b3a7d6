-- Undo an earlier post of this run (1 of 2): the rows it created go.
DELETE FROM member_accumulators WHERE source = ?2 AND posted_run = ?1 AND prior_run IS NULL
