-- One attempt whose worker is known dead (it ran inside an orchestrator that died).
UPDATE queue SET status = 'lost'
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND worker = ?4 AND status = 'running'
RETURNING run_id, job_idx, attempt, worker
