-- Claims routing (issue #15): every routing decision, online (`POST /api/route`) and in batch
-- (`warden route claims`, `warden intake --routing`), with the rule set that made it. The
-- audit that answers "why did claim N go to platform P, and under which rules" by claim.
CREATE TABLE routing_decisions (
    id              INTEGER PRIMARY KEY,  -- no AUTOINCREMENT: no sqlite_sequence page in every commit
    claim_id        TEXT NOT NULL,    -- decimal: claim ids run to 2^64 - 1, past a signed BIGINT
    decided_at      TEXT NOT NULL,    -- wall clock, UTC
    channel         TEXT NOT NULL,    -- online | batch
    actor           TEXT NOT NULL,    -- online: the signed-in user; batch: the input routed
    rule_set_sha256 TEXT NOT NULL,
    rule            TEXT NOT NULL,    -- the rule that took the claim, `default`, or the one that failed
    stream          TEXT,             -- NULL when the claim was not routed
    platform        TEXT,
    error           TEXT              -- why it was not routed
);
CREATE INDEX routing_decisions_by_claim ON routing_decisions (claim_id, id);
