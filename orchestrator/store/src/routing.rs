//! Claims routing's audit (issue #15): every decision of the CEL router, online and in
//! batch, with the rule set that made it, queryable by claim. Written in batches of one
//! statement each (a batch run's million decisions, a server's group commit of the
//! requests that arrived together), read back by claim.
//!
//! Statements: `sql/<dialect>/routing_*.sql`.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use crate::dialect::{delegate, dialects};
use crate::error::StoreError;

/// One routing decision. A claim that was not routed (a rule could not be evaluated) has no
/// stream or platform, and says why in `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingDecisionRow {
    /// Assigned by the store; 0 when writing.
    pub id: i64,
    pub claim_id: u64,
    /// Wall clock.
    pub decided_at: DateTime<Utc>,
    /// `online` or `batch`.
    pub channel: String,
    /// Online: the signed-in user; batch: the input that was routed.
    pub actor: String,
    pub rule_set_sha256: String,
    /// The rule that took the claim, `default`, or the rule that could not be evaluated.
    pub rule: String,
    pub stream: Option<String>,
    pub platform: Option<String>,
    pub error: Option<String>,
}

/// What the audit holds after a given row id: how many decisions, how many of them routed a
/// claim, and the newest id (the mark to count from next time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingDecisionCount {
    pub decisions: i64,
    pub routed: i64,
    pub last_id: i64,
}

/// Decisions per INSERT statement.
const BATCH: usize = 5_000;

delegate! {
    /// Appends `rows` to the audit in one transaction: all of them or none. Returns how many.
    /// The rows are taken as they come (a batch run's million decisions are never all in
    /// memory as rows).
    fn record_routing_decisions<I>(&self, rows: I) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = RoutingDecisionRow>;
    /// Every decision recorded for a claim, oldest first.
    fn routing_decisions_for_claim(
        &self,
        claim_id: u64,
    ) -> Result<Vec<RoutingDecisionRow>, StoreError>;
    /// How many bytes of journal `journal_id` are loaded (0: none yet).
    fn routing_journal_position(&self, journal_id: &str) -> Result<i64, StoreError>;
    /// Loads `rows`, journal `journal_id`'s bytes `from..to`, and moves its position to `to`,
    /// in one transaction, only if the position is still `from`. `false`: it was not (another
    /// loader got there first), and nothing was written.
    fn load_routing_journal(
        &self,
        journal_id: &str,
        from: i64,
        to: i64,
        rows: &[RoutingDecisionRow],
    ) -> Result<bool, StoreError>;
    /// What was recorded after row `after` (0: everything).
    fn count_routing_decisions(&self, after: i64) -> Result<RoutingDecisionCount, StoreError>;
}

/// One decision as the JSON array the insert statements read (`routing_insert.sql`), and
/// the online router's journal keeps a line of: `[claim_id, decided_at, channel, actor,
/// sha256, rule, stream, platform, error]`.
pub fn decision_json(r: &RoutingDecisionRow) -> serde_json::Value {
    serde_json::json!([
        r.claim_id.to_string(),
        r.decided_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        r.channel,
        r.actor,
        r.rule_set_sha256,
        r.rule,
        r.stream,
        r.platform,
        r.error
    ])
}

fn batch_json(rows: &[RoutingDecisionRow]) -> String {
    serde_json::Value::Array(rows.iter().map(decision_json).collect()).to_string()
}

dialects! {
    pub async fn record_routing_decisions<I>(&self, rows: I) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = RoutingDecisionRow>,
    {
        let mut rows = rows.into_iter();
        let first: Vec<RoutingDecisionRow> = rows.by_ref().take(BATCH).collect();
        if first.is_empty() {
            return Ok(0);
        }
        let _gate = self.write_gate().await;
        let mut next: Vec<RoutingDecisionRow> = rows.by_ref().take(BATCH).collect();
        if next.is_empty() {
            // One statement is atomic by itself: no transaction's round trips (the
            // online router's group commits are this).
            Self::insert_decisions(&self.pool, &first).await?;
            return Ok(first.len() as u64);
        }
        let mut tx = self.begin().await?;
        let mut recorded = first.len() as u64;
        Self::insert_decisions(&mut *tx, &first).await?;
        while !next.is_empty() {
            Self::insert_decisions(&mut *tx, &next).await?;
            recorded += next.len() as u64;
            next = rows.by_ref().take(BATCH).collect();
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Inserts one batch of decisions, in one statement.
    async fn insert_decisions<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        rows: &[RoutingDecisionRow],
    ) -> Result<(), StoreError> {
        sqlx::query(sql!("routing_insert"))
            .bind(batch_json(rows))
            .execute(exec)
            .await?;
        Ok(())
    }

    pub async fn routing_journal_position(&self, journal_id: &str) -> Result<i64, StoreError> {
        Self::journal_position(&self.pool, journal_id).await
    }

    async fn journal_position<'c>(
        exec: impl sqlx::Executor<'c, Database = Db>,
        journal_id: &str,
    ) -> Result<i64, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(sql!("routing_journal_position"))
            .bind(journal_id)
            .fetch_optional(exec)
            .await?;
        Ok(at.unwrap_or(0))
    }

    pub async fn load_routing_journal(
        &self,
        journal_id: &str,
        from: i64,
        to: i64,
        rows: &[RoutingDecisionRow],
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.begin().await?;
        if Self::journal_position(&mut *tx, journal_id).await? != from {
            return Ok(false);
        }
        for chunk in rows.chunks(BATCH) {
            Self::insert_decisions(&mut *tx, chunk).await?;
        }
        sqlx::query(sql!("routing_journal_advance"))
            .bind(journal_id)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn routing_decisions_for_claim(
        &self,
        claim_id: u64,
    ) -> Result<Vec<RoutingDecisionRow>, StoreError> {
        let rows = sqlx::query(sql!("routing_by_claim"))
            .bind(claim_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(RoutingDecisionRow {
                    id: row.try_get(0)?,
                    claim_id: {
                        let text: String = row.try_get(1)?;
                        text.parse().map_err(|_| {
                            StoreError::Invalid(format!(
                                "routing_decisions: claim id `{text}` is not a number"
                            ))
                        })?
                    },
                    decided_at: row.try_get(2)?,
                    channel: row.try_get(3)?,
                    actor: row.try_get(4)?,
                    rule_set_sha256: row.try_get(5)?,
                    rule: row.try_get(6)?,
                    stream: row.try_get(7)?,
                    platform: row.try_get(8)?,
                    error: row.try_get(9)?,
                })
            })
            .collect()
    }

    pub async fn count_routing_decisions(
        &self,
        after: i64,
    ) -> Result<RoutingDecisionCount, StoreError> {
        let row = sqlx::query(sql!("routing_count"))
            .bind(after)
            .fetch_one(&self.pool)
            .await?;
        Ok(RoutingDecisionCount {
            decisions: row.try_get(0)?,
            routed: row.try_get(1)?,
            last_id: row.try_get(2)?,
        })
    }
}
