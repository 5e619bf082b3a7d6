INSERT INTO impact_tests (cycle, business_date, created_at, verdict, workflow_sha256,
    sample_sha256, thresholds_sha256, binary_version, volumes, report)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
RETURNING id
