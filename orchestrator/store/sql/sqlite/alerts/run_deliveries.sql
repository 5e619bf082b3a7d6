SELECT d.id, d.alert_id, d.role, d.channel, d.status, d.attempts, d.next_attempt_at,
       d.last_error, d.delivered_at
FROM deliveries d JOIN alerts a ON a.id = d.alert_id
WHERE a.run_id = ?1 ORDER BY d.alert_id, d.id
