-- The attempt a worker holds without knowing it: its claim committed but the answer was
-- lost with the connection. A worker runs one attempt at a time, so any running row in its
-- name, when it is about to claim, is such an orphan; it takes it back with a fresh lease.
UPDATE queue
SET lease_until = ?2, heartbeat_at = ?3
WHERE rowid = (
    SELECT rowid FROM queue
    WHERE status = 'running' AND worker = ?1 AND (?4 IS NULL OR run_id = ?4)
    ORDER BY run_id, job_idx, attempt
    LIMIT 1
)
RETURNING run_id, job_idx, attempt, job_id
