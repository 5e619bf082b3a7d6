-- The online router's audit journal (`warden serve --routing-audit journal`): how far each
-- journal file has been loaded into routing_decisions. The position moves in the same
-- transaction as the rows it covers, so a journal is loaded exactly once across crashes.
CREATE TABLE routing_journal_positions (
    journal_id   TEXT PRIMARY KEY,   -- the id in the journal file's header line
    loaded_bytes INTEGER NOT NULL    -- the file's bytes loaded (header included)
);
