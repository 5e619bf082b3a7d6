-- A batch in one statement: ?3 is a JSON array of [claim, member, family, reasons, billed].
INSERT INTO claim_exceptions (run_id, source, claim_id, member, family, reasons, billed_cents, loaded_at)
SELECT ?1, ?2, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'),
       json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]'),
       json_extract(e.value, '$[4]'), ?4
FROM json_each(?3) AS e
