-- Acknowledges a run's alerts that are not acknowledged yet: all of them ($5 null) or those
-- whose ids are in $5 (a JSON array); ids of other runs' alerts are ignored.
INSERT INTO alert_acks (alert_id, actor, note, at)
SELECT a.id, $2, $3, $4 FROM alerts a
WHERE a.run_id = $1
  AND ($5::jsonb IS NULL OR a.id IN (SELECT (jsonb_array_elements_text($5::jsonb))::bigint))
ON CONFLICT (alert_id) DO NOTHING
RETURNING id
