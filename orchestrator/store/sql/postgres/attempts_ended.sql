-- $2: a JSON array of {job, attempt, at, outcome, exit_code} the step consumed.
UPDATE attempts
SET finished_at = e.at, outcome = e.outcome, exit_code = e.exit_code
FROM jsonb_to_recordset($2::jsonb)
    AS e(job bigint, attempt bigint, at timestamptz, outcome text, exit_code bigint)
WHERE attempts.run_id = $1
  AND attempts.job_idx = e.job
  AND attempts.attempt = e.attempt
  AND attempts.finished_at IS NULL
