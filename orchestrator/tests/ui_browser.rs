//! The UI as a person uses it, in headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed by `.ci/run`), driven over WebDriver with fantoccini:
//! `warden demo` running; the overview shows the margins and states the API gives and
//! updates itself live; the cycle detail highlights the critical-path jobs; an alert is
//! acknowledged through the form and the acknowledgement is in the audit log. And with an
//! auth file (`warden serve --auth`): a person is sent to sign in, a login form without its
//! pre-session cookie is refused, the login form signs in, and signing out signs out.
//!
//! Screenshots of every page go to `target/screenshots/`, and to `docs/screenshots/` with
//! `WARDEN_UPDATE_SCREENSHOTS=1`. Without chromedriver the test says so and passes, except
//! under `CI=true`, where it must run.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Kills the child when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts `warden demo`; returns it, the UI's URL and the rest of its output as it comes.
fn start_demo(dir: &Path) -> (Killed, String, std::sync::mpsc::Receiver<String>) {
    let mut args: Vec<std::ffi::OsString> = [
        "demo",
        "--fresh",
        "--speed",
        "4000",
        "--listen",
        "127.0.0.1:0",
    ]
    .map(Into::into)
    .into();
    args.extend(["--db".into(), dir.join("demo.db").into()]);
    args.extend(["--data".into(), dir.join("data").into()]);
    start_warden(&args)
}

/// Starts `warden ARGS` in the repository root; returns it, the UI's URL (its `UI:` line)
/// and the rest of its output as it comes.
fn start_warden(
    args: &[std::ffi::OsString],
) -> (Killed, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .current_dir(root())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("warden");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("warden prints the UI's URL");
        if let Some(rest) = line.strip_prefix("UI: ") {
            let url = rest.split_whitespace().next().expect("url").to_string();
            return (child, url.trim_end_matches('/').to_string(), rx);
        }
    }
}

async fn api(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("api")
        .json()
        .await
        .expect("json")
}

async fn browser() -> (Killed, Client) {
    let port = free_port();
    let driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver did not start a session: {e}"),
        }
    }
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    let target = root().join("target/screenshots");
    let _ = std::fs::create_dir_all(&target);
    std::fs::write(target.join(format!("{name}.png")), &png).expect("write screenshot");
    if std::env::var("WARDEN_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = root().join("docs/screenshots");
        let _ = std::fs::create_dir_all(&docs);
        std::fs::write(docs.join(format!("{name}.png")), &png).expect("write screenshot");
    }
}

async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, Vec::new()).await.expect("script")
}

/// Acknowledges the first open alert through its form, as a person would: type a note,
/// press the button. A live update can swap the page between finding the form and using
/// it; then the page is loaded again and the person tries again.
async fn acknowledge_first(client: &Client, page: &str) -> (String, String) {
    let mut last = None;
    for _ in 0..5 {
        client.goto(page).await.expect("alerts");
        let attempt = async {
            let form = client.find(Locator::Css("form.ack-form")).await?;
            let action = form.attr("action").await?.unwrap_or_default();
            form.find(Locator::Css("input[name='note']"))
                .await?
                .send_keys("on it: audit writes moved to staging")
                .await?;
            form.find(Locator::Css("button.ack-button"))
                .await?
                .click()
                .await?;
            let notice = client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css("p.notice"))
                .await?
                .text()
                .await?;
            Ok::<_, fantoccini::error::CmdError>((action, notice))
        }
        .await;
        match attempt {
            Ok(done) => return done,
            Err(e) => last = Some(e),
        }
    }
    panic!("could not acknowledge through the form: {last:?}");
}

