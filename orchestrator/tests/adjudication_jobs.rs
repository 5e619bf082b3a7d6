//! The nightly cycle's adjudication built-ins running the real engine under `warden run`
//! (WARDEN_CLAIMS_INPUT set): the reconciled output equals `warden adjudicate --serial`
//! byte for byte; without claim input the built-ins say they are simulated.

use std::path::Path;
use std::process::Command;

fn warden(args: &[&str], input: Option<&Path>) -> std::process::Output {
    warden_with(args, input, &[])
}

fn warden_with(args: &[&str], input: Option<&Path>, env: &[(&str, &str)]) -> std::process::Output {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.args(args)
        .current_dir(root)
        .env("WARDEN_PLANS", Path::new(root).join("workflows/plans"));
    c.env_remove("WARDEN_CLAIMS_INPUT")
        .env_remove("WARDEN_MONITOR_EVERY");
    c.envs(env.iter().copied());
    if let Some(i) = input {
        c.env("WARDEN_CLAIMS_INPUT", i);
    }
    c.output().expect("warden runs")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `warden claims generate ARGS --out OUT`, asserted to succeed.
fn generate(out: &Path, args: &[&str]) {
    let out = s(out);
    let mut all = vec![
        "claims",
        "generate",
        "--out",
        &out,
        "--plans",
        "workflows/plans",
    ];
    all.extend_from_slice(args);
    let o = warden(&all, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `warden adjudicate --serial` of `input` into `out`, asserted to succeed.
fn serial_run(input: &Path, out: &Path) {
    let o = warden(
        &[
            "adjudicate",
            "--input",
            &s(input),
            "--out",
            &s(out),
            "--serial",
            "--plans",
            "workflows/plans",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Starts `warden ARGS` on the claims in `input`, checkpointing every 1,000 claims, its
/// output discarded.
fn spawn_cycle(args: &[&str], input: &Path) -> std::process::Child {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(root)
        .env("WARDEN_PLANS", Path::new(root).join("workflows/plans"))
        .env("WARDEN_CLAIMS_INPUT", input)
        .env("WARDEN_CHECKPOINT_EVERY", "1000")
        .env_remove("WARDEN_MONITOR_EVERY")
        .env_remove("WARDEN_PARTITIONS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

/// SIGKILLs `child` as soon as one of partitions 1–6 (work directory `dir(p)`) has committed
/// a checkpoint mid-way, and waits for it; the partition, if one did within two minutes.
fn kill_at_a_mid_checkpoint(
    child: &mut std::process::Child,
    dir: impl Fn(u32) -> std::path::PathBuf,
) -> Option<u32> {
    let started = std::time::Instant::now();
    let mut killed_at = None;
    while killed_at.is_none() && started.elapsed() < std::time::Duration::from_secs(120) {
        for p in 1..=6 {
            if let Ok(text) = std::fs::read_to_string(dir(p).join("checkpoint.json")) {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if v["done"] == false && v["position"].as_u64().is_some_and(|x| x > 0) {
                    child.kill().expect("SIGKILL");
                    killed_at = Some(p);
                    break;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.wait();
    killed_at
}

#[test]
fn nightly_adjudicates_for_real_and_equals_the_serial_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    generate(
        &input,
        &[
            "--members",
            "3000",
            "--claims",
            "9000",
            "--bad-rows",
            "0.01",
            // Above the monitor's 5%: the partitions switch to high-exception mode and
            // on-call is alerted (the monitor looks every 500 claims here, not 100,000).
            "--exception-rate",
            "0.09",
        ],
    );
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    let run = [
        "run",
        "workflows/nightly.yaml",
        "--date",
        "2025-03-04",
        "--speed",
        "600",
        "--db",
        &s(&db),
        "--data",
        &s(&data),
    ];
    let o = warden_with(&run, Some(&input), &[("WARDEN_MONITOR_EVERY", "500")]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let run_dir = data.join("runs/1");
    let log =
        std::fs::read_to_string(run_dir.join("logs/CLMRECONCILE.1.log")).expect("reconcile log");
    assert!(
        log.starts_with("reconciled: 9000 claims") || log.contains("reconciled:"),
        "{log}"
    );
    let p3 = std::fs::read_to_string(run_dir.join("logs/CLMADJUD-P03.1.log")).expect("p03 log");
    assert!(p3.starts_with("pass 1: resumed at claim 0,"), "{p3}");
    assert!(
        run_dir.join("work/CLMADJUD-P03/checkpoint.json").is_file(),
        "the checkpoint is in the job's work directory"
    );
    // The partition reported its progress where the projection reads it: every one of its
    // claims (pass 1's summary counts them), done.
    let progress = std::fs::read_to_string(run_dir.join("work/CLMADJUD-P03/.warden-progress"))
        .expect("progress file");
    let (done, total) = progress.trim().split_once(' ').expect("DONE TOTAL");
    assert_eq!(done, total, "{progress}");
    let claims: u64 = total.parse().expect("a number");
    let counted: u64 = ["adjudicated", "deferred"]
        .iter()
        .map(|what| {
            p3.split(", ")
                .find_map(|part| part.strip_suffix(&format!(" {what}")))
                .and_then(|n| n.rsplit(' ').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("no `{what}` in {p3}"))
        })
        .sum();
    assert_eq!(claims, counted, "{progress} vs {p3}");

    let serial = tmp.path().join("serial");
    serial_run(&input, &serial);
    for f in [
        "adjudicated.csv",
        "accumulators.csv",
        "exceptions.csv",
        "rejects.csv",
    ] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(run_dir.join("work/CLMRECONCILE/out").join(f)).expect("cycle");
        assert!(a == b, "{f} differs between the cycle and the serial run");
    }

    // CLMEXCLOAD bulk-loaded the exceptions into the store: as many as the serial run
    // pended, the same claims and amounts, and its log says so without member data.
    let text = std::fs::read_to_string(serial.join("exceptions.csv")).expect("exceptions");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert!(!lines.is_empty(), "the generated claims have exceptions");
    let billed: i64 = lines
        .iter()
        .map(|l| {
            let amount = l.split(',').nth(5).expect("billed");
            let (units, cents) = amount.split_once('.').expect("two decimals");
            units.parse::<i64>().expect("units") * 100 + cents.parse::<i64>().expect("cents")
        })
        .sum();
    let load = std::fs::read_to_string(run_dir.join("logs/CLMEXCLOAD.1.log")).expect("load log");
    assert!(
        load.starts_with(&format!(
            "loaded {} exceptions of - into the store",
            lines.len()
        )),
        "{load}"
    );
    let (counts, first, alerts) =
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let store = warden_store::Store::connect(&s(&db)).await.expect("store");
                let counts = store.exception_counts(1).await.expect("counts");
                let first = store.load_exceptions(1, "-", 3).await.expect("rows");
                let alerts = store.run_alerts(1).await.expect("alerts");
                (counts, first, alerts)
            });
    // Each partition that passed 5% warned once, to on-call, and it was delivered (the
    // default channel: the data directory's alerts.log), with the stage's own counts.
    let warned: Vec<_> = alerts
        .iter()
        .filter(|a| a.template.as_deref() == Some("exception-rate"))
        .collect();
    assert!(!warned.is_empty(), "no exception-rate alert: {alerts:?}");
    for a in &warned {
        assert!(a.deadline_id.starts_with("CLMADJUD"), "{}", a.deadline_id);
        assert_eq!(
            a.idempotency_key,
            format!("1:exception-rate:{}", a.deadline_id)
        );
        assert_eq!(a.level, "warning");
        assert_eq!(a.roles, ["on-call"]);
        assert!(a.view["rate"].as_f64().expect("rate") > 0.05, "{}", a.view);
        assert!(
            a.deliveries.iter().all(|d| d.status == "delivered"),
            "{:?}",
            a.deliveries
        );
        let events = std::fs::read_to_string(
            run_dir
                .join("work")
                .join(&a.deadline_id)
                .join("events.jsonl"),
        )
        .expect("the stage's events");
        let first_event: serde_json::Value =
            serde_json::from_str(events.lines().next().expect("an event")).expect("json");
        assert_eq!(a.view["at_claim"], first_event["at_claim"]);
        assert_eq!(a.view["exceptions"], first_event["exceptions"]);
    }
    let keys: std::collections::HashSet<_> = warned.iter().map(|a| &a.idempotency_key).collect();
    assert_eq!(keys.len(), warned.len(), "one alert per partition");
    let log = std::fs::read_to_string(data.join("alerts.log")).expect("alerts.log");
    assert!(log.contains("exception rate"), "{log}");
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0].rows, lines.len() as i64);
    assert_eq!(counts[0].billed_cents, billed);
    for (row, line) in first.iter().zip(&lines) {
        assert!(
            line.starts_with(&format!(
                "{},{},{},pended,{},",
                row.claim_id, row.member, row.family, row.reasons
            )),
            "{row:?} vs {line}"
        );
    }
}

#[test]
fn without_claim_input_the_built_ins_are_simulated_and_say_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    let o = warden(
        &[
            "run",
            "workflows/nightly.yaml",
            "--date",
            "2025-03-04",
            "--speed",
            "100000",
            "--db",
            &s(&db),
            "--data",
            &s(&data),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let log = std::fs::read_to_string(data.join("runs/1/logs/CLMSETUP.1.log")).expect("log");
    assert!(
        log.starts_with("simulated: WARDEN_CLAIMS_INPUT is not set"),
        "{log}"
    );
}

/// February 2025: claims above the approved volume were already in the intake when the cycle
/// began. Setup counts them first, stops before adjudicating and alerts on-call and
/// compliance (issue #12).
#[test]
fn setup_stops_on_claims_above_the_approved_volume_and_alerts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("claims");
    generate(&input, &["--members", "600", "--claims", "1300"]);
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    // The run is approved for 1,000 claims (limit 1,050 with the 5% trigger).
    let o = warden(
        &[
            "run",
            "workflows/nightly.yaml",
            "--date",
            "2025-03-04",
            "--volume",
            "claims=1000",
            "--speed",
            "100000",
            "--db",
            &s(&db),
            "--data",
            &s(&data),
        ],
        Some(&input),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stuck: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("CLMSETUP"), "{out}");
    let log = std::fs::read_to_string(data.join("runs/1/logs/CLMSETUP.1.log")).expect("log");
    assert!(
        log.contains("1,300 claims in the input for stream claims, above its approved 1,000 plus the 5% trigger (1,050): stopped before adjudicating"),
        "{log}"
    );
    assert!(
        !data.join("runs/1/work/CLMSETUP/manifest.json").exists()
            && !data.join("runs/1/work/CLMSETUP/claims.bin").exists()
            && !data.join("runs/1/logs/CLMADJUD-P01.1.log").exists(),
        "nothing set up, nothing adjudicated"
    );
    let alerts = std::fs::read_to_string(data.join("alerts.log")).expect("alerts.log");
    assert_eq!(
        alerts
            .lines()
            .filter(|l| l.contains("CLMSETUP read 1,300 claims for stream claims"))
            .count(),
        2,
        "one alert (raised once over three attempts), told to on-call and compliance: {alerts}"
    );
    for role in ["on-call", "compliance"] {
        assert!(alerts.contains(role), "{role}: {alerts}");
    }
}

#[test]
fn a_sigkilled_cycle_resumes_its_partitions_from_their_checkpoints() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    generate(&input, &["--members", "20000", "--claims", "120000"]);
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    let args = [
        "run",
        "workflows/nightly.yaml",
        "--date",
        "2025-03-04",
        "--speed",
        "600",
        "--db",
        &s(&db),
        "--data",
        &s(&data),
    ];
    // Kill the orchestrator as soon as some partition has committed a checkpoint mid-way.
    let work = data.join("runs/1/work");
    let mut child = spawn_cycle(&args, &input);
    let killed_at =
        kill_at_a_mid_checkpoint(&mut child, |p| work.join(format!("CLMADJUD-P{p:02}")));
    let p = killed_at.expect("a partition checkpointed before it finished");
    // Started again, the cycle finishes; the killed partition's next attempt resumed.
    let status = spawn_cycle(&args, &input).wait().expect("second run");
    assert!(status.success());
    let logs = data.join("runs/1/logs");
    let resumed = (1..=6).any(|q| {
        (2..=3).any(|a| {
            std::fs::read_to_string(logs.join(format!("CLMADJUD-P{q:02}.{a}.log"))).is_ok_and(|t| {
                t.starts_with("pass 1: resumed at claim ")
                    && !t.starts_with("pass 1: resumed at claim 0,")
            })
        })
    });
    assert!(
        resumed,
        "partition P{p:02} was killed mid-way; some partition's next attempt resumed from a checkpoint"
    );
    let serial = tmp.path().join("serial");
    serial_run(&input, &serial);
    for f in ["adjudicated.csv", "accumulators.csv", "exceptions.csv"] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(work.join("CLMRECONCILE/out").join(f)).expect("cycle");
        assert!(a == b, "{f} differs after the kill and resume");
    }
}

#[test]
fn the_next_night_starts_from_the_accumulators_the_last_one_posted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    generate(&input, &["--members", "2000", "--claims", "8000"]);
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    for date in ["2025-03-04", "2025-03-05"] {
        let run = [
            "run",
            "workflows/nightly.yaml",
            "--date",
            date,
            "--speed",
            "2000",
            "--db",
            &s(&db),
            "--data",
            &s(&data),
        ];
        let o = warden(&run, Some(&input));
        assert!(
            o.status.success(),
            "{date}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let night = |n: u32| data.join(format!("runs/{n}"));
    let out = |n: u32| night(n).join("work/CLMRECONCILE/out");
    let reconciliation = |n: u32| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out(n).join("reconciliation.json")).expect("json"))
            .expect("a reconciliation")
    };
    let log = |n: u32, job: &str| {
        std::fs::read_to_string(night(n).join(format!("logs/{job}.1.log"))).expect("log")
    };
    // Night 1: nothing in the store yet; it posts every member it changed.
    let changed = std::fs::read_to_string(out(1).join("accumulators-changed.csv")).expect("file");
    let rows: Vec<Vec<i64>> = changed
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse().expect("cents")).collect())
        .collect();
    assert!(rows.len() > 100, "{} members changed", rows.len());
    assert!(
        log(1, "CLMSETUP").contains("; 0 members start from the store's accumulators"),
        "{}",
        log(1, "CLMSETUP")
    );
    assert!(
        log(1, "CLMACCUMPOST").starts_with(&format!(
            "posted the accumulators of {} members of - to the store",
            rows.len()
        )),
        "{}",
        log(1, "CLMACCUMPOST")
    );
    let r1 = reconciliation(1);
    let added: i64 = rows.iter().map(|r| r[4] - r[2]).sum();
    assert_eq!(
        added,
        r1["deductible_applied_cents"].as_i64().expect("applied")
    );
    // Night 2 starts those members from the store: its start totals are night 1's ends.
    assert!(
        log(2, "CLMSETUP").contains(&format!(
            "; {} members start from the store's accumulators (0 store rows",
            rows.len()
        )),
        "{}",
        log(2, "CLMSETUP")
    );
    let r2 = reconciliation(2);
    assert_eq!(r2["deductible_start_cents"], r1["deductible_end_cents"]);
    assert_eq!(r2["oop_start_cents"], r1["oop_end_cents"]);
    assert!(r2["ok"].as_bool().expect("ok"), "{r2}");
    let (t1, t2) = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let store = warden_store::Store::connect(&s(&db)).await.expect("store");
            (
                store.accumulator_totals(1, "-").await.expect("totals"),
                store.accumulator_totals(2, "-").await.expect("totals"),
            )
        });
    // The store holds one row per member either night changed, each last posted by one
    // of them, with the later night's values where both did.
    let changed2 = std::fs::read_to_string(out(2).join("accumulators-changed.csv")).expect("file");
    let mut last: std::collections::BTreeMap<i64, (i64, i64)> =
        rows.iter().map(|r| (r[0], (r[4], r[5]))).collect();
    let mut night2 = 0;
    for l in changed2.lines().skip(1) {
        let r: Vec<i64> = l.split(',').map(|f| f.parse().expect("cents")).collect();
        last.insert(r[0], (r[4], r[5]));
        night2 += 1;
    }
    assert_eq!(
        (t1.rows, t1.deductible_cents, t1.oop_cents),
        (t2.rows, t2.deductible_cents, t2.oop_cents)
    );
    assert_eq!(t2.rows, last.len() as i64);
    assert_eq!(t2.posted_by_run, night2);
    assert_eq!(t1.posted_by_run + t2.posted_by_run, t2.rows);
    assert_eq!(t2.deductible_cents, last.values().map(|v| v.0).sum::<i64>());
    assert_eq!(t2.oop_cents, last.values().map(|v| v.1).sum::<i64>());
    // The second night equals a serial run whose feed carries the first night's
    // accumulators: the store's values were used, and used exactly once.
    let fed = tmp.path().join("fed");
    std::fs::create_dir_all(&fed).expect("dir");
    std::fs::copy(input.join("claims.csv"), fed.join("claims.csv")).expect("claims");
    let ends: std::collections::HashMap<String, (String, String)> =
        std::fs::read_to_string(out(1).join("accumulators.csv"))
            .expect("accumulators")
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), (f[2].to_string(), f[3].to_string()))
            })
            .collect();
    let feed = std::fs::read_to_string(input.join("members.csv")).expect("members");
    let mut text = String::new();
    for (i, l) in feed.lines().enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        match ends.get(f[0]) {
            Some((d, o)) if i > 0 => {
                text.push_str(&format!("{},{},{},{d},{o}\n", f[0], f[1], f[2]))
            }
            _ => text.push_str(&format!("{l}\n")),
        }
    }
    std::fs::write(fed.join("members.csv"), text).expect("feed");
    let serial = tmp.path().join("serial");
    serial_run(&fed, &serial);
    for f in [
        "adjudicated.csv",
        "accumulators.csv",
        "accumulators-changed.csv",
    ] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(out(2).join(f)).expect("night 2");
        assert!(
            a == b,
            "{f} differs between night 2 and the serial run from night 1's accumulators"
        );
    }
}

