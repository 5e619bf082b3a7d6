//! What `warden plan` computes, end to end: compile the month-end cycle (with its calendar
//! file), plan it for February 2025 and analyse it (critical path, deadline margins, slack
//! of every job). The issue #2 target for the month-end is under 5 ms.
//! `cargo bench -p warden-deadlines --bench plan_command`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::workflow::{FsLoader, compile};
use warden_deadlines::analyse;

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let text = std::fs::read_to_string(root.join("workflows/month-end.yaml")).expect("shipped");
    let date: DateSpec = "2025-02".parse().expect("date");
    c.bench_function("month-end: compile + plan + analyse (warden plan)", |b| {
        b.iter(|| {
            let mut sources = SourceMap::new();
            let file = sources.add("workflows/month-end.yaml", text.as_str());
            let compiled = compile(&mut sources, file, &FsLoader::rooted(root.clone()));
            let workflow = compiled.workflow.expect("compiles");
            black_box(analyse(&workflow, date, &PlanOptions::default()).expect("plans"))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
