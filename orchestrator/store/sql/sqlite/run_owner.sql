SELECT owner, owner_until FROM cycle_runs WHERE id = ?1
