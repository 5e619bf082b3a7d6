SELECT claim_id, member, family, reasons, billed_cents
FROM claim_exceptions WHERE run_id = $1 AND source = $2
ORDER BY claim_id LIMIT $3
