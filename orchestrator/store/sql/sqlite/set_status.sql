UPDATE cycle_runs SET status = ?2 WHERE id = ?1
