SELECT id, roles::text FROM alerts
WHERE fanned_out_at IS NULL AND ($1::bigint IS NULL OR run_id = $1)
ORDER BY id
