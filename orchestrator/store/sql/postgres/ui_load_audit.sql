SELECT id, at, actor, action, run_id, job_id, detail FROM ui_audit ORDER BY id
