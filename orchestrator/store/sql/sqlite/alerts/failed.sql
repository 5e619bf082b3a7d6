-- ?3 null: no more attempts, the delivery is dead-lettered (kept, listed, never retried).
UPDATE deliveries
SET attempts = attempts + 1, last_error = ?2,
    status = CASE WHEN ?3 IS NULL THEN 'dead' ELSE 'pending' END,
    next_attempt_at = COALESCE(?3, next_attempt_at)
WHERE id = ?1 AND status = 'pending'
RETURNING status
