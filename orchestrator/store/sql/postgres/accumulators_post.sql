-- A batch in one statement: $3 is a JSON array of
-- [member, family, deductible_start, oop_start, deductible_end, oop_end].
-- A row the store holds changes only if it still holds the start values setup read; the
-- caller compares the rows changed with the batch's length and rolls back if they differ.
INSERT INTO member_accumulators AS a (source, member, family, deductible_cents, oop_cents,
    posted_run, posted_at, prior_deductible_cents, prior_oop_cents, prior_run)
SELECT $2, (e->>0)::bigint, (e->>1)::bigint, (e->>4)::bigint, (e->>5)::bigint, $1, $4,
       (e->>2)::bigint, (e->>3)::bigint, NULL
FROM jsonb_array_elements($3::jsonb) AS e
ON CONFLICT (source, member) DO UPDATE SET
    family = excluded.family,
    prior_deductible_cents = a.deductible_cents,
    prior_oop_cents = a.oop_cents,
    prior_run = a.posted_run,
    deductible_cents = excluded.deductible_cents,
    oop_cents = excluded.oop_cents,
    posted_run = excluded.posted_run,
    posted_at = excluded.posted_at
WHERE a.deductible_cents = excluded.prior_deductible_cents
  AND a.oop_cents = excluded.prior_oop_cents
