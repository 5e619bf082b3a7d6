-- Every row of a source (a bench's cleanup; a plan-year rollover starts a source afresh).
DELETE FROM member_accumulators WHERE source = ?1
