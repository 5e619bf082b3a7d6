UPDATE attempts SET finished_at = ?4, outcome = ?5, exit_code = ?6
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND finished_at IS NULL
