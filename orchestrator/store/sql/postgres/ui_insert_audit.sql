INSERT INTO ui_audit (at, actor, action, run_id, job_id, detail) VALUES ($1, $2, $3, $4, $5, $6)
