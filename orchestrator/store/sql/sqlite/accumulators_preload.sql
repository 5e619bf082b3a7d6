-- A page of the accumulators a setup of run ?1 starts from, by member after ?3: the values
-- from before that run's own post, if it posted already (a setup repeated after the post
-- reads the same), without the rows that post created.
SELECT member,
       CASE WHEN posted_run = ?1 THEN prior_deductible_cents ELSE deductible_cents END,
       CASE WHEN posted_run = ?1 THEN prior_oop_cents ELSE oop_cents END
FROM member_accumulators
WHERE source = ?2 AND member > ?3 AND NOT (posted_run = ?1 AND prior_run IS NULL)
ORDER BY member
LIMIT ?4
