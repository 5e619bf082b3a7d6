-- A batch in one statement: $3 is a JSON array of [claim, member, family, reasons, billed].
INSERT INTO claim_exceptions (run_id, source, claim_id, member, family, reasons, billed_cents, loaded_at)
SELECT $1, $2, (e->>0)::bigint, (e->>1)::bigint, (e->>2)::bigint, e->>3, (e->>4)::bigint, $4
FROM jsonb_array_elements($3::jsonb) AS e
