-- $3: a JSON array of {job, attempt, job_id, priority, needs} dispatched by the step.
INSERT INTO queue (run_id, job_idx, attempt, job_id, priority, enqueued_at, needs)
SELECT $1, d.job, d.attempt, d.job_id, d.priority, $2, COALESCE(d.needs::text, '[]')
FROM jsonb_to_recordset($3::jsonb)
    AS d(job bigint, attempt bigint, job_id text, priority bigint, needs jsonb)
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
