SELECT id FROM alerts WHERE idempotency_key = $1
