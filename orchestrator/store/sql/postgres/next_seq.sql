SELECT COALESCE(MAX(seq), 0), COALESCE(MAX(step), 0) FROM events WHERE run_id = $1
