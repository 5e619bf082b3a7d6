-- A read before the claim: an empty queue costs no write. $2: the worker's labels.
SELECT 1 FROM queue
WHERE status = 'queued' AND ($1::bigint IS NULL OR run_id = $1) AND needs::jsonb <@ $2::jsonb
LIMIT 1
