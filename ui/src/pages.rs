//! The HTML pages: each renders one view model (the same the API returns) into its template,
//! inside the layout. Forms post back here with a CSRF token and are redirected to the page
//! they came from, with what happened as a notice.

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use warden_store::UiAuditRow;

use crate::actions;
use crate::api::{AuditFilter, audit_log, overview as load_overview, run_id};
use crate::auth::{Permission, Principal, SESSION_COOKIE, Via};
use crate::error::ApiError;
use crate::gantt::GanttFilter;
use crate::state::AppState;
use crate::views;

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
            view,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    notice: Option<String>,
}

fn page<T: Serialize>(
    state: &AppState,
    who: &Principal,
    template: &str,
    title: String,
    run: Option<i64>,
    notice: Option<String>,
    view: T,
) -> Response {
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
    let context = Page {
        title,
        signed_in: !matches!(who, Principal::Anonymous),
        auth_on: state.auth.is_some(),
        csrf: who.csrf().unwrap_or_default().to_string(),
        user,
        roles,
        run,
        notice,
        can_operate: who.may(Permission::Operate),
        can_ack: who.may(Permission::Acknowledge),
        view,
    };
    match state.templates.render(template, &context) {
        Ok(html) => Html(html).into_response(),
        Err(e) => error_page(
            state,
            who,
            ApiError::Internal(format!("template {template}: {e}")),
        ),
    }
}

/// An error as a page: signing in for 401 when there is a login, else the message.
fn error_page(state: &AppState, who: &Principal, e: ApiError) -> Response {
    if matches!(e, ApiError::Unauthorized(_)) && state.auth.is_some() {
        return Redirect::to("/login").into_response();
    }
    #[derive(Serialize)]
    struct ErrorView {
        status: u16,
        message: String,
    }
    let status = e.status();
    let view = ErrorView {
        status: status.as_u16(),
        message: e.public_message(),
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
    response
}

fn or_error(state: &AppState, who: &Principal, r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(|e| error_page(state, who, e))
}

pub async fn overview(
    State(state): State<AppState>,
    who: Principal,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let view = load_overview(&state).await?;
        Ok(page(
            &state,
            &who,
            "overview",
            "Cycles".into(),
            None,
            n.notice,
            view,
        ))
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
    let r = async {
        who.require(Permission::Read)?;
        let s = state.snapshot(&run).await?;
        let view = views::detail_view(&s, &filter);
        let title = format!("{} {}", s.run.cycle, s.run.business_date);
        Ok(page(
            &state,
            &who,
            "detail",
            title,
            Some(s.run.id),
            None,
            view,
        ))
    }
    .await;
    or_error(&state, &who, r)
}

pub async fn job(
    State(state): State<AppState>,
    who: Principal,
    Path((run, job)): Path<(String, String)>,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let s = state.snapshot(&run).await?;
        let j = actions::job_index(&s, &job)?;
        let view = views::job_view(
            &s,
            j,
            state.data_dir.as_deref(),
            who.may(Permission::Unmasked),
        );
        Ok(page(
            &state,
            &who,
            "job",
            job.clone(),
            Some(s.run.id),
            n.notice,
            view,
        ))
    }
    .await;
    or_error(&state, &who, r)
}

pub async fn partitions(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let s = state.snapshot(&run).await?;
        let view = views::partitions_view(&s, state.data_dir.as_deref());
        Ok(page(
            &state,
            &who,
            "partitions",
            "Partitions".into(),
            Some(s.run.id),
            None,
            view,
        ))
    }
    .await;
    or_error(&state, &who, r)
}

pub async fn alerts(
    State(state): State<AppState>,
    who: Principal,
    Path(run): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let s = state.snapshot(&run).await?;
        let view = views::alerts_view(&s);
        Ok(page(
            &state,
            &who,
            "alerts",
            "Alerts".into(),
            Some(s.run.id),
            n.notice,
            view,
        ))
    }
    .await;
    or_error(&state, &who, r)
}

#[derive(Debug, Serialize)]
struct AuditView {
    filter: AuditFilter,
    entries: Vec<views::AuditEntry>,
}

