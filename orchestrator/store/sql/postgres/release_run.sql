UPDATE cycle_runs SET owner = NULL, owner_until = NULL WHERE id = $1 AND owner = $2
