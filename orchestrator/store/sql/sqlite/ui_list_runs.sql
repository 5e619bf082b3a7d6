SELECT id, cycle, business_date, workflow_sha256, mode, options, status, created_at
FROM cycle_runs ORDER BY created_at DESC, id DESC
