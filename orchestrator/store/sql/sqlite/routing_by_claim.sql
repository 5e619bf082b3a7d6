SELECT id, claim_id, decided_at, channel, actor, rule_set_sha256, rule, stream, platform, error
FROM routing_decisions WHERE claim_id = ?1 ORDER BY id
