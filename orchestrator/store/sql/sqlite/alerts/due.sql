SELECT d.id, d.alert_id, a.run_id, a.idempotency_key, d.role, d.channel, d.attempts,
       a.view, a.template
FROM deliveries d JOIN alerts a ON a.id = d.alert_id
WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND (?2 IS NULL OR a.run_id = ?2)
ORDER BY d.next_attempt_at, d.id
LIMIT ?3
