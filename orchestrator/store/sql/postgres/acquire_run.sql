-- Take the run if nobody holds it, we already do, the holder's lease ran out, or the holder
-- is known dead ($5, checked by the caller: same host, pid gone).
UPDATE cycle_runs SET owner = $2, owner_until = $3
WHERE id = $1
  AND (owner IS NULL OR owner = $2 OR owner_until < $4 OR owner = $5::text)
RETURNING owner
