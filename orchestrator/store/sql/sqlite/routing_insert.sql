-- A batch in one statement: ?1 is a JSON array of
-- [claim_id, decided_at, channel, actor, sha256, rule, stream, platform, error].
INSERT INTO routing_decisions (claim_id, decided_at, channel, actor, rule_set_sha256, rule, stream, platform, error)
SELECT json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'), json_extract(e.value, '$[2]'),
       json_extract(e.value, '$[3]'), json_extract(e.value, '$[4]'), json_extract(e.value, '$[5]'),
       json_extract(e.value, '$[6]'), json_extract(e.value, '$[7]'), json_extract(e.value, '$[8]')
FROM json_each(?1) AS e
