SELECT path, text FROM run_sources WHERE run_id = $1 ORDER BY seq
