//! Alert delivery against real receivers on loopback, no mocks: an HTTP server spawned
//! here that refuses connections, then answers 503, then 200; an SMTP sink (Python's
//! aiosmtpd, started by the test); a log file. Time is a ManualClock moved by the test, so
//! backoffs are exact.

mod common;

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use warden::alerts::{ChannelConfig, DeliveryReport, Outbox, deliver_due, message_id, new_alert};
use warden_core::clock::{Clock, ManualClock};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::workflow::{FsLoader, Workflow, compile};
use warden_deadlines::alert::{AlertLevel, AlertMessage, Templates, chain_steps, role_views};
use warden_deadlines::analyse;
use warden_store::{NewAlert, NewRun, Store};

use common::temp_dir;

// ---- a real HTTP receiver ----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Received {
    status: u16,
    key: Option<String>,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers the first `fail_first` requests 503 and
/// every later one 200, recording each request and the status it got.
#[derive(Debug, Clone)]
struct Receiver {
    port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(listener: TcpListener, fail_first: usize) -> Receiver {
        let receiver = Receiver {
            port: listener.local_addr().expect("addr").port(),
            requests: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    let Some((headers, body)) = read_request(&mut socket).await else {
                        return;
                    };
                    let fail = r
                        .fail_first
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if fail { 503 } else { 200 };
                    r.requests.lock().expect("lock").push(Received {
                        status,
                        key: headers.get("idempotency-key").cloned(),
                        content_type: headers.get("content-type").cloned(),
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    });
                    let reason = if fail { "Service Unavailable" } else { "OK" };
                    let response = format!(
                        "HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        receiver
    }

    fn requests(&self) -> Vec<Received> {
        self.requests.lock().expect("lock").clone()
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/warden", self.port)
    }
}

/// Reads one request: lower-cased headers and the body (by Content-Length).
async fn read_request(
    socket: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some((headers, data[head_end..head_end + length].to_vec()))
}

// ---- realistic alerts ----------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

fn month_end() -> Workflow {
    let root = repo();
    let text = std::fs::read_to_string(root.join("workflows/month-end.yaml")).expect("file");
    let mut sources = SourceMap::new();
    let file = sources.add("workflows/month-end.yaml", text);
    compile(&mut sources, file, &FsLoader::rooted(root))
        .workflow
        .expect("month-end compiles")
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 2, 7, 0, 0)
        .single()
        .expect("time")
}

/// The CMS filing alert at ladder step `step`, projected `late_minutes` after the deadline.
fn cms_alert(run_id: i64, step: usize, level: AlertLevel, late_minutes: i64) -> NewAlert {
    let w = month_end();
    let date: DateSpec = "2025-02".parse().expect("date");
    let a = analyse(&w, date, &PlanOptions::default()).expect("plans");
    let d = a
        .plan
        .deadlines
        .iter()
        .position(|d| d.id == "cms-filing")
        .expect("cms-filing");
    let margin = a.margins.iter().find(|m| m.deadline == d).expect("margin");
    let ladder = &w.deadlines[d].escalation[step];
    let mut view = AlertMessage::new(
        &a.plan,
        run_id,
        d,
        level,
        None,
        &ladder.trigger,
        a.plan.deadlines[d].at + TimeDelta::minutes(late_minutes),
        start(),
    );
    view.chain = chain_steps(&a.plan, &a.schedule, &margin.chain);
    view.roles = role_views(&w, &ladder.notify);
    // The n-th escalation of the deadline: here, its ladder step.
    let n = u32::try_from(step).expect("small");
    let alert = new_alert(&view, ladder.template.as_deref(), view.idempotency_key(n));
    assert_eq!(
        alert.idempotency_key,
        format!("{run_id}:cms-filing:{}:{n}", level.as_str())
    );
    assert_eq!(
        alert.roles,
        view.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>()
    );
    alert
}

async fn sqlite_run(name: &str) -> (Store, i64, PathBuf) {
    let dir = temp_dir(name);
    let store = common::sqlite_store(&dir).await;
    let run = open_run(&store).await;
    (store, run, dir)
}

async fn open_run(store: &Store) -> i64 {
    store
        .open_run(
            &NewRun {
                cycle: "month-end".into(),
                business_date: "2025-02".into(),
                workflow_sha256: "x".into(),
                mode: "pipelined".into(),
                options: "{}".into(),
            },
            start(),
        )
        .await
        .expect("run")
        .id
}

fn make_outbox(yaml: &str, dir: &Path, run: i64) -> Outbox {
    let channels = ChannelConfig::parse("channels.yaml", yaml, dir).expect("channel file");
    Outbox::new(channels, Templates::shipped(), Some(run)).expect("outbox")
}

/// Passes until nothing is pending, moving the clock to each next retry. Returns the
/// reports.
async fn deliver_until_settled(
    store: &Store,
    outbox: &Outbox,
    clock: &ManualClock,
    max_passes: usize,
    mut between: impl FnMut(usize),
) -> Vec<DeliveryReport> {
    let mut reports = Vec::new();
    for pass in 0..max_passes {
        between(pass);
        let report = deliver_due(store, outbox, clock.now())
            .await
            .expect("a pass");
        let next = report.next_retry;
        reports.push(report);
        match next {
            Some(t) => clock.set(t),
            None => break,
        }
    }
    reports
}

// ---- webhook -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_is_down_then_failing_gets_every_alert_exactly_once_sqlite() {
    let (store, run, dir) = sqlite_run("webhook").await;
    webhook_exactly_once(store, run, dir).await;
}

