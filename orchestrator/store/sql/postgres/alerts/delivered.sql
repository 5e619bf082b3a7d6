UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $2
WHERE id = $1 AND status = 'pending'
RETURNING id
