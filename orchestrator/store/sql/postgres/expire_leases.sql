UPDATE queue SET status = 'lost'
WHERE status = 'running' AND lease_until < $1
RETURNING run_id, job_idx, attempt, worker
