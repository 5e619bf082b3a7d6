//! The worker fleet as on-call sees it: every `warden worker` process of the store, its host,
//! what it runs, when it was last heard from (`/workers`, `/api/workers`, and gauges in
//! `/metrics`). A worker unheard of for a while is *silent*: killed, cut off or its host gone.

use std::fmt::Write;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use warden_store::WorkerRow;

use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// A worker, as the page and the API show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerView {
    pub name: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    /// `idle`, `running`, `stopping`, `stopped` or `silent`.
    pub state: String,
    /// `run 3 CLAIM-EXTRACT.A #1`, or empty.
    pub running: String,
    pub run_id: Option<i64>,
    pub job: Option<String>,
    pub attempt: Option<i64>,
    pub last_heartbeat: DateTime<Utc>,
    pub seconds_since_heartbeat: i64,
    pub jobs_done: i64,
    pub started_at: DateTime<Utc>,
}

/// The registry at wall time `now`, as views (stopped workers last).
pub fn views(rows: &[WorkerRow], now: DateTime<Utc>) -> Vec<WorkerView> {
    let mut out: Vec<WorkerView> = rows
        .iter()
        .map(|w| {
            let running = match (w.run_id, &w.job_id, w.attempt) {
                (Some(run), Some(job), Some(attempt)) => format!("run {run} {job} #{attempt}"),
                _ => String::new(),
            };
            WorkerView {
                name: w.name.clone(),
                host: w.host.clone(),
                pid: w.pid,
                version: w.version.clone(),
                state: w.liveness(now).to_string(),
                running,
                run_id: w.run_id,
                job: w.job_id.clone(),
                attempt: w.attempt,
                last_heartbeat: w.heartbeat_at,
                seconds_since_heartbeat: (now - w.heartbeat_at).num_seconds().max(0),
                jobs_done: w.jobs_done,
                started_at: w.started_at,
            }
        })
        .collect();
    out.sort_by_key(|w| (w.state == "stopped", w.name.clone()));
    out
}

/// The page's view: the workers and a count per state.
#[derive(Debug, Serialize)]
pub struct WorkersPage {
    pub workers: Vec<WorkerView>,
    pub silent: usize,
    pub live: usize,
}

pub async fn page(State(state): State<AppState>, who: Principal) -> Response {
    let r = async {
        who.require(Permission::Read)?;
        let workers = views(&state.store.list_workers().await?, Utc::now());
        let silent = workers.iter().filter(|w| w.state == "silent").count();
        let live = workers
            .iter()
            .filter(|w| w.state != "silent" && w.state != "stopped")
            .count();
        Ok(crate::pages::page(
            &state,
            &who,
            "workers",
            "Workers".into(),
            None,
            None,
            WorkersPage {
                workers,
                silent,
                live,
            },
        ))
    }
    .await;
    crate::pages::or_page_error(&state, &who, r)
}

pub async fn api(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    who.require(Permission::Read)?;
    let workers = views(&state.store.list_workers().await?, Utc::now());
    Ok(Json(workers).into_response())
}

/// Gauges: workers per state, and each live worker's seconds since its last heartbeat.
pub fn render_metrics(workers: &[WorkerView]) -> String {
    let mut out = String::from(
        "# HELP warden_workers Worker processes by state (silent: unheard of for 20 s).\n# TYPE warden_workers gauge\n",
    );
    for state in ["idle", "running", "stopping", "silent", "stopped"] {
        let n = workers.iter().filter(|w| w.state == state).count();
        let _ = writeln!(out, "warden_workers{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP warden_worker_heartbeat_age_seconds Seconds since a worker last beat its registry row.\n# TYPE warden_worker_heartbeat_age_seconds gauge\n");
    for w in workers.iter().filter(|w| w.state != "stopped") {
        let _ = writeln!(
            out,
            "warden_worker_heartbeat_age_seconds{{worker=\"{}\",host=\"{}\"}} {}",
            crate::metrics::label(&w.name),
            crate::metrics::label(&w.host),
            w.seconds_since_heartbeat
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, state: &str, ago: i64, now: DateTime<Utc>) -> WorkerRow {
        WorkerRow {
            name: name.into(),
            host: "host-a".into(),
            pid: 7,
            version: "0.1.0".into(),
            started_at: now,
            heartbeat_at: now - chrono::TimeDelta::seconds(ago),
            state: state.into(),
            run_id: (state == "running").then_some(3),
            job_id: (state == "running").then(|| "F0".to_string()),
            attempt: (state == "running").then_some(1),
            jobs_done: 4,
        }
    }

    #[test]
    fn the_fleet_says_who_runs_what_and_who_went_silent() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::TimeDelta::days(20_000);
        let rows = [
            row("w-stopped", "stopped", 900, now),
            row("w-run", "running", 1, now),
            row("w-gone", "running", 120, now),
        ];
        let v = views(&rows, now);
        let names: Vec<&str> = v.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["w-gone", "w-run", "w-stopped"]);
        assert_eq!(v[0].state, "silent");
        assert_eq!(v[1].running, "run 3 F0 #1");
        let text = render_metrics(&v);
        assert!(
            text.contains("warden_workers{state=\"silent\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("warden_workers{state=\"running\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "warden_worker_heartbeat_age_seconds{worker=\"w-gone\",host=\"host-a\"} 120"
            ),
            "{text}"
        );
        assert!(!text.contains("worker=\"w-stopped\""), "{text}");
    }
}
