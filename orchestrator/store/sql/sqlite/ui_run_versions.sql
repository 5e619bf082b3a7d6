SELECT r.id, r.status,
  COALESCE((SELECT MAX(e.seq) FROM events e WHERE e.run_id = r.id), 0),
  COALESCE((SELECT MAX(p.id) FROM projections p WHERE p.run_id = r.id), 0),
  COALESCE((SELECT MAX(a.id) FROM alerts a WHERE a.run_id = r.id), 0),
  (SELECT COUNT(*) FROM alert_acks k JOIN alerts a ON a.id = k.alert_id WHERE a.run_id = r.id),
  (SELECT COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
     WHERE a.run_id = r.id AND d.status <> 'pending')
FROM cycle_runs r ORDER BY r.id