/// The month-end's shape: one `adjudicate-phase1` job (setup and pass 1) and one
/// `adjudicate-phase2` job (merge, pass 2, reconciliation) per stream, each stream's claims in
/// its own input directory.
const TWO_STREAMS: &str = r#"
cycle: two-streams
timezone: America/New_York
schedule:
  cron: "0 23 * * *"
streams:
  - { id: A, name: Commercial, volume: 120K }
  - { id: B, name: Medicare, volume: 6K }
days:
  - id: night
    window: { opens: "23:00", closes: "04:00" }
jobs:
  - id: ADJUD-PHASE1
    streams: [A, B]
    builtin: adjudicate-phase1
    estimate: 10m
  - id: ADJUD-PHASE2
    streams: [A, B]
    builtin: adjudicate-phase2
    after: [ADJUD-PHASE1]
    estimate: 5m
  - id: ACCUM-POST
    streams: [A, B]
    builtin: post-accumulators
    after: [ADJUD-PHASE2]
    estimate: 1m
"#;

#[test]
fn month_end_phase_jobs_adjudicate_each_stream_and_equal_its_serial_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    // Stream A's exception rate is above the monitor's 5 %; B's is the generator's default.
    for (stream, members, claims, seed, rate) in [
        ("A", "2000", "8000", "1", "0.09"),
        ("B", "1500", "6000", "2", "0.01"),
    ] {
        generate(
            &input.join(stream),
            &[
                "--members",
                members,
                "--claims",
                claims,
                "--seed",
                seed,
                "--exception-rate",
                rate,
            ],
        );
    }
    let workflow = tmp.path().join("two-streams.yaml");
    std::fs::write(&workflow, TWO_STREAMS).expect("workflow");
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    let run = [
        "run",
        &s(&workflow),
        "--date",
        "2025-03-04",
        "--speed",
        "2000",
        "--db",
        &s(&db),
        "--data",
        &s(&data),
    ];
    let o = warden_with(
        &run,
        Some(&input),
        &[
            ("WARDEN_PARTITIONS", "3"),
            ("WARDEN_CHECKPOINT_EVERY", "500"),
            ("WARDEN_MONITOR_EVERY", "500"),
        ],
    );
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let run_dir = data.join("runs/1");
    let (totals_a, totals_b, alerts) =
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let store = warden_store::Store::connect(&s(&db)).await.expect("store");
                (
                    store.accumulator_totals(1, "A").await.expect("totals"),
                    store.accumulator_totals(1, "B").await.expect("totals"),
                    store.run_alerts(1).await.expect("alerts"),
                )
            });
    // Stream A's phase jobs watched their stages' monitors (phase 1: its partitions; phase
    // 2: pass 2) and alerted once each; B's did not.
    let warned: Vec<&str> = alerts
        .iter()
        .filter(|a| a.template.as_deref() == Some("exception-rate"))
        .map(|a| a.deadline_id.as_str())
        .collect();
    assert_eq!(warned, ["ADJUD-PHASE1.A", "ADJUD-PHASE2.A"], "{alerts:?}");
    for (stream, claims, totals) in [("A", 8000, totals_a), ("B", 6000, totals_b)] {
        let log = |job: &str| {
            std::fs::read_to_string(run_dir.join(format!("logs/{job}.{stream}.1.log")))
                .expect("log")
        };
        let p1 = log("ADJUD-PHASE1");
        assert!(
            p1.starts_with(&format!("setup and pass 1: {claims} claim rows")),
            "{p1}"
        );
        assert!(p1.contains("; 3 partitions"), "{p1}");
        let p2 = log("ADJUD-PHASE2");
        assert!(p2.contains("reconciled:"), "{p2}");
        let work = run_dir.join(format!("work/ADJUD-PHASE1.{stream}"));
        assert!(
            work.join("p03/checkpoint.json").is_file(),
            "partitions under phase 1"
        );
        let serial = tmp.path().join(format!("serial-{stream}"));
        serial_run(&input.join(stream), &serial);
        let out = run_dir.join(format!("work/ADJUD-PHASE2.{stream}/out"));
        for f in [
            "adjudicated.csv",
            "accumulators.csv",
            "accumulators-changed.csv",
            "exceptions.csv",
            "rejects.csv",
        ] {
            let a = std::fs::read(serial.join(f)).expect("serial");
            let b = std::fs::read(out.join(f)).expect("cycle");
            assert!(a == b, "stream {stream}: {f} differs from its serial run");
        }
        let changed = std::fs::read_to_string(out.join("accumulators-changed.csv"))
            .expect("changed")
            .lines()
            .count() as i64
            - 1;
        assert!(changed > 0);
        assert_eq!(totals.rows, changed, "stream {stream}: {totals:?}");
        assert!(
            log("ACCUM-POST").starts_with(&format!(
                "posted the accumulators of {changed} members of {stream}"
            )),
            "{}",
            log("ACCUM-POST")
        );
    }
}

