//! The web UI and JSON API over a real store holding a real run (the month-end cycle run to
//! completion by the `warden` binary): pages agree with the API, the Gantt highlights the
//! API's critical path, filters filter, metrics carry the margins, every documented route
//! answers, and security holds: 401/403 on every mutating route without or with the wrong
//! credentials, CSRF on forms, actions and acknowledgements recorded with their actor.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::Value;
use warden::cli::serve::{RunningUi, catalog_entries, start_ui};
use warden_store::{NewAlert, Store};
use warden_ui::Catalog;
use warden_ui::auth::digest;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn month_end() -> String {
    root()
        .join("workflows/month-end.yaml")
        .display()
        .to_string()
}

/// One completed month-end run for every test here (its store is copied per test).
fn completed_run() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = common::temp_dir("ui-run");
        let out = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args([
                "run",
                &month_end(),
                "--date",
                "2025-02",
                "--speed",
                "400000",
            ])
            .arg("--db")
            .arg(dir.join("warden.db"))
            .arg("--data")
            .arg(dir.join("data"))
            .env("RUST_LOG", "warn")
            .output()
            .expect("warden run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A private copy of the completed run's store and data.
fn fresh_store() -> PathBuf {
    let src = completed_run();
    let dir = common::temp_dir("ui-copy");
    for f in ["warden.db", "warden.db-wal", "warden.db-shm"] {
        if src.join(f).exists() {
            std::fs::copy(src.join(f), dir.join(f)).expect("copy store");
        }
    }
    dir
}

struct Server {
    ui: RunningUi,
    store: Store,
    client: reqwest::Client,
}

impl Server {
    async fn start(dir: &Path, auth: Option<&Path>) -> Server {
        let db = dir.join("warden.db").display().to_string();
        let store = Store::connect(&db).await.expect("store");
        let catalog = Arc::new(Catalog::new(
            catalog_entries(&[month_end()]).expect("workflow"),
        ));
        let ui = start_ui(
            store.clone(),
            catalog,
            "127.0.0.1:0".parse().expect("addr"),
            auth,
            Some(dir.join("data")),
        )
        .await
        .expect("start ui");
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client");
        Server { ui, store, client }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.ui.url.trim_end_matches('/'), path)
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(self.url(path)).send().await.expect("get");
        let status = r.status();
        (status, r.text().await.expect("body"))
    }

    async fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).expect("json")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_what_the_api_returns() {
    let dir = fresh_store();
    let s = Server::start(&dir, None).await;
    let runs = s.json("/api/runs").await;
    let run = &runs["runs"][0];
    assert_eq!(run["cycle"], "month-end");
    assert_eq!(run["jobs_total"], 757);
    assert_eq!(run["jobs_done"], 757, "the run completed");
    let (status, overview) = s.get("/").await;
    assert_eq!(status, StatusCode::OK);
    let deadlines = run["deadlines"].as_array().expect("deadlines");
    assert_eq!(deadlines.len(), 4);
    for d in deadlines {
        let card = format!(
            r#"data-deadline="{}" data-margin-seconds="{}" data-state="{}""#,
            d["id"].as_str().expect("id"),
            d["margin_seconds"],
            d["state"].as_str().expect("state")
        );
        assert!(overview.contains(&card), "overview lacks {card}");
        assert!(
            overview.contains(&format!(
                r#"<p class="margin">{}</p>"#,
                d["margin"].as_str().expect("m")
            )),
            "margin figure of {}",
            d["id"]
        );
        assert!(
            d["margin_history"].as_array().expect("history").len() >= 2,
            "the watcher stored the margin's history"
        );
        assert!(
            ["met", "breached"].contains(&d["state"].as_str().expect("state")),
            "settled: {d}"
        );
    }
    assert!(overview.contains("<svg"), "sparklines drawn");

    // The detail page highlights exactly the API's critical path.
    let id = run["id"].as_i64().expect("run id");
    let detail = s.json(&format!("/api/runs/{id}")).await;
    let critical: Vec<&str> = detail["critical_path"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|c| c["job"].as_str().expect("job"))
        .collect();
    assert!(!critical.is_empty());
    let (_, page) = s.get(&format!("/runs/{id}")).await;
    for job in &critical {
        assert!(
            page.contains(&format!(r#"critical" data-job="{job}""#)),
            "{job} is on the critical path but not highlighted"
        );
    }
    let highlighted: usize = ["actual", "running", "projected"]
        .iter()
        .map(|phase| {
            page.matches(&format!(r#"class="bar {phase} critical""#))
                .count()
        })
        .sum();
    assert_eq!(
        highlighted,
        critical.len(),
        "only the critical path is highlighted"
    );
    for d in deadlines {
        let figure = format!(
            r#"<figure class="history" data-deadline="{}">"#,
            d["id"].as_str().expect("id")
        );
        let at = page
            .find(&figure)
            .unwrap_or_else(|| panic!("no margin history for {}", d["id"]));
        let chart = &page[at..at + page[at..].find("</figure>").expect("closed")];
        assert!(
            chart.contains("<polyline"),
            "the margin-history chart of {} is drawn",
            d["id"]
        );
    }
    for class in ["class=\"window\"", "class=\"deadline\"", "class=\"now\""] {
        assert!(page.contains(class), "Gantt lacks {class}");
    }
    assert_eq!(
        detail["jobs"].as_array().expect("jobs").len(),
        757,
        "every job listed"
    );

    // Filters.
    let day2 = s.json(&format!("/api/runs/{id}?day=d2&stream=A")).await;
    let jobs = day2["jobs"].as_array().expect("jobs");
    assert!(!jobs.is_empty() && jobs.len() < 757);
    assert!(jobs.iter().all(|j| j["day"] == "d2" && j["stream"] == "A"));

    // Job detail: attempts as stored.
    let job = s.json(&format!("/api/runs/{id}/jobs/PAY-EFT.E")).await;
    assert_eq!(job["row"]["state"], "succeeded");
    assert!(!job["attempts"].as_array().expect("attempts").is_empty());
    assert!(
        job["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .all(|a| a["allowed"] == false),
        "no operator action fits a succeeded job: {}",
        job["actions"]
    );
    let (status, _) = s.get(&format!("/runs/{id}/jobs/PAY-EFT.E")).await;
    assert_eq!(status, StatusCode::OK);

    // Partitions: the month-end's partitioned jobs, simulated (no claim counts), said so.
    let parts = s.json(&format!("/api/runs/{id}/partitions")).await;
    assert_eq!(parts["simulated"], true);
    assert!(!parts["groups"].as_array().expect("groups").is_empty());
    let (_, page) = s.get(&format!("/runs/{id}/partitions")).await;
    assert!(page.contains("simulated"));

    // Metrics carry the same margins.
    let (status, metrics) = s.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for d in deadlines {
        let line = format!(
            "warden_deadline_margin_seconds{{cycle=\"month-end\",date=\"2025-02\",deadline=\"{}\"}} {}",
            d["id"].as_str().expect("id"),
            d["margin_seconds"]
        );
        assert!(metrics.contains(&line), "metrics lack {line}");
    }
    assert!(
        metrics
            .contains("warden_jobs{cycle=\"month-end\",date=\"2025-02\",state=\"succeeded\"} 757")
    );
    assert!(metrics.contains("# TYPE warden_queue_depth gauge"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_answers_and_errors_are_json() {
    let dir = fresh_store();
    let s = Server::start(&dir, None).await;
    let doc = s.json("/api/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 9);
    let runs = s.json("/api/runs").await;
    let id = runs["runs"][0]["id"].as_i64().expect("id");
    let alert = s
        .store
        .raise_alert(&NewAlert {
            run_id: id,
            deadline_id: "cms-filing".into(),
            level: "warning".into(),
            idempotency_key: "ui-test-alert".into(),
            raised_at: chrono::Utc::now(),
            view: serde_json::json!({ "trigger": "margin below 12h", "margin": "+11h" }),
            template: None,
            roles: vec!["on-call".into()],
        })
        .await
        .expect("raise")
        .id;
    for (path, item) in paths {
        let concrete = path
            .replace("{run}", &id.to_string())
            .replace("{job}", "PAY-EFT.E")
            .replace("{alert}", &alert.to_string())
            .replace("{action}", "hold");
        for method in item.as_object().expect("methods").keys() {
            if path == "/api/events" {
                let r = s.client.get(s.url(&concrete)).send().await.expect("sse");
                assert_eq!(r.status(), StatusCode::OK);
                assert_eq!(
                    r.headers()["content-type"].to_str().expect("ct"),
                    "text/event-stream"
                );
                continue;
            }
            let r = match method.as_str() {
                "get" => s.client.get(s.url(&concrete)),
                _ => s.client.post(s.url(&concrete)).json(&serde_json::json!({})),
            }
            .send()
            .await
            .expect("request");
            let status = r.status();
            let body = r.text().await.expect("body");
            assert!(
                !body.contains("no such page or route"),
                "{method} {concrete} is documented but not routed"
            );
            // A hold on a succeeded job does not fit: 409 with why; everything else works.
            if method == "post" && path.contains("/actions/") {
                assert_eq!(status, StatusCode::CONFLICT, "{body}");
                assert!(body.contains("has succeeded"), "{body}");
            } else {
                assert!(status.is_success(), "{method} {concrete}: {status} {body}");
            }
        }
    }
    // Errors: JSON with what is wrong, no internals.
    for (path, status, says) in [
        (
            "/api/runs/999",
            StatusCode::NOT_FOUND,
            "there is no run 999",
        ),
        ("/api/runs/x", StatusCode::BAD_REQUEST, "is not a run id"),
        (
            "/api/runs/1/jobs/NOPE",
            StatusCode::NOT_FOUND,
            "has no job `NOPE`",
        ),
        ("/api/nothing", StatusCode::NOT_FOUND, "openapi.json"),
    ] {
        let (got, body) = s.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(
            v["error"].as_str().expect("error").contains(says),
            "{path}: {body}"
        );
        assert_eq!(v["status"], status.as_u16());
    }
    let r = s
        .client
        .post(s.url(&format!("/api/runs/{id}/jobs/PAY-EFT.E/actions/hold")))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.text().await.expect("body");
    assert!(body.contains("request body"), "{body}");
    let r = s
        .client
        .post(s.url(&format!("/api/runs/{id}/jobs/PAY-EFT.E/actions/explode")))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.expect("body").contains("force-complete"));
}

const OPERATOR: &str = "tok-operator-dana";
const VIEWER: &str = "tok-viewer-val";
const COMPLIANCE: &str = "tok-compliance-cam";

fn auth_file(dir: &Path) -> PathBuf {
    let path = dir.join("auth.yaml");
    std::fs::write(
        &path,
        format!(
            "users:\n  - {{ name: dana, role: operator, token_sha256: {} }}\n  - {{ name: val, role: viewer, token_sha256: {} }}\n  - {{ name: cam, role: compliance, token_sha256: {} }}\n",
            digest(OPERATOR),
            digest(VIEWER),
            digest(COMPLIANCE)
        ),
    )
    .expect("auth file");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_route_needs_the_right_credentials() {
    let dir = fresh_store();
    let auth = auth_file(&dir);
    let s = Server::start(&dir, Some(&auth)).await;
    let runs: Value = s
        .client
        .get(s.url("/api/runs"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let id = runs["runs"][0]["id"].as_i64().expect("id");
    let alert = s
        .store
        .raise_alert(&NewAlert {
            run_id: id,
            deadline_id: "day1-window".into(),
            level: "escalated".into(),
            idempotency_key: "ui-auth-alert".into(),
            raised_at: chrono::Utc::now(),
            view: serde_json::json!({}),
            template: None,
            roles: vec!["on-call".into()],
        })
        .await
        .expect("raise")
        .id;
    let mut mutating: Vec<(String, &str)> = Vec::new();
    for action in ["hold", "release", "rerun", "skip", "kill", "force-complete"] {
        mutating.push((
            format!("/api/runs/{id}/jobs/PAY-EFT.E/actions/{action}"),
            "operator",
        ));
        mutating.push((format!("/runs/{id}/jobs/PAY-EFT.E/{action}"), "operator"));
    }
    mutating.push((format!("/api/runs/{id}/alerts/{alert}/ack"), "ack"));
    mutating.push((format!("/runs/{id}/alerts/{alert}/ack"), "ack"));
    for (path, _) in &mutating {
        let r = s.client.post(s.url(path)).send().await.expect("post");
        if path.starts_with("/api") {
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "POST {path} without credentials"
            );
        } else {
            // A page form without a session is sent to sign in.
            assert_eq!(
                r.status(),
                StatusCode::SEE_OTHER,
                "POST {path} without credentials"
            );
            assert_eq!(r.headers()["location"], "/login");
        }
        let r = s
            .client
            .post(s.url(path))
            .bearer_auth("not-a-token")
            .send()
            .await
            .expect("post");
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "POST {path} with an unknown token"
        );
        let r = s
            .client
            .post(s.url(path))
            .bearer_auth(VIEWER)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path} as a viewer");
    }
    // Compliance may acknowledge but not operate.
    let r = s
        .client
        .post(s.url(&format!("/api/runs/{id}/jobs/PAY-EFT.E/actions/hold")))
        .bearer_auth(COMPLIANCE)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .client
        .post(s.url(&format!("/api/runs/{id}/alerts/{alert}/ack")))
        .bearer_auth(COMPLIANCE)
        .json(&serde_json::json!({ "note": "seen; filing team told" }))
        .send()
        .await
        .expect("post");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    // Reads need a sign-in too.
    let (status, _) = s.get("/api/runs").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // An operator's action goes into the store with the actor: a failed-job rerun does not
    // fit here, so skip a (succeeded) job is refused with why, and a reasonless skip is 400.
    let r = s
        .client
        .post(s.url(&format!("/api/runs/{id}/jobs/PAY-EFT.E/actions/skip")))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.expect("body").contains("needs a reason"));

    // The audit log has the acknowledgement with its actor.
    let audit: Value = s
        .client
        .get(s.url("/api/audit?actor=cam"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let entries = audit.as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["action"], "acknowledge");
    assert!(
        entries[0]["detail"]
            .as_str()
            .expect("detail")
            .contains("filing team told")
    );
}

/// The browser path: the login form gives a session cookie; forms need its CSRF token; the
/// action lands in the store with the actor; sign-ins are in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_csrf_guard_the_forms() {
    let dir = fresh_store();
    let auth = auth_file(&dir);
    let s = Server::start(&dir, Some(&auth)).await;
    let r = s
        .client
        .post(s.url("/login"))
        .form(&[("token", "wrong")])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = s
        .client
        .post(s.url("/login"))
        .form(&[("token", OPERATOR)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("pair").to_string();
    let runs: Value = s
        .client
        .get(s.url("/api/runs"))
        .header("cookie", &session)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let id = runs["runs"][0]["id"].as_i64().expect("id");
    // The job page carries the session's CSRF token in its forms.
    let page = s
        .client
        .get(s.url(&format!("/runs/{id}/jobs/PAY-EFT.E")))
        .header("cookie", &session)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("page");
    let csrf = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_string();
    assert_eq!(csrf.len(), 64);
    let path = format!("/runs/{id}/jobs/PAY-EFT.E/hold");
    let r = s
        .client
        .post(s.url(&path))
        .header("cookie", &session)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a forged CSRF token");
    let r = s
        .client
        .post(s.url(&path))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        back.starts_with(&format!("/runs/{id}/jobs/PAY-EFT.E?notice=")),
        "{back}"
    );
    // Succeeded jobs cannot be held: the notice says so, and nothing was queued.
    assert!(back.contains("has%20succeeded"), "{back}");
    let audit: Value = s
        .client
        .get(s.url("/api/audit"))
        .header("cookie", &session)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(actions.contains(&("dana", "login")), "{actions:?}");
    assert!(
        actions.contains(&("anonymous", "login_failed")),
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|(_, a)| *a == "hold"),
        "a refused hold is not recorded as done"
    );
}

#[test]
fn an_unauthenticated_server_stays_on_loopback() {
    let public: std::net::SocketAddr = "0.0.0.0:8080".parse().expect("addr");
    let e = warden_ui::check_listen(&public, None).expect_err("refused");
    assert!(e.contains("--auth"), "{e}");
    assert!(warden_ui::check_listen(&"127.0.0.1:8080".parse().expect("addr"), None).is_ok());
    let auth = warden_ui::AuthConfig::from_tokens(&[("t", "x", &[warden_ui::Role::Viewer])]);
    assert!(warden_ui::check_listen(&public, Some(&auth)).is_ok());
}
