-- A worker's heartbeat: what it is doing now.
UPDATE workers
SET heartbeat_at = ?2, state = ?3, run_id = ?4, job_id = ?5, attempt = ?6, jobs_done = ?7
WHERE name = ?1
