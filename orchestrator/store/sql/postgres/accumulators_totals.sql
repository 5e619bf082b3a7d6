-- Rows and totals the store holds for a source, and how many of them run $1 posted.
SELECT COUNT(*)::bigint, COALESCE(SUM(deductible_cents), 0)::bigint,
       COALESCE(SUM(oop_cents), 0)::bigint,
       COALESCE(SUM(CASE WHEN posted_run = $1 THEN 1 ELSE 0 END), 0)::bigint
FROM member_accumulators WHERE source = $2
