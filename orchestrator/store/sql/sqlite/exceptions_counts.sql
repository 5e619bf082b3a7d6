SELECT source, COUNT(*), COALESCE(SUM(billed_cents), 0)
FROM claim_exceptions WHERE run_id = ?1
GROUP BY source ORDER BY source
