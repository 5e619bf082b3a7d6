//! The HTML pages: each renders one view model (the same the API returns) into its template,
//! inside the layout. Forms post back here with a CSRF token and are redirected to the page
//! they came from, with what happened as a notice.
//!
//! Without credentials a page (GET) redirects to `/login`: a browser user just signs in. A
//! form (POST) is answered 401, like the API: the request was refused, not moved, and a
//! client that posts must be told so (the page says where to sign in).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::actions;
use crate::api::{
    audit_log, impact_list as load_impact_list, load_impact_test, overview as load_overview,
};
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, CHALLENGE};
use crate::gantt::GanttFilter;
use crate::mask::Masking;
use crate::params::{impact_id, parse_command, run_id};
use crate::snapshot::RunSnapshot;
use crate::state::AppState;
use crate::views::alerts::alerts_view;
use crate::views::audit::{AuditFilter, AuditView};
use crate::views::confirm::{ConfirmQuery, WhatifQuery, confirm_view, whatif_view};
use crate::views::detail::{JOBS_PER_PAGE, detail_view};
use crate::views::impact::{impact_view, who_may_approve};
use crate::views::job::job_view;
use crate::views::overview::{alarm, titled};
use crate::views::partitions::partitions_view;

/// What the layout needs, around a page's own view.
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    pub title: String,
    pub user: String,
    pub roles: String,
    pub signed_in: bool,
    pub auth_on: bool,
    pub csrf: String,
    pub run: Option<i64>,
    pub notice: Option<String>,
    pub can_operate: bool,
    pub can_ack: bool,
    /// May approve a batch impact test (a named architect).
    pub can_approve: bool,
    /// The page follows the store's changes (`static/live.js`); off for the login page and
    /// for documents that do not change with the runs (an impact test's report).
    pub live: bool,
    pub view: T,
}

impl<T: Serialize> Page<T> {
    /// A page as the local operator sees it (no authentication): benchmarks and tests.
    pub fn local(title: &str, run: Option<i64>, view: T) -> Self {
        Page {
            title: title.to_string(),
            user: "local".into(),
            roles: "operator".into(),
            signed_in: true,
            auth_on: false,
            csrf: String::new(),
            run,
            notice: None,
            can_operate: true,
            can_ack: true,
            can_approve: false,
            live: true,
            view,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    notice: Option<String>,
}

pub(crate) fn page<T: Serialize>(
    state: &AppState,
    who: &Principal,
    template: &str,
    title: String,
    run: Option<i64>,
    notice: Option<String>,
    view: T,
) -> Response {
    let context = context(state, who, title, run, notice, view);
    render(state, who, template, &context)
}

/// What the layout needs around `view`, for this requester.
fn context<T: Serialize>(
    state: &AppState,
    who: &Principal,
    title: String,
    run: Option<i64>,
    notice: Option<String>,
    view: T,
) -> Page<T> {
    let (user, roles) = match who {
        Principal::User { user, .. } => (
            user.name.clone(),
            user.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Principal::Anonymous => (String::new(), String::new()),
    };
    let signed_in = !matches!(who, Principal::Anonymous);
    Page {
        title,
        signed_in,
        auth_on: state.auth.is_some(),
        csrf: who.csrf().unwrap_or_default().to_string(),
        user,
        roles,
        run,
        notice,
        can_operate: who.may(Permission::Operate),
        can_ack: who.may(Permission::Acknowledge),
        can_approve: who.may(Permission::ApproveImpact),
        live: signed_in,
        view,
    }
}

fn render<T: Serialize>(
    state: &AppState,
    who: &Principal,
    template: &str,
    context: &Page<T>,
) -> Response {
    match state.templates.render(template, context) {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(
            state,
            who,
            ApiError::Internal(format!("template {template}: {e}")),
        ),
    }
}

/// An error as a page, with its status; a 401 says where to sign in.
fn error_page(state: &AppState, who: &Principal, e: ApiError) -> Response {
    #[derive(Serialize)]
    struct ErrorView {
        status: u16,
        message: String,
        sign_in: bool,
    }
    let status = e.status();
    let unauthorized = matches!(e, ApiError::Unauthorized(_));
    let view = ErrorView {
        status: status.as_u16(),
        message: e.public_message(),
        sign_in: unauthorized && state.auth.is_some(),
    };
    let mut response = page(
        state,
        who,
        "error",
        format!("{}", status.as_u16()),
        None,
        None,
        view,
    );
    *response.status_mut() = status;
    if unauthorized {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
    }
    response
}

/// A page's (GET's) outcome: without credentials, off to sign in.
fn or_error(state: &AppState, who: &Principal, r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| match e {
        ApiError::Unauthorized(_) if state.auth.is_some() => Redirect::to("/login").into_response(),
        e => error_page(state, who, e),
    })
}

/// A page's outcome (an error page, or the sign-in form when auth says so).
pub(crate) fn or_page_error(
    state: &AppState,
    who: &Principal,
    r: Result<Response, ApiError>,
) -> Response {
    or_error(state, who, r)
}

/// A form's (POST's) outcome: every error with its status, 401 included.
pub(crate) fn or_form_error(
    state: &AppState,
    who: &Principal,
    r: Result<Response, ApiError>,
) -> Response {
    r.unwrap_or_else(|e| error_page(state, who, e))
}

/// A run's page for a reader: the permission, the run's snapshot, then `view` of it (its
/// title and view model) rendered into `template`.
async fn run_page<T: Serialize>(
    state: &AppState,
    who: &Principal,
    run: &str,
    template: &str,
    notice: Option<String>,
    view: impl FnOnce(&RunSnapshot) -> Result<(String, T), ApiError>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let s = state.snapshot(run).await?;
        let (title, view) = view(&s)?;
        Ok(page(
            state,
            who,
            template,
            title,
            Some(s.run.id),
            notice,
            view,
        ))
    }
    .await;
    or_error(state, who, r)
}

pub async fn overview(
    State(state): State<AppState>,
    who: Principal,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let view = load_overview(&state).await?;
        let title = titled(
            alarm(view.runs.iter().flat_map(|r| &r.deadlines)),
            "Cycles".into(),
        );
        Ok(page(&state, &who, "overview", title, None, n.notice, view))
    }
    .await;
    or_error(&state, &who, r)
}

