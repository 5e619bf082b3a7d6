SELECT t.verdict, a.approver, a.at
FROM impact_tests t LEFT JOIN impact_approvals a ON a.test_id = t.id
WHERE t.id = ?1
