-- A read before the claim: an empty queue costs no write.
SELECT 1 FROM queue WHERE status = 'queued' AND ($1::bigint IS NULL OR run_id = $1) LIMIT 1
