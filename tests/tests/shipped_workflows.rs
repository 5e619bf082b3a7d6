//! The shipped workflows compile cleanly and reproduce the case studies' arithmetic.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use warden_core::diagnostics::{SourceMap, render_text};
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::workflow::{FsLoader, Mode, Workflow, compile};
use warden_deadlines::{Analysis, analyse};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load(name: &str) -> Workflow {
    let shown = format!("workflows/{name}");
    let text = std::fs::read_to_string(repo_root().join(&shown)).expect("shipped workflow exists");
    let mut sources = SourceMap::new();
    let file = sources.add(shown, text);
    let compilation = compile(&mut sources, file, &FsLoader::rooted(repo_root()));
    assert!(
        compilation.diagnostics.is_empty(),
        "{name} should compile without errors or warnings:\n{}",
        render_text(&sources, &compilation.diagnostics)
    );
    compilation.workflow.expect("compiled")
}

fn date(s: &str) -> DateSpec {
    s.parse().expect("valid date")
}

fn ids(a: &Analysis, jobs: &[usize]) -> Vec<String> {
    jobs.iter().map(|j| a.plan.jobs[*j].id.clone()).collect()
}

#[test]
fn nightly_redesign_critical_path_is_131_minutes() {
    let w = load("nightly.yaml");
    let a = analyse(&w, date("2025-03-04"), &PlanOptions::default()).expect("plans");
    let chain = a.critical.as_ref().expect("a critical path");
    assert_eq!(chain.length(), TimeDelta::minutes(131));
    assert_eq!(
        ids(&a, &chain.jobs),
        [
            "CLMSETUP",
            "CLMADJUD-P04",
            "CLMDEFMERGE",
            "CLMADJUD-PASS2",
            "CLMRECONCILE",
            "CLMPROVPAY",
            "CLMGLPOST",
            "CLMREGEXT"
        ]
    );
    // 5-hour window, 131 minutes of work: 169 minutes of margin ("nearly 3 hours").
    let margin = &a.margins[0];
    assert_eq!(margin.margin, TimeDelta::minutes(300 - 131));
    assert!(!margin.is_missed());
}

#[test]
fn nightly_serial_overruns_the_window_by_45_minutes() {
    let w = load("nightly-serial.yaml");
    let a = analyse(&w, date("2025-03-04"), &PlanOptions::default()).expect("plans");
    let chain = a.critical.as_ref().expect("a critical path");
    assert_eq!(chain.length(), TimeDelta::minutes(345));
    let margin = &a.margins[0];
    assert_eq!(margin.margin, TimeDelta::minutes(-45));
    assert!(margin.is_missed());
}

#[test]
fn nightly_volume_growth_stretches_elastic_jobs() {
    // Open enrollment: 2.4M claims instead of 1.8M. Partitions and pass 2 are fully elastic.
    let w = load("nightly.yaml");
    let options = PlanOptions {
        mode: None,
        volumes: vec![(
            "claims".into(),
            warden_core::plan::VolumeChange::Set(2_400_000),
        )],
    };
    let a = analyse(&w, date("2025-03-04"), &options).expect("plans");
    let p04 = a.plan.job_index("CLMADJUD-P04").expect("exists");
    assert_eq!(
        a.plan.jobs[p04].duration,
        TimeDelta::seconds(38 * 60 * 4 / 3)
    );
    let chain = a.critical.as_ref().expect("a critical path");
    assert!(chain.length() > TimeDelta::minutes(131));
}

#[test]
fn nightly_does_not_run_on_weekends_or_holidays() {
    let w = load("nightly.yaml");
    let saturday = analyse(&w, date("2025-03-01"), &PlanOptions::default()).unwrap_err();
    assert!(
        saturday.to_string().contains("does not run on 2025-03-01"),
        "{saturday}"
    );
    let thanksgiving = analyse(&w, date("2025-11-27"), &PlanOptions::default()).unwrap_err();
    assert!(
        thanksgiving.to_string().contains("Thanksgiving"),
        "{thanksgiving}"
    );
}

#[test]
fn month_end_has_the_case_study_job_counts() {
    let w = load("month-end.yaml");
    assert_eq!(w.jobs_per_day(), vec![312, 247, 198]);
}

#[test]
fn month_end_february_2025_runs_feb_28_to_mar_2() {
    let w = load("month-end.yaml");
    let a = analyse(&w, date("2025-02"), &PlanOptions::default()).expect("plans");
    let nights: Vec<String> = a.plan.nights.iter().map(|n| n.date.to_string()).collect();
    assert_eq!(nights, ["2025-02-28", "2025-03-01", "2025-03-02"]);
    let cms = a
        .margins
        .iter()
        .find(|m| a.plan.deadlines[m.deadline].id == "cms-filing")
        .expect("a CMS filing deadline");
    // 23:59 on March 2nd, New York time.
    assert_eq!(
        a.plan.deadlines[cms.deadline]
            .at
            .with_timezone(&chrono_tz::America::New_York)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        "2025-03-02 23:59"
    );
    assert!(!cms.is_missed());
}

