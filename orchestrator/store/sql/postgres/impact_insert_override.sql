INSERT INTO impact_overrides (cycle, business_date, run_id, actor, reason, detail, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
