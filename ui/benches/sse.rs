//! Live updates under load (issue #6 target: 200 concurrent server-sent-event clients are
//! served without falling behind). `cargo bench -p warden-ui --bench sse`.
//!
//! A real server over a real SQLite store; 200 clients hold `/api/events` open while the
//! store changes 40 times, 150 ms apart (an alert raised each time, as the watcher would).
//! For every change and every client: how long until the client was told. A client "falls
//! behind" if, after the last change, it is not told within 2 s. Figures printed; nothing
//! asserted beyond the run completing (a benchmark, not a test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_store::{NewAlert, NewRun, Store};
use warden_ui::{AppState, Catalog, UiOptions};

const CLIENTS: usize = 200;
const CHANGES: usize = 40;
const GAP: Duration = Duration::from_millis(150);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("sse.db").display().to_string();
    let store = Store::connect(&db).await.expect("store");
    let run = store
        .open_run(
            &NewRun {
                cycle: "month-end".into(),
                business_date: "2025-02".into(),
                workflow_sha256: String::new(),
                mode: "pipelined".into(),
                options: "{}".into(),
            },
            chrono::Utc::now(),
        )
        .await
        .expect("run");
    let state = AppState::new(UiOptions {
        store: store.clone(),
        catalog: Arc::new(Catalog::default()),
        auth: None,
        data_dir: None,
        secure_cookies: false,
        // Above the default cap (64): this measures 200 clients served at once.
        max_sse_clients: CLIENTS,
        routing: None,
        routing_audit: Default::default(),
        routing_journal: None,
    })
    .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/api/events", listener.local_addr().expect("addr"));
    tokio::spawn(warden_ui::serve(listener, state, std::future::pending()));
    let start = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            let mut response = reqwest::get(&url).await.expect("connect");
            assert!(response.status().is_success());
            let mut told = Vec::new();
            let deadline =
                tokio::time::Instant::now() + GAP * CHANGES as u32 + Duration::from_secs(4);
            while let Ok(Ok(Some(chunk))) =
                tokio::time::timeout_at(deadline, response.chunk()).await
            {
                let text = String::from_utf8_lossy(&chunk);
                for _ in text.matches("event: update") {
                    told.push(start.elapsed());
                }
            }
            told
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // every client connected
    let mut written = Vec::new();
    for i in 0..CHANGES {
        store
            .raise_alert(&NewAlert {
                run_id: run.id,
                deadline_id: "cms-filing".into(),
                level: "warning".into(),
                idempotency_key: format!("sse-bench-{i}"),
                raised_at: chrono::Utc::now(),
                view: serde_json::json!({}),
                template: None,
                roles: vec!["on-call".into()],
            })
            .await
            .expect("raise");
        written.push(start.elapsed());
        tokio::time::sleep(GAP).await;
    }
    let mut lags = Vec::new();
    let mut behind = 0;
    for c in clients {
        let told = c.await.expect("client");
        for w in &written {
            if let Some(t) = told.iter().find(|t| *t >= w) {
                lags.push(*t - *w);
            }
        }
        let last = *written.last().expect("changes");
        if !told
            .iter()
            .any(|t| *t >= last && *t - last <= Duration::from_secs(2))
        {
            behind += 1;
        }
    }
    lags.sort();
    let pct = |p: f64| lags[((lags.len() as f64 - 1.0) * p) as usize];
    println!(
        "sse: {CLIENTS} clients, {CHANGES} changes {GAP:?} apart: told of {} of {} (client, change) pairs; lag p50 {:?}, p99 {:?}, max {:?}; clients behind after the last change: {behind}",
        lags.len(),
        CLIENTS * CHANGES,
        pct(0.5),
        pct(0.99),
        lags[lags.len() - 1]
    );
}
