-- Undo an earlier post of this run (2 of 2): the rows it updated return to their prior values.
UPDATE member_accumulators
SET deductible_cents = prior_deductible_cents, oop_cents = prior_oop_cents,
    posted_run = prior_run, prior_run = NULL
WHERE source = ?2 AND posted_run = ?1
