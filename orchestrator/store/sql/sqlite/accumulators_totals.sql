-- Rows and totals the store holds for a source, and how many of them run ?1 posted.
SELECT COUNT(*), COALESCE(SUM(deductible_cents), 0), COALESCE(SUM(oop_cents), 0),
       COALESCE(SUM(CASE WHEN posted_run = ?1 THEN 1 ELSE 0 END), 0)
FROM member_accumulators WHERE source = ?2
