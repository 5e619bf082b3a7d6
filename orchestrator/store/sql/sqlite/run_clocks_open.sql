-- The runs a worker may claim from: running, with their orchestrator's clock published.
SELECT c.run_id, c.origin, c.wall_start, c.speed
FROM run_clocks c JOIN cycle_runs r ON r.id = c.run_id
WHERE r.status = 'running'
ORDER BY c.run_id
