//! What the orchestrator's integration tests share: temporary directories, a plan from a
//! workflow's text, a fresh SQLite store, a PostgreSQL schema of their own per test, reading
//! a run back from the store.

#![allow(dead_code)]

pub mod hosts;
pub mod private_postgres;
pub mod processes;
pub mod s3rver;
mod shared;

// Not every test uses them all.
#[allow(unused_imports)]
pub use shared::{drop_schema, postgres_base_url, postgres_schema_url, unique, with_schema};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use warden_core::diagnostics::render_text;
use warden_core::plan::{Plan, PlanOptions};
use warden_core::sched::{Event, Outcome};
use warden_core::workflow::compile_str;
use warden_store::{Store, StoredEvent};

/// A fresh, empty temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("warden-{name}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The address of the test server (`WARDEN_TEST_DATABASE_URL`), for proxies to it.
pub fn postgres_socket_addr() -> std::net::SocketAddr {
    let url = postgres_base_url();
    url.split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|hostport| hostport.parse().ok())
        .unwrap_or_else(|| panic!("{url}: a URL of the form postgres://user@IP:PORT/db"))
}

/// The plan of the workflow `text` (`file` names it in diagnostics) for Tuesday 2025-03-04
/// with the default options; an invalid workflow fails the test with its diagnostics.
pub fn plan_from_yaml(file: &str, text: &str) -> Arc<Plan> {
    let (sources, c) = compile_str(file, text);
    let w = c
        .workflow
        .unwrap_or_else(|| panic!("{}", render_text(&sources, &c.diagnostics)));
    Arc::new(
        w.instantiate("2025-03-04".parse().expect("date"), &PlanOptions::default())
            .expect("plans"),
    )
}

/// A new SQLite store, `warden.db` in `dir`.
pub async fn sqlite_store(dir: &Path) -> Store {
    Store::connect(dir.join("warden.db").to_str().expect("utf-8"))
        .await
        .expect("store")
}

/// Per job id: the outcomes of its finished attempts, in log order.
pub fn finishes(
    job_ids: &[String],
    events: &[StoredEvent],
) -> HashMap<String, Vec<(u32, Outcome)>> {
    let mut out: HashMap<String, Vec<(u32, Outcome)>> = HashMap::new();
    for e in events {
        if let Some(Event::Finished {
            job,
            attempt,
            outcome,
        }) = e.event
        {
            out.entry(job_ids[job].clone())
                .or_default()
                .push((attempt, outcome));
        }
    }
    out
}
