//! Several hosts on one machine: the orchestrator in this network namespace, two worker
//! processes each in a namespace of its own (`ip netns`, a veth pair each), reaching
//! PostgreSQL and the S3 server (moto) only over their link, through proxies this test owns
//! (so it can also take those servers away). The nightly cycle runs with real adjudication
//! across them, with faults: a worker cut off the network mid-partition (its lease runs out,
//! the attempt is retaken on the other host from the checkpoint it saved in S3, its late
//! report is refused), PostgreSQL crashed and restarted (a
//! cluster of the test's own, stopped `immediate`), the S3 server unreachable for a while, a
//! worker SIGKILLed and restarted (it adopts what it ran). Every job ends succeeded once, and
//! the reconciled output equals the serial run byte for byte.
//!
//! A second cycle of the same harness, with an S3 server that keeps its objects on disk
//! (s3rver): the server SIGKILLed mid-run and started again, the run ends with every job
//! succeeded once and every file where it belongs.
//!
//! Needs root (CI runs as root) and iproute2; outside CI without them it is skipped.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::hosts::{Hosts, Proxy};
use common::private_postgres::PrivatePostgres;
use common::processes::{output_to, outputs, stop_all};
use common::s3rver::{self, S3rver};
use common::{drop_schema, postgres_schema_url, postgres_socket_addr, temp_dir, with_schema};
use warden_store::{OpenMode, Store};

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

struct Setup {
    dir: PathBuf,
    input: PathBuf,
    bucket: String,
    s3_endpoint: String,
}

