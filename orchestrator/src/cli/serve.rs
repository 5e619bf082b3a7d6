//! `warden serve`: the web UI and JSON API over a store (docs/ui.md); and the one way every
//! command that serves the UI starts it (`warden run --listen`, `warden demo`).
//! `warden token`: a new bearer token and its auth-file line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use sha2::{Digest, Sha256};
use warden_store::{Store, redact_url};
use warden_ui::{AppState, AuthConfig, Catalog, CatalogEntry, UiOptions};

use super::open_run::{open_existing_store, store_failed};
use super::{CliError, CliResult, runtime};
use crate::load::load_workflow;

/// Where and how to serve the UI (shared by `serve`, `run --listen` and `demo`).
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// Bearer tokens and roles (YAML; docs/ui.md). Without it the UI binds to loopback only
    /// and every visitor is the local operator.
    #[arg(long, value_name = "FILE")]
    pub auth: Option<PathBuf>,
    /// Mark the UI's cookies `Secure` (sent over https only): give it when users reach the
    /// UI through a proxy that terminates TLS.
    #[arg(long)]
    pub secure_cookies: bool,
    /// Most live-update (server-sent events) clients at once; more are answered 503.
    /// 1 to 10,000.
    #[arg(long, value_name = "N", default_value_t = warden_ui::DEFAULT_MAX_SSE_CLIENTS, value_parser = super::limits::count(super::limits::MAX_SSE_CLIENTS))]
    pub max_sse_clients: usize,
    /// Route claims online by this CEL rule set (`POST /api/route`, docs/routing.md). The set
    /// and its tests file are polled each second and swapped in when they pass every check.
    #[arg(long, value_name = "RULES")]
    pub routing: Option<PathBuf>,
    /// When an online routing decision is recorded in the audit: `before-answer` (the answer
    /// waits for its commit; a decision not recorded is not given), `journal` (the answer
    /// waits for its append to the audit journal, `--routing-journal`, which is loaded into
    /// the store behind the answers) or `after-answer` (the answer goes at once; a decision
    /// answered just before the process is killed may be missing). docs/routing.md.
    #[arg(long, value_enum, default_value_t = RoutingAudit::BeforeAnswer)]
    pub routing_audit: RoutingAudit,
    /// With `--routing-audit journal`: the audit journal's file (created if missing; one
    /// server per file).
    #[arg(long, value_name = "FILE", default_value = "warden-routing.journal")]
    pub routing_journal: PathBuf,
}

/// `--routing-audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoutingAudit {
    BeforeAnswer,
    AfterAnswer,
    Journal,
}

impl RoutingAudit {
    pub fn as_str(self) -> &'static str {
        warden_ui::routing_audit::AuditMode::from(self).as_str()
    }
}

