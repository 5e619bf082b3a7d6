UPDATE queue SET kill_requested = TRUE, kill_reason = $4
WHERE run_id = $1 AND job_idx = $2 AND attempt = $3
