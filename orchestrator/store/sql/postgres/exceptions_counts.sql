SELECT source, COUNT(*)::bigint, COALESCE(SUM(billed_cents), 0)::bigint
FROM claim_exceptions WHERE run_id = $1
GROUP BY source ORDER BY source