impl From<RoutingAudit> for warden_ui::routing_audit::AuditMode {
    fn from(m: RoutingAudit) -> Self {
        match m {
            RoutingAudit::BeforeAnswer => Self::BeforeAnswer,
            RoutingAudit::AfterAnswer => Self::AfterAnswer,
            RoutingAudit::Journal => Self::Journal,
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// Address to listen on (port 0: any free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The workflow files the runs were made from (default: workflows/*.yaml).
    #[arg(long = "workflow", value_name = "FILE")]
    pub workflows: Vec<String>,
    /// The runs' data directory (job logs, checkpoints).
    #[arg(long, default_value = "warden-data")]
    pub data: PathBuf,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// SHA-256 of a file's bytes, lowercase hex (how a run remembers its workflow file).
pub fn file_sha256(path: &str) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compiles the workflow files for the catalog; `Err` names a file that is missing or invalid.
pub fn catalog_entries(files: &[String]) -> Result<Vec<CatalogEntry>, String> {
    let mut entries = Vec::new();
    for path in files {
        let loaded = load_workflow(path)?;
        let Some(workflow) = loaded.compilation.workflow else {
            return Err(format!(
                "{path}: invalid; run `warden validate {path}` for details"
            ));
        };
        entries.push(CatalogEntry {
            path: path.clone(),
            sha256: file_sha256(path),
            workflow,
        });
    }
    Ok(entries)
}

/// The shipped workflows (`workflows/*.yaml`), when the server is given none.
fn default_workflows() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir("workflows")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// A started UI: its URL, and the task serving it (stops with the process or `stop`).
#[derive(Debug)]
pub struct RunningUi {
    pub url: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Checks where the UI is to listen before anything else happens (no store opened, no
/// file written): a non-loopback address needs an auth file, and the auth file must load.
/// `serve`, `run --listen` and `demo` all refuse the same misuse the same way (exit 2).
pub fn check_ui(listen: &SocketAddr, auth_file: Option<&Path>) -> Result<(), String> {
    let auth = auth_file.map(AuthConfig::load).transpose()?;
    warden_ui::check_listen(listen, auth.as_ref())
}

/// Binds and starts serving. Refuses a non-loopback address without an auth file.
pub async fn start_ui(
    store: Store,
    catalog: Arc<Catalog>,
    listen: SocketAddr,
    ui: &UiArgs,
    data_dir: Option<PathBuf>,
) -> Result<RunningUi, String> {
    let auth = ui.auth.as_deref().map(AuthConfig::load).transpose()?;
    warden_ui::check_listen(&listen, auth.as_ref())?;
    let routing = match &ui.routing {
        Some(path) => {
            let live = warden_workers::routing::LiveRuleSet::open(path).map_err(|e| {
                format!("{e}\nthe routing rule set is refused; the server does not start with it")
            })?;
            let live = Arc::new(live);
            tokio::spawn(poll_routing(Arc::clone(&live)));
            Some(live)
        }
        None => None,
    };
    let state = AppState::new(UiOptions {
        store,
        catalog,
        auth,
        data_dir,
        secure_cookies: ui.secure_cookies,
        max_sse_clients: ui.max_sse_clients,
        routing,
        routing_audit: ui.routing_audit.into(),
        routing_journal: Some(ui.routing_journal.clone()),
    })?;
    let no_auth = state.auth.is_none();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    if no_auth {
        tracing::warn!(%bound, "no --auth file: serving on loopback only; every visitor is the local operator");
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(warden_ui::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Ok(RunningUi {
        url: format!("http://{bound}/"),
        stop,
        task,
    })
}

/// Looks at the routing rule set's files each second and swaps in a changed set that passes
/// every check; a refused one is logged and the old set keeps serving.
async fn poll_routing(live: Arc<warden_workers::routing::LiveRuleSet>) {
    use warden_workers::routing::Reload;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let l = Arc::clone(&live);
        match tokio::task::spawn_blocking(move || l.reload_if_changed()).await {
            Ok(Reload::Unchanged) => {}
            Ok(Reload::Swapped(sha)) => {
                tracing::info!(sha256 = %sha, "routing rule set changed on disk: swapped in");
            }
            Ok(Reload::Refused(reason)) => {
                tracing::warn!(%reason, "routing rule set changed on disk but is refused; the old set keeps serving");
            }
            Err(e) => tracing::error!(error = %e, "routing reload task failed"),
        }
    }
}

/// Starts the UI over one run's plan (`run --listen`, `demo`): its catalog holds that plan.
pub async fn start_run_ui(
    store: Store,
    plan: Arc<warden_core::plan::Plan>,
    listen: SocketAddr,
    ui: &UiArgs,
    data_dir: &Path,
) -> Result<RunningUi, String> {
    let catalog = Arc::new(Catalog::default());
    catalog.pin(plan);
    start_ui(store, catalog, listen, ui, Some(data_dir.to_path_buf())).await
}

impl RunningUi {
    /// Prints what the operator is told about it ([`describe`]), and flushes.
    pub fn announce(&self, auth: Option<&Path>, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", describe(self, auth))?;
        out.flush()
    }

    /// A graceful stop: requests in flight are answered, and every routing decision queued
    /// for the audit is written, before it returns.
    pub async fn shut_down(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// What the operator is told about a started UI.
pub fn describe(ui: &RunningUi, auth: Option<&Path>) -> String {
    match auth {
        Some(f) => format!("UI: {} (tokens from {})", ui.url, f.display()),
        None => format!(
            "UI: {} (no --auth file: loopback only, every visitor acts as the local operator)",
            ui.url
        ),
    }
}

pub(super) fn run(args: &ServeArgs, out: &mut dyn Write) -> CliResult {
    let files = if args.workflows.is_empty() {
        default_workflows()
    } else {
        args.workflows.clone()
    };
    let entries = catalog_entries(&files).map_err(CliError::usage)?;
    check_ui(&args.listen, args.ui.auth.as_deref()).map_err(CliError::usage)?;
    runtime::multi_thread()?.block_on(async {
        let store = open_existing_store(&args.db)
            .await
            .map_err(store_failed(&args.db))?;
        let catalog = Arc::new(Catalog::new(entries));
        let mut ui = start_ui(store, catalog, args.listen, &args.ui, Some(args.data.clone()))
            .await
            .map_err(CliError::usage)?;
        // The banner is best-effort: a server whose stdout is gone (`warden serve | head -1`,
        // a supervisor that stopped reading) serves on rather than dying of a failed write.
        let banner = format!(
            "{}\nserving {} workflow file(s) over {}; Ctrl-C stops\n",
            describe(&ui, args.ui.auth.as_deref()),
            files.len(),
            redact_url(&args.db)
        );
        if let Err(e) = out.write_all(banner.as_bytes()).and_then(|()| out.flush()) {
            tracing::warn!(error = %e, url = %ui.url, "cannot print the banner on stdout; serving on");
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = &mut ui.task => {
                if let Ok(Err(e)) = r {
                    return Err(CliError::unavailable(format!("the UI stopped: {e}")));
                }
                return Ok(());
            }
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        ui.shut_down().await;
        Ok(())
    })
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Who the token is for.
    #[arg(long)]
    pub name: String,
    /// viewer, operator, architect or compliance (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
}

/// Prints a new random token (shown once) and the auth-file line holding only its digest.
pub(super) fn token(args: &TokenArgs, out: &mut dyn Write) -> CliResult {
    let known = ["viewer", "operator", "architect", "compliance"];
    for r in &args.roles {
        if !known.contains(&r.as_str()) {
            return Err(CliError::usage(format!(
                "`{r}` is not a role; use one of {}",
                known.join(", ")
            )));
        }
    }
    let token = warden_ui::auth::secret();
    writeln!(
        out,
        "token (give it to {}; it is not stored): {token}",
        args.name
    )?;
    writeln!(out, "auth-file line:")?;
    writeln!(
        out,
        "  - {{ name: {}, roles: [{}], token_sha256: {} }}",
        args.name,
        args.roles.join(", "),
        warden_ui::auth::digest(&token)
    )?;
    Ok(())
}
