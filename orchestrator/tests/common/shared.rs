//! What the orchestrator's integration tests (`common`) and the store suite
//! (`orchestrator/store/tests/store_suite.rs`, which includes this file by its path) share:
//! names no other test of the process uses, and a PostgreSQL schema of its own per test.
//! PostgreSQL comes from `WARDEN_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this process uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The test server's URL: `WARDEN_TEST_DATABASE_URL`, else the local `test` database.
pub fn postgres_base_url() -> String {
    std::env::var("WARDEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
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
