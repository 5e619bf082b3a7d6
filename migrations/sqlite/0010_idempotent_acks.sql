-- Acknowledgements are idempotent (issue #13): one per alert. A second `warden ack` (or a
-- second click, or "acknowledge all") of an acknowledged alert stores nothing and is told who
-- acknowledged it and when. Stores written before this kept every repeat: the first of each
-- alert stays in `alert_acks`, the repeats move to `alert_acks_repeated` (kept for audit,
-- never read by Warden) so the unique index can hold.
CREATE TABLE alert_acks_repeated (
    id       INTEGER PRIMARY KEY,            -- its id in alert_acks
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    actor    TEXT NOT NULL,
    note     TEXT,
    at       TEXT NOT NULL
);
INSERT INTO alert_acks_repeated (id, alert_id, actor, note, at)
SELECT id, alert_id, actor, note, at FROM alert_acks
WHERE id NOT IN (SELECT MIN(id) FROM alert_acks GROUP BY alert_id);
DELETE FROM alert_acks WHERE id IN (SELECT id FROM alert_acks_repeated);

DROP INDEX alert_acks_by_alert;
CREATE UNIQUE INDEX alert_acks_one_per_alert ON alert_acks (alert_id);