/// The same on PostgreSQL (skipped with a reason where no server answers, except under
/// `CI=true`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_is_down_then_failing_gets_every_alert_exactly_once_postgres() {
    let Some((url, schema)) = common::postgres_schema_url().await else {
        return;
    };
    let store = Store::connect(&url).await.expect("postgres store");
    let run = open_run(&store).await;
    webhook_exactly_once(store, run, temp_dir("webhook-pg")).await;
    common::drop_schema(&schema).await;
}

async fn webhook_exactly_once(store: Store, run: i64, dir: PathBuf) {
    // The port is known before anything listens on it: the receiver is down at first.
    let port = StdListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let yaml = format!(
        "retry: {{ max_attempts: 10, first_backoff: 1m, max_backoff: 8m }}\n\
         roles:\n  on-call:\n    - webhook: {{ url: \"http://127.0.0.1:{port}/hooks/warden\" }}\n  \
         compliance:\n    - webhook: {{ url: \"http://127.0.0.1:{port}/hooks/warden\", format: slack, name: slack }}\n"
    );
    let outbox = make_outbox(&yaml, &dir, run);
    // Step 1 notifies on-call and compliance; step 3 compliance only: three deliveries.
    let escalated = cms_alert(run, 1, AlertLevel::Escalated, -135);
    let miss = cms_alert(run, 2, AlertLevel::Escalated, -200);
    for a in [&escalated, &miss] {
        assert!(store.raise_alert(a).await.expect("raise").created);
    }
    // Raised twice (a re-evaluation of the same transition): still one alert.
    assert!(!store.raise_alert(&escalated).await.expect("raise").created);

    let clock = ManualClock::new(start());
    // Pass 1: connection refused for all three; nothing is lost, all retry in 1 minute.
    let first = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(first.fanned_out, 2);
    assert_eq!(first.delivered, 0);
    assert_eq!(first.retrying, 3);
    assert_eq!(first.next_retry, Some(start() + TimeDelta::minutes(1)));
    let alerts = store.run_alerts(run).await.expect("list");
    for d in alerts.iter().flat_map(|a| &a.deliveries) {
        assert_eq!(d.status, "pending");
        assert_eq!(d.attempts, 1);
        assert!(
            d.last_error
                .as_deref()
                .is_some_and(|e| e.contains("POST http://127.0.0.1")),
            "{d:?}"
        );
    }
    // Nothing is due before the backoff.
    let early = deliver_due(&store, &outbox, start() + TimeDelta::seconds(59))
        .await
        .expect("pass");
    assert_eq!((early.delivered, early.retrying), (0, 0));

    // Warden restarts (a new dispatcher; the outbox is in the store), and the receiver
    // comes up, answering 503 to its first four requests, then 200.
    drop(outbox);
    let outbox = make_outbox(&yaml, &dir, run);
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind");
    let receiver = Receiver::start(listener, 4).await;
    clock.set(start() + TimeDelta::minutes(1));
    let reports = deliver_until_settled(&store, &outbox, &clock, 10, |_| {}).await;
    let delivered: usize = reports.iter().map(|r| r.delivered).sum();
    assert_eq!(delivered, 3, "{reports:?}");
    assert!(reports.iter().all(|r| r.dead == 0));
    // Backoff doubles: the second failure of a delivery waits 2 minutes.
    assert_eq!(
        reports[0].next_retry,
        Some(start() + TimeDelta::minutes(1) + TimeDelta::minutes(2))
    );

    let requests = receiver.requests();
    assert_eq!(requests.iter().filter(|r| r.status == 503).count(), 4);
    let ok: Vec<&Received> = requests.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 3, "each delivery arrives once: {requests:?}");
    let alerts = store.run_alerts(run).await.expect("list");
    let mut expected_keys = Vec::new();
    for a in &alerts {
        for d in &a.deliveries {
            assert_eq!(d.status, "delivered", "{d:?}");
            expected_keys.push(format!("{}/{}/{}", a.idempotency_key, d.role, d.channel));
        }
    }
    let mut got_keys: Vec<String> = ok.iter().filter_map(|r| r.key.clone()).collect();
    got_keys.sort();
    expected_keys.sort();
    assert_eq!(
        got_keys, expected_keys,
        "every delivery, once, with its key"
    );
    // Failed attempts carried the same key as the success (receivers deduplicate on it).
    for r in &requests {
        assert!(r.key.as_ref().is_some_and(|k| expected_keys.contains(k)));
        assert!(
            r.content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json"))
        );
    }
    // The JSON payload: the key, the rendered subject and body, and the whole view.
    let json_one = ok
        .iter()
        .find(|r| {
            r.key
                .as_deref()
                .is_some_and(|k| k.ends_with("/on-call/webhook"))
        })
        .expect("on-call got the JSON payload");
    let body = &json_one.body;
    assert_eq!(body["key"].as_str(), json_one.key.as_deref());
    assert_eq!(body["role"], "on-call");
    assert_eq!(body["template"], "compliance-escalation");
    assert_eq!(
        body["subject"],
        "[Warden ESCALATED] CMS filing at risk: 2h 15m margin, due 2025-03-02 23:59 EST"
    );
    assert!(
        body["body"]
            .as_str()
            .is_some_and(|b| b.contains("Why now:           margin below 6h"))
    );
    assert!(
        body["body"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("warden ack {}", alerts[0].id)))
    );
    assert_eq!(body["alert"]["deadline"]["id"], "cms-filing");
    assert_eq!(body["alert"]["margin_minutes"], 135);
    assert_eq!(body["alert"]["alert_id"], alerts[0].id);
    // The Slack-format one is `{"text": ...}`.
    let slack: Vec<&&Received> = ok
        .iter()
        .filter(|r| {
            r.key
                .as_deref()
                .is_some_and(|k| k.ends_with("/compliance/slack"))
        })
        .collect();
    assert_eq!(slack.len(), 2);
    for s in slack {
        let text = s.body["text"].as_str().expect("slack text");
        assert!(
            text.starts_with("*[Warden ESCALATED] CMS filing at risk"),
            "{text}"
        );
        assert_eq!(s.body.as_object().map(|o| o.len()), Some(1));
    }

    // Delivered is final: more passes, later, send nothing.
    clock.advance(TimeDelta::hours(1));
    let after = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(after, DeliveryReport::default());
    assert_eq!(receiver.requests().len(), requests.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_dead_lettered_kept_and_never_sent_again() {
    let (store, run, dir) = sqlite_run("deadletter").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let receiver = Receiver::start(listener, usize::MAX).await;
    let yaml = format!(
        "retry: {{ max_attempts: 3, first_backoff: 30s, max_backoff: 1m }}\n\
         roles:\n  on-call: [ {{ webhook: {{ url: \"{}\" }} }} ]\n",
        receiver.url()
    );
    let outbox = make_outbox(&yaml, &dir, run);
    // Step 0 notifies on-call; counsel (step 3) has no channel at all.
    store
        .raise_alert(&cms_alert(run, 0, AlertLevel::Warning, -600))
        .await
        .expect("raise");
    store
        .raise_alert(&cms_alert(run, 3, AlertLevel::BreachProjected, 90))
        .await
        .expect("raise");
    let clock = ManualClock::new(start());
    let reports = deliver_until_settled(&store, &outbox, &clock, 10, |_| {}).await;
    assert_eq!(
        reports.len(),
        3,
        "three attempts, then no retry: {reports:?}"
    );
    assert_eq!(
        reports[0].next_retry,
        Some(start() + TimeDelta::seconds(30))
    );
    assert_eq!(
        reports[1].next_retry,
        Some(start() + TimeDelta::seconds(30) + TimeDelta::minutes(1)),
        "the backoff is capped at max_backoff"
    );
    // Pass 1: the compliance and counsel deliveries of the second alert have no channel.
    assert_eq!(reports[0].dead, 2);
    assert_eq!(reports[2].dead, 1);
    assert_eq!(receiver.requests().len(), 3);

    let alerts = store.run_alerts(run).await.expect("list");
    let all: Vec<_> = alerts.iter().flat_map(|a| &a.deliveries).collect();
    assert_eq!(all.len(), 3, "dead letters are kept");
    assert!(all.iter().all(|d| d.status == "dead"), "{all:?}");
    let webhook = all
        .iter()
        .find(|d| d.channel == "webhook")
        .expect("webhook");
    assert_eq!(webhook.attempts, 3);
    assert!(
        webhook
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 503"))
    );
    let counsel = all.iter().find(|d| d.role == "counsel").expect("counsel");
    assert_eq!(counsel.channel, "none");
    assert!(
        counsel
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("no channel is configured for role `counsel`")),
        "{counsel:?}"
    );

    clock.advance(TimeDelta::days(1));
    let later = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(later, DeliveryReport::default());
    assert_eq!(
        receiver.requests().len(),
        3,
        "a dead letter is never sent again"
    );

    // `warden alerts` lists the dead letters.
    let db = dir.join("warden.db");
    let args: Vec<String> = vec![
        "alerts".into(),
        repo()
            .join("workflows/month-end.yaml")
            .display()
            .to_string(),
        "--date".into(),
        "2025-02".into(),
        "--db".into(),
        db.display().to_string(),
    ];
    // The CLI makes its own runtime: run it off this one.
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("cli");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("DEAD LETTER").count(), 3, "{out}");
    assert!(out.contains("last error: POST http://127.0.0.1"), "{out}");
    assert!(out.contains("(3 attempts)"), "{out}");
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["warden"];
    argv.extend_from_slice(args);
    let code = warden::cli::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

