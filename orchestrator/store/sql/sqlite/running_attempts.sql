SELECT job_idx, attempt, worker FROM queue
WHERE run_id = ?1 AND status = 'running' ORDER BY job_idx, attempt
