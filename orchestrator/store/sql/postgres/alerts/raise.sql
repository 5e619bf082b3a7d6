-- A second raise with the same key is a no-op (and returns no row).
INSERT INTO alerts (run_id, deadline_id, level, idempotency_key, raised_at, view, template, roles)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
