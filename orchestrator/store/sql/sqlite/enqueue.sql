-- ?3: a JSON array of {job, attempt, job_id, priority, needs} dispatched by the step.
INSERT INTO queue (run_id, job_idx, attempt, job_id, priority, enqueued_at, needs)
SELECT ?1, json_extract(d.value, '$.job'), json_extract(d.value, '$.attempt'),
       json_extract(d.value, '$.job_id'), json_extract(d.value, '$.priority'), ?2,
       COALESCE(json_extract(d.value, '$.needs'), '[]')
FROM json_each(?3) AS d
WHERE true
ON CONFLICT (run_id, job_idx, attempt) DO NOTHING