// ---- log file ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_channel_appends_one_json_line_per_delivery() {
    let (store, run, dir) = sqlite_run("log").await;
    // The documented default: every role to DATA/alerts.log.
    let data = dir.join("data");
    let channels = ChannelConfig::default_for(&data);
    let outbox = Outbox::new(channels, Templates::shipped(), Some(run)).expect("outbox");
    store
        .raise_alert(&cms_alert(run, 3, AlertLevel::BreachProjected, 90))
        .await
        .expect("raise");
    let clock = ManualClock::new(start());
    let report = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(report.delivered, 2, "compliance and counsel: {report:?}");
    let again = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(again.delivered, 0);

    let text = std::fs::read_to_string(data.join("alerts.log")).expect("log written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let roles: Vec<&str> = lines.iter().filter_map(|l| l["role"].as_str()).collect();
    assert_eq!(roles.len(), 2);
    assert!(roles.contains(&"compliance") && roles.contains(&"counsel"));
    for l in &lines {
        assert_eq!(l["template"], "regulatory-notice");
        assert_eq!(
            l["subject"],
            "DRAFT regulatory notification: CMS filing projected 1h 30m late"
        );
        let body = l["body"].as_str().expect("body");
        assert!(body.contains("financial penalties up to $25,000 per day of late filing"));
        assert!(body.contains("Projected lateness: 1h 30m (90 minutes after the deadline)"));
        assert!(l["key"].as_str().is_some_and(|k| k.ends_with(&format!("/{}/log", l["role"].as_str().unwrap_or("")))));
    }
}

