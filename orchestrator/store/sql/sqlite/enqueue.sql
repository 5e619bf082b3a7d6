-- ?3: a JSON array of {job, attempt, job_id, priority} dispatched by the step.
INSERT INTO queue (run_id, job_idx, attempt, job_id, priority, enqueued_at)
SELECT ?1, json_extract(d.value, '$.job'), json_extract(d.value, '$.attempt'),
       json_extract(d.value, '$.job_id'), json_extract(d.value, '$.priority'), ?2
FROM json_each(?3) AS d
WHERE true
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
