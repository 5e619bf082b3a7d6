SELECT t.id, t.cycle, t.business_date, t.created_at, t.verdict, t.workflow_sha256,
    t.sample_sha256, t.thresholds_sha256, t.binary_version, t.volumes, t.report,
    a.approver, a.role, a.note, a.at
FROM impact_tests t LEFT JOIN impact_approvals a ON a.test_id = t.id
WHERE t.id = ?1
