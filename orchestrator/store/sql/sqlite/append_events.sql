-- A step's events in one statement: ?5 is a JSON array of
-- {seq, kind, job, attempt, payload, actor, reason}, in order.
INSERT INTO events (run_id, seq, step, at, kind, job_idx, attempt, payload, actor, reason, recorded_at)
SELECT ?1, json_extract(e.value, '$.seq'), ?2, ?3, json_extract(e.value, '$.kind'),
       json_extract(e.value, '$.job'), json_extract(e.value, '$.attempt'),
       json_extract(e.value, '$.payload'), json_extract(e.value, '$.actor'),
       json_extract(e.value, '$.reason'), ?4
FROM json_each(?5) AS e