#[test]
fn a_sigkilled_phase_one_resumes_without_setting_up_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    for (stream, members, claims) in [("A", "20000", "120000"), ("B", "500", "2000")] {
        generate(
            &input.join(stream),
            &["--members", members, "--claims", claims],
        );
    }
    let workflow = tmp.path().join("two-streams.yaml");
    std::fs::write(&workflow, TWO_STREAMS).expect("workflow");
    let data = tmp.path().join("data");
    let db = tmp.path().join("w.db");
    let args = [
        "run",
        &s(&workflow),
        "--date",
        "2025-03-04",
        "--speed",
        "2000",
        "--db",
        &s(&db),
        "--data",
        &s(&data),
    ];
    let work = data.join("runs/1/work/ADJUD-PHASE1.A");
    let mut child = spawn_cycle(&args, &input);
    let killed = kill_at_a_mid_checkpoint(&mut child, |p| work.join(format!("p{p:02}")));
    assert!(
        killed.is_some(),
        "a partition of phase 1 checkpointed before it finished"
    );
    let manifest = std::fs::metadata(work.join("setup/manifest.json"))
        .and_then(|m| m.modified())
        .expect("setup finished before pass 1 began");
    let status = spawn_cycle(&args, &input).wait().expect("second run");
    assert!(status.success());
    // The next attempt kept the setup (same manifest) and resumed from the checkpoints.
    let again = std::fs::metadata(work.join("setup/manifest.json"))
        .and_then(|m| m.modified())
        .expect("manifest");
    assert_eq!(manifest, again, "setup ran again");
    let logs = data.join("runs/1/logs");
    let resumed = (2..=3).any(|a| {
        std::fs::read_to_string(logs.join(format!("ADJUD-PHASE1.A.{a}.log"))).is_ok_and(|t| {
            t.contains("; resumed: setup done by an earlier attempt, ")
                && !t.contains("; resumed: setup done by an earlier attempt, 0 claims")
        })
    });
    assert!(resumed, "phase 1 of stream A resumed from its checkpoints");
    let serial = tmp.path().join("serial");
    serial_run(&input.join("A"), &serial);
    for f in ["adjudicated.csv", "accumulators.csv", "exceptions.csv"] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(data.join("runs/1/work/ADJUD-PHASE2.A/out").join(f)).expect("cycle");
        assert!(a == b, "{f} differs after the kill and resume");
    }
}
