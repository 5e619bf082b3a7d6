-- A worker process starts: its row is (re)made; a restarted worker with the same name
-- replaces the row of its dead predecessor.
INSERT INTO workers (name, host, pid, version, started_at, heartbeat_at, state, jobs_done)
VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'idle', 0)
ON CONFLICT (name) DO UPDATE SET
    host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,
    started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at,
    state = 'idle', run_id = NULL, job_id = NULL, attempt = NULL, jobs_done = 0