pub async fn audit(
    State(state): State<AppState>,
    who: Principal,
    Query(filter): Query<AuditFilter>,
) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let entries = audit_log(&state, &filter).await?;
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
    csrf: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

fn form(f: Result<Form<ActionForm>, FormRejection>) -> Result<ActionForm, ApiError> {
    f.map(|Form(f)| f)
        .map_err(|e| ApiError::BadRequest(format!("the form could not be read: {}", e.body_text())))
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
            who.require(Permission::Operate)?;
            let f = form(f)?;
            who.check_csrf(f.csrf.as_deref())?;
            let id = run_id(&run)?;
            let back = format!("/runs/{id}/jobs/{job}");
            let message =
                match actions::job_command(&state, &who, id, &job, &action, f.reason.as_deref())
                    .await
                {
                    Ok(m) => m,
                    Err(ApiError::Conflict(m) | ApiError::BadRequest(m)) => m,
                    Err(e) => return Err(e),
                };
            Ok(Redirect::to(&with_notice(&back, &message)).into_response())
        }
        .await;
    or_error(&state, &who, r)
}

pub async fn acknowledge(
    State(state): State<AppState>,
    who: Principal,
    Path((run, alert)): Path<(String, String)>,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r = async {
        who.require(Permission::Acknowledge)?;
        let f = form(f)?;
        who.check_csrf(f.csrf.as_deref())?;
        let id = run_id(&run)?;
        let alert: i64 = alert
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("`{alert}` is not an alert id")))?;
        let message = actions::acknowledge(&state, &who, id, alert, f.note.as_deref()).await?;
        Ok(Redirect::to(&with_notice(&format!("/runs/{id}/alerts"), &message)).into_response())
    }
    .await;
    or_error(&state, &who, r)
}

#[derive(Debug, Serialize)]
struct LoginView {
    error: Option<String>,
}

pub async fn login_form(State(state): State<AppState>, who: Principal) -> Response {
    if state.auth.is_none() {
        return Redirect::to("/").into_response();
    }
    page(
        &state,
        &who,
        "login",
        "Sign in".into(),
        None,
        None,
        LoginView { error: None },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn audit_ui(state: &AppState, actor: &str, action: &str, detail: Option<String>) {
    let row = UiAuditRow {
        id: 0,
        at: Utc::now(),
        actor: actor.to_string(),
        action: action.to_string(),
        run_id: None,
        job_id: None,
        detail,
    };
    if let Err(e) = state.store.record_ui_audit(&row).await {
        tracing::error!(%e, action, "could not record a UI audit entry");
    }
}

pub async fn login(
    State(state): State<AppState>,
    who: Principal,
    f: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Some(auth) = state.auth.clone() else {
        return Redirect::to("/").into_response();
    };
    let token = f.map(|Form(f)| f.token).unwrap_or_default();
    match auth.user_for(&token) {
        Some(user) => {
            audit_ui(
                &state,
                &user.name,
                "login",
                Some("signed in with a token".into()),
            )
            .await;
            let id = state.sessions.open(user.clone(), Utc::now());
            let mut response = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
            )) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        None => {
            // Never the token itself: only that a sign-in failed.
            audit_ui(
                &state,
                "anonymous",
                "login_failed",
                Some("unknown token".into()),
            )
            .await;
            let mut response = page(
                &state,
                &who,
                "login",
                "Sign in".into(),
                None,
                None,
                LoginView {
                    error: Some("That token is not known to this server.".into()),
                },
            );
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    who: Principal,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let r = async {
        let f = form(f)?;
        who.check_csrf(f.csrf.as_deref())?;
        if let Principal::User {
            via: Via::Session { id, .. },
            user,
        } = &who
        {
            state.sessions.close(id);
            audit_ui(&state, &user.name, "logout", None).await;
        }
        let mut response = Redirect::to("/login").into_response();
        response.headers_mut().insert(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "warden_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            ),
        );
        Ok(response)
    }
    .await;
    or_error(&state, &who, r)
}
