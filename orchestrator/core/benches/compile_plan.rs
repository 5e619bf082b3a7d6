//! Compile and plan speed: the shipped month-end cycle (757 jobs) and a synthetic
//! 10,000-job workflow of the same shape. Targets (issue #2): month-end < 5 ms, 10,000 jobs
//! < 100 ms, compile and plan together. `cargo bench -p warden-core --bench compile_plan`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::sched::simulate;
use warden_core::workflow::synthetic::synthetic;
use warden_core::workflow::{FsLoader, Workflow, compile, compile_str};

fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn compile_month_end(text: &str) -> Workflow {
    let mut sources = SourceMap::new();
    let file = sources.add("workflows/month-end.yaml", text);
    let c = compile(&mut sources, file, &FsLoader::rooted(repo_root()));
    c.workflow.expect("month-end compiles")
}

fn bench(c: &mut Criterion) {
    let date: DateSpec = "2025-02".parse().expect("date");
    let options = PlanOptions::default();

    let month_end =
        std::fs::read_to_string(repo_root().join("workflows/month-end.yaml")).expect("shipped");
    let w = compile_month_end(&month_end);
    assert_eq!(w.jobs.len(), 757);
    c.bench_function("month-end: compile", |b| {
        b.iter(|| compile_month_end(black_box(&month_end)))
    });
    c.bench_function("month-end: plan (instantiate + simulate)", |b| {
        b.iter(|| simulate(&w.instantiate(date, &options).expect("plans")))
    });
    c.bench_function("month-end: compile + plan", |b| {
        b.iter(|| {
            let w = compile_month_end(black_box(&month_end));
            simulate(&w.instantiate(date, &options).expect("plans"))
        })
    });

    let text = synthetic(10_000);
    let (_, compiled) = compile_str("synthetic.yaml", &text);
    let big = compiled.workflow.expect("synthetic compiles");
    assert!(
        (9_900..=10_100).contains(&big.jobs.len()),
        "{} jobs",
        big.jobs.len()
    );
    let mut group = c.benchmark_group("synthetic 10,000 jobs");
    group.sample_size(20);
    group.bench_function("compile", |b| {
        b.iter(|| compile_str("synthetic.yaml", black_box(&text)))
    });
    group.bench_function("plan (instantiate + simulate)", |b| {
        b.iter(|| simulate(&big.instantiate(date, &options).expect("plans")))
    });
    group.bench_function("compile + plan", |b| {
        b.iter(|| {
            let (_, c) = compile_str("synthetic.yaml", black_box(&text));
            let w = c.workflow.expect("compiles");
            simulate(&w.instantiate(date, &options).expect("plans"))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
