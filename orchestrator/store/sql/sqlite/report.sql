INSERT INTO inbox (run_id, job_idx, attempt, kind, outcome, at, worker)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
WHERE EXISTS (
    SELECT 1 FROM queue
    WHERE run_id = ?1 AND job_idx = ?2 AND attempt = ?3 AND worker = ?7 AND status = 'running'
)
