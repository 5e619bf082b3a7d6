-- A read before the claim: an empty queue costs no write lock.
SELECT 1 FROM queue WHERE status = 'queued' AND (?1 IS NULL OR run_id = ?1) LIMIT 1
