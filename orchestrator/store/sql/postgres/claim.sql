-- One statement: the row is locked by the inner SELECT; concurrent claimers skip it. $5:
-- the worker's labels (a JSON array): a row is claimable when it needs no label the worker
-- lacks.
UPDATE queue
SET status = 'running', worker = $1, lease_until = $2, heartbeat_at = $3
WHERE (run_id, job_idx, attempt) = (
    SELECT run_id, job_idx, attempt FROM queue
    WHERE status = 'queued' AND ($4::bigint IS NULL OR run_id = $4)
      AND needs::jsonb <@ $5::jsonb
    ORDER BY priority DESC, enqueued_at, run_id, job_idx
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING run_id, job_idx, attempt, job_id
