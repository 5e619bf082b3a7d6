SELECT id, cycle, business_date, workflow_sha256, mode, options::text, status, created_at
FROM cycle_runs WHERE cycle = $1 AND business_date = $2
