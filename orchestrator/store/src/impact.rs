//! Batch impact tests and the go-live gate's records (issue #12): every test's verdict with
//! the digests of what it ran on and the volume it tested per stream (`impact_tests`), the
//! architect's approval that lets a `review` verdict go live (`impact_approvals`, one per
//! test), and the operators' overrides of the gate (`impact_overrides`, never without a
//! reason).
//!
//! The store keeps the report as the JSON text it was given and reads nothing in it: what a
//! review board reads is what the command wrote. Who may approve (the `architect` role) is
//! the caller's rule; the store records who did, as what, and refuses what can never be
//! approved (a `pass` needs no approval, a `fail` cannot have one).
//!
//! Statements: `sql/<dialect>/impact_*.sql`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// The verdicts a test can come back with.
const VERDICTS: [&str; 3] = ["pass", "review", "fail"];

/// An impact test to record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewImpactTest {
    /// The workflow's cycle id.
    pub cycle: String,
    pub business_date: String,
    /// Wall clock.
    pub created_at: DateTime<Utc>,
    /// `pass`, `review` or `fail`.
    pub verdict: String,
    pub workflow_sha256: String,
    pub sample_sha256: String,
    pub thresholds_sha256: String,
    pub binary_version: String,
    /// Stream id → the total volume tested (baseline plus new): what the gate compares a
    /// cycle's volume with.
    pub volumes: BTreeMap<String, u64>,
    /// The whole report, as JSON; stored and returned as given.
    pub report: String,
}

/// An architect's approval of a `review` verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImpactApproval {
    pub approver: String,
    /// The approver's role when approving (the caller checks it is `architect`).
    pub role: String,
    /// Why the impact is accepted: required, the review board's record.
    pub note: String,
    /// Wall clock.
    pub at: DateTime<Utc>,
}

/// A recorded impact test, with its approval if it has one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImpactTestRecord {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub created_at: DateTime<Utc>,
    pub verdict: String,
    pub workflow_sha256: String,
    pub sample_sha256: String,
    pub thresholds_sha256: String,
    pub binary_version: String,
    pub volumes: BTreeMap<String, u64>,
    pub report: String,
    pub approval: Option<ImpactApproval>,
}

/// What [`Store::approve_impact_test`](crate::Store::approve_impact_test) did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ApproveOutcome {
    Approved,
    NoSuchTest,
    /// Only a `review` verdict is approved: a `pass` needs none, a `fail` cannot be.
    NotReview {
        verdict: String,
    },
    /// The test had an approval already (one per test); nothing was written.
    AlreadyApproved {
        by: String,
        at: DateTime<Utc>,
    },
}

/// An operator's override of the gate, to record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewImpactOverride {
    pub cycle: String,
    pub business_date: String,
    /// The cycle's run, if it was opened already.
    pub run_id: Option<i64>,
    pub actor: String,
    /// Required: an override is never silent.
    pub reason: String,
    /// What was overridden, e.g. `stream A 62,000,000 claims above approved 50,000,000 + 5%`.
    pub detail: String,
    /// Wall clock.
    pub at: DateTime<Utc>,
}

/// A recorded override.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImpactOverrideRecord {
    pub id: i64,
    pub cycle: String,
    pub business_date: String,
    pub run_id: Option<i64>,
    pub actor: String,
    pub reason: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

delegate! {
    /// Records an impact test (one INSERT); its id. A verdict other than `pass`, `review` or
    /// `fail` is refused ([`StoreError::Invalid`]) and nothing is written.
    fn record_impact_test(&self, t: &NewImpactTest) -> Result<i64, StoreError>;
    /// One impact test with its approval, if there is such a test.
    fn impact_test(&self, id: i64) -> Result<Option<ImpactTestRecord>, StoreError>;
    /// A cycle's impact tests with their approvals, newest first (by `created_at`, then id).
    fn impact_tests(&self, cycle: &str) -> Result<Vec<ImpactTestRecord>, StoreError>;
    /// Approves a `review` test, once: the approval is written only if the test exists, came
    /// back `review` and has none yet, in one statement guarded by the table's one approval
    /// per test, so of two approvers racing exactly one is [`ApproveOutcome::Approved`] and
    /// the other is told who was first. A blank note is refused ([`StoreError::Invalid`]).
    fn approve_impact_test(
        &self,
        id: i64,
        approval: &ImpactApproval,
    ) -> Result<ApproveOutcome, StoreError>;
    /// Records an operator's override of the gate; its id. A blank reason is refused
    /// ([`StoreError::Invalid`]) and nothing is written.
    fn record_impact_override(&self, o: &NewImpactOverride) -> Result<i64, StoreError>;
    /// A cycle's overrides, oldest first (an audit trail, like the UI's).
    fn impact_overrides(&self, cycle: &str) -> Result<Vec<ImpactOverrideRecord>, StoreError>;
}

