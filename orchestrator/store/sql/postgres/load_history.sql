SELECT job_id, template, business_date, volume, seconds, finished_at
FROM history WHERE cycle = $1 ORDER BY finished_at, job_id
