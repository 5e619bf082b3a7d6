-- The acknowledgement of one alert (at most one: `alert_acks_one_per_alert`).
SELECT k.id, k.alert_id, a.deadline_id, a.level, k.actor, k.note, k.at, a.idempotency_key
FROM alert_acks k JOIN alerts a ON a.id = k.alert_id
WHERE k.alert_id = $1
