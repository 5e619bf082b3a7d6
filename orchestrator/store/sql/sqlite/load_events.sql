SELECT seq, step, at, kind, job_idx, attempt, payload, actor, reason, recorded_at
FROM events WHERE run_id = ?1 ORDER BY seq
