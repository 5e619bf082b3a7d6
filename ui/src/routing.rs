//! Online claims routing on `warden serve --routing RULES` (docs/routing.md):
//!
//! - `POST /api/route`: one claim (a JSON object of its fields, `claim_id` required) routed
//!   by the serving rule set, with the same `RuleSet::route` as the batch router; the answer
//!   names the rule, the route and the set's SHA-256. Any signed-in user.
//!   Every answer (a route, or a rule that could not be evaluated) is recorded in the store's
//!   routing audit before it is given (`routing_audit.rs`); one that cannot be recorded is a
//!   503 and is not given.
//! - `GET /api/routing`: the serving set, its reload counts and the last refusal.
//! - `GET /api/routing/decisions?claim_id=N`: the audit of one claim, online and batch.
//! - `POST /api/routing/reload`: a named architect reloads the set from its file now (the
//!   server also polls the file each second); a refused set is a 422 with the located reason,
//!   and the old set keeps serving.
//!
//! Logs carry counts and rule ids, never a claim's fields.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use warden_workers::routing::{LiveRuleSet, Reload, claim_fields};

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::routing_audit::{Asked, decision_row};
use crate::state::AppState;

fn live(state: &AppState) -> Result<&Arc<LiveRuleSet>, ApiError> {
    state.routing.as_ref().ok_or_else(|| {
        ApiError::NotFound(
            "this server routes no claims: start it with --routing RULES (docs/routing.md)".into(),
        )
    })
}

/// `POST /api/route`.
pub async fn route(
    State(state): State<AppState>,
    who: Principal,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = who.require(Permission::Read)?.name.clone();
    let live = live(&state)?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not JSON: {e}; send the claim's fields as an object"
        ))
    })?;
    let facts = claim_fields::from_json(&value).map_err(ApiError::BadRequest)?;
    let claim_id = facts.claim.id;
    let set = live.current();
    let outcome = set.route(&facts.facts());
    let row = decision_row(
        claim_id,
        Asked {
            at: chrono::Utc::now(),
            channel: "online",
            actor: &user,
            rule_set_sha256: &set.sha256,
        },
        &outcome,
    );
    let (status, body) = match &outcome {
        Ok(d) => (
            StatusCode::OK,
            json!({
                "claim_id": facts.claim.id,
                "rule": d.rule,
                "stream": d.route.stream.letter().to_string(),
                "platform": &*d.route.platform,
                "rule_set_sha256": set.sha256,
            }),
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "error": e.to_string(),
                "claim_id": facts.claim.id,
                "rule": e.rule,
                "rule_set_sha256": set.sha256,
            }),
        ),
    };
    let audit = state
        .routing_audit
        .as_ref()
        .ok_or_else(|| ApiError::Internal("routing without its audit writer".into()))?;
    audit.record(row).await.map_err(|e| {
        ApiError::Unavailable(format!(
            "the decision could not be recorded in the routing audit, so it is not given: {e}; \
             try again"
        ))
    })?;
    Ok((status, Json(body)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DecisionsQuery {
    claim_id: Option<String>,
}

/// `GET /api/routing/decisions?claim_id=N`.
pub async fn decisions(
    State(state): State<AppState>,
    who: Principal,
    Query(query): Query<DecisionsQuery>,
) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let text = query.claim_id.ok_or_else(|| {
        ApiError::BadRequest("name the claim: /api/routing/decisions?claim_id=N".into())
    })?;
    let claim_id: u64 = text.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!(
            "claim_id: `{text}` is not a claim id (a whole number)"
        ))
    })?;
    let rows = state.store.routing_decisions_for_claim(claim_id).await?;
    Ok(Json(json!({
        "claim_id": claim_id,
        "decisions": rows.iter().map(|r| json!({
            "id": r.id,
            "decided_at": r.decided_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "channel": r.channel,
            "actor": r.actor,
            "rule_set_sha256": r.rule_set_sha256,
            "rule": r.rule,
            "stream": r.stream,
            "platform": r.platform,
            "error": r.error,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/routing`.
pub async fn status(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let live = live(&state)?;
    let set = live.current();
    let (swaps, refusals) = live.counts();
    Ok(Json(json!({
        "file": live.path().display().to_string(),
        "sha256": set.sha256,
        "rules": set.rules.iter().map(|r| json!({"id": r.id, "when": r.when, "stream": r.route.stream.letter().to_string(), "platform": &*r.route.platform})).collect::<Vec<_>>(),
        "tests_passed": set.tests,
        "reloads": { "swapped": swaps, "refused": refusals },
        "last_refusal": live.refusal().map(|r| json!({"reason": r.reason, "sha256": r.sha256})),
        "audit": state.routing_audit.as_ref().map(|a| json!({
            "mode": a.mode.as_str(),
            "written": a.counts.written.load(std::sync::atomic::Ordering::Relaxed),
            "loaded": a.counts.loaded.load(std::sync::atomic::Ordering::Relaxed),
            "journal": a.journal.as_ref().map(|p| p.display().to_string()),
            "failed_writes": a.counts.failed_writes.load(std::sync::atomic::Ordering::Relaxed),
        })),
    }))
    .into_response())
}

/// `POST /api/routing/reload`.
pub async fn reload(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    let user = who.require(Permission::ReloadRouting)?.name.clone();
    let live = Arc::clone(live(&state)?);
    let serving = Arc::clone(&live);
    let outcome = tokio::task::spawn_blocking(move || live.reload())
        .await
        .map_err(|e| ApiError::Internal(format!("reload: {e}")))?;
    let sha = match outcome {
        Reload::Swapped(sha) => sha,
        // A forced reload always loads; `Unchanged` would mean the set serving now.
        Reload::Unchanged => serving.current().sha256.clone(),
        Reload::Refused(reason) => {
            tracing::warn!(user = %user, "routing rule set refused on reload; the old set keeps serving");
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "swapped": false, "reason": reason })),
            )
                .into_response());
        }
    };
    tracing::info!(user = %user, sha256 = %sha, "routing rule set reloaded by an architect");
    Ok(Json(json!({ "swapped": true, "sha256": sha })).into_response())
}