dialects! {
    /// A row of `impact_load_test.sql` / `impact_list_tests.sql`: the test, then its
    /// approval's columns (NULL without one).
    fn impact_test_from(row: &<Db as sqlx::Database>::Row) -> Result<ImpactTestRecord, StoreError> {
        let volumes: String = row.try_get(9)?;
        let approver: Option<String> = row.try_get(11)?;
        let approval = match approver {
            Some(approver) => Some(ImpactApproval {
                approver,
                role: row.try_get(12)?,
                note: row.try_get(13)?,
                at: row.try_get(14)?,
            }),
            None => None,
        };
        Ok(ImpactTestRecord {
            id: row.try_get(0)?,
            cycle: row.try_get(1)?,
            business_date: row.try_get(2)?,
            created_at: row.try_get(3)?,
            verdict: row.try_get(4)?,
            workflow_sha256: row.try_get(5)?,
            sample_sha256: row.try_get(6)?,
            thresholds_sha256: row.try_get(7)?,
            binary_version: row.try_get(8)?,
            volumes: serde_json::from_str(&volumes)?,
            report: row.try_get(10)?,
            approval,
        })
    }

    pub async fn record_impact_test(&self, t: &NewImpactTest) -> Result<i64, StoreError> {
        if !VERDICTS.contains(&t.verdict.as_str()) {
            return Err(StoreError::Invalid(format!(
                "impact test verdict `{}` is not one of pass, review, fail",
                t.verdict
            )));
        }
        let _gate = self.write_gate().await;
        let row = sqlx::query(sql!("impact_insert_test"))
            .bind(&t.cycle)
            .bind(&t.business_date)
            .bind(t.created_at)
            .bind(&t.verdict)
            .bind(&t.workflow_sha256)
            .bind(&t.sample_sha256)
            .bind(&t.thresholds_sha256)
            .bind(&t.binary_version)
            .bind(serde_json::to_string(&t.volumes)?)
            .bind(&t.report)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn impact_test(&self, id: i64) -> Result<Option<ImpactTestRecord>, StoreError> {
        let row = sqlx::query(sql!("impact_load_test"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::impact_test_from).transpose()
    }

    pub async fn impact_tests(&self, cycle: &str) -> Result<Vec<ImpactTestRecord>, StoreError> {
        let rows = sqlx::query(sql!("impact_list_tests"))
            .bind(cycle)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::impact_test_from).collect()
    }

    pub async fn approve_impact_test(
        &self,
        id: i64,
        approval: &ImpactApproval,
    ) -> Result<ApproveOutcome, StoreError> {
        if approval.note.trim().is_empty() {
            return Err(StoreError::Invalid(
                "approving an impact test needs a note".to_string(),
            ));
        }
        let _gate = self.write_gate().await;
        // The reason a refusal gives is read in the same transaction as the refused
        // insert; the insert alone is what makes the approval once-only.
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(sql!("impact_approve"))
            .bind(id)
            .bind(&approval.approver)
            .bind(&approval.role)
            .bind(&approval.note)
            .bind(approval.at)
            .fetch_optional(&mut *tx)
            .await?;
        if inserted.is_some() {
            tx.commit().await?;
            return Ok(ApproveOutcome::Approved);
        }
        let state = sqlx::query(sql!("impact_approval_state"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(state) = state else {
            return Ok(ApproveOutcome::NoSuchTest);
        };
        let approver: Option<String> = state.try_get(1)?;
        Ok(match approver {
            Some(by) => ApproveOutcome::AlreadyApproved {
                by,
                at: state.try_get(2)?,
            },
            None => ApproveOutcome::NotReview {
                verdict: state.try_get(0)?,
            },
        })
    }

    pub async fn record_impact_override(&self, o: &NewImpactOverride) -> Result<i64, StoreError> {
        if o.reason.trim().is_empty() {
            return Err(StoreError::Invalid(
                "overriding the impact gate needs a reason".to_string(),
            ));
        }
        let _gate = self.write_gate().await;
        let row = sqlx::query(sql!("impact_insert_override"))
            .bind(&o.cycle)
            .bind(&o.business_date)
            .bind(o.run_id)
            .bind(&o.actor)
            .bind(&o.reason)
            .bind(&o.detail)
            .bind(o.at)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    pub async fn impact_overrides(
        &self,
        cycle: &str,
    ) -> Result<Vec<ImpactOverrideRecord>, StoreError> {
        let rows = sqlx::query(sql!("impact_list_overrides"))
            .bind(cycle)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ImpactOverrideRecord {
                    id: row.try_get(0)?,
                    cycle: row.try_get(1)?,
                    business_date: row.try_get(2)?,
                    run_id: row.try_get(3)?,
                    actor: row.try_get(4)?,
                    reason: row.try_get(5)?,
                    detail: row.try_get(6)?,
                    at: row.try_get(7)?,
                })
            })
            .collect()
    }
}
