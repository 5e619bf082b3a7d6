INSERT INTO attempts (run_id, job_idx, attempt, worker, started_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
