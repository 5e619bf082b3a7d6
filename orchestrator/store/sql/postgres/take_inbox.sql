SELECT id, job_idx, attempt, kind, outcome, at, worker, reason FROM inbox WHERE run_id = $1 ORDER BY id
