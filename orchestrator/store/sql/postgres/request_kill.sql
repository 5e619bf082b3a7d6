UPDATE queue SET kill_requested = TRUE WHERE run_id = $1 AND job_idx = $2 AND attempt = $3
