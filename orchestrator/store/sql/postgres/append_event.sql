INSERT INTO events (run_id, seq, step, at, kind, job_idx, attempt, payload, actor, reason, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)