#[test]
fn month_end_day1_critical_chain_is_stream_a() {
    let w = load("month-end.yaml");
    let a = analyse(&w, date("2025-02"), &PlanOptions::default()).expect("plans");
    let verify = a.plan.job_index("CLAIM-VERFY").expect("exists");
    let chain = warden_deadlines::critical_chain(&a.plan, &a.schedule, &[verify]).expect("chain");
    let names = ids(&a, &chain.jobs);
    assert_eq!(
        names,
        [
            "CLAIM-EXTRACT.A",
            "CLAIM-SORT.A",
            "ADJUD-PHASE1.A",
            "ADJUD-PHASE2.A",
            "REPRICE-01.A",
            "MERGE-ADJ",
            "CLAIM-POST",
            "CLAIM-VERFY"
        ]
    );
    assert_eq!(chain.length(), TimeDelta::minutes(505));
}

#[test]
fn month_end_pipelining_beats_serial() {
    let w = load("month-end.yaml");
    let run = |mode| {
        let options = PlanOptions {
            mode: Some(mode),
            volumes: Vec::new(),
        };
        let a = analyse(&w, date("2025-02"), &options).expect("plans");
        a.schedule.finish - a.plan.start
    };
    let serial = run(Mode::Serial);
    let pipelined = run(Mode::Pipelined);
    // The serial cycle is the three days' critical paths end to end: 8.4 h + 7.3 h + 6.8 h.
    assert_eq!(serial, TimeDelta::minutes(505 + 440 + 408));
    assert!(
        pipelined < serial - TimeDelta::hours(4),
        "pipelined {pipelined} vs serial {serial}"
    );
}

/// The names of the jobs `id` waits for, as written (no serial barrier).
fn deps(w: &Workflow, id: &str) -> Vec<String> {
    let job = w.job_index(id).expect("job exists");
    w.jobs[job]
        .after
        .iter()
        .map(|d| w.jobs[*d].id.clone())
        .collect()
}

#[test]
fn month_end_pay_extract_waits_only_for_its_own_streams_repricing() {
    // PAY-EXTRACT (streams A-E) is `after: [REPRICE-01?, REPRICE-MCR?, RX-ADJUD?]`; RX-ADJUD
    // is a single job bound to stream E, so only stream E's payment extract waits for it.
    let w = load("month-end.yaml");
    assert_eq!(deps(&w, "PAY-EXTRACT.A"), ["REPRICE-01.A"]);
    assert_eq!(deps(&w, "PAY-EXTRACT.B"), ["REPRICE-MCR.B"]);
    assert_eq!(deps(&w, "PAY-EXTRACT.D"), ["REPRICE-01.D"]);
    assert_eq!(deps(&w, "PAY-EXTRACT.E"), ["RX-ADJUD.E"]);
    // Plain `RX-ADJUD` is still a fan-in: the cross-stream merge waits for it.
    assert!(deps(&w, "MERGE-ADJ").contains(&"RX-ADJUD.E".to_string()));
}

/// In serial mode each day starts when the whole previous day is done, so the part of the
/// cycle's critical chain that runs on `day` is that day's own critical chain: its job ids
/// and the day's elapsed minutes (from the day's first start on the chain to its finish).
fn serial_day_chain(w: &Workflow, day: usize) -> (Vec<String>, i64) {
    let options = PlanOptions {
        mode: Some(Mode::Serial),
        volumes: Vec::new(),
    };
    let a = analyse(w, date("2025-02"), &options).expect("plans");
    let last = (0..a.plan.jobs.len())
        .filter(|j| a.plan.jobs[*j].day <= day)
        .max_by_key(|j| a.schedule.jobs[*j].finish)
        .expect("jobs");
    let chain = warden_deadlines::critical_chain(&a.plan, &a.schedule, &[last]).expect("chain");
    let on_day: Vec<usize> = chain
        .jobs
        .iter()
        .copied()
        .filter(|j| a.plan.jobs[*j].day == day)
        .collect();
    let first = *on_day.first().expect("the chain runs through the day");
    let elapsed = a.schedule.jobs[last].finish - a.schedule.jobs[first].start;
    (ids(&a, &on_day), elapsed.num_minutes())
}

#[test]
fn month_end_day2_critical_chain_is_the_payment_chain() {
    let w = load("month-end.yaml");
    let (chain, minutes) = serial_day_chain(&w, 1);
    assert_eq!(
        chain,
        [
            "PAY-EXTRACT.A",
            "PAY-CALC.A",
            "PAY-DEDUCT.A",
            "PAY-EFT.A",
            "PAY-REMIT.A",
            "PAY-POST",
            "PAY-RECON",
            "RESERVE",
            "REINS",
            "FIN-CLOSE"
        ]
    );
    // 45 + 75 + 35 + 30 + 55 + 40 + 20 + 65 + 40 + 35: the case study's 7.3 hours.
    assert_eq!(minutes, 440);
}