// ---- SMTP ----------------------------------------------------------------------------------

/// aiosmtpd, killed when dropped.
struct SmtpSink {
    child: Child,
    maildir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiosmtpd_available() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn start_smtp_sink(port: u16, dir: &Path) -> SmtpSink {
    let maildir = dir.join("maildir");
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 -m aiosmtpd starts");
    let sink = SmtpSink { child, maildir };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return sink;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("aiosmtpd did not listen on 127.0.0.1:{port} within 10 s");
}

fn mails(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_a_real_smtp_sink_once_after_it_comes_up() {
    if !aiosmtpd_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but python3 cannot import aiosmtpd (.ci/run installs it with pip)");
        }
        eprintln!("skipping the SMTP test: python3 cannot import aiosmtpd (pip install aiosmtpd)");
        return;
    }
    let (store, run, dir) = sqlite_run("smtp").await;
    let port = StdListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let yaml = format!(
        "retry: {{ first_backoff: 1m }}\n\
         roles:\n  compliance:\n    - email: {{ smtp: \"127.0.0.1:{port}\", from: \"Warden <warden@pinnacle.example>\", \
         to: [compliance@pinnacle.example, \"Ahmad Rashidi <arashidi@pinnacle.example>\"] }}\n  \
         counsel:\n    - log: {{ path: counsel.log }}\n"
    );
    let outbox = make_outbox(&yaml, &dir, run);
    store
        .raise_alert(&cms_alert(run, 3, AlertLevel::BreachProjected, 90))
        .await
        .expect("raise");
    let clock = ManualClock::new(start());
    // The SMTP server is not up yet: the e-mail waits; the log delivery goes out.
    let first = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!((first.delivered, first.retrying), (1, 1), "{first:?}");
    let alerts = store.run_alerts(run).await.expect("list");
    let email = alerts[0]
        .deliveries
        .iter()
        .find(|d| d.channel == "email")
        .expect("email delivery");
    assert_eq!(email.status, "pending");
    assert!(
        email
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("SMTP 127.0.0.1")),
        "{email:?}"
    );

    let sink = start_smtp_sink(port, &dir).await;
    clock.advance(TimeDelta::minutes(1));
    let second = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!((second.delivered, second.retrying), (1, 0), "{second:?}");
    clock.advance(TimeDelta::hours(1));
    let third = deliver_due(&store, &outbox, clock.now())
        .await
        .expect("pass");
    assert_eq!(third, DeliveryReport::default());

    let mut got = Vec::new();
    for _ in 0..100 {
        got = mails(&sink.maildir);
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.len(), 1, "one e-mail for two recipients, once");
    let mail = &got[0];
    let key = format!("{}/compliance/email", alerts[0].idempotency_key);
    assert!(
        mail.contains(&format!("Message-ID: {}", message_id(&key))),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: DRAFT regulatory notification: CMS filing projected 1h 30m late"),
        "{mail}"
    );
    assert!(
        mail.contains("From: Warden <warden@pinnacle.example>"),
        "{mail}"
    );
    assert!(mail.contains("compliance@pinnacle.example"), "{mail}");
    assert!(mail.contains("arashidi@pinnacle.example"), "{mail}");
    assert!(
        mail.contains("PRE-POSITIONED REGULATORY NOTIFICATION"),
        "{mail}"
    );
    assert!(mail.contains("$25,000 per day"), "{mail}");
    assert!(
        mail.contains("Re: CMS filing (cms-filing), due 2025-03-02 23:59 EST"),
        "{mail}"
    );
    let alerts = store.run_alerts(run).await.expect("list");
    assert!(alerts[0].deliveries.iter().all(|d| d.status == "delivered"));
}

