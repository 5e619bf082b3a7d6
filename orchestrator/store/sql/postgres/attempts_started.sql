-- $2: a JSON array of {job, attempt, worker, at, pgid, log_path} the step consumed.
INSERT INTO attempts (run_id, job_idx, attempt, worker, started_at, pgid, log_path)
SELECT $1, a.job, a.attempt, a.worker, a.at, a.pgid, a.log_path
FROM jsonb_to_recordset($2::jsonb)
    AS a(job bigint, attempt bigint, worker text, at timestamptz, pgid bigint, log_path text)
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
