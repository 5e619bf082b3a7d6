-- Per run: each run has its own clock, and lease times are on it.
UPDATE queue SET status = 'lost'
WHERE run_id = ?2 AND status = 'running' AND lease_until < ?1
RETURNING run_id, job_idx, attempt, worker
