//! Compile and plan speed: the shipped month-end cycle (757 jobs) and a synthetic
//! 10,000-job workflow of the same shape. Targets (issue #2): month-end < 5 ms, 10,000 jobs
//! < 100 ms, compile and plan together. `cargo bench -p warden-core --bench compile_plan`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::sched::simulate;
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

/// A month-end-shaped workflow of about `jobs` concrete jobs: three nights, five streams,
/// per-stream chains of partitioned templates, cross-stream fan-ins, resources, deadlines.
fn synthetic(jobs: usize) -> String {
    let streams = 5;
    let partitions = 30;
    let per_day = jobs / 3;
    let chain = (per_day.saturating_sub(20)) / (streams * partitions);
    let mut y = String::from(
        "cycle: synthetic\ntimezone: America/New_York\nschedule: { month_end: { start_day: 28, nights: 3 } }\n\
         defaults: { builtin: sleep }\nstreams:\n",
    );
    for s in 0..streams {
        y.push_str(&format!("  - {{ id: S{s}, volume: {}M }}\n", 4 + 3 * s));
    }
    y.push_str("resources:\n  - { id: db-threads, capacity: 40 }\n  - { id: ledger }\nroles:\n  - { id: on-call }\ndays:\n");
    for d in 1..=3 {
        let start = if d == 1 { "window" } else { "when_ready" };
        y.push_str(&format!("  - {{ id: d{d}, window: {{ opens: \"20:00\", closes: \"06:00\" }}, start: {start} }}\n"));
    }
    y.push_str("jobs:\n");
    for d in 1..=3 {
        for k in 0..chain {
            let after = if k > 0 {
                format!("[D{d}-T{}]", k - 1)
            } else if d > 1 {
                format!("[D{}-T{}]", d - 1, chain - 1)
            } else {
                "[]".to_string()
            };
            y.push_str(&format!(
                "  - {{ id: D{d}-T{k}, day: d{d}, streams: all, partitions: {partitions}, after: {after}, \
                 estimate: {}m, elasticity: 1.0, uses: [db-threads] }}\n",
                3 + (k % 7)
            ));
        }
        for x in 0..20 {
            let after = if x == 0 {
                format!("[D{d}-T{}]", chain - 1)
            } else {
                format!("[D{d}-X{}]", x - 1)
            };
            y.push_str(&format!(
                "  - {{ id: D{d}-X{x}, day: d{d}, after: {after}, estimate: 5m, uses: [ledger] }}\n"
            ));
        }
    }
    y.push_str("deadlines:\n");
    for d in 1..=3 {
        y.push_str(&format!(
            "  - {{ id: dl{d}, at: d{d} window-closes, covers: [d{d}], kind: window, \
             escalation: [{{ margin_below: 1h, notify: [on-call] }}] }}\n"
        ));
    }
    y
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
