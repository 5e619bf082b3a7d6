//! `warden run` delivers the outbox beside its workers; `warden alerts` and `warden ack` as
//! an operator uses them; bad channel files and missing templates refused with the place
//! to fix. The real binary, exit codes as a shell sees them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use warden_store::{NewAlert, Store};

use common::temp_dir;

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("warden runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An alert as the escalation code raises it, with a view the shipped templates render.
fn alert(run_id: i64, key: &str) -> NewAlert {
    let at = Utc
        .with_ymd_and_hms(2025, 3, 5, 3, 0, 0)
        .single()
        .expect("time");
    let local = |text: &str| {
        serde_json::json!({
            "utc": at, "local": text, "zone": "America/New_York", "abbreviation": "EST",
            "text": format!("{text} EST"),
        })
    };
    let view = serde_json::json!({
        "cycle": "nightly-serial", "business_date": "2025-03-04", "run_id": run_id,
        "deadline": { "id": "online-restart", "name": "Online restart", "kind": "window",
                      "at": local("2025-03-05 06:00"), "penalty": null },
        "level": "warning", "previous_level": null, "headline": "WARNING",
        "trigger": "margin below 90m", "projected_finish": local("2025-03-05 04:45"),
        "margin_minutes": 75, "margin_text": "1h 15m", "late": false,
        "lateness_text": null, "lateness_minutes": null,
        "p_miss": null, "p_miss_text": null, "p50_finish": null, "p90_finish": null,
        "chain": [], "roles": [ { "id": "on-call", "name": "On-call" } ],
        "raised_at": local("2025-03-04 22:00"), "alert_id": null,
    });
    NewAlert {
        run_id,
        deadline_id: "online-restart".into(),
        level: "warning".into(),
        idempotency_key: key.into(),
        raised_at: at,
        view,
        template: Some("oncall-page".into()),
        roles: vec!["on-call".into()],
    }
}

/// Where each column of a table line starts: after two or more spaces (a cell holds single
/// spaces only).
fn column_starts(line: &str) -> Vec<usize> {
    let bytes = line.as_bytes();
    (2..bytes.len())
        .filter(|&i| bytes[i] != b' ' && bytes[i - 1] == b' ' && bytes[i - 2] == b' ')
        .collect()
}

/// `warden alerts`' columns line up: every alert line's columns start at the same places,
/// and every delivery line's role, channel, state and attempts do.
fn assert_aligned(out: &str) {
    let alerts: Vec<Vec<usize>> = out
        .lines()
        .filter(|l| l.starts_with("alert "))
        .map(column_starts)
        .collect();
    assert!(alerts.len() > 1, "{out}");
    assert!(alerts.iter().all(|c| *c == alerts[0]), "{alerts:?}\n{out}");
    let deliveries: Vec<Vec<usize>> = out
        .lines()
        .filter(|l| l.starts_with("  -> "))
        .map(|l| column_starts(l).into_iter().take(3).collect())
        .collect();
    assert!(deliveries.len() > 1, "{out}");
    assert!(
        deliveries.iter().all(|c| *c == deliveries[0]),
        "{deliveries:?}\n{out}"
    );
}

#[test]
fn warden_run_delivers_the_outbox_and_alerts_and_ack_show_it() {
    let dir = temp_dir("alerts-cli");
    let db = dir.join("w.db").display().to_string();
    let data = dir.join("data").display().to_string();
    let cycle = [
        "workflows/nightly-serial.yaml",
        "--date",
        "2025-03-04",
        "--db",
        &db,
    ];
    let run: Vec<&str> = [&["run"][..], &cycle, &["--data", &data, "--speed", "36000"]].concat();
    let output = warden(&run);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    // The serial nightly misses its window: the run's own escalations were raised and
    // delivered during the run (no channel file: the documented default, DATA/alerts.log).
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let alerts_log = Path::new(&data).join("alerts.log");
    let escalations = runtime.block_on(async {
        let store = Store::connect(&db).await.expect("store");
        let run = store
            .find_run("nightly-serial", "2025-03-04")
            .await
            .expect("find")
            .expect("the run exists");
        store.run_alerts(run.id).await.expect("alerts")
    });
    assert!(
        escalations.iter().any(|a| a.level == "breach_projected"),
        "{escalations:#?}"
    );
    let deliveries: usize = escalations.iter().map(|a| a.deliveries.len()).sum();
    assert!(
        escalations
            .iter()
            .flat_map(|a| &a.deliveries)
            .all(|d| d.status == "delivered")
    );
    let log = std::fs::read_to_string(&alerts_log).expect("alerts.log");
    assert_eq!(log.lines().count(), deliveries, "{log}");

    // An alert raised into the run's outbox by hand (as the escalation code does).
    let (run_id, alert_id) = runtime.block_on(async {
        let store = Store::connect(&db).await.expect("store");
        let run = store
            .find_run("nightly-serial", "2025-03-04")
            .await
            .expect("find")
            .expect("the run exists");
        let raised = store
            .raise_alert(&alert(
                run.id,
                &format!("{}:online-restart:warning:1", run.id),
            ))
            .await
            .expect("raise");
        (run.id, raised.id)
    });

    // Before delivery: listed, not fanned out.
    let list: Vec<&str> = [&["alerts"][..], &cycle].concat();
    let output = warden(&list);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(
        out.contains(&format!(
            "run {run_id}: nightly-serial for 2025-03-04 · {} alerts",
            escalations.len() + 1
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("alert {alert_id}  online-restart  warning")),
        "{out}"
    );
    assert!(out.contains("deliveries: not yet fanned out"), "{out}");

    // Resuming the (complete) run delivers it, to DATA/alerts.log.
    let output = warden(&run);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let log = std::fs::read_to_string(&alerts_log).expect("alerts.log");
    assert_eq!(log.lines().count(), deliveries + 1, "{log}");
    let line: serde_json::Value =
        serde_json::from_str(log.lines().last().expect("a line")).expect("a JSON line");
    assert_eq!(
        line["subject"],
        "[Warden WARNING] Online restart: 1h 15m margin (nightly-serial 2025-03-04)"
    );
    assert!(
        line["body"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("warden ack {alert_id} --as")))
    );
    // Delivered once: running again sends nothing more.
    let output = warden(&run);
    assert_eq!(output.status.code(), Some(0));
    let log = std::fs::read_to_string(&alerts_log).expect("alerts.log");
    assert_eq!(
        log.lines().count(),
        deliveries + 1,
        "delivered exactly once: {log}"
    );

    // Acknowledge it.
    let id = alert_id.to_string();
    let output = warden(&[
        "ack",
        &id,
        "--as",
        "dokoye",
        "--note",
        "watching stream A",
        "--db",
        &db,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!("alert {alert_id} (online-restart warning) acknowledged by dokoye\n")
    );

    // Again, by somebody else: idempotent. Nothing stored; told who acknowledged it.
    let output = warden(&["ack", &id, "--as", "ahmad", "--note", "me too", "--db", &db]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let said = text(&output.stdout);
    assert!(
        said.starts_with(&format!(
            "alert {alert_id} (online-restart warning) was already acknowledged by dokoye at 2"
        )) && said.ends_with(" UTC (\"watching stream A\"); nothing stored\n"),
        "{said}"
    );

    let output = warden(&list);
    let out = text(&output.stdout);
    assert_eq!(
        out.matches("acknowledged by").count(),
        1,
        "one acknowledgement: {out}"
    );
    assert!(!out.contains("ahmad"), "{out}");
    assert!(out.contains("  log  delivered 2025-"), "{out}");
    assert_aligned(&out);
    assert!(out.contains("(1 attempt)"), "{out}");
    assert!(out.contains(": watching stream A"), "{out}");
    assert!(out.contains("acknowledged by dokoye at 2"), "{out}");

    let json: Vec<&str> = [&["alerts"][..], &cycle, &["--format", "json"]].concat();
    let output = warden(&json);
    assert_eq!(output.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let a = doc["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["id"] == alert_id)
        .expect("the hand-raised alert");
    assert_eq!(a["deadline"], "online-restart");
    assert_eq!(a["deliveries"][0]["status"], "delivered");
    assert_eq!(a["deliveries"][0]["attempts"], 1);
    assert_eq!(a["deliveries"][0]["channel"], "log");
    assert_eq!(a["acks"].as_array().map(Vec::len), Some(1), "{a}");
    assert_eq!(a["acks"][0]["actor"], "dokoye");
    assert_eq!(a["acks"][0]["note"], "watching stream A");
    assert_eq!(a["view"]["margin_minutes"], 75);

    // An unknown alert, or something that is no id: one line, exit 2.
    let output = warden(&["ack", "999999", "--as", "x", "--db", &db]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: there is no alert 999999 in "),
        "{err}"
    );
    let output = warden(&["ack", "first", "--as", "x", "--db", &db]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("`first` is not an alert id"));
    // No such run.
    let output = warden(&[
        "alerts",
        "workflows/nightly-serial.yaml",
        "--date",
        "2025-03-05",
        "--db",
        &db,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no run of `nightly-serial` for 2025-03-05"));
}

#[test]
fn a_bad_channel_file_or_a_missing_template_stops_warden_run_with_the_place() {
    let dir = temp_dir("alerts-bad");
    let db = dir.join("w.db").display().to_string();
    let data = dir.join("data").display().to_string();
    let run = |extra: &[&str]| {
        let args: Vec<&str> = [
            &[
                "run",
                "workflows/nightly.yaml",
                "--date",
                "2025-03-04",
                "--db",
                &db,
                "--data",
                &data,
                "--speed",
                "36000",
            ][..],
            extra,
        ]
        .concat();
        warden(&args)
    };
    let cases: [(&str, &str, &str); 6] = [
        (
            "roles:\n  on-call:\n    - pager: { number: 5 }\n",
            ":3:",
            "a channel is `webhook: { url, format }`",
        ),
        (
            "roles:\n  on-call:\n    - webhook: { url: \"ftp://x\" }\n",
            ":3:",
            "`ftp://x` is not an http:// or https:// URL",
        ),
        (
            "roles:\n  on-call:\n    - webhook: { url: \"https:///hooks\" }\n",
            ":3:",
            "`https:///hooks` names no host",
        ),
        (
            "roles:\n  compliance:\n    - email: { smtp: localhost, from: a@b.c, to: [x@y.z] }\n",
            ":3:",
            "`localhost` is not HOST:PORT",
        ),
        (
            "roles:\n  compliance:\n    - email: { smtp: \"127.0.0.1:25\", from: not-an-address, to: [x@y.z] }\n",
            ":3:",
            "`not-an-address` is not an e-mail address",
        ),
        (
            "retry: { max_attempts: 3, first_backoff: soon }\nroles: { on-call: [ { log: { path: a.log } } ] }\n",
            ":1:",
            "`soon` is not a duration",
        ),
    ];
    for (i, (yaml, at, says)) in cases.iter().enumerate() {
        let file = dir.join(format!("channels-{i}.yaml"));
        std::fs::write(&file, yaml).expect("write");
        let path = file.display().to_string();
        let output = run(&["--channels", &path]);
        assert_eq!(
            output.status.code(),
            Some(2),
            "case {i}: {}",
            text(&output.stderr)
        );
        let err = text(&output.stderr);
        assert!(
            err.starts_with(&format!("error: {path}{at}")),
            "case {i}: {err}"
        );
        assert!(err.contains(says), "case {i}: {err}");
        assert_eq!(err.lines().count(), 1, "case {i}: {err}");
    }
    // A role the workflow does not have (a typo would leave `on-call` without channels).
    let file = dir.join("channels-roles.yaml");
    std::fs::write(&file, "roles:\n  oncall: [ { log: { path: a.log } } ]\n").expect("write");
    let output = run(&["--channels", &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains("role `oncall` is not a role of the workflow"),
        "{err}"
    );
    assert!(err.contains("did you mean `on-call`?"), "{err}");

    let output = run(&["--channels", "/nonexistent/channels.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("/nonexistent/channels.yaml: cannot read the channel file")
    );

    // A template directory without the templates the ladders name.
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).expect("dir");
    std::fs::write(
        templates.join("oncall-page.hbs"),
        "Subject: {{cycle}}\n\nbody\n",
    )
    .expect("write");
    let output = run(&["--templates", &templates.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains("there is no template `compliance-escalation` (known: oncall-page)"),
        "{err}"
    );
    // A template that does not parse: file and line.
    std::fs::write(
        templates.join("compliance-escalation.hbs"),
        "Subject: x\n\n{{#if late}}\n",
    )
    .expect("write");
    let output = run(&["--templates", &templates.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(err.contains("compliance-escalation.hbs:"), "{err}");
    assert!(err.contains("does not parse"), "{err}");
    // Nothing ran.
    assert!(!Path::new(&data).join("runs").exists());
}