// ---- the loop beside the workers -----------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_outbox_delivers_what_is_raised_while_it_runs_and_stops_when_told() {
    let (store, run, dir) = sqlite_run("loop").await;
    let data = dir.join("data");
    let outbox = Outbox::new(
        ChannelConfig::default_for(&data),
        Templates::shipped(),
        Some(run),
    )
    .expect("outbox");
    let clock: Arc<ManualClock> = Arc::new(ManualClock::new(start()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(warden::alerts::run_outbox(
        store.clone(),
        outbox,
        clock.clone(),
        stopped,
        Duration::from_millis(20),
    ));
    let log = data.join("alerts.log");
    let lines = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // Raised while the loop runs: delivered within a few passes.
    store
        .raise_alert(&cms_alert(run, 0, AlertLevel::Warning, -600))
        .await
        .expect("raise");
    for _ in 0..250 {
        if lines() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines(), 1, "the on-call page was delivered by the loop");
    // Raised just before the stop: the last pass delivers it.
    store
        .raise_alert(&cms_alert(run, 3, AlertLevel::BreachProjected, 90))
        .await
        .expect("raise");
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .expect("the loop stops when told")
        .expect("no panic");
    assert_eq!(
        lines(),
        3,
        "compliance and counsel were told in the last pass"
    );
    let alerts = store.run_alerts(run).await.expect("list");
    assert!(
        alerts
            .iter()
            .flat_map(|a| &a.deliveries)
            .all(|d| d.status == "delivered" && d.attempts == 1)
    );
}

// ---- webhook over https --------------------------------------------------------------------

/// A TLS webhook receiver on loopback with a fresh self-signed certificate for
/// `localhost`; returns its port, the certificate (PEM) and the idempotency keys it got.
async fn tls_receiver() -> (u16, String, Arc<Mutex<Vec<String>>>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let got = keys.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, got) = (acceptor.clone(), got.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Some((headers, _)) = read_request(&mut tls).await else {
                    return;
                };
                got.lock()
                    .expect("lock")
                    .push(headers.get("idempotency-key").cloned().unwrap_or_default());
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, pem, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_with_a_private_ca_is_delivered_and_an_untrusted_one_is_not() {
    let (store, run, dir) = sqlite_run("webhook-tls").await;
    let (port, pem, keys) = tls_receiver().await;
    std::fs::write(dir.join("ca.pem"), &pem).expect("ca file");
    // Trusted through `ca_file` (relative to the channel file's directory): delivered.
    let yaml = format!(
        "roles:\n  on-call:\n    - webhook: {{ url: \"https://localhost:{port}/hook\", ca_file: ca.pem }}\n  \
         compliance:\n    - webhook: {{ url: \"https://localhost:{port}/hook\", name: untrusted }}\n"
    );
    let outbox = make_outbox(&yaml, &dir, run);
    let alert = cms_alert(run, 1, AlertLevel::Escalated, -135);
    store.raise_alert(&alert).await.expect("raise");
    let report = deliver_due(&store, &outbox, start()).await.expect("pass");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(report.retrying, 1, "{report:?}");
    let received = keys.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].ends_with("/on-call/webhook"), "{received:?}");
    // Without the private CA the self-signed certificate is refused, and the delivery says
    // why and waits for its retry (nothing is lost).
    let alerts = store.run_alerts(run).await.expect("list");
    let untrusted = alerts[0]
        .deliveries
        .iter()
        .find(|d| d.channel == "untrusted")
        .expect("delivery");
    assert_eq!(untrusted.status, "pending");
    let error = untrusted.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("https://localhost"), "{error}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    // A CA file that is missing or not a certificate is refused where it is named.
    let bad = "roles:\n  on-call:\n    - webhook: { url: \"https://localhost:1/h\", ca_file: nope.pem }\n";
    let err = ChannelConfig::parse("channels.yaml", bad, &dir).expect_err("missing file");
    let text = err.to_string();
    assert!(
        text.contains("channels.yaml:3:") && text.contains("cannot read the CA file `nope.pem`"),
        "{text}"
    );
    std::fs::write(dir.join("junk.pem"), "not a certificate").expect("write");
    let junk = "roles:\n  on-call:\n    - webhook: { url: \"https://localhost:1/h\", ca_file: junk.pem }\n";
    let text = ChannelConfig::parse("channels.yaml", junk, &dir)
        .expect_err("junk")
        .to_string();
    assert!(text.contains("is not a PEM certificate"), "{text}");
}
