-- A batch in one statement: ?3 is a JSON array of
-- [member, family, deductible_start, oop_start, deductible_end, oop_end].
-- A row the store holds changes only if it still holds the start values setup read; the
-- caller compares the rows changed with the batch's length and rolls back if they differ.
INSERT INTO member_accumulators (source, member, family, deductible_cents, oop_cents,
    posted_run, posted_at, prior_deductible_cents, prior_oop_cents, prior_run)
SELECT ?2, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'),
       json_extract(e.value, '$[4]'), json_extract(e.value, '$[5]'), ?1, ?4,
       json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]'), NULL
FROM json_each(?3) AS e WHERE true
ON CONFLICT (source, member) DO UPDATE SET
    family = excluded.family,
    prior_deductible_cents = member_accumulators.deductible_cents,
    prior_oop_cents = member_accumulators.oop_cents,
    prior_run = member_accumulators.posted_run,
    deductible_cents = excluded.deductible_cents,
    oop_cents = excluded.oop_cents,
    posted_run = excluded.posted_run,
    posted_at = excluded.posted_at
WHERE member_accumulators.deductible_cents = excluded.prior_deductible_cents
  AND member_accumulators.oop_cents = excluded.prior_oop_cents
