//! A PostgreSQL that goes away mid-cycle: every connection Warden holds is cut and new ones
//! are refused for a few seconds, as in a server restart, then it comes back. The run goes
//! on and completes, with every job's success recorded exactly once.
//!
//! The outage is made by a TCP relay between Warden and the real server (the database
//! itself is real; only the network path to it is cut), so the test needs no control over
//! the machine's PostgreSQL and cannot disturb other tests that use it.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use common::{drop_schema, finishes, postgres_schema_url, temp_dir};
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use warden::engine::clocks::AcceleratedClock;
use warden::engine::run::{RunEnd, RunOptions, run_cycle};
use warden_core::clock::Clock;
use warden_core::sched::Outcome;
use warden_store::{NewRun, Store};

/// A relay that can cut every connection and refuse new ones.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    cut: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let refused = Arc::new(AtomicUsize::new(0));
        let (up2, links2, refused2) = (up.clone(), links.clone(), refused.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    refused2.fetch_add(1, Ordering::SeqCst);
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                links2.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Relay {
            port,
            up,
            links,
            cut: Arc::default(),
            refused,
        }
    }

    /// The server "restarts": every open connection is cut, new ones are refused.
    async fn go_down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
            self.cut.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn come_back(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_mid_cycle_is_waited_out() {
    let Some((url, schema)) = postgres_schema_url().await else {
        return;
    };
    let options = PgConnectOptions::from_str(&url).expect("url");
    let upstream = format!("{}:{}", options.get_host(), options.get_port());
    let relay = Relay::start(upstream.clone()).await;
    let relayed = url.replacen(&upstream, &format!("127.0.0.1:{}", relay.port), 1);
    assert_ne!(relayed, url, "the URL names {upstream}");

    let jobs: String = (0..30)
        .map(|i| {
            let after = if i == 0 {
                String::new()
            } else {
                format!(", after: [J{}]", i - 1)
            };
            format!("  - {{ id: J{i}, run: 'sleep 0.1', estimate: 1m{after} }}\n")
        })
        .collect();
    let text = format!(
        "cycle: outage-test\ntimezone: America/New_York\nschedule: {{ cron: \"0 22 * * 1-5\" }}\ndays:\n  - {{ id: n, window: {{ opens: \"22:00\", closes: \"04:00\" }} }}\njobs:\n{jobs}"
    );
    let plan = common::plan_from_yaml("outage-test.yaml", &text);
    let ids: Vec<String> = plan.jobs.iter().map(|j| j.id.clone()).collect();
    let new = NewRun {
        cycle: "outage-test".into(),
        business_date: "2025-03-04".into(),
        workflow_sha256: "v1".into(),
        mode: "pipelined".into(),
        options: "{}".into(),
    };
    let dir = temp_dir("outage");
    let store = Store::connect(&relayed)
        .await
        .expect("store through the relay");
    let clock: Arc<dyn Clock> = Arc::new(AcceleratedClock::new(plan.start, 3600.0));
    let mut run_options = RunOptions::new(dir.join("data"));
    // Leases far longer than the outage (thirty hours of cycle time is thirty real seconds
    // here: reconnecting on a loaded 2-core machine can take several seconds after the
    // three-second outage): what is under test is riding out the outage, not losing
    // attempts to it.
    run_options.lease = TimeDelta::hours(30);
    let running = tokio::spawn({
        let (store, plan, clock) = (store.clone(), plan.clone(), clock.clone());
        async move { run_cycle(store, plan, &new, clock, &run_options).await }
    });

    // Once a few jobs are done, the database goes away for three seconds.
    let observer = Store::connect(&url).await.expect("direct store");
    loop {
        if let Some(run) = observer
            .find_run("outage-test", "2025-03-04")
            .await
            .expect("store")
        {
            let done = finishes(&ids, &observer.load_events(run.id).await.expect("events"));
            if done.len() >= 5 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay.go_down().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    relay.come_back();

    let end = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the run finishes after the outage")
        .expect("task")
        .expect("the run rode out the outage");
    let RunEnd::Complete { run_id } = end else {
        panic!("not complete: {end:?}");
    };
    assert!(relay.cut.load(Ordering::SeqCst) > 0, "connections were cut");
    assert!(
        relay.refused.load(Ordering::SeqCst) > 0,
        "Warden tried to reconnect while the database was away"
    );
    let recorded = finishes(&ids, &observer.load_events(run_id).await.expect("events"));
    for id in &ids {
        assert_eq!(recorded[id], [(1, Outcome::Succeeded)], "{id}");
    }
    drop_schema(&schema).await;
}
