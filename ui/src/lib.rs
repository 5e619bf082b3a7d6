//! Warden's web UI and JSON API, served by the `warden` binary (`warden serve`, and `warden
//! run --listen` / `warden demo` beside a running cycle).
//!
//! - Pages (`pages.rs`): cycles overview, cycle detail with a server-side SVG Gantt
//!   (`gantt.rs`), job detail, partitions, alerts, audit log. Handlebars templates in strict
//!   mode over typed view models (`views/`, one module per page; times, margins and states
//!   worded by `format.rs`; log tails and checkpoints read by `run_files.rs`); templates, CSS
//!   and the little JavaScript for live updates are embedded in the binary (`assets.rs`).
//! - The JSON API (`api.rs`) returns the same view models, takes the operator actions
//!   (`actions.rs`), and documents itself at `/api/openapi.json` (`openapi.rs`). What a
//!   path names (a run, an impact test, a command) is read by `params.rs` for both.
//! - Live updates over server-sent events (`sse.rs`): one poll of the store's run
//!   fingerprints feeds every client; a page asks for only its regions that changed
//!   (`live.rs`) and patches them in place. Prometheus metrics at `/metrics` (`metrics.rs`).
//! - Who may do what (`auth.rs`): bearer tokens and a session cookie (`sessions.rs`,
//!   `cookies.rs`), roles, CSRF; the login form (`login.rs`, CSRF-protected too); secrets
//!   compared in constant time (`secrets.rs`); member identities masked for viewers in every
//!   free text (`mask.rs`).
//! - Batch impact tests (`views/impact.rs`): every stored test, and one test's report as a
//!   printable page; an architect approves a `review` from it (`actions.rs`).
//!
//! The pages read the store; they never talk to the orchestrator. An action is a command in
//! the store, applied exactly once by the run's orchestrator, as from the CLI.

mod actions;
mod api;
pub mod assets;
pub mod auth;
pub mod catalog;
pub mod charts;
mod cookies;
pub mod error;
pub mod fixture;
pub mod format;
pub mod gantt;
pub mod live;
pub mod live_diff;
mod login;
pub mod mask;
mod metrics;
pub mod openapi;
pub mod pages;
mod params;
mod routing;
pub mod routing_audit;
pub mod routing_journal;
pub mod run_files;
pub mod secrets;
mod sessions;
pub mod snapshot;
mod sse;
mod sse_clients;
pub mod state;
pub mod views;
pub mod workers;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};

pub use auth::{AuthConfig, Role};
pub use catalog::{Catalog, CatalogEntry};
pub use sse_clients::DEFAULT_MAX_SSE_CLIENTS;
pub use state::{AppState, UiOptions};

/// Every route: pages, API, events, metrics, assets.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/runs/{run}", get(pages::detail))
        .route("/runs/{run}/jobs/{job}", get(pages::job))
        .route("/runs/{run}/jobs/{job}/{action}", post(pages::job_action))
        .route(
            "/runs/{run}/jobs/{job}/confirm/{action}",
            get(pages::confirm),
        )
        .route("/runs/{run}/whatif", get(pages::whatif))
        .route("/runs/{run}/partitions", get(pages::partitions))
        .route("/runs/{run}/alerts", get(pages::alerts))
        .route("/runs/{run}/alerts/ack-all", post(pages::acknowledge_all))
        .route("/runs/{run}/alerts/{alert}/ack", post(pages::acknowledge))
        .route("/audit", get(pages::audit))
        .route("/workers", get(workers::page))
        .route("/impact", get(pages::impact_list))
        .route("/impact/{test}", get(pages::impact))
        .route("/impact/{test}/approve", post(pages::approve_impact))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{run}", get(api::detail))
        .route("/api/runs/{run}/jobs/{job}", get(api::job))
        .route(
            "/api/runs/{run}/jobs/{job}/actions/{action}",
            post(api::job_action),
        )
        .route("/api/runs/{run}/partitions", get(api::partitions))
        .route("/api/runs/{run}/alerts", get(api::alerts))
        .route("/api/runs/{run}/alerts/ack-all", post(api::acknowledge_all))
        .route("/api/runs/{run}/alerts/{alert}/ack", post(api::acknowledge))
        .route("/api/audit", get(api::audit))
        .route("/api/workers", get(workers::api))
        .route("/api/impact", get(api::impact_tests))
        .route("/api/impact/{test}", get(api::impact_test))
        .route("/api/impact/{test}/approve", post(api::approve_impact))
        .route("/api/route", post(routing::route))
        .route("/api/routing", get(routing::status))
        .route("/api/routing/reload", post(routing::reload))
        .route("/api/routing/decisions", get(routing::decisions))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/events", get(sse::events))
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/{file}", get(assets::asset))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            live::regions_only,
        ))
        .with_state(state)
}

/// Serves until `shutdown` resolves. The change feed (what live pages wait on) runs beside.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let feed = tokio::spawn(sse::feed(state.clone()));
    // Answers go out at once: an API answer is one small write, and Nagle's algorithm would
    // hold a second one back until the client's delayed acknowledgement.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    let audit = state.routing_audit.clone();
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    feed.abort();
    // Decisions answered before the audit (`after-answer`) are written before the end.
    if let Some(audit) = audit {
        audit.finish().await;
    }
    served
}

/// Refuses to expose an unauthenticated server beyond this machine.
pub fn check_listen(addr: &SocketAddr, auth: Option<&AuthConfig>) -> Result<(), String> {
    if auth.is_none() && !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to serve {addr} without authentication: with no --auth file the UI \
             binds to loopback only (127.0.0.1); give --auth FILE (docs/ui.md) to listen on \
             other addresses"
        ));
    }
    Ok(())
}
