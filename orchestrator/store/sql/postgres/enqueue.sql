INSERT INTO queue (run_id, job_idx, attempt, job_id, priority, enqueued_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
