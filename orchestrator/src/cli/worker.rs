//! `warden worker --db URL`: a worker process for any host (`engine::remote`), and
//! `warden workers --db URL`: the registry of worker processes.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use tokio::sync::watch;
use warden_store::{OpenMode, Store, WorkerInfo, redact_url};

use super::open_run::{open_existing_store, store_failed};
use super::{CliError, CliResult, runtime};
use crate::engine::remote::{REGISTRY_BEAT, RemoteOptions, default_name, serve};
use crate::engine::run::usable_data_dir;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The store its orchestrators use: a postgres:// URL for workers on other hosts (a
    /// SQLite file serves workers on the orchestrator's own host only).
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// This host's directory for job work directories and logs.
    #[arg(long, default_value = "warden-data")]
    pub data: PathBuf,
    /// The worker's name in the registry and on every attempt it runs (default:
    /// host-pid-worker). A restarted worker may take its predecessor's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The lease on an attempt, in real time: a worker unheard of for this long loses its
    /// attempt, which runs again elsewhere. Heartbeats go at a third of it. 3s to 1h.
    #[arg(long, default_value = "30s", value_parser = lease)]
    pub lease: humantime::Duration,
    /// A label of this host (repeatable: `--label gpu --label pci-zone`): the worker also
    /// runs jobs whose `runs_on` lists only labels it carries. Lowercase letters, digits,
    /// `_` and `-`.
    #[arg(long = "label", value_name = "LABEL", value_parser = label)]
    pub labels: Vec<String>,
    /// How long to wait between looks at an empty queue (jittered by a quarter either way).
    /// 10ms to 1m.
    #[arg(long, default_value = "1s", value_parser = idle)]
    pub poll: humantime::Duration,
    #[command(flatten)]
    pub objects: super::objects_args::ObjectArgs,
    /// The built-in jobs' claim input, plans and intervals on this host (engine::builtins).
    #[command(flatten)]
    pub builtins: crate::engine::builtins::BuiltinSettings,
}

#[derive(Debug, Args)]
pub struct WorkersArgs {
    /// The store: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
    /// Also list workers that stopped (by default only those running or silent).
    #[arg(long)]
    pub all: bool,
}

fn label(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a label: lowercase letters, digits, `_` and `-`, at most 64, as a job's `runs_on` names it"
        ))
    }
}

fn lease(s: &str) -> Result<humantime::Duration, String> {
    bounded(s, Duration::from_secs(3), Duration::from_secs(3600))
}

fn idle(s: &str) -> Result<humantime::Duration, String> {
    bounded(s, Duration::from_millis(10), Duration::from_secs(60))
}

fn bounded(s: &str, low: Duration, high: Duration) -> Result<humantime::Duration, String> {
    let d: humantime::Duration = s.parse().map_err(|e| format!("{e}"))?;
    if *d < low || *d > high {
        return Err(format!(
            "{s} is out of range: {} to {}",
            humantime::format_duration(low),
            humantime::format_duration(high)
        ));
    }
    Ok(d)
}

