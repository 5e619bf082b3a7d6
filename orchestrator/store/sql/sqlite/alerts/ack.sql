-- Inserts only for an alert that exists (no row returned otherwise).
INSERT INTO alert_acks (alert_id, actor, note, at)
SELECT id, ?2, ?3, ?4 FROM alerts WHERE id = ?1
RETURNING id, alert_id
