SELECT deadline_id, level FROM alerts WHERE id = ?1
