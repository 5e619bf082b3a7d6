//! The `intake` built-in inside a cycle (issue #15): a partner's file, taken in and routed by
//! the cycle's first job, is what its adjudication reads: the generated claims (as the
//! partner's mapping normalises them), and the cycle's reconciled output equals
//! `warden adjudicate --serial` of them, byte for byte; every routed claim has its decision in the run's routing audit; and a
//! partner whose claims take the stream above its approved volume plus the trigger is
//! stopped before anything is adjudicated, as the batch impact gate demands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn warden(dir: &Path, args: &[&str], input: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.current_dir(dir)
        .args(args)
        .env("WARDEN_PLANS", root().join("workflows/plans"))
        .env("WARDEN_PARTNERS", root().join("workflows/partners"))
        .env_remove("WARDEN_DB")
        .env_remove("WARDEN_CLAIMS_INPUT")
        .env_remove("WARDEN_MONITOR_EVERY");
    if let Some(i) = input {
        c.env("WARDEN_CLAIMS_INPUT", i);
    }
    c.output().expect("warden runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `warden run FILE` for 2025-03-04 on an accelerated clock, with `input` as its claims.
fn run_night(dir: &Path, file: &str, input: Option<&Path>) -> Output {
    warden(
        dir,
        &[
            "run",
            file,
            "--date",
            "2025-03-04",
            "--speed",
            "600",
            "--db",
            "w.db",
            "--data",
            "data",
        ],
        input,
    )
}

/// A nightly of one stream whose claims come from ACME PBM's files, routed by the shipped
/// rule set; `volume` is the stream's approved volume.
fn workflow(volume: u64, routing: &Path) -> String {
    format!(
        r#"
cycle: partner-night
timezone: America/New_York
schedule: {{ cron: "0 23 * * 1-5" }}
streams:
  - {{ id: claims, volume: {volume} }}
roles:
  - {{ id: on-call }}
  - {{ id: compliance }}
days:
  - {{ id: night, window: {{ opens: "23:00", closes: "04:00" }} }}
jobs:
  - id: ACME-INTAKE
    builtin: intake
    intake:
      partner: acme-pbm
      files: ["inbound/*.csv"]
      routing: {routing}
    estimate: 2m
  - {{ id: SETUP, builtin: adjudicate-setup, after: [ACME-INTAKE], estimate: 5m }}
  - {{ id: ADJUD, builtin: adjudicate-partition, partitions: 3, after: [SETUP], estimate: 35m }}
  - {{ id: MERGE, builtin: deferred-merge, after: [ADJUD], estimate: 5m }}
  - {{ id: PASS2, builtin: adjudicate-pass2, after: [MERGE], estimate: 22m }}
  - {{ id: RECONCILE, builtin: reconcile, after: [PASS2], estimate: 3m }}
"#,
        routing = s(routing)
    )
}

/// Generates 3,000 claims of 1,200 members, with ACME PBM's file of the same claims in
/// `inbound/`, and a claims input of the members alone (the partner brings the claims).
fn population(dir: &Path) -> PathBuf {
    let pop = dir.join("pop");
    let o = warden(
        dir,
        &[
            "claims",
            "generate",
            "--members",
            "1200",
            "--claims",
            "3000",
            "--seed",
            "15",
            "--out",
            &s(&pop),
            "--plans",
            &s(&root().join("workflows/plans")),
            "--partner",
            "acme-pbm",
            "--partners",
            &s(&root().join("workflows/partners")),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::create_dir_all(dir.join("inbound")).expect("inbound");
    std::fs::copy(pop.join("acme-pbm.csv"), dir.join("inbound/acme-pbm.csv")).expect("copy");
    let feed = dir.join("feed");
    std::fs::create_dir_all(&feed).expect("feed");
    std::fs::copy(pop.join("members.csv"), feed.join("members.csv")).expect("members");
    pop
}

#[test]
fn a_partners_file_taken_in_by_the_cycle_is_adjudicated_as_a_serial_run_of_its_claims() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let pop = population(dir);
    let rules = root().join("workflows/routing/claims.yaml");
    std::fs::write(dir.join("night.yaml"), workflow(3000, &rules)).expect("write");
    let feed = dir.join("feed");
    let run = run_night(dir, "night.yaml", Some(&feed));
    let out = text(&run);
    assert!(run.status.success(), "{out}");

    // The intake's log: the file's counts, the routing, and where the claims went.
    let work = dir.join("data/runs/1/work");
    let log = std::fs::read_to_string(dir.join("data/runs/1/logs/ACME-INTAKE.1.log"))
        .expect("the intake's log");
    assert!(
        log.contains("acme-pbm.csv: accepted: 3000 of 3000 claims (0 rejected)"),
        "{log}"
    );
    assert!(log.contains("routed 3000 (E 3000)"), "{log}");
    assert!(
        log.contains("into the cycle's streams: claims 3000 (3000 claims)"),
        "{log}"
    );
    for f in [
        "claims.csv",
        "rejects.csv",
        "summary.json",
        "routes.csv",
        "volumes.json",
        "ack/acme-pbm.csv.ack.json",
        "streams/claims/claims.csv",
    ] {
        assert!(work.join("ACME-INTAKE").join(f).is_file(), "no {f}");
    }
    // Setup read the partner's claims (with the members of the run's input).
    let setup_log =
        std::fs::read_to_string(dir.join("data/runs/1/logs/SETUP.1.log")).expect("setup log");
    assert!(
        setup_log.contains("setup: 3000 claim rows, 3000 accepted, 0 rejected"),
        "{setup_log}"
    );

    // What the intake took in is the generated claims, but for the stream its route gave
    // (E: the PBM carve-out) and the codes the mapping upper-cases (the generator writes
    // some lower-case ones as exceptions).
    let taken = work.join("ACME-INTAKE/streams/claims/claims.csv");
    let without_stream = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("claims")
            .lines()
            .map(|l| {
                let mut f: Vec<String> = l.split(',').map(str::to_uppercase).collect();
                f.remove(5);
                f.join(",")
            })
            .collect()
    };
    assert_eq!(
        without_stream(&pop.join("claims.csv")),
        without_stream(&taken)
    );

    // The reconciled output equals a serial run of those claims, byte for byte.
    let taken_dir = dir.join("taken");
    std::fs::create_dir_all(&taken_dir).expect("dir");
    std::fs::copy(&taken, taken_dir.join("claims.csv")).expect("claims");
    std::fs::copy(pop.join("members.csv"), taken_dir.join("members.csv")).expect("members");
    let serial = dir.join("serial");
    let o = warden(
        dir,
        &[
            "adjudicate",
            "--input",
            &s(&taken_dir),
            "--out",
            &s(&serial),
            "--serial",
            "--plans",
            &s(&root().join("workflows/plans")),
        ],
        None,
    );
    assert!(o.status.success(), "{}", text(&o));
    let exceptions = std::fs::read_to_string(serial.join("exceptions.csv")).expect("exceptions");
    assert!(
        exceptions.lines().count() > 1,
        "the population has exceptions"
    );
    for f in ["adjudicated.csv", "accumulators.csv", "exceptions.csv"] {
        let a = std::fs::read(serial.join(f)).expect("serial");
        let b = std::fs::read(work.join("RECONCILE/out").join(f)).expect("cycle");
        assert!(a == b, "{f} differs between the cycle and the serial run");
    }

    // Every routed claim's decision is in the run's store: the first claim's, by id.
    let first = std::fs::read_to_string(pop.join("claims.csv"))
        .expect("claims")
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').next().map(str::to_string))
        .expect("a claim");
    let audit = warden(dir, &["route", "audit", &first, "--db", "w.db"], None);
    let audit_text = text(&audit);
    assert!(audit.status.success(), "{audit_text}");
    assert!(audit_text.contains("acme-pbm-carve-out"), "{audit_text}");
    assert!(audit_text.contains("job ACME-INTAKE"), "{audit_text}");
}

#[test]
fn a_partner_above_the_approved_volume_is_stopped_before_adjudication() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    population(dir);
    let rules = root().join("workflows/routing/claims.yaml");
    // Approved for 2,000: the partner's 3,000 are 50% above (the trigger is 10%).
    std::fs::write(dir.join("night.yaml"), workflow(2000, &rules)).expect("write");
    let run = run_night(dir, "night.yaml", Some(&dir.join("feed")));
    let out = text(&run);
    assert!(!run.status.success(), "{out}");
    let setup_log =
        std::fs::read_to_string(dir.join("data/runs/1/logs/SETUP.1.log")).expect("setup log");
    assert!(
        setup_log.contains("3,000 claims in the input for stream claims, above its approved 2,000"),
        "{setup_log}"
    );
    assert!(setup_log.contains("warden impact run"), "{setup_log}");
    // Nothing was adjudicated.
    assert!(
        !dir.join("data/runs/1/work/ADJUD-P01/results.bin").exists()
            && !dir
                .join("data/runs/1/work/RECONCILE/out/adjudicated.csv")
                .exists()
    );
}

