-- Decisions recorded, and how many of them routed the claim, since (after) an id.
SELECT COUNT(*), COUNT(stream), COALESCE(MAX(id), $1) FROM routing_decisions WHERE id > $1