/// Whether a browser can be driven here; without one a test is skipped, except in CI.
fn browser_installed() -> bool {
    if Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must run the browser test: install chromium and chromium-driver"
    );
    eprintln!(
        "skipped: {CHROMEDRIVER} is not installed (apt-get install chromium chromium-driver)"
    );
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_watches_the_demo_and_acknowledges_an_alert() {
    if !browser_installed() {
        return;
    }
    let dir = common::temp_dir("ui-browser");
    let (_demo, url, lines) = start_demo(&dir);
    let (_driver, client) = browser().await;

    // While the cycle runs: the overview has a card per deadline, and updates itself live.
    client.goto(&format!("{url}/")).await.expect("overview");
    let cards = client
        .find_all(Locator::Css("article.card"))
        .await
        .expect("cards");
    assert_eq!(cards.len(), 4, "a card per deadline of the month-end cycle");
    let live = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::XPath(
            "//*[@id='live-status'][contains(., 'updated')]",
        ))
        .await;
    assert!(live.is_ok(), "the overview never updated itself over SSE");
    screenshot(&client, "overview-running").await;

    // Once the cycle is done (the demo keeps serving it), compare exactly with the API.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("still serves the run") => break,
            Ok(_) => {}
            Err(e) => panic!("the demo did not finish: {e}"),
        }
    }
    let runs = api(&format!("{url}/api/runs")).await;
    let run = &runs["runs"][0];
    let id = run["id"].as_i64().expect("run id");
    assert_eq!(run["status"], "complete", "{run}");
    assert_eq!(run["jobs_failed"], 0);
    client.goto(&format!("{url}/")).await.expect("overview");
    // One script reads every card at once: the page may swap its content on a live update
    // at any moment, which would leave element handles stale.
    let cards = js(
        &client,
        "return Array.from(document.querySelectorAll('article.card')).map(c => ({ id: c.dataset.deadline, class: c.className, margin: c.querySelector('.margin').textContent, state: c.querySelector('.state').textContent }));",
    )
    .await;
    for d in run["deadlines"].as_array().expect("deadlines") {
        let card = cards
            .as_array()
            .expect("cards")
            .iter()
            .find(|c| c["id"] == d["id"])
            .unwrap_or_else(|| panic!("no card for {}", d["id"]));
        assert_eq!(card["margin"], d["margin"], "{}", d["id"]);
        let state = card["state"].as_str().expect("state").to_lowercase();
        assert!(
            state.starts_with(d["state_label"].as_str().expect("label")),
            "{}: page says {state}, API {}",
            d["id"],
            d["state_label"]
        );
        assert!(
            card["class"]
                .as_str()
                .expect("class")
                .contains(&format!("state-{}", d["state"].as_str().expect("s"))),
            "the card's colour follows its state"
        );
    }
    let day1 = run["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["id"] == "day1-window")
        .expect("day1");
    assert_eq!(
        day1["state"], "breached",
        "the February crisis misses the Day 1 window"
    );
    screenshot(&client, "overview").await;

    // Cycle detail: exactly the API's critical path is highlighted.
    let detail = api(&format!("{url}/api/runs/{id}")).await;
    let critical: BTreeSet<String> = detail["critical_path"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|c| c["job"].as_str().expect("job").to_string())
        .collect();
    assert!(!critical.is_empty());
    client
        .goto(&format!("{url}/runs/{id}"))
        .await
        .expect("detail");
    let highlighted: BTreeSet<String> = js(
        &client,
        "return Array.from(document.querySelectorAll('svg.gantt rect.bar.critical')).map(b => b.dataset.job);",
    )
    .await
    .as_array()
    .expect("bars")
    .iter()
    .map(|j| j.as_str().expect("job").to_string())
    .collect();
    assert_eq!(highlighted, critical);
    screenshot(&client, "detail").await;
    client
        .goto(&format!("{url}/runs/{id}?day=d1&stream=A"))
        .await
        .expect("filtered");
    screenshot(&client, "detail-day1-stream-a").await;
    let job = critical.iter().next().expect("a job");
    client
        .goto(&format!("{url}/runs/{id}/jobs/{job}"))
        .await
        .expect("job");
    screenshot(&client, "job").await;
    client
        .goto(&format!("{url}/runs/{id}/partitions"))
        .await
        .expect("partitions");
    screenshot(&client, "partitions").await;

    // Acknowledge an alert through its form; it shows as acknowledged and in the audit log.
    client
        .goto(&format!("{url}/runs/{id}/alerts"))
        .await
        .expect("alerts");
    screenshot(&client, "alerts").await;
    let (action, notice) = acknowledge_first(&client, &format!("{url}/runs/{id}/alerts")).await;
    assert!(notice.contains("acknowledged by local"), "{notice}");
    let alert_id = action
        .rsplit('/')
        .nth(1)
        .and_then(|a| a.parse::<i64>().ok())
        .expect("the alert id in the form's action");
    let alerts = api(&format!("{url}/api/runs/{id}/alerts")).await;
    let acked = alerts["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["id"] == alert_id)
        .expect("the alert");
    assert_eq!(acked["acknowledged"], true);
    client
        .goto(&format!("{url}/audit?action=acknowledge"))
        .await
        .expect("audit");
    let rows = js(
        &client,
        "return Array.from(document.querySelectorAll(\"table.audit tbody tr[data-action='acknowledge']\")).map(r => r.textContent);",
    )
    .await;
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0].as_str().expect("row");
    assert!(
        row.contains("local") && row.contains("audit writes moved to staging"),
        "{row}"
    );
    screenshot(&client, "audit").await;
    client.close().await.expect("close");
}

