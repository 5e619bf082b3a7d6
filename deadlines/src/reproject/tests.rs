//! The re-projection on a small two-stream, two-night cycle whose adjudication jobs are
//! the real built-ins: measured stages replace the declared growth of the measured stream
//! only, the verdict follows the margins, and the mitigations are re-projected.

use warden_core::diagnostics::render_text;
use warden_core::workflow::{ImpactRules, Workflow, compile_str};

use super::*;
use crate::tests::tuesday;

/// `deadline`: when the filing is due (before the new volume, A and B finish at 02:30).
fn workflow(mode: &str, deadline: &str) -> Workflow {
    let text = format!(
        r#"
cycle: t
timezone: America/New_York
schedule: {{ cron: "0 22 * * 1-5" }}
mode: {mode}
roles:
  - {{ id: on-call }}
streams:
  - {{ id: A, volume: 1000 }}
  - {{ id: B, volume: 1000 }}
days:
  - {{ id: n1, window: {{ opens: "20:00", closes: "06:00" }} }}
  - {{ id: n2, window: {{ opens: "20:00", closes: "06:00" }}, start: when_ready }}
defaults: {{ builtin: sleep, elasticity: 1.0 }}
jobs:
  - {{ id: EXTRACT, day: n1, streams: all, estimate: 30m }}
  - {{ id: ADJ1, day: n1, streams: all, after: [EXTRACT], builtin: adjudicate-phase1, estimate: 120m }}
  - {{ id: ADJ2, day: n1, streams: all, after: [ADJ1], builtin: adjudicate-phase2, estimate: 60m }}
  - {{ id: REPORT, day: n2, streams: all, after: [ADJ2], estimate: 120m }}
  - {{ id: FILE, day: n2, after: [REPORT], estimate: 60m, elasticity: 0 }}
deadlines:
  - {{ id: filing, at: "{deadline}", covers: [FILE], kind: regulatory }}
"#
    );
    let (sources, c) = compile_str("t.yaml", &text);
    assert!(!c.has_errors(), "{}", render_text(&sources, &c.diagnostics));
    c.workflow.expect("compiles")
}

/// The engine measured +24 % volume taking `growth` times as long in every stage.
fn measured(growth: f64) -> MeasuredStages {
    let before = [10.0, 60.0, 5.0, 20.0, 5.0];
    MeasuredStages {
        stream: "A".into(),
        before,
        after: before.map(|s| s * growth),
        volume_ratio: 1.24,
        elasticity: 1.0,
    }
}

fn case(w: &Workflow, added: u64, m: Option<MeasuredStages>) -> ImpactCase<'_> {
    ImpactCase {
        workflow: w,
        date: tuesday(),
        mode: None,
        added: vec![("A".into(), added)],
        measured: m,
        exception_rate: Some(0.02),
        checkpointing: Checkpointing {
            every: 50,
            partitions: 6,
        },
        samples: 200,
        seed: 7,
    }
}

fn job<'a>(r: &'a Reprojection, id: &str) -> Option<&'a JobMove> {
    r.moved.iter().find(|m| m.job == id)
}

#[test]
fn measured_stages_replace_the_declared_growth_of_the_measured_stream_only() {
    let w = workflow("pipelined", "n1 window-closes");
    let r = reproject(&case(&w, 240, Some(measured(1.5))), &ImpactRules::default()).expect("plans");
    let adj1 = job(&r, "ADJ1.A").expect("ADJ1.A moved");
    assert_eq!(adj1.source, DurationSource::Measured);
    assert!((adj1.duration_before_minutes - 120.0).abs() < 1e-9);
    assert!(
        (adj1.duration_after_minutes - 180.0).abs() < 0.01,
        "120 min × 1.5 measured: {}",
        adj1.duration_after_minutes
    );
    let extract = job(&r, "EXTRACT.A").expect("EXTRACT.A moved");
    assert_eq!(extract.source, DurationSource::Declared);
    assert!((extract.duration_after_minutes - 30.0 * 1.24).abs() < 0.01);
    assert!(job(&r, "ADJ1.B").is_none(), "stream B is untouched");
    let d = r
        .disagreements
        .iter()
        .find(|d| d.job == "ADJ1.A")
        .expect("ADJ1.A compared");
    assert!((d.declared_growth - 1.24).abs() < 1e-9);
    assert!((d.measured_growth - 1.5).abs() < 1e-9);
    assert!((d.difference - (1.5 / 1.24 - 1.0)).abs() < 1e-9);
    assert_eq!(d.stages, ["setup", "pass 1"]);
}

