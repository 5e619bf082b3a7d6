INSERT INTO inbox (run_id, job_idx, attempt, kind, outcome, at, worker)
VALUES (?1, ?2, ?3, 'finished', ?4, ?5, ?6)
