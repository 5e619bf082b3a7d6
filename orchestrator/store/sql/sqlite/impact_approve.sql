-- Inserts only for a test that exists and came back `review`, and only once per test (the
-- UNIQUE test_id: of two approvers racing, one row). No row returned: nothing was written,
-- and impact_approval_state.sql says why.
INSERT INTO impact_approvals (test_id, approver, role, note, at)
SELECT id, ?2, ?3, ?4, ?5 FROM impact_tests WHERE id = ?1 AND verdict = 'review'
ON CONFLICT (test_id) DO NOTHING
RETURNING test_id
