//! The JSON API: the pages' view models as JSON, and the operator actions. Every error is a
//! JSON body with a status (`error.rs`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use warden_deadlines::impact_report::ImpactReport;
use warden_store::ImpactTestRecord;

use crate::actions;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::gantt::GanttFilter;
use crate::mask::Masking;
use crate::params::{impact_id, run_id};
use crate::snapshot::RunSnapshot;
use crate::state::AppState;
use crate::views::alerts::alerts_view;
use crate::views::audit::{AuditEntry, AuditFilter, audit_entries, filtered, given, ui_entry};
use crate::views::detail::detail_view;
use crate::views::impact::{self, ImpactListView};
use crate::views::job::job_view;
use crate::views::overview::{Overview, overview_view};
use crate::views::partitions::partitions_view;

pub async fn overview(state: &AppState) -> Result<Overview, ApiError> {
    Ok(overview_view(state.all_runs().await?))
}

pub async fn runs(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    Ok(Json(overview(&state).await?).into_response())
}

/// A run's view for a reader: the permission, the run's snapshot, then `view` of it.
async fn run_json<T: Serialize>(
    state: &AppState,
    who: &Principal,
    run: &str,
    view: impl FnOnce(&RunSnapshot) -> Result<T, ApiError>,
) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let s = state.snapshot(run).await?;
    Ok(Json(view(&s)?).into_response())
}

pub async fn detail(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    Query(filter): Query<GanttFilter>,
) -> Result<Response, ApiError> {
    run_json(&state, &who, &run, |s| {
        Ok(detail_view(s, &filter, usize::MAX))
    })
    .await
}

pub async fn job(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    run_json(&state, &who, &run, |s| {
        let j = actions::job_index(s, &job)?;
        let data_dir = state.data_dir.as_deref();
        Ok(job_view(s, j, data_dir, Masking::for_reader(&who)))
    })
    .await
}

pub async fn partitions(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    run_json(&state, &who, &run, |s| {
        Ok(partitions_view(s, state.data_dir.as_deref()))
    })
    .await
}

pub async fn alerts(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    run_json(&state, &who, &run, |s| {
        Ok(alerts_view(s, Masking::for_reader(&who), false))
    })
    .await
}

/// Every run's audit trail and the UI's own, filtered, in time order; free text as
/// `masking` allows.
pub async fn audit_log(
    state: &AppState,
    f: &AuditFilter,
    masking: Masking,
) -> Result<Vec<AuditEntry>, ApiError> {
    let only_run = given(&f.run).map(run_id).transpose()?;
    let mut out = Vec::new();
    let runs = match only_run {
        Some(id) => match RunSnapshot::load(&state.store, &state.catalog, id).await {
            Ok(s) => vec![s],
            Err(ApiError::Unavailable(_) | ApiError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        },
        None => state.all_runs().await?.shown,
    };
    for s in &runs {
        out.extend(audit_entries(s, masking));
    }
    for row in state.store.load_ui_audit().await? {
        if only_run.is_some() && row.run_id != only_run {
            continue;
        }
        out.push(ui_entry(row, masking));
    }
    Ok(filtered(out, f))
}

pub async fn audit(
    State(state): State<AppState>,
    who: Principal,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    Ok(Json(audit_log(&state, &filter, Masking::for_reader(&who)).await?).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AckBody {
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub message: String,
}

fn body<T: Default>(b: Result<Option<Json<T>>, JsonRejection>) -> Result<T, ApiError> {
    match b {
        Ok(None) => Ok(T::default()),
        Ok(Some(Json(t))) => Ok(t),
        Err(e) => Err(ApiError::BadRequest(format!(
            "the request body is not what this route takes: {}",
            e.body_text()
        ))),
    }
}

pub async fn job_action(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job, action)): Path<(String, String, String)>,
    payload: Result<Option<Json<ActionBody>>, JsonRejection>,
) -> Result<Response, ApiError> {
    who.require(Permission::Operate)?;
    let b = body(payload)?;
    let message = actions::job_command(
        &state,
        &who,
        run_id(&run)?,
        &job,
        &action,
        b.reason.as_deref(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { message })).into_response())
}

pub async fn acknowledge(
    State(state): State<AppState>,
    who: Principal,
    Path((run, alert)): Path<(String, String)>,
    payload: Result<Option<Json<AckBody>>, JsonRejection>,
) -> Result<Response, ApiError> {
    who.require(Permission::Acknowledge)?;
    let b = body(payload)?;
    let alert: i64 = alert
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("`{alert}` is not an alert id")))?;
    let message =
        actions::acknowledge(&state, &who, run_id(&run)?, alert, b.note.as_deref()).await?;
    Ok(Json(Accepted { message }).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct AckAllBody {
    #[serde(default)]
    pub note: Option<String>,
    /// Only this incident: its deadline and level.
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
}

/// `POST /api/runs/{run}/alerts/ack-all`: every unacknowledged alert of the run, or of one
/// incident.
pub async fn acknowledge_all(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    payload: Result<Option<Json<AckAllBody>>, JsonRejection>,
) -> Result<Response, ApiError> {
    who.require(Permission::Acknowledge)?;
    let b = body(payload)?;
    let message = actions::acknowledge_all(
        &state,
        &who,
        run_id(&run)?,
        b.deadline.as_deref(),
        b.level.as_deref(),
        b.note.as_deref(),
    )
    .await?;
    Ok(Json(Accepted { message }).into_response())
}

/// Every stored impact test of the cycles the server knows (its workflows', its pinned
/// plans' and its runs'), newest first.
pub async fn impact_list(state: &AppState) -> Result<ImpactListView, ApiError> {
    let mut cycles = state.catalog.cycles();
    cycles.extend(state.store.list_runs().await?.into_iter().map(|r| r.cycle));
    cycles.sort();
    cycles.dedup();
    let mut tests = Vec::new();
    for cycle in &cycles {
        tests.extend(state.store.impact_tests(cycle).await?);
    }
    Ok(impact::impact_list(cycles, &tests))
}

/// The impact test named by a path segment, and its report.
pub async fn load_impact_test(
    state: &AppState,
    text: &str,
) -> Result<(ImpactTestRecord, ImpactReport), ApiError> {
    let id = impact_id(text)?;
    let t = state.store.impact_test(id).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no impact test #{id}; GET /api/impact lists them, `warden impact run` makes one"
        ))
    })?;
    let report = impact::report_of(&t).map_err(ApiError::Unavailable)?;
    Ok((t, report))
}

pub async fn impact_tests(
    State(state): State<AppState>,
    who: Principal,
) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    Ok(Json(impact_list(&state).await?).into_response())
}

pub async fn impact_test(
    State(state): State<AppState>,
    who: Principal,
    Path(test): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let (t, report) = load_impact_test(&state, &test).await?;
    Ok(Json(impact::impact_json(&t, report, Masking::for_reader(&who))).into_response())
}

pub async fn approve_impact(
    State(state): State<AppState>,
    who: Principal,
    Path(test): Path<String>,
    payload: Result<Option<Json<AckBody>>, JsonRejection>,
) -> Result<Response, ApiError> {
    let r = async {
        who.require(Permission::ApproveImpact)?;
        let b = body(payload)?;
        actions::approve_impact(&state, &who, impact_id(&test)?, b.note.as_deref()).await
    }
    .await;
    match r {
        Ok(message) => Ok(Json(Accepted { message }).into_response()),
        Err(e) => {
            actions::audit_refused_approval(&state, &who, &test, &e).await;
            Err(e)
        }
    }
}

pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no such page or route: {}; the API is described at /api/openapi.json",
        uri.path()
    ))
}
