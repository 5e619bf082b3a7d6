SELECT deadline_id, level, idempotency_key FROM alerts WHERE id = $1
