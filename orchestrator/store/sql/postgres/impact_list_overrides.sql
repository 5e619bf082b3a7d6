SELECT id, cycle, business_date, run_id, actor, reason, detail, at
FROM impact_overrides WHERE cycle = $1 ORDER BY at, id