#[test]
fn missing_files_and_a_refused_rule_set_fail_the_intake_with_why() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    // No inbound/ directory: the partner's files have not arrived.
    let rules = root().join("workflows/routing/claims.yaml");
    std::fs::write(dir.join("night.yaml"), workflow(3000, &rules)).expect("write");
    let run = run_night(dir, "night.yaml", None);
    assert!(!run.status.success(), "{}", text(&run));
    let log = std::fs::read_to_string(dir.join("data/runs/1/logs/ACME-INTAKE.1.log"))
        .expect("the intake's log");
    assert!(
        log.contains("error: no file matches `inbound/*.csv`"),
        "{log}"
    );

    // A rule set that does not load is refused, and nothing is taken in.
    let bad = dir.join("bad-rules.yaml");
    std::fs::write(&bad, "platforms: [core]\nrules:\n  - id: x\n    when: \"claim.nope ==\"\n    route: {stream: A, platform: core}\n").expect("write");
    std::fs::write(
        dir.join("night2.yaml"),
        workflow(3000, &bad).replace("partner-night", "partner-night-2"),
    )
    .expect("write");
    std::fs::create_dir_all(dir.join("inbound")).expect("inbound");
    std::fs::write(dir.join("inbound/a.csv"), "x\n").expect("write");
    let run = run_night(dir, "night2.yaml", None);
    assert!(!run.status.success(), "{}", text(&run));
    let log = std::fs::read_to_string(dir.join("data/runs/2/logs/ACME-INTAKE.1.log"))
        .expect("the intake's log");
    assert!(log.contains("bad-rules.tests.yaml"), "{log}");
    assert!(
        log.contains("the rule set is refused; nothing was taken in"),
        "{log}"
    );
    assert!(!dir.join("data/runs/2/work/ACME-INTAKE/claims.csv").exists());
}
