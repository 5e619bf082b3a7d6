-- ?2: a JSON array of {job, attempt, worker, at, pgid, log_path} the step consumed.
INSERT INTO attempts (run_id, job_idx, attempt, worker, started_at, pgid, log_path)
SELECT ?1, json_extract(a.value, '$.job'), json_extract(a.value, '$.attempt'),
       json_extract(a.value, '$.worker'), json_extract(a.value, '$.at'),
       json_extract(a.value, '$.pgid'), json_extract(a.value, '$.log_path')
FROM json_each(?2) AS a
WHERE true
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
