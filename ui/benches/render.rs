//! Cycle-detail page speed (issue #6 target: the month-end cycle's page, ≈757 jobs, renders
//! server-side in under 50 ms). `cargo bench -p warden-ui --bench render`.
//!
//! What is timed is everything the server does for the page after reading the store:
//! projecting the run's rest from its state, building the view (jobs, critical path,
//! deadline cards), drawing the Gantt SVG and rendering the templates. The state is
//! synthesised: the cycle run to six hours in with every job taking 1.2× its estimate.
//! (The store reads before it are measured separately in docs/benchmarks.md.)

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::TimeDelta;
use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::diagnostics::SourceMap;
use warden_core::plan::{DateSpec, Plan, PlanOptions};
use warden_core::sched::simulate_until;
use warden_core::workflow::{FsLoader, compile};
use warden_store::RunRecord;
use warden_ui::gantt::GanttFilter;
use warden_ui::pages::Page;
use warden_ui::snapshot::{RunSnapshot, Stored};
use warden_ui::views::detail_view;

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

fn run_record() -> RunRecord {
    RunRecord {
        id: 1,
        cycle: "month-end".into(),
        business_date: "2025-02".into(),
        workflow_sha256: String::new(),
        mode: "pipelined".into(),
        options: "{}".into(),
        status: "running".into(),
        created_at: chrono::Utc::now(),
    }
}

fn snapshot(plan: &Arc<Plan>) -> RunSnapshot {
    let now = plan.start + TimeDelta::hours(6);
    let (machine, timeline) = simulate_until(plan, now, |j| plan.jobs[j].duration * 6 / 5);
    RunSnapshot::from_state(
        run_record(),
        plan.clone(),
        Stored::default(),
        machine,
        timeline,
        now,
    )
}

fn bench(c: &mut Criterion) {
    let plan = Arc::new(month_end());
    assert_eq!(plan.jobs.len(), 757);
    let templates = warden_ui::assets::templates().expect("templates");
    let filter = GanttFilter::default();
    let html = {
        let s = snapshot(&plan);
        templates
            .render(
                "detail",
                &Page::local("month-end", Some(1), detail_view(&s, &filter)),
            )
            .expect("renders")
    };
    assert!(html.contains("class=\"gantt\"") && html.contains(" critical\""));
    eprintln!("cycle detail page: {} bytes of HTML", html.len());
    let mut group = c.benchmark_group("ui");
    group.bench_function("month_end_detail_page", |b| {
        b.iter(|| {
            let s = snapshot(&plan);
            let view = detail_view(&s, &filter);
            let html = templates
                .render("detail", &Page::local("month-end", Some(1), view))
                .expect("renders");
            black_box(html.len())
        })
    });
    let s = snapshot(&plan);
    group.bench_function("month_end_gantt_svg_only", |b| {
        b.iter(|| black_box(detail_view(&s, &filter).gantt_svg.len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
