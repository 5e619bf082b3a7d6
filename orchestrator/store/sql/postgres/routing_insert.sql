-- A batch in one statement: $1 is a JSON array of
-- [claim_id, decided_at, channel, actor, sha256, rule, stream, platform, error].
INSERT INTO routing_decisions (claim_id, decided_at, channel, actor, rule_set_sha256, rule, stream, platform, error)
SELECT e->>0, (e->>1)::timestamptz, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8
FROM jsonb_array_elements($1::jsonb) AS e
