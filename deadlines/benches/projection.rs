//! Deadline projection speed (issue #4 targets): projecting the month-end cycle (757 jobs)
//! from a live state in under 1 ms; a synthetic 100,000-job cycle in under 200 ms; a
//! 1,000-sample Monte Carlo of the month-end in under 1 s on one core.
//! `cargo bench -p warden-deadlines --bench projection`.
//!
//! The live state is synthesised: the cycle run from its start to six hours in with every
//! job taking 1.2× its estimate, so there are finished, running and waiting jobs.

use std::hint::black_box;
use std::path::PathBuf;

use chrono::TimeDelta;
use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, Plan, PlanOptions};
use warden_core::sched::{Machine, Timeline, simulate_until};
use warden_core::workflow::synthetic::synthetic;
use warden_core::workflow::{FsLoader, compile, compile_str};
use warden_deadlines::{Estimates, LiveRun, breach_risk, project};

fn month_end() -> Plan {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let text = std::fs::read_to_string(root.join("workflows/month-end.yaml")).expect("shipped");
    let mut sources = SourceMap::new();
    let file = sources.add("workflows/month-end.yaml", text.as_str());
    let compiled = compile(&mut sources, file, &FsLoader::rooted(root));
    let date: DateSpec = "2025-02".parse().expect("date");
    compiled
        .workflow
        .expect("compiles")
        .instantiate(date, &PlanOptions::default())
        .expect("plans")
}

fn mid_run(plan: &Plan) -> (Machine, Timeline, chrono::DateTime<chrono::Utc>) {
    let now = plan.start + TimeDelta::hours(6);
    let (m, t) = simulate_until(plan, now, |j| plan.jobs[j].duration * 6 / 5);
    (m, t, now)
}

fn bench(c: &mut Criterion) {
    let plan = month_end();
    assert_eq!(plan.jobs.len(), 757);
    let estimates = Estimates::from_plan(&plan);
    let (machine, timeline, now) = mid_run(&plan);
    let live = LiveRun {
        machine: &machine,
        timeline: &timeline,
        now,
        progress: &[],
    };
    assert!(machine.statuses().iter().any(|s| s.is_done()));
    c.bench_function("month-end: project from a live state", |b| {
        b.iter(|| black_box(project(&plan, black_box(&live), &estimates)))
    });
    let mut group = c.benchmark_group("month-end Monte Carlo");
    group.sample_size(10);
    group.bench_function("1,000 samples", |b| {
        b.iter(|| black_box(breach_risk(&plan, black_box(&live), &estimates, 1000, 7)))
    });
    group.finish();

    let text = synthetic(100_000);
    let (_, compiled) = compile_str("synthetic.yaml", &text);
    let w = compiled.workflow.expect("synthetic compiles");
    let big = w
        .instantiate("2025-02".parse().expect("date"), &PlanOptions::default())
        .expect("plans");
    assert!(big.jobs.len() >= 99_000, "{} jobs", big.jobs.len());
    let big_estimates = Estimates::from_plan(&big);
    let (m, t, now) = mid_run(&big);
    let big_live = LiveRun {
        machine: &m,
        timeline: &t,
        now,
        progress: &[],
    };
    let mut group = c.benchmark_group("synthetic 100,000 jobs");
    group.sample_size(10);
    group.bench_function("project from a live state", |b| {
        b.iter(|| black_box(project(&big, black_box(&big_live), &big_estimates)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
