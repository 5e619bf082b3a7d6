SELECT k.id, k.alert_id, a.deadline_id, a.level, k.actor, k.note, k.at, a.idempotency_key
FROM alert_acks k JOIN alerts a ON a.id = k.alert_id
WHERE a.run_id = ?1 ORDER BY k.at, k.id
