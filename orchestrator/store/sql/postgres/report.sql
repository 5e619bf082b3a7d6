INSERT INTO inbox (run_id, job_idx, attempt, kind, outcome, at, worker)
SELECT $1::bigint, $2::bigint, $3::bigint, $4::text, $5::text, $6::timestamptz, $7::text
WHERE EXISTS (
    SELECT 1 FROM queue
    WHERE run_id = $1 AND job_idx = $2 AND attempt = $3 AND worker = $7 AND status = 'running'
)
