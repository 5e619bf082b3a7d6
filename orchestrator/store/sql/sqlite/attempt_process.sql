-- Fenced like every worker write: only the worker that holds the running attempt.
UPDATE attempts SET pgid = ?5, log_path = ?6
WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND worker = ?4
  AND EXISTS (
    SELECT 1 FROM queue q
    WHERE q.run_id = ?1 AND q.job_idx = ?2 AND q.attempt = ?3 AND q.worker = ?4
      AND q.status = 'running'
  )
