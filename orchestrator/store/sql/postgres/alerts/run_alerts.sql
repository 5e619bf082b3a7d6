SELECT id, run_id, deadline_id, level, idempotency_key, raised_at, view::text, template, roles::text
FROM alerts WHERE run_id = $1 ORDER BY id
