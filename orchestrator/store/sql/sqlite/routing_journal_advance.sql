-- A journal's loaded position, moved with the rows loaded in the same transaction.
INSERT INTO routing_journal_positions (journal_id, loaded_bytes) VALUES (?1, ?2)
ON CONFLICT (journal_id) DO UPDATE SET loaded_bytes = excluded.loaded_bytes
