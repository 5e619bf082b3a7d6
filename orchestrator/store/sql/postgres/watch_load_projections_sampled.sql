-- A run's projections thinned to about $2 per deadline (always its first and latest).
SELECT at, deadline_id, deadline_at, finish, margin_seconds, p_miss, p50_finish, p90_finish,
    samples, level, settled, chain::text, recorded_at
FROM (
    SELECT p.*,
        ROW_NUMBER() OVER (PARTITION BY deadline_id ORDER BY id) AS rn,
        COUNT(*) OVER (PARTITION BY deadline_id) AS n
    FROM projections p WHERE run_id = $1
) AS sampled
WHERE rn = 1 OR rn = n OR rn % ((n + $2 - 1) / $2) = 0
ORDER BY id