#[test]
fn month_end_day3_critical_chain_runs_through_the_mlr_not_the_audit() {
    let w = load("month-end.yaml");
    let (chain, minutes) = serial_day_chain(&w, 2);
    assert_eq!(
        chain,
        [
            "REG-EXTRACT.A",
            "MLR-INPUT.A",
            "MLR-ASSEMBLE",
            "MLR-VALIDATE",
            "MLR-CALC",
            "RECON-FINAL",
            "ARCHIVE"
        ]
    );
    // 43 + 60 + 50 + 45 + 85 + 35 + 90: the case study's 6.8 hours.
    assert_eq!(minutes, 408);
    // "CMS files, state reports, and audit extracts are independent": nothing the MLR
    // calculation waits for, directly or not, is an audit, CMS or state-report job.
    let mlr = w.job_index("MLR-CALC").expect("MLR-CALC");
    let mut seen = vec![false; w.jobs.len()];
    let mut stack = vec![mlr];
    while let Some(j) = stack.pop() {
        for &d in &w.jobs[j].after {
            if !seen[d] {
                seen[d] = true;
                stack.push(d);
            }
        }
    }
    let upstream: Vec<&str> = (0..w.jobs.len())
        .filter(|j| seen[*j])
        .map(|j| w.jobs[j].template.as_str())
        .collect();
    for independent in [
        "AUDIT-EXT",
        "AUDIT-LOAD",
        "AUDIT-SEAL",
        "CMS-835",
        "CMS-837",
        "STATE-RPT",
    ] {
        assert!(
            !upstream.contains(&independent),
            "MLR-CALC waits for {independent}"
        );
    }
}

#[test]
fn month_end_moves_a_weekend_start_to_the_business_day_before() {
    // "the 28th, 29th and 30th of each month (adjusted for short months and weekends)":
    // 2026-02-28 is a Saturday, so the cycle starts on Friday the 27th.
    let w = load("month-end.yaml");
    let a = analyse(&w, date("2026-02"), &PlanOptions::default()).expect("plans");
    let nights: Vec<String> = a.plan.nights.iter().map(|n| n.date.to_string()).collect();
    assert_eq!(nights, ["2026-02-27", "2026-02-28", "2026-03-01"]);
}

#[test]
fn month_end_payment_file_jobs_fail_rather_than_rerun_when_lost() {
    let w = load("month-end.yaml");
    for job in &w.jobs {
        let payment_file =
            ["PAY-EFT", "EFT-TRANSMIT", "CHECK-PRINT"].contains(&job.template.as_str());
        let expected = if payment_file {
            warden_core::workflow::OnLost::Fail
        } else {
            warden_core::workflow::OnLost::Rerun
        };
        assert_eq!(job.on_lost, expected, "{}", job.id);
    }
}

#[test]
fn plan_says_where_its_mode_comes_from_and_check_gates_missed_deadlines() {
    let serial = warden_tests::workflow("nightly-serial.yaml");
    let (code, out, err) = warden_tests::warden(&["plan", &serial, "--date", "2025-03-04"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("pipelined mode (the default: the file sets no `mode`; one day, so serial and pipelined plan alike)"),
        "{out}"
    );
    assert!(err.contains("`warden plan --check` exits 1"), "{err}");

    let (code, _, err) =
        warden_tests::warden(&["plan", &serial, "--date", "2025-03-04", "--check"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err.trim(),
        "missed: Online startup (window close) `online-startup` (window) due Wed 03-05 04:00 EST, \
         planned finish Wed 03-05 04:45 EST, 45m late"
    );
    let (code, _, err) = warden_tests::warden(&[
        "plan",
        &serial,
        "--date",
        "2025-03-04",
        "--compare-modes",
        "--check",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("missed (pipelined): ") && err.contains("missed (serial): "),
        "{err}"
    );

    let month_end = warden_tests::workflow("month-end.yaml");
    let (code, out, err) =
        warden_tests::warden(&["plan", &month_end, "--date", "2025-02", "--check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pipelined mode (set in the file)"), "{out}");
    let pay_extract = out
        .lines()
        .find(|l| l.contains("PAY-EXTRACT.D "))
        .expect("Day 2's PAY-EXTRACT.D is planned");
    assert!(
        pay_extract.contains("after REPRICE-01.D; before its window (d2 starts when_ready)"),
        "{pay_extract}"
    );
}

#[test]
fn a_window_in_a_daylight_saving_gap_is_a_warning_in_validate_and_plan() {
    let file = warden_tests::workflow("invalid/084-warnings-only-dst-gap.yaml");
    let (code, out, err) = warden_tests::warden(&["validate", &file]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("does not exist in America/New_York"), "{out}");
    let (code, out, err) = warden_tests::warden(&["plan", &file, "--date", "2025-03-09"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(
            "day `night`'s window opens at 02:30 on 2025-03-09, a time that does not exist in \
             America/New_York (clocks spring forward); it opens at 03:30 instead"
        ),
        "{err}"
    );
    let (_, _, err) = warden_tests::warden(&["plan", &file, "--date", "2025-03-10"]);
    assert!(!err.contains("does not exist"), "{err}");
}
