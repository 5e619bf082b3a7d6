-- $2 is a JSON array of {role, channel, status, error}.
INSERT INTO deliveries (alert_id, role, channel, status, next_attempt_at, last_error)
SELECT $1, d.role, d.channel, d.status, $3, d.error
FROM jsonb_to_recordset($2::jsonb) AS d(role text, channel text, status text, error text)
ON CONFLICT (alert_id, role, channel) DO NOTHING
