UPDATE queue SET lease_until = $5, heartbeat_at = $6
WHERE run_id = $1 AND job_idx = $2 AND attempt = $3 AND worker = $4 AND status = 'running'
RETURNING kill_requested, kill_reason
