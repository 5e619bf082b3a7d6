SELECT at, deadline_id, deadline_at, finish, margin_seconds, p_miss, p50_finish, p90_finish,
    samples, level, settled, chain::text, recorded_at
FROM projections WHERE run_id = $1 ORDER BY id
