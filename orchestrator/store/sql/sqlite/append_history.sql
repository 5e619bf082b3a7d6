INSERT INTO history (cycle, job_id, template, business_date, volume, seconds, finished_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
