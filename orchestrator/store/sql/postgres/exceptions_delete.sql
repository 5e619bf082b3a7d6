DELETE FROM claim_exceptions WHERE run_id = $1 AND source = $2
