INSERT INTO inbox (run_id, job_idx, attempt, kind, outcome, at, worker, reason)
VALUES ($1, $2, 0, 'operator', $3, $4, $5, $6)
