-- SQLite has one writer at a time, so selecting and updating in one statement is atomic:
-- the honest single-writer equivalent of FOR UPDATE SKIP LOCKED.
UPDATE queue
SET status = 'running', worker = ?1, lease_until = ?2, heartbeat_at = ?3
WHERE rowid = (
    SELECT rowid FROM queue
    WHERE status = 'queued' AND (?4 IS NULL OR run_id = ?4)
    ORDER BY priority DESC, enqueued_at, run_id, job_idx
    LIMIT 1
)
RETURNING run_id, job_idx, attempt, job_id
