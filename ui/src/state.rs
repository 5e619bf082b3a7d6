//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use handlebars::Handlebars;
use tokio::sync::watch;
use warden_store::Store;

use crate::auth::{AuthConfig, Sessions, secret};
use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::snapshot::RunSnapshot;
use crate::sse_clients::SseClients;

/// How to build the UI's state.
#[derive(Debug)]
pub struct UiOptions {
    pub store: Store,
    pub catalog: Arc<Catalog>,
    /// `None`: no authentication (the server must then listen on loopback only).
    pub auth: Option<AuthConfig>,
    /// The runs' data directory (`warden run --data`): job logs and checkpoints.
    pub data_dir: Option<PathBuf>,
    /// Mark cookies `Secure` (`--secure-cookies`): for a server reached over https through
    /// a TLS-terminating proxy.
    pub secure_cookies: bool,
    /// Most live-update clients at once (`--max-sse-clients`; at least 1).
    pub max_sse_clients: usize,
    /// The routing rule set `POST /api/route` serves (`--routing`), if any.
    pub routing: Option<Arc<warden_workers::routing::LiveRuleSet>>,
    /// When its decisions are recorded, relative to the answer (`--routing-audit`).
    pub routing_audit: crate::routing_audit::AuditMode,
    /// The audit journal's file, for `--routing-audit journal` (`--routing-journal`).
    pub routing_journal: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub catalog: Arc<Catalog>,
    pub auth: Option<Arc<AuthConfig>>,
    pub sessions: Arc<Sessions>,
    /// The CSRF token of forms when there is no authentication (one per server start).
    pub local_csrf: String,
    /// The key that signs the login form's CSRF field (one per server start).
    pub login_key: String,
    pub secure_cookies: bool,
    pub sse_clients: Arc<SseClients>,
    pub templates: Arc<Handlebars<'static>>,
    /// Bumped whenever any run's fingerprint changes (`sse::feed`).
    pub changes: watch::Sender<u64>,
    pub data_dir: Option<PathBuf>,
    /// Page regions recently sent, the bases of live updates' edits (`live_diff.rs`).
    pub regions: Arc<crate::live_diff::RegionCache>,
    pub routing: Option<Arc<warden_workers::routing::LiveRuleSet>>,
    /// Where the online router's decisions are recorded (with `routing`).
    pub routing_audit: Option<crate::routing_audit::DecisionAudit>,
}

impl AppState {
    pub fn new(options: UiOptions) -> Result<Self, String> {
        if options.max_sse_clients == 0 {
            return Err(
                "--max-sse-clients must be at least 1 (each open page holds one)".to_string(),
            );
        }
        // The audit writer runs on the caller's runtime, only where there is routing.
        let routing_audit = match &options.routing {
            Some(_) => Some(crate::routing_audit::DecisionAudit::start(
                options.store.clone(),
                options.routing_audit,
                options.routing_journal.as_deref(),
            )?),
            None => None,
        };
        Ok(Self {
            store: options.store,
            catalog: options.catalog,
            auth: options.auth.map(Arc::new),
            sessions: Arc::default(),
            regions: Arc::default(),
            local_csrf: secret(),
            login_key: secret(),
            secure_cookies: options.secure_cookies,
            sse_clients: Arc::new(SseClients::new(options.max_sse_clients)),
            templates: Arc::new(crate::assets::templates()?),
            changes: watch::Sender::new(0),
            data_dir: options.data_dir,
            routing_audit,
            routing: options.routing,
        })
    }
}

/// Every run of the store: those the server can show, and the others with why not (no
/// workflow file for their cycle).
#[derive(Debug, Default)]
pub struct AllRuns {
    pub shown: Vec<RunSnapshot>,
    pub unshowable: Vec<(warden_store::RunRecord, String)>,
}

impl AppState {
    /// The run named by a path segment (`/runs/{run}`), loaded and projected.
    pub async fn snapshot(&self, run: &str) -> Result<RunSnapshot, ApiError> {
        RunSnapshot::load(&self.store, &self.catalog, crate::params::run_id(run)?).await
    }

    /// Records one entry of the UI's own audit trail (a failure to write it is logged).
    pub(crate) async fn audit_ui(&self, actor: &str, action: &str, detail: Option<String>) {
        let row = warden_store::UiAuditRow {
            id: 0,
            at: chrono::Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            run_id: None,
            job_id: None,
            detail,
        };
        if let Err(e) = self.store.record_ui_audit(&row).await {
            tracing::error!(%e, action, "could not record a UI audit entry");
        }
    }

    /// Every run, newest first (one listing; each run loaded once).
    pub async fn all_runs(&self) -> Result<AllRuns, ApiError> {
        let mut all = AllRuns::default();
        for run in self.store.list_runs().await? {
            match RunSnapshot::load_run(&self.store, &self.catalog, run.clone()).await {
                Ok(s) => all.shown.push(s),
                Err(ApiError::Unavailable(problem)) => all.unshowable.push((run, problem)),
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }
}
