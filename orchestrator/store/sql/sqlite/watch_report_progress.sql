UPDATE queue SET progress_done = ?5, progress_total = ?6
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND worker = ?4 AND status = 'running'
