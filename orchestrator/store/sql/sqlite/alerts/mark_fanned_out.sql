UPDATE alerts SET fanned_out_at = ?2 WHERE id = ?1 AND fanned_out_at IS NULL
