-- Inserts only for an alert that exists and is not acknowledged yet (no row returned
-- otherwise: `ack_of.sql` then tells which).
INSERT INTO alert_acks (alert_id, actor, note, at)
SELECT id, ?2, ?3, ?4 FROM alerts WHERE id = ?1
ON CONFLICT (alert_id) DO NOTHING
RETURNING id, alert_id
