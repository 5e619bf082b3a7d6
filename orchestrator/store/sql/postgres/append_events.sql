-- A step's events in one statement: $5 is a JSON array of
-- {seq, kind, job, attempt, payload, actor, reason}, in order.
INSERT INTO events (run_id, seq, step, at, kind, job_idx, attempt, payload, actor, reason, recorded_at)
SELECT $1, e.seq, $2, $3, e.kind, e.job, e.attempt, e.payload::jsonb, e.actor, e.reason, $4
FROM jsonb_to_recordset($5::jsonb)
    AS e(seq bigint, kind text, job bigint, attempt bigint, payload text, actor text, reason text)