/// `warden worker` in host `i`'s namespace, through the proxies on its gateway.
fn worker(s: &Setup, hosts: &Hosts, i: usize, db: &Proxy, s3: &Proxy) -> Child {
    let name = format!("host-{i}");
    let gateway = &hosts.gateways[i];
    let url = format!("postgres://postgres@{gateway}:{}/test", db.port);
    let (out, err) = output_to(&s.dir, &format!("{name}.out"));
    hosts
        .command(i, env!("CARGO_BIN_EXE_warden"))
        .args(["worker", "--db", &url, "--name", &name, "--data"])
        .arg(s.dir.join(&name))
        .args(["--lease", "3s", "--poll", "50ms", "--sync-every", "100ms"])
        .args(["--objects", &format!("s3://{}/warden", s.bucket)])
        .env("AWS_ENDPOINT_URL", format!("http://{gateway}:{}", s3.port))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("WARDEN_CLAIMS_INPUT", &s.input)
        .env("WARDEN_PLANS", root().join("workflows/plans"))
        .env("WARDEN_CHECKPOINT_EVERY", "25")
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

/// The position of the newest whole save of `job`'s `attempt` in the store (downloaded into
/// `into` and checked against its manifest, as a worker would take it), if it is a checkpoint
/// past its first claims and not done.
async fn saved_checkpoint(
    objects: &warden_objects::ObjectStore,
    job: &str,
    attempt: i64,
    into: &Path,
) -> Option<u64> {
    let _ = std::fs::remove_dir_all(into);
    // The newest whole save (a generation of its own: work/GEN/, manifest last).
    let saves = format!("runs/1/jobs/{job}/attempts/{attempt}/work");
    let newest = objects
        .list(&saves)
        .await
        .ok()?
        .into_iter()
        .filter(|l| l.key.ends_with(warden_objects::MANIFEST_NAME))
        .map(|l| l.key)
        .max()?;
    let generation = newest.trim_end_matches(warden_objects::MANIFEST_NAME);
    warden_objects::download_dir(objects, generation.trim_end_matches('/'), into)
        .await
        .ok()?;
    let text = std::fs::read_to_string(into.join("checkpoint.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["position"]
        .as_u64()
        .filter(|p| *p > 0 && v["done"] == false)
}

/// `probe` every 10 ms until it answers or `limit` passes.
async fn poll_for<F, Fut, T>(limit: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(v) = probe().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
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

/// Waits up to `seconds` for `warden run` to end, and asserts it succeeded.
async fn run_succeeds(run: &mut Child, seconds: u64, dir: &Path) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(seconds),
            "the run did not end\n{}",
            outputs(dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{}", outputs(dir));
}

/// Successes per job, asserting every other attempt was lost (with a host, a link, a
/// server), never failed.
fn successes_and_losses_only(
    attempts: &[warden_store::AttemptRecord],
) -> std::collections::BTreeMap<i64, usize> {
    let mut succeeded = std::collections::BTreeMap::new();
    for a in attempts {
        if a.outcome.as_deref() == Some("succeeded") {
            *succeeded.entry(a.job_idx).or_insert(0) += 1;
        } else {
            assert_eq!(a.outcome.as_deref(), Some("lost"), "{a:?}");
        }
    }
    succeeded
}

/// The object store `url` on the S3 server at `endpoint`, with `key` as access key and
/// secret, as the test reads it.
async fn s3_store(url: &str, endpoint: &str, key: &str) -> warden_objects::ObjectStore {
    warden_objects::ObjectStore::open_with(
        url,
        &warden_objects::S3Settings {
            endpoint: Some(endpoint.to_string()),
            region: Some("us-east-1".into()),
            credentials: Some(warden_objects::StaticCredentials::new(key, key)),
            ..warden_objects::S3Settings::default()
        },
    )
    .await
    .expect("the bucket")
}

/// The nightly cycle's plan for the tests' business date.
fn plan_of_nightly() -> warden_core::plan::Plan {
    warden::load::load_workflow(&root().join("workflows/nightly.yaml").display().to_string())
        .expect("nightly.yaml")
        .compilation
        .workflow
        .expect("compiles")
        .instantiate("2025-03-04".parse().expect("date"), &Default::default())
        .expect("plans")
}

/// The tests of this file one at a time: each takes the two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_nightly_cycle_across_hosts_survives_their_faults_and_equals_the_serial_run() {
    let _one = ONE_AT_A_TIME.lock().await;
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let hosts = match Hosts::make(0, 2) {
        Ok(h) => h,
        Err(e) if !in_ci => {
            eprintln!("skipping the multi-host test: network namespaces unavailable ({e})");
            return;
        }
        Err(e) => panic!("CI=true but network namespaces cannot be made: {e}"),
    };
    // PostgreSQL of this test's own, so it can crash and restart it for real.
    let pg = match PrivatePostgres::start() {
        Ok(pg) => pg,
        Err(e) if !in_ci => {
            eprintln!("skipping the multi-host test: no PostgreSQL cluster of its own ({e})");
            return;
        }
        Err(e) => panic!("CI=true but a PostgreSQL cluster cannot be made: {e}"),
    };
    let pg_url = pg.url();
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
    let pg_target: SocketAddr = format!("127.0.0.1:{}", pg.port).parse().expect("addr");
    let s3_target: SocketAddr = s3_endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the S3 endpoint is host:port");
    let db_proxy = Proxy::start(pg_target).await;
    let s3_proxy = Proxy::start(s3_target).await;

    // The orchestrator: this namespace, the servers directly.
    let (out, err) = output_to(&dir, "orchestrator.out");
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
    let a = worker(&s, &hosts, 0, &db_proxy, &s3_proxy);
    let mut b = worker(&s, &hosts, 1, &db_proxy, &s3_proxy);

    // 1. host-0 cut off the network mid-partition: its lease runs out, the attempt is lost
    //    and runs again on host-1; mended, host-0's late report is refused.
    let objects = s3_store(
        &format!("s3://{}/warden", s.bucket),
        &s.s3_endpoint,
        "testing",
    )
    .await;
    // Cut once the attempt has saved a whole checkpoint past its first claims in the store
    // (downloaded and checked against its manifest, as a worker would take it), while it still
    // runs. A partition here takes well under a second: one that finishes before the cut is
    // let go, and host-0's next one is taken.
    let saved = dir.join("saved-checkpoint");
    let (cut_job, cut_attempt, saved_at) = loop {
        let (job, attempt) = wait_until(120, "host-0 runs a partition", &dir, || {
            running_partition(&store, "host-0", &dir)
        })
        .await;
        let checkpoint = poll_for(Duration::from_secs(10), || {
            saved_checkpoint(&objects, &job, attempt, &saved)
        })
        .await;
        let still = running_partition(&store, "host-0", &dir).await;
        if let Some(at) = checkpoint
            && still == Some((job.clone(), attempt))
        {
            hosts.link(0, false);
            break (job, attempt, at);
        }
    };
    let cut_idx = plan_of_nightly()
        .job_index(&cut_job)
        .expect("the cut-off job") as i64;
    let retaken = wait_until(60, "the cut-off attempt is retaken", &dir, || async {
        let run = store.find_run("nightly", "2025-03-04").await.ok()??;
        let attempts = store.load_attempts(run.id).await.ok()?;
        attempts
            .iter()
            .find(|a| {
                a.worker == "host-0"
                    && a.job_idx == cut_idx
                    && a.attempt == cut_attempt
                    && a.outcome.as_deref() == Some("lost")
            })
            .map(|_| ())
    })
    .await;
    let () = retaken;
    // The job runs again on host-1 (host-0, still cut off, cannot claim it), so its rerun
    // has to come from the checkpoint host-0 saved in the store.
    wait_until(120, "host-1 retakes the cut-off job", &dir, || async {
        let run = store.find_run("nightly", "2025-03-04").await.ok()??;
        let attempts = store.load_attempts(run.id).await.ok()?;
        attempts
            .iter()
            .find(|a| a.job_idx == cut_idx && a.attempt > cut_attempt)
            .map(|_| ())
    })
    .await;
    // 2. Meanwhile PostgreSQL crashes (every connection of the orchestrator and the workers
    //    dropped, open transactions lost) and is back two seconds later after recovery;
    //    then the S3 server is unreachable for two seconds.
    tokio::task::block_in_place(|| pg.restart_after_crash(Duration::from_secs(2)))
        .expect("PostgreSQL restarted");
    s3_proxy.set_down(true);
    tokio::time::sleep(Duration::from_secs(2)).await;
    s3_proxy.set_down(false);
    // host-0 stays cut off until the cut-off job has succeeded: host-1's attempt can itself
    // be lost in PostgreSQL's restart (its 3 s lease outlives no 2 s outage plus recovery),
    // and a mended host-0 could then take the job back and resume from its own disk, which
    // would prove nothing about the checkpoint in the store.
    wait_until(180, "the cut-off job succeeds on host-1", &dir, || async {
        let run = store.find_run("nightly", "2025-03-04").await.ok()??;
        let attempts = store.load_attempts(run.id).await.ok()?;
        attempts
            .iter()
            .find(|a| a.job_idx == cut_idx && a.outcome.as_deref() == Some("succeeded"))
            .map(|_| ())
    })
    .await;
    hosts.link(0, true);
    // 3. host-1 SIGKILLed while it runs a partition, and started again (systemd's
    //    Restart=always): it adopts what it ran.
    let restarted = Arc::new(AtomicBool::new(false));
    let looking = Instant::now();
    while looking.elapsed() < Duration::from_secs(60) {
        if running_partition(&store, "host-1", &dir).await.is_some() {
            b.kill().expect("SIGKILL");
            b.wait().expect("reaped");
            b = worker(&s, &hosts, 1, &db_proxy, &s3_proxy);
            restarted.store(true, Ordering::SeqCst);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    run_succeeds(&mut run, 300, &dir).await;

    // Every job succeeded once; the only other attempts are the one cut off and whatever
    // the SIGKILL lost.
    let run_record = store
        .find_run("nightly", "2025-03-04")
        .await
        .expect("store")
        .expect("run");
    let attempts = store.load_attempts(run_record.id).await.expect("attempts");
    let succeeded = successes_and_losses_only(&attempts);
    assert!(succeeded.values().all(|n| *n == 1), "{attempts:#?}");
    assert!(
        attempts.iter().any(|a| a.worker == "host-0"
            && a.attempt == cut_attempt
            && a.outcome.as_deref() == Some("lost")),
        "{cut_job} attempt {cut_attempt} was lost with its host's link"
    );
    // The attempt that took the cut-off one's place resumed from its checkpoint in the store.
    let retaken = attempts
        .iter()
        .find(|a| a.job_idx == cut_idx && a.outcome.as_deref() == Some("succeeded"))
        .expect("the cut-off job succeeded");
    let log = objects
        .get_bytes(&format!(
            "runs/{}/jobs/{cut_job}/attempts/{}/log",
            run_record.id, retaken.attempt
        ))
        .await
        .expect("the retaken attempt's log");
    let log = String::from_utf8_lossy(&log);
    let resumed: u64 = log
        .split("resumed at claim ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no resume in the retaken attempt's log:\n{log}"));
    assert_eq!(retaken.worker, "host-1");
    assert!(
        resumed >= saved_at,
        "{cut_job} attempt {} resumed at claim {resumed} (a checkpoint at {saved_at} was saved)",
        retaken.attempt
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
    let plan = plan_of_nightly();
    let reconcile_job = plan.job_index("CLMRECONCILE").expect("CLMRECONCILE") as i64;
    let reconciled = attempts
        .iter()
        .find(|a| a.job_idx == reconcile_job && a.outcome.as_deref() == Some("succeeded"))
        .unwrap_or_else(|| panic!("CLMRECONCILE ({reconcile_job}) succeeded: {attempts:#?}"));
    let committed = dir.join("committed");
    let out = format!(
        "runs/{}/jobs/CLMRECONCILE/attempts/{}/out",
        run_record.id, reconciled.attempt
    );
    let manifest = warden_objects::download_dir(&objects, &out, &committed)
        .await
        .expect("the committed reconciliation");
    // The files went through S3 compressed: what the bucket holds of the adjudicated
    // claims is a fraction of the file the manifest describes (and downloaded whole above).
    let listed = objects.list(&out).await.expect("listed");
    let in_bucket = listed
        .iter()
        .find(|l| l.key.ends_with("CLMRECONCILE/out/adjudicated.csv"))
        .expect("adjudicated.csv in the bucket");
    let file = &manifest.files["CLMRECONCILE/out/adjudicated.csv"];
    assert_eq!(file.encoding, Some(warden_objects::Encoding::Zstd));
    assert!(
        in_bucket.size * 3 < file.size,
        "{} bytes stored for a {}-byte file",
        in_bucket.size,
        file.size
    );
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
    stop_all(&mut [a, b]);
    drop(hosts);
    drop(pg);
}

/// Two chains of shell jobs that each pass a file on (a line per stage and 300 KB of noise)
/// and a JOIN of both, on two worker hosts with the files in s3rver, which is SIGKILLed
/// mid-run and started again on its directory two seconds later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_s3_server_restarted_mid_run_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let hosts = match Hosts::make(2, 2) {
        Ok(h) => h,
        Err(e) if !in_ci => {
            eprintln!("skipping: network namespaces unavailable ({e})");
            return;
        }
        Err(e) => panic!("CI=true but network namespaces cannot be made: {e}"),
    };
    if S3rver::binary().is_none() {
        assert!(!in_ci, "CI=true but s3rver is not installed in target/npm");
        eprintln!("skipping: s3rver is not installed in target/npm (see .ci/run)");
        return;
    }
    let Some((pg_url, schema)) = postgres_schema_url().await else {
        return;
    };
    let mut s3 = S3rver::start("warden-restart")
        .await
        .expect("s3rver starts");
    let dir = temp_dir("s3-restart");
    const STAGES: usize = 8;
    let mut jobs = String::new();
    for chain in ["A", "B"] {
        for i in 0..STAGES {
            let take = if i == 0 {
                ": > chain.txt".to_string()
            } else {
                format!(
                    "cp \"$WARDEN_RUN_DIR/work/{chain}{}/chain.txt\" chain.txt",
                    i - 1
                )
            };
            let after = if i == 0 {
                String::new()
            } else {
                format!(", after: [{chain}{}]", i - 1)
            };
            jobs.push_str(&format!(
                "  - {{ id: {chain}{i}, run: '{take}; echo {chain}{i} >> chain.txt; head -c 300000 /dev/urandom > noise.bin; sleep 0.4', estimate: 1m{after} }}\n"
            ));
        }
    }
    let last = STAGES - 1;
    jobs.push_str(&format!(
        "  - {{ id: JOIN, run: 'cat \"$WARDEN_RUN_DIR/work/A{last}/chain.txt\" \"$WARDEN_RUN_DIR/work/B{last}/chain.txt\" > joined.txt', estimate: 1m, after: [A{last}, B{last}] }}\n"
    ));
    let file = dir.join("s3-restart.yaml");
    std::fs::write(
        &file,
        format!(
            "cycle: s3-restart\ntimezone: America/New_York\nschedule: {{ cron: \"0 22 * * 1-5\" }}\ndays:\n  - {{ id: n, window: {{ opens: \"22:00\", closes: \"04:00\" }} }}\njobs:\n{jobs}"
        ),
    )
    .expect("workflow");
    let objects = format!("s3://{}/warden", s3.bucket);
    let s3_env = |c: &mut Command, endpoint: String| {
        c.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", s3rver::KEY)
            .env("AWS_SECRET_ACCESS_KEY", s3rver::KEY)
            .env("AWS_REGION", "us-east-1");
    };
    let (out, err) = output_to(&dir, "orchestrator.out");
    let mut orchestrator = Command::new(env!("CARGO_BIN_EXE_warden"));
    orchestrator
        .arg("run")
        .arg(&file)
        .args(["--date", "2025-03-04", "--speed", "600", "--workers", "0"])
        .args(["--db", &pg_url, "--objects", &objects, "--data"])
        .arg(dir.join("orchestrator"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    s3_env(&mut orchestrator, s3.endpoint());
    let mut run = orchestrator.spawn().expect("warden run starts");
    let store = wait_until(60, "the store is made", &dir, || async {
        Store::open(&pg_url, OpenMode::Worker).await.ok()
    })
    .await;
    let db_proxy = Proxy::start(postgres_socket_addr()).await;
    let s3_target: SocketAddr = format!("127.0.0.1:{}", s3.port).parse().expect("addr");
    let s3_proxy = Proxy::start(s3_target).await;
    let mut workers: Vec<Child> = (0..2)
        .map(|i| {
            let name = format!("host-{i}");
            let gateway = &hosts.gateways[i];
            let url = with_schema(
                &format!("postgres://postgres@{gateway}:{}/test", db_proxy.port),
                &schema,
            );
            let (out, err) = output_to(&dir, &format!("{name}.out"));
            let mut c = hosts.command(i, env!("CARGO_BIN_EXE_warden"));
            c.args(["worker", "--db", &url, "--name", &name, "--data"])
                .arg(dir.join(&name))
                .args(["--lease", "3s", "--poll", "50ms", "--objects", &objects])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            s3_env(&mut c, format!("http://{gateway}:{}", s3_proxy.port));
            c.spawn().expect("warden worker starts")
        })
        .collect();

    // Once a few stages are committed, the server dies and comes back on its directory.
    let committed = wait_until(60, "three stages committed", &dir, || async {
        let run = store.find_run("s3-restart", "2025-03-04").await.ok()??;
        let attempts = store.load_attempts(run.id).await.ok()?;
        let done = attempts
            .iter()
            .filter(|a| a.outcome.as_deref() == Some("succeeded"))
            .count();
        (done >= 3).then_some(done)
    })
    .await;
    s3.kill_and_restart(Duration::from_secs(2))
        .await
        .expect("s3rver restarted");
    run_succeeds(&mut run, 180, &dir).await;
    let run_record = store
        .find_run("s3-restart", "2025-03-04")
        .await
        .expect("store")
        .expect("run");
    let attempts = store.load_attempts(run_record.id).await.expect("attempts");
    let succeeded = successes_and_losses_only(&attempts);
    assert_eq!(succeeded.len(), 2 * STAGES + 1, "{attempts:#?}");
    assert!(succeeded.values().all(|n| *n == 1), "{attempts:#?}");
    assert!(
        committed < 2 * STAGES + 1,
        "the server was restarted mid-run"
    );

    // JOIN's committed file, read back from the restarted server: both chains whole, each
    // stage's line once, in order.
    let store_objects = s3_store(&objects, &s3.endpoint(), s3rver::KEY).await;
    let join = attempts
        .iter()
        .find(|a| a.job_idx == 2 * STAGES as i64 && a.outcome.as_deref() == Some("succeeded"))
        .expect("JOIN succeeded");
    let back = dir.join("joined");
    warden_objects::download_dir(
        &store_objects,
        &format!(
            "runs/{}/jobs/JOIN/attempts/{}/out",
            run_record.id, join.attempt
        ),
        &back,
    )
    .await
    .expect("JOIN's committed files");
    let expected: String = ["A", "B"]
        .iter()
        .flat_map(|c| (0..STAGES).map(move |i| format!("{c}{i}\n")))
        .collect();
    assert_eq!(
        std::fs::read_to_string(back.join("JOIN/joined.txt")).expect("joined.txt"),
        expected
    );
    eprintln!(
        "s3rver restarted after {committed} committed stages; {} attempts for {} jobs",
        attempts.len(),
        succeeded.len()
    );
    stop_all(&mut workers);
    drop(hosts);
    drop_schema(&schema).await;
}
