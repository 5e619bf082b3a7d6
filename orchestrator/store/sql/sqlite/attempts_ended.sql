-- ?2: a JSON array of {job, attempt, at, outcome, exit_code} the step consumed. Written so
-- that each attempt is found by its key (a join here scanned every attempt of the run).
UPDATE attempts
SET finished_at = (
        SELECT json_extract(value, '$.at') FROM json_each(?2)
        WHERE json_extract(value, '$.job') = attempts.job_idx
          AND json_extract(value, '$.attempt') = attempts.attempt
    ),
    outcome = (
        SELECT json_extract(value, '$.outcome') FROM json_each(?2)
        WHERE json_extract(value, '$.job') = attempts.job_idx
          AND json_extract(value, '$.attempt') = attempts.attempt
    ),
    exit_code = (
        SELECT json_extract(value, '$.exit_code') FROM json_each(?2)
        WHERE json_extract(value, '$.job') = attempts.job_idx
          AND json_extract(value, '$.attempt') = attempts.attempt
    )
WHERE run_id = ?1
  AND (job_idx, attempt) IN (
    SELECT json_extract(value, '$.job'), json_extract(value, '$.attempt') FROM json_each(?2)
  )
  AND finished_at IS NULL
