-- A read before the claim: an empty queue costs no write lock. ?2: the worker's labels.
SELECT 1 FROM queue
WHERE status = 'queued' AND (?1 IS NULL OR run_id = ?1)
  AND (needs = '[]' OR NOT EXISTS (
      SELECT 1 FROM json_each(queue.needs) AS n
      WHERE n.value NOT IN (SELECT value FROM json_each(?2))))
LIMIT 1