/// The element `what` finds, once the page shows it (10 s at most).
async fn shown(client: &Client, what: Locator<'_>) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(what)
        .await
        .unwrap_or_else(|e| panic!("{what:?} is not shown: {e}"))
}

/// Types the token into the login form and submits it.
async fn sign_in(client: &Client, token: &str) {
    let form = shown(client, Locator::Css("form.login")).await;
    form.find(Locator::Css("input[name='token']"))
        .await
        .expect("token field")
        .send_keys(token)
        .await
        .expect("type");
    form.find(Locator::Css("button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
}

async fn path(client: &Client) -> String {
    client.current_url().await.expect("url").path().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_the_login_form_and_out_again() {
    if !browser_installed() {
        return;
    }
    let dir = common::temp_dir("ui-login");
    let db = dir.join("warden.db");
    warden_store::Store::connect(&db.display().to_string())
        .await
        .expect("a store to serve");
    let token = "tok-browser-dana";
    let auth = dir.join("auth.yaml");
    std::fs::write(
        &auth,
        format!(
            "users:\n  - {{ name: dana, role: operator, token_sha256: {} }}\n",
            warden_ui::auth::digest(token)
        ),
    )
    .expect("auth file");
    let mut args: Vec<std::ffi::OsString> =
        ["serve", "--listen", "127.0.0.1:0"].map(Into::into).into();
    args.extend(["--db".into(), db.into()]);
    args.extend(["--data".into(), dir.join("data").into()]);
    args.extend(["--auth".into(), auth.into()]);
    let (_serve, url, _lines) = start_warden(&args);
    let (_driver, client) = browser().await;

    // A page without a session sends the browser to sign in.
    client.goto(&format!("{url}/")).await.expect("overview");
    assert_eq!(path(&client).await, "/login");
    screenshot(&client, "login").await;

    // A login form whose pre-session cookie is gone (as a form posted from another site
    // would be) is refused, and a fresh form offered.
    client
        .delete_cookie("warden_login")
        .await
        .expect("delete the pre-session cookie");
    sign_in(&client, token).await;
    let refusal = shown(&client, Locator::Css("p.warning"))
        .await
        .text()
        .await
        .expect("text");
    assert!(
        refusal.contains("did not come from this server"),
        "{refusal}"
    );

    // The fresh form signs in.
    sign_in(&client, token).await;
    let who = shown(
        &client,
        Locator::XPath("//span[@class='who'][contains(., 'dana')]"),
    )
    .await
    .text()
    .await
    .expect("text");
    assert!(who.contains("operator"), "{who}");
    assert_eq!(path(&client).await, "/");

    // Signing out signs out: back at the login form, and pages send there again.
    client
        .find(Locator::Css("span.who form button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    shown(&client, Locator::Css("form.login")).await;
    client.goto(&format!("{url}/")).await.expect("overview");
    assert_eq!(path(&client).await, "/login");
    client.close().await.expect("close");
}
