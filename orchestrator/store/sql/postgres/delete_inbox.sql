-- $1: a JSON array of inbox ids consumed by the step.
DELETE FROM inbox WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)
