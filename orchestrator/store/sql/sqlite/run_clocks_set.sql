INSERT INTO run_clocks (run_id, origin, wall_start, speed) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (run_id) DO UPDATE SET
    origin = EXCLUDED.origin, wall_start = EXCLUDED.wall_start, speed = EXCLUDED.speed
