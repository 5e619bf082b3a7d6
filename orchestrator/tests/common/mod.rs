//! What the orchestrator's integration tests share: temporary directories, a PostgreSQL
//! schema of their own per test, reading a run back from the store.

#![allow(dead_code)]

pub mod hosts;
pub mod private_postgres;
pub mod processes;
pub mod s3rver;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use warden_core::sched::{Event, Outcome};
use warden_store::StoredEvent;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this process uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh, empty temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(&format!("warden-{name}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn postgres_base_url() -> String {
    std::env::var("WARDEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
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

/// A PostgreSQL URL whose connections use a new schema of their own, or `None` (with the
/// reason printed) where no server answers outside CI. Under `CI=true` it must answer.
pub async fn postgres_schema_url() -> Option<(String, String)> {
    let base = postgres_base_url();
    let admin = match sqlx::PgPool::connect(&base).await {
        Ok(pool) => pool,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping PostgreSQL test: {base} does not answer ({e})");
            return None;
        }
        Err(e) => panic!("CI=true but PostgreSQL at {base} does not answer: {e}"),
    };
    let schema = unique("warden_it");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    Some((with_schema(&base, &schema), schema))
}

/// `base` with every connection's search path set to `schema`.
pub fn with_schema(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}

/// Drops a passing test's schema (a failing one keeps it, to look at).
pub async fn drop_schema(schema: &str) {
    let admin = sqlx::PgPool::connect(&postgres_base_url())
        .await
        .expect("connect");
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .expect("drop schema");
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
