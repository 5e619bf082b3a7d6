SELECT job_idx, attempt, progress_done, progress_total FROM queue
WHERE run_id = $1 AND status = 'running' AND progress_total IS NOT NULL
