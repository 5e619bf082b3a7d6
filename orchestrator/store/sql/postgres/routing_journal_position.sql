-- How far a journal has been loaded (no row: nothing yet).
SELECT loaded_bytes FROM routing_journal_positions WHERE journal_id = $1
