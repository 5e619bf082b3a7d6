INSERT INTO cycle_runs (cycle, business_date, workflow_sha256, mode, options, created_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6)
ON CONFLICT (cycle, business_date) DO NOTHING
