SELECT id, roles FROM alerts
WHERE fanned_out_at IS NULL AND (?1 IS NULL OR run_id = ?1)
ORDER BY id
