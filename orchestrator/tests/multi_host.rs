//! Several hosts on one machine: the orchestrator in this network namespace, two worker
//! processes each in a namespace of its own (`ip netns`, a veth pair each), reaching
//! PostgreSQL and the S3 server (moto) only over their link, through proxies this test owns
//! (so it can also take those servers away). The nightly cycle runs with real adjudication
//! across them, with faults: a worker cut off the network mid-partition (its lease runs out,
//! the attempt is retaken, its late report is refused), a worker SIGKILLed and restarted (it
//! adopts what it ran), PostgreSQL and the S3 server unreachable for a while. Every job ends
//! succeeded once, and the reconciled output equals the serial run byte for byte.
//!
//! Needs root (CI runs as root) and iproute2; outside CI without them it is skipped.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{drop_schema, postgres_schema_url, temp_dir, with_schema};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use warden_store::{OpenMode, Store};

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Two worker hosts: namespaces with a veth pair each to this one.
struct Hosts {
    names: Vec<String>,
    links: Vec<String>,
    /// This namespace's address on each host's link (where the proxies listen).
    gateways: Vec<String>,
}

impl Hosts {
    fn make(count: usize) -> Result<Hosts, String> {
        let tag = std::process::id() % 10_000;
        let subnet = 100 + (std::process::id() % 100) as usize;
        let mut hosts = Hosts {
            names: Vec::new(),
            links: Vec::new(),
            gateways: Vec::new(),
        };
        for i in 0..count {
            let ns = format!("wdn{tag}h{i}");
            let link = format!("wdv{tag}h{i}");
            let peer = format!("wdp{tag}h{i}");
            let gateway = format!("10.{subnet}.{}.1", i + 1);
            let address = format!("10.{subnet}.{}.2/24", i + 1);
            let _ = ip(&["netns", "del", &ns]);
            ip(&["netns", "add", &ns])?;
            hosts.names.push(ns.clone());
            ip(&["link", "add", &link, "type", "veth", "peer", "name", &peer])?;
            hosts.links.push(link.clone());
            ip(&["link", "set", &peer, "netns", &ns])?;
            ip(&["addr", "add", &format!("{gateway}/24"), "dev", &link])?;
            ip(&["link", "set", &link, "up"])?;
            ip(&[
                "netns", "exec", &ns, "ip", "addr", "add", &address, "dev", &peer,
            ])?;
            ip(&["netns", "exec", &ns, "ip", "link", "set", &peer, "up"])?;
            ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])?;
            hosts.gateways.push(gateway);
        }
        Ok(hosts)
    }

    /// Cuts host `i` off the network (its link down) or mends it.
    fn link(&self, i: usize, up: bool) {
        ip(&[
            "link",
            "set",
            &self.links[i],
            if up { "up" } else { "down" },
        ])
        .expect("link");
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in &self.names {
            let _ = ip(&["netns", "del", ns]);
        }
        for link in &self.links {
            let _ = ip(&["link", "del", link]);
        }
    }
}

/// A TCP proxy in this namespace to `target`, listening on every address: what the worker
/// hosts reach the servers through. `down` drops every connection and refuses new ones.
struct Proxy {
    port: u16,
    down: watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("0.0.0.0:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (down, watching) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                if *watching.borrow() {
                    continue; // refused: dropped at once
                }
                let mut cut = watching.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|d| *d) => {}
                    }
                });
            }
        });
        Proxy { port, down }
    }

    fn set_down(&self, down: bool) {
        let _ = self.down.send(down);
    }
}

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn output(dir: &Path, name: &str) -> (Stdio, Stdio) {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.out")))
        .expect("log");
    let err = out.try_clone().expect("log");
    (out.into(), err.into())
}

