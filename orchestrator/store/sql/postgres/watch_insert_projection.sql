INSERT INTO projections (run_id, at, deadline_id, deadline_at, finish, margin_seconds, p_miss,
    p50_finish, p90_finish, samples, level, settled, chain, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14)