#[test]
fn a_plan_ratio_unlike_the_directories_moves_the_factor_by_the_elasticity() {
    let w = workflow("pipelined", "n1 window-closes");
    // The directories held +24 %, the plan adds +48 %: (1.48 / 1.24)^1 more.
    let r = reproject(&case(&w, 480, Some(measured(1.5))), &ImpactRules::default()).expect("plans");
    let adj2 = job(&r, "ADJ2.A").expect("moved");
    let want = 60.0 * 1.5 * (1.48 / 1.24);
    assert!(
        (adj2.duration_after_minutes - want).abs() < 0.01,
        "{adj2:?}"
    );
}

#[test]
fn a_tight_regulatory_deadline_fails_and_a_roomy_one_passes() {
    // Before: the chain is 30 + 120 + 60 + 120 + 60 = 390 min from 20:00, so 02:30, with
    // 30 minutes to spare before 03:00; after, A's chain alone grows by 105 minutes.
    let tight = workflow("pipelined", "n1 window-closes -3h");
    let r = reproject(
        &case(&tight, 240, Some(measured(1.5))),
        &ImpactRules::default(),
    )
    .expect("plans");
    assert_eq!(r.judgement.overall, Verdict::Fail, "{:?}", r.judgement);
    assert!(r.after.deadlines[0].margin_minutes < r.before.deadlines[0].margin_minutes);
    assert!(r.after.critical_chain.iter().any(|j| j == "ADJ1.A"));

    let roomy = workflow("pipelined", "n1 window-closes");
    let w = roomy;
    let mut c = case(&w, 10, Some(measured(1.0)));
    c.exception_rate = Some(0.02);
    let r = reproject(&c, &ImpactRules::default()).expect("plans");
    assert_eq!(r.judgement.overall, Verdict::Pass, "{:?}", r.judgement);
}

#[test]
fn mitigations_are_reprojected_and_say_whether_they_restore_the_margin() {
    let w = workflow("serial", "n1 window-closes -3h");
    let r = reproject(&case(&w, 240, Some(measured(1.5))), &ImpactRules::default()).expect("plans");
    assert_ne!(r.judgement.overall, Verdict::Pass);
    let by = |name: &str| {
        r.mitigations
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} in {:?}", r.mitigations))
    };
    let pipelined = by("pipelined mode");
    assert!(pipelined.applies);
    let p = pipelined.after.as_ref().expect("projected");
    assert!(p.deadlines[0].reading.p50_finish <= r.after.deadlines[0].reading.p50_finish);
    let split = by("2× partitions");
    assert!(split.applies);
    let s = split.after.as_ref().expect("projected");
    assert!(
        s.deadlines[0].reading.p50_finish < r.after.deadlines[0].reading.p50_finish,
        "splitting pass 1 shortens the chain"
    );
    let failure = by("checkpoint every 50 claims, one pass-1 failure");
    assert!(
        r.mitigations
            .iter()
            .any(|m| m.name == "checkpoint every 5 claims, one pass-1 failure")
    );
    let f = failure.after.as_ref().expect("projected");
    assert!(f.deadlines[0].reading.p50_finish > r.after.deadlines[0].reading.p50_finish);
    for m in &r.mitigations {
        assert_eq!(m.restores, m.verdict == Some(Verdict::Pass), "{m:?}");
    }
}

#[test]
fn without_a_measurement_the_declared_growth_is_projected_and_nothing_is_split() {
    let w = workflow("pipelined", "n1 window-closes");
    let r = reproject(&case(&w, 240, None), &ImpactRules::default()).expect("plans");
    let adj1 = job(&r, "ADJ1.A").expect("moved");
    assert_eq!(adj1.source, DurationSource::Declared);
    assert!((adj1.duration_after_minutes - 120.0 * 1.24).abs() < 0.01);
    assert!(r.disagreements.is_empty());
    assert!(
        r.mitigations
            .iter()
            .filter(|m| m.name != "pipelined mode")
            .all(|m| !m.applies)
    );
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let w = workflow("serial", "n1 window-closes -3h");
    let a = reproject(&case(&w, 240, Some(measured(1.3))), &ImpactRules::default()).expect("a");
    let b = reproject(&case(&w, 240, Some(measured(1.3))), &ImpactRules::default()).expect("b");
    assert_eq!(a, b);
}
