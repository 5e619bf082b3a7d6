SELECT id, run_id, deadline_id, level, idempotency_key, raised_at, view, template, roles
FROM alerts WHERE run_id = ?1 ORDER BY id
