//! Signing in and out. The login form is CSRF-protected too (login CSRF: another site must
//! not sign a victim's browser in as the attacker). Showing the form sets a pre-session
//! cookie holding a random nonce, and the form carries the nonce signed with the server's
//! key (HMAC): a sign-in counts only with both, matching. Another site can neither read the
//! cookie nor sign a nonce of its own; a restart of the server (a new key) asks the user to
//! sign in again.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, SESSION_COOKIE, Via};
use crate::cookies;
use crate::pages::{ActionForm, form, or_form_error, page};
use crate::secrets::{is_secret_shaped, same_secret, secret, sign};
use crate::sessions::SESSION_LENGTH;
use crate::state::AppState;

/// The pre-session cookie: the login form's nonce, sent back to `/login` only.
pub const LOGIN_COOKIE: &str = "warden_login";
/// How long a shown login form may be submitted (seconds).
const LOGIN_FORM_AGE: i64 = 3600;

/// The login form's CSRF field for a nonce.
fn login_field(state: &AppState, nonce: &str) -> String {
    sign(&state.login_key, &format!("warden-login:{nonce}"))
}

/// Whether a login POST came from a login form this server showed to this browser.
fn login_form_is_genuine(state: &AppState, headers: &HeaderMap, field: Option<&str>) -> bool {
    match (cookies::read(headers, LOGIN_COOKIE), field) {
        (Some(nonce), Some(field)) if is_secret_shaped(&nonce) => {
            same_secret(field, &login_field(state, &nonce))
        }
        _ => false,
    }
}

#[derive(Debug, Serialize)]
struct LoginView {
    error: Option<String>,
    /// The signed nonce, the form's hidden `csrf` field.
    csrf: String,
}

/// The login form with `status` and `error`, and its pre-session cookie (the browser's
/// nonce kept if it has one, so two open login tabs both work).
fn login_page(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let nonce = cookies::read(headers, LOGIN_COOKIE)
        .filter(|n| is_secret_shaped(n))
        .unwrap_or_else(secret);
    let view = LoginView {
        error,
        csrf: login_field(state, &nonce),
    };
    let mut response = page(state, who, "login", "Sign in".into(), None, None, view);
    *response.status_mut() = status;
    cookies::append(
        response.headers_mut(),
        cookies::set(
            LOGIN_COOKIE,
            &nonce,
            "/login",
            LOGIN_FORM_AGE,
            state.secure_cookies,
        ),
    );
    response
}

pub async fn login_form(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
) -> Response {
    if state.auth.is_none() {
        return Redirect::to("/").into_response();
    }
    login_page(&state, &who, &headers, StatusCode::OK, None)
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /login`: 403 unless the form is genuine (whatever the token), 401 for an unknown
/// token, else a session cookie and off to the overview.
pub async fn login(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    f: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Some(auth) = state.auth.clone() else {
        return Redirect::to("/").into_response();
    };
    let f = f.map(|Form(f)| f).unwrap_or_default();
    // A refusal is audited (never with the token) and shows a fresh form with why.
    let refuse = async |status: StatusCode, action: &str, detail: &str, why: &str| {
        state
            .audit_ui("anonymous", action, Some(detail.into()))
            .await;
        login_page(&state, &who, &headers, status, Some(why.into()))
    };
    if !login_form_is_genuine(&state, &headers, f.csrf.as_deref()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "login_refused",
            "the login form's CSRF token was missing or wrong",
            "This sign-in did not come from this server's login form (or the form is too old): sign in again here.",
        )
        .await;
    }
    let Some(user) = auth.user_for(&f.token) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "login_failed",
            "unknown token",
            "That token is not known to this server.",
        )
        .await;
    };
    state
        .audit_ui(&user.name, "login", Some("signed in with a token".into()))
        .await;
    let id = state.sessions.open(user.clone(), Utc::now());
    let mut response = Redirect::to("/").into_response();
    let secure = state.secure_cookies;
    let headers = response.headers_mut();
    cookies::append(
        headers,
        cookies::set(
            SESSION_COOKIE,
            &id,
            "/",
            SESSION_LENGTH.num_seconds(),
            secure,
        ),
    );
    cookies::append(headers, cookies::set(LOGIN_COOKIE, "", "/login", 0, secure));
    response
}

/// `POST /logout`: closes the session (its CSRF token required). Without a session there is
/// nothing to close: off to the login page.
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
            state.audit_ui(&user.name, "logout", None).await;
        }
        let mut response = Redirect::to("/login").into_response();
        cookies::append(
            response.headers_mut(),
            cookies::set(SESSION_COOKIE, "", "/", 0, state.secure_cookies),
        );
        Ok(response)
    }
    .await;
    or_form_error(&state, &who, r)
}
