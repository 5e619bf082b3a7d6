SELECT id, at, deadline_id, kind, level, notice_key, payload::text, actor, recorded_at
FROM deadline_events WHERE run_id = $1 ORDER BY id