pub async fn detail(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    Query(filter): Query<GanttFilter>,
) -> Response {
    run_page(&state, &who, &run, "detail", None, |s| {
        let view = detail_view(s, &filter, JOBS_PER_PAGE);
        let title = titled(
            alarm(&view.run.deadlines),
            format!("{} {}", s.run.cycle, s.run.business_date),
        );
        Ok((title, view))
    })
    .await
}

pub async fn job(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job)): Path<(String, String)>,
    Query(n): Query<Notice>,
) -> Response {
    run_page(&state, &who, &run, "job", n.notice, |s| {
        let j = actions::job_index(s, &job)?;
        let data_dir = state.data_dir.as_deref();
        let view = job_view(s, j, data_dir, Masking::for_reader(&who));
        Ok((job.clone(), view))
    })
    .await
}

pub async fn partitions(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
) -> Response {
    run_page(&state, &who, &run, "partitions", None, |s| {
        let view = partitions_view(s, state.data_dir.as_deref());
        Ok(("Partitions".into(), view))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct AlertsQuery {
    /// `1`: list only the incidents not yet acknowledged.
    #[serde(default)]
    unacknowledged: Option<String>,
}

pub async fn alerts(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    Query(n): Query<Notice>,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let only = q
        .unacknowledged
        .as_deref()
        .is_some_and(|v| v == "1" || v == "true");
    run_page(&state, &who, &run, "alerts", n.notice, |s| {
        let view = alerts_view(s, Masking::for_reader(&who), only);
        let title = titled(alarm(&view.run.deadlines), "Alerts".into());
        Ok((title, view))
    })
    .await
}

pub async fn audit(
    State(state): State<AppState>,
    who: Principal,
    Query(filter): Query<AuditFilter>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let entries = audit_log(&state, &filter, Masking::for_reader(&who)).await?;
        Ok(page(
            &state,
            &who,
            "audit",
            "Audit log".into(),
            None,
            None,
            AuditView { filter, entries },
        ))
    }
    .await;
    or_error(&state, &who, r)
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub(crate) csrf: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
    /// Acknowledge-all: only this incident's deadline and level.
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    level: Option<String>,
}

pub(crate) fn form(f: Result<Form<ActionForm>, FormRejection>) -> Result<ActionForm, ApiError> {
    f.map(|Form(f)| f)
        .map_err(|e| ApiError::BadRequest(format!("the form could not be read: {}", e.body_text())))
}

/// A form post's checks, in this order: the permission, the form, its CSRF token.
fn posted(
    who: &Principal,
    permission: Permission,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Result<ActionForm, ApiError> {
    who.require(permission)?;
    let f = form(f)?;
    who.check_csrf(f.csrf.as_deref())?;
    Ok(f)
}

/// `?notice=` for a redirect, percent-encoded.
fn with_notice(path: &str, message: &str) -> String {
    let mut out = format!("{path}?notice=");
    for b in message.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn job_action(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job, action)): Path<(String, String, String)>,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r =
        async {
            let f = posted(&who, Permission::Operate, f)?;
            let id = run_id(&run)?;
            let back = format!("/runs/{id}/jobs/{job}");
            let message =
                match actions::job_command(&state, &who, id, &job, &action, f.reason.as_deref())
                    .await
                {
                    Ok(m) => m,
                    // No reason: back to the confirmation, which asks for one.
                    Err(ApiError::BadRequest(m)) => {
                        let confirm = format!("/runs/{id}/jobs/{job}/confirm/{action}");
                        return Ok(Redirect::to(&with_notice(&confirm, &m)).into_response());
                    }
                    Err(ApiError::Conflict(m)) => m,
                    Err(e) => return Err(e),
                };
            Ok(Redirect::to(&with_notice(&back, &message)).into_response())
        }
        .await;
    or_form_error(&state, &who, r)
}

/// `GET /runs/{run}/jobs/{job}/confirm/{action}`: what the action would do to every
/// deadline, a reason field where one is needed, and the button that does it.
pub async fn confirm(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job, action)): Path<(String, String, String)>,
    Query(q): Query<ConfirmQuery>,
    Query(n): Query<Notice>,
) -> Response {
    run_page(&state, &who, &run, "confirm", n.notice, |s| {
        let j = actions::job_index(s, &job)?;
        let command = parse_command(&action)?;
        let view = confirm_view(s, j, command, &q);
        Ok((format!("{action} {job}?"), view))
    })
    .await
}