fn outputs(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "out") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            all.push_str(&format!(
                "--- {}\n{}\n",
                e.path().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    all
}

struct Setup {
    dir: PathBuf,
    input: PathBuf,
    bucket: String,
    s3_endpoint: String,
}

/// `warden worker` in host `i`'s namespace, through the proxies on its gateway.
fn worker(s: &Setup, hosts: &Hosts, i: usize, db: &Proxy, s3: &Proxy, schema: &str) -> Child {
    let name = format!("host-{i}");
    let gateway = &hosts.gateways[i];
    let url = with_schema(
        &format!("postgres://postgres@{gateway}:{}/test", db.port),
        schema,
    );
    let (out, err) = output(&s.dir, &name);
    Command::new("ip")
        .args(["netns", "exec", &hosts.names[i]])
        .arg(env!("CARGO_BIN_EXE_warden"))
        .args(["worker", "--db", &url, "--name", &name, "--data"])
        .arg(s.dir.join(&name))
        .args(["--lease", "3s", "--poll", "50ms", "--sync-every", "300ms"])
        .args(["--objects", &format!("s3://{}/warden", s.bucket)])
        .env("AWS_ENDPOINT_URL", format!("http://{gateway}:{}", s3.port))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("WARDEN_CLAIMS_INPUT", &s.input)
        .env("WARDEN_PLANS", root().join("workflows/plans"))
        .env("WARDEN_CHECKPOINT_EVERY", "200")
        .env_remove("WARDEN_MONITOR_EVERY")
        .env_remove("WARDEN_PARTITIONS")
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden worker starts")
}

/// The partition attempt host `name` runs now, if any (its registry row), once it has
/// checkpointed mid-way on the host's disk (so it is well under way, not about to end).
async fn running_partition(store: &Store, name: &str, dir: &Path) -> Option<(String, i64)> {
    let rows = store.list_workers().await.ok()?;
    let w = rows.iter().find(|w| w.name == name)?;
    let job = w.job_id.clone()?;
    if w.state != "running" || !job.starts_with("CLMADJUD-P") || job.contains("PASS2") {
        return None;
    }
    let checkpoint = dir
        .join(name)
        .join("runs/1/work")
        .join(&job)
        .join("checkpoint.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint).ok()?).ok()?;
    (v["done"] == false && v["position"].as_u64().is_some_and(|x| x > 0))
        .then(|| (job, w.attempt.unwrap_or(0)))
}

async fn wait_until<F, Fut, T>(seconds: u64, what: &str, dir: &Path, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "{what} within {seconds} s\n{}",
            outputs(dir)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_nightly_cycle_across_hosts_survives_their_faults_and_equals_the_serial_run() {
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let hosts = match Hosts::make(2) {
        Ok(h) => h,
        Err(e) if !in_ci => {
            eprintln!("skipping the multi-host test: network namespaces unavailable ({e})");
            return;
        }
        Err(e) => panic!("CI=true but network namespaces cannot be made: {e}"),
    };
    let Some((pg_url, schema)) = postgres_schema_url().await else {
        return;
    };
    let s3_endpoint = std::env::var("WARDEN_TEST_S3_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:5055".to_string());
    let bucket = common::unique("warden-hosts")
        .replace('_', "-")
        .to_lowercase();
    match reqwest::Client::new()
        .put(format!("{s3_endpoint}/{bucket}"))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {}
        other if !in_ci => {
            eprintln!("skipping the multi-host test: no S3 server at {s3_endpoint} ({other:?})");
            return;
        }
        other => panic!("CI=true but the S3 server at {s3_endpoint} does not answer: {other:?}"),
    }
    let dir = temp_dir("multi-host");
    let input = dir.join("in");
    let o = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["claims", "generate", "--out"])
        .arg(&input)
        .args(["--plans", "workflows/plans", "--members", "24000"])
        .args(["--claims", "240000", "--bad-rows", "0.01"])
        .current_dir(root())
        .output()
        .expect("generate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = Setup {
        dir: dir.clone(),
        input: input.clone(),
        bucket,
        s3_endpoint: s3_endpoint.clone(),
    };
    let pg_target: SocketAddr = "127.0.0.1:5432".parse().expect("addr");
    let pg_target = std::env::var("WARDEN_TEST_DATABASE_URL")
        .ok()
        .and_then(|u| {
            let rest = u.split('@').nth(1)?;
            let hostport = rest.split('/').next()?;
            hostport.parse::<SocketAddr>().ok()
        })
        .unwrap_or(pg_target);
    let s3_target: SocketAddr = s3_endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the S3 endpoint is host:port");
    let db_proxy = Proxy::start(pg_target).await;
    let s3_proxy = Proxy::start(s3_target).await;

    // The orchestrator: this namespace, the servers directly.
    let (out, err) = output(&dir, "orchestrator");
    let mut run = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["run", "workflows/nightly.yaml", "--date", "2025-03-04"])
        .args([
            "--speed",
            "600",
            "--workers",
            "0",
            "--db",
            &pg_url,
            "--data",
        ])
        .arg(dir.join("orchestrator"))
        .args(["--objects", &format!("s3://{}/warden", s.bucket)])
        .env("AWS_ENDPOINT_URL", &s.s3_endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("WARDEN_PLANS", root().join("workflows/plans"))
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("warden run starts");
    let store = wait_until(60, "the store is made", &dir, || async {
        Store::open(&pg_url, OpenMode::Worker).await.ok()
    })
    .await;
    let a = worker(&s, &hosts, 0, &db_proxy, &s3_proxy, &schema);
    let mut b = worker(&s, &hosts, 1, &db_proxy, &s3_proxy, &schema);

    // 1. host-0 cut off the network mid-partition: its lease runs out, the attempt is lost
    //    and runs again on host-1; mended, host-0's late report is refused.
    let (cut_job, cut_attempt) = wait_until(120, "host-0 runs a partition", &dir, || {
        running_partition(&store, "host-0", &dir)
    })
    .await;
    hosts.link(0, false);
    let retaken = wait_until(60, "the cut-off attempt is retaken", &dir, || async {
        let run = store.find_run("nightly", "2025-03-04").await.ok()??;
        let attempts = store.load_attempts(run.id).await.ok()?;
        attempts
            .iter()
            .find(|a| {
                a.worker == "host-0"
                    && a.attempt == cut_attempt
                    && a.outcome.as_deref() == Some("lost")
            })
            .map(|_| ())
    })
    .await;
    let () = retaken;
    // 2. Meanwhile PostgreSQL and then the S3 server are unreachable for two seconds each.
    db_proxy.set_down(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    db_proxy.set_down(false);
    s3_proxy.set_down(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    s3_proxy.set_down(false);
    hosts.link(0, true);
    // 3. host-1 SIGKILLed while it runs a partition, and started again (systemd's
    //    Restart=always): it adopts what it ran.
    let restarted = Arc::new(AtomicBool::new(false));
    let looking = Instant::now();
    while looking.elapsed() < Duration::from_secs(60) {
        if running_partition(&store, "host-1", &dir).await.is_some() {
            b.kill().expect("SIGKILL");
            b.wait().expect("reaped");
            b = worker(&s, &hosts, 1, &db_proxy, &s3_proxy, &schema);
            restarted.store(true, Ordering::SeqCst);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the run did not end\n{}",
            outputs(&dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{}", outputs(&dir));

    // Every job succeeded once; the only other attempts are the one cut off and whatever
    // the SIGKILL lost.
    let run_record = store
        .find_run("nightly", "2025-03-04")
        .await
        .expect("store")
        .expect("run");
    let attempts = store.load_attempts(run_record.id).await.expect("attempts");
    let mut succeeded = std::collections::BTreeMap::new();
    for a in &attempts {
        if a.outcome.as_deref() == Some("succeeded") {
            *succeeded.entry(a.job_idx).or_insert(0) += 1;
        } else {
            assert_eq!(a.outcome.as_deref(), Some("lost"), "{a:?}");
        }
    }
    assert!(succeeded.values().all(|n| *n == 1), "{attempts:#?}");
    assert!(
        attempts.iter().any(|a| a.worker == "host-0"
            && a.attempt == cut_attempt
            && a.outcome.as_deref() == Some("lost")),
        "{cut_job} attempt {cut_attempt} was lost with its host's link"
    );
    let host0 = std::fs::read_to_string(dir.join("host-0.out")).unwrap_or_default();
    assert!(
        host0.contains("the report was refused") || host0.contains("the heartbeat was refused"),
        "host-0 was told its late report was refused:\n{host0}"
    );

    // The reconciled output, from the committed attempt in the object store, equals the
    // serial run's.
    let serial = dir.join("serial");
    let o = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["adjudicate", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&serial)
        .args(["--serial", "--plans", "workflows/plans"])
        .current_dir(root())
        .output()
        .expect("serial");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let objects = warden_objects::ObjectStore::open_with(
        &format!("s3://{}/warden", s.bucket),
        &warden_objects::S3Settings {
            endpoint: Some(s.s3_endpoint.clone()),
            region: Some("us-east-1".into()),
            credentials: Some(warden_objects::StaticCredentials::new("testing", "testing")),
            ..warden_objects::S3Settings::default()
        },
    )
    .await
    .expect("the bucket");
    let plan =
        warden::load::load_workflow(&root().join("workflows/nightly.yaml").display().to_string())
            .expect("nightly.yaml")
            .compilation
            .workflow
            .expect("compiles")
            .instantiate("2025-03-04".parse().expect("date"), &Default::default())
            .expect("plans");
    let reconcile_job = plan.job_index("CLMRECONCILE").expect("CLMRECONCILE") as i64;
    let reconciled = attempts
        .iter()
        .find(|a| a.job_idx == reconcile_job && a.outcome.as_deref() == Some("succeeded"))
        .unwrap_or_else(|| panic!("CLMRECONCILE ({reconcile_job}) succeeded: {attempts:#?}"));
    let committed = dir.join("committed");
    warden_objects::download_dir(
        &objects,
        &format!(
            "runs/{}/jobs/CLMRECONCILE/attempts/{}/out",
            run_record.id, reconciled.attempt
        ),
        &committed,
    )
    .await
    .expect("the committed reconciliation");
    for f in [
        "adjudicated.csv",
        "accumulators.csv",
        "exceptions.csv",
        "rejects.csv",
    ] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(committed.join("CLMRECONCILE/out").join(f)).expect("cycle");
        assert!(
            a == b,
            "{f} differs between the hosts' cycle and the serial run"
        );
    }
    eprintln!(
        "cut off: {cut_job} attempt {cut_attempt}; host-1 restarted: {}; {} attempts for {} jobs",
        restarted.load(Ordering::SeqCst),
        attempts.len(),
        succeeded.len()
    );
    for mut w in [a, b] {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(w.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = w.wait();
    }
    drop(hosts);
    drop_schema(&schema).await;
}
