-- ?1: a JSON array of inbox ids consumed by the step.
DELETE FROM inbox WHERE id IN (SELECT value FROM json_each(?1))
