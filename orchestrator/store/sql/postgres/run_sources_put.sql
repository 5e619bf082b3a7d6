-- Written when a run starts; a resumed run keeps the files it was created from (`warden run`
-- resumes a run only from a workflow of the same SHA-256).
INSERT INTO run_sources (run_id, seq, path, text) VALUES ($1, $2, $3, $4)
ON CONFLICT (run_id, seq) DO NOTHING
