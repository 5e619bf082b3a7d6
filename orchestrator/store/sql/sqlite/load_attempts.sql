SELECT job_idx, attempt, worker, pgid, started_at, finished_at, outcome, exit_code, log_path
FROM attempts WHERE run_id = ?1 ORDER BY job_idx, attempt
