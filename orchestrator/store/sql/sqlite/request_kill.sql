UPDATE queue SET kill_requested = 1, kill_reason = ?4
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3
