INSERT INTO deadline_events (run_id, at, deadline_id, kind, level, notice_key, payload, actor, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
ON CONFLICT (run_id, notice_key) DO NOTHING
