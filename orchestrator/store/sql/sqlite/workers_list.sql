SELECT name, host, pid, version, started_at, heartbeat_at, state, run_id, job_id, attempt, jobs_done
FROM workers
ORDER BY name
