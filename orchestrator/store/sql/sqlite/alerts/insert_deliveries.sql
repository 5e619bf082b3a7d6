-- ?2 is a JSON array of {role, channel, status, error}.
INSERT INTO deliveries (alert_id, role, channel, status, next_attempt_at, last_error)
SELECT ?1, json_extract(d.value, '$.role'), json_extract(d.value, '$.channel'),
       json_extract(d.value, '$.status'), ?3, json_extract(d.value, '$.error')
FROM json_each(?2) AS d
WHERE true
ON CONFLICT (alert_id, role, channel) DO NOTHING
