-- SQLite has one writer at a time, so selecting and updating in one statement is atomic:
-- the honest single-writer equivalent of FOR UPDATE SKIP LOCKED. ?5: the worker's labels
-- (a JSON array): a row is claimable when it needs no label the worker lacks.
UPDATE queue
SET status = 'running', worker = ?1, lease_until = ?2, heartbeat_at = ?3
WHERE rowid = (
    SELECT rowid FROM queue
    WHERE status = 'queued' AND (?4 IS NULL OR run_id = ?4)
      AND (needs = '[]' OR NOT EXISTS (
          SELECT 1 FROM json_each(queue.needs) AS n
          WHERE n.value NOT IN (SELECT value FROM json_each(?5))))
    ORDER BY priority DESC, enqueued_at, run_id, job_idx
    LIMIT 1
)
RETURNING run_id, job_idx, attempt, job_id