pub(super) fn worker(args: &WorkerArgs, out: &mut dyn Write) -> CliResult {
    let builtins = super::builtin_settings(&args.builtins)?;
    let runtime = runtime::multi_thread()?;
    let data = usable_data_dir(&args.data).map_err(CliError::unavailable)?;
    let info = WorkerInfo {
        name: args.name.clone().unwrap_or_else(default_name),
        host: crate::engine::host::host_name(),
        pid: i64::from(std::process::id()),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    runtime.block_on(async {
        // Never migrates: a worker of another version refuses the store (exit 3) rather
        // than change it under a running orchestrator.
        let store = Store::open(&args.db, OpenMode::Worker)
            .await
            .map_err(store_failed(&args.db))?;
        let staging = args.objects.open().await.map_err(CliError::unavailable)?;
        args.objects.describe(&staging, out);
        writeln!(
            out,
            "worker {} serving {} (schema {}); work in {}{}",
            info.name,
            redact_url(&args.db),
            store.built_schema_version(),
            data.display(),
            if args.labels.is_empty() {
                String::new()
            } else {
                format!("; labels {}", args.labels.join(", "))
            }
        )?;
        out.flush()?;
        let (stop, stopped) = watch::channel(false);
        let name = info.name.clone();
        tokio::spawn(async move {
            stop_on_signal().await;
            tracing::info!(worker = %name, "asked to stop: finishing the current attempt, claiming nothing more");
            let _ = stop.send(true);
        });
        let options = RemoteOptions {
            info: info.clone(),
            lease: *args.lease,
            idle: *args.poll,
            beat: REGISTRY_BEAT,
            data_dir: data.clone(),
            supervisor: crate::engine::supervise::supervisor_binary(),
            staging,
            builtins,
            labels: {
                let mut l = args.labels.clone();
                l.sort();
                l.dedup();
                l
            },
        };
        match serve(store, options, stopped).await {
            Ok(done) => {
                writeln!(
                    out,
                    "worker {} stopped after {}",
                    info.name,
                    super::count(done as usize, "attempt")
                )?;
                Ok(())
            }
            Err(e) => Err(store_failed(&args.db)(e)),
        }
    })
}

#[derive(Debug, Args)]
pub struct SuperviseArgs {
    /// Where to record this supervisor's pid before the command starts.
    #[arg(long, value_name = "FILE")]
    pub pid_file: PathBuf,
    /// Where to record how the command ended (`exit N` or `signal N`).
    #[arg(long, value_name = "FILE")]
    pub exit_file: PathBuf,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `warden supervise`: runs a job's command and records how it ended (engine::supervise);
/// exits as the command did.
pub(super) fn supervise(args: &SuperviseArgs, err: &mut dyn Write) -> CliResult {
    let files = crate::engine::supervise::SupervisedFiles {
        pid: args.pid_file.clone(),
        exit: args.exit_file.clone(),
    };
    let Some((program, rest)) = args.command.split_first() else {
        return Err(CliError::usage("no command to supervise"));
    };
    match crate::engine::supervise::supervise(&files, program, rest) {
        Ok(0) => Ok(()),
        Ok(code) => Err(CliError::Passed(code)),
        Err(e) => {
            writeln!(err, "warden supervise: {program}: {e}")?;
            Err(CliError::Passed(127))
        }
    }
}

/// SIGTERM (systemd, Kubernetes) or SIGINT (a terminal).
async fn stop_on_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

pub(super) fn workers(args: &WorkersArgs, out: &mut dyn Write) -> CliResult {
    let rows = runtime::block_on(async {
        let store = open_existing_store(&args.db).await?;
        store.list_workers().await
    })?
    .map_err(store_failed(&args.db))?;
    let now = Utc::now();
    let shown: Vec<_> = rows
        .iter()
        .map(|w| (w, w.liveness(now)))
        .filter(|(_, l)| args.all || *l != "stopped")
        .collect();
    if shown.is_empty() {
        writeln!(
            out,
            "no workers{} in {}; start one with `warden worker --db ...`",
            if args.all { "" } else { " running" },
            redact_url(&args.db)
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<28} {:<16} {:>7} {:<8} {:<8} {:<28} {:>10} {:>6}",
        "WORKER", "HOST", "PID", "VERSION", "STATE", "RUNNING", "LAST SEEN", "JOBS"
    )?;
    for (w, state) in shown {
        let running = match (w.run_id, &w.job_id, w.attempt) {
            (Some(run), Some(job), Some(attempt)) => format!("run {run} {job} #{attempt}"),
            _ => "-".into(),
        };
        let seen = (now - w.heartbeat_at).num_seconds().max(0);
        writeln!(
            out,
            "{:<28} {:<16} {:>7} {:<8} {:<8} {:<28} {:>9}s {:>6}",
            w.name, w.host, w.pid, w.version, state, running, seen, w.jobs_done
        )?;
    }
    Ok(())
}
