-- The acknowledgements of a run's alerts: all ($2 null) or those whose ids are in $2.
SELECT k.id, k.alert_id, a.deadline_id, a.level, k.actor, k.note, k.at, a.idempotency_key
FROM alert_acks k JOIN alerts a ON a.id = k.alert_id
WHERE a.run_id = $1
  AND ($2::jsonb IS NULL OR a.id IN (SELECT (jsonb_array_elements_text($2::jsonb))::bigint))
ORDER BY a.id