/// `GET /runs/{run}/whatif?job=&change=&by=`: the cycle page's what-if form, answered by the
/// projection `warden whatif --state-of` uses.
pub async fn whatif(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    Query(q): Query<WhatifQuery>,
) -> Response {
    run_page(&state, &who, &run, "whatif", None, |s| {
        let view = whatif_view(s, &q);
        Ok((format!("What if {} {}?", view.job, view.change), view))
    })
    .await
}

pub async fn acknowledge(
    State(state): State<AppState>,
    who: Principal,
    Path((run, alert)): Path<(String, String)>,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r = async {
        let f = posted(&who, Permission::Acknowledge, f)?;
        let id = run_id(&run)?;
        let alert: i64 = alert
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("`{alert}` is not an alert id")))?;
        let message = actions::acknowledge(&state, &who, id, alert, f.note.as_deref()).await?;
        Ok(Redirect::to(&with_notice(&format!("/runs/{id}/alerts"), &message)).into_response())
    }
    .await;
    or_form_error(&state, &who, r)
}

/// `POST /runs/{run}/alerts/ack-all`: every unacknowledged alert of the run, or of one
/// incident (`deadline`, `level`), with one note.
pub async fn acknowledge_all(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r = async {
        let f = posted(&who, Permission::Acknowledge, f)?;
        let id = run_id(&run)?;
        let message = actions::acknowledge_all(
            &state,
            &who,
            id,
            f.deadline.as_deref(),
            f.level.as_deref(),
            f.note.as_deref(),
        )
        .await?;
        Ok(Redirect::to(&with_notice(&format!("/runs/{id}/alerts"), &message)).into_response())
    }
    .await;
    or_form_error(&state, &who, r)
}

/// An impact test's pages: documents, not live views (they do not change with the runs).
fn document<T: Serialize>(
    state: &AppState,
    who: &Principal,
    template: &str,
    title: String,
    notice: Option<String>,
    view: T,
) -> Response {
    let mut context = context(state, who, title, None, notice, view);
    context.live = false;
    render(state, who, template, &context)
}

pub async fn impact_list(
    State(state): State<AppState>,
    who: Principal,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let view = load_impact_list(&state).await?;
        Ok(document(
            &state,
            &who,
            "impact_list",
            "Batch impact tests".into(),
            n.notice,
            view,
        ))
    }
    .await;
    or_error(&state, &who, r)
}

pub async fn impact(
    State(state): State<AppState>,
    who: Principal,
    Path(test): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let (t, report) = load_impact_test(&state, &test).await?;
        let tz = state.catalog.timezone(&t.cycle).unwrap_or(chrono_tz::UTC);
        let approvers = who_may_approve(state.auth.as_deref());
        let view = impact_view(&t, &report, tz, Masking::for_reader(&who), approvers);
        let title = format!(
            "Impact test #{} · {} {} · {}",
            t.id, t.cycle, t.business_date, t.verdict
        );
        Ok(document(&state, &who, "impact", title, n.notice, view))
    }
    .await;
    or_error(&state, &who, r)
}

/// `POST /impact/{test}/approve`: an architect approves a `review`, with a note. A refusal
/// (no credentials, the wrong role, the local operator, no CSRF token) is an error page and
/// in the UI's audit; a note missing, a test that is not a `review` or was approved already
/// go back to the test's page with why.
pub async fn approve_impact(
    State(state): State<AppState>,
    who: Principal,
    Path(test): Path<String>,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r = async {
        let f = posted(&who, Permission::ApproveImpact, f)?;
        let id = impact_id(&test)?;
        let message = match actions::approve_impact(&state, &who, id, f.note.as_deref()).await {
            Ok(m) => m,
            Err(ApiError::Conflict(m) | ApiError::BadRequest(m)) => m,
            Err(e) => return Err(e),
        };
        Ok(Redirect::to(&with_notice(&format!("/impact/{id}"), &message)).into_response())
    }
    .await;
    if let Err(e) = &r {
        actions::audit_refused_approval(&state, &who, &test, e).await;
    }
    or_form_error(&state, &who, r)
}
