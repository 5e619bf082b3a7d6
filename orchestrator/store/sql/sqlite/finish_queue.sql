UPDATE queue SET status = 'done', lease_until = NULL
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND worker = ?4 AND status = 'running'
