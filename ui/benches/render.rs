//! Cycle-detail page speed (issue #6 target: the month-end cycle's page, ≈757 jobs, renders
//! server-side in under 50 ms). `cargo bench -p warden-ui --bench render`.
//!
//! What is timed is everything the server does for the page after reading the store:
//! projecting the run's rest from its state, building the view (jobs, critical path,
//! deadline cards), drawing the Gantt SVG and rendering the templates. The state is
//! synthesised: the cycle run to six hours in with every job taking 1.2× its estimate; and
//! mid-crisis (eight hours in, every job twice its estimate), where the page also projects
//! the moves that fit the first job of each deadline at risk.
//! (The store reads before it are measured separately in docs/benchmarks.md.)

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::plan::Plan;
use warden_ui::fixture::month_end;
use warden_ui::gantt::GanttFilter;
use warden_ui::pages::Page;
use warden_ui::snapshot::RunSnapshot;
use warden_ui::views::detail::{JOBS_PER_PAGE, detail_view};

fn snapshot(plan: &Arc<Plan>) -> RunSnapshot {
    warden_ui::fixture::snapshot(plan, 6, 1.2)
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plan = Arc::new(month_end(&root).expect("the shipped month-end cycle"));
    assert_eq!(plan.jobs.len(), 757);
    let templates = warden_ui::assets::templates().expect("templates");
    let filter = GanttFilter::default();
    let html = {
        let s = snapshot(&plan);
        templates
            .render(
                "detail",
                &Page::local(
                    "month-end",
                    Some(1),
                    detail_view(&s, &filter, JOBS_PER_PAGE),
                ),
            )
            .expect("renders")
    };
    assert!(html.contains("class=\"gantt\"") && html.contains(" critical\""));
    eprintln!("cycle detail page: {} bytes of HTML", html.len());
    let regions: usize = warden_ui::live::regions(&html)
        .iter()
        .map(|(_, r)| r.len())
        .sum();
    eprintln!("its live regions (a live update sends at most these): {regions} bytes");
    let mut group = c.benchmark_group("ui");
    group.bench_function("month_end_detail_page", |b| {
        b.iter(|| {
            let s = snapshot(&plan);
            let view = detail_view(&s, &filter, JOBS_PER_PAGE);
            let html = templates
                .render("detail", &Page::local("month-end", Some(1), view))
                .expect("renders");
            black_box(html.len())
        })
    });
    // Mid-crisis: every job twice its estimate, eight hours in; deadlines at risk, so the
    // page also projects each move on their first jobs.
    let crisis = |plan: &Arc<Plan>| warden_ui::fixture::snapshot(plan, 8, 2.0);
    let view = detail_view(&crisis(&plan), &filter, JOBS_PER_PAGE);
    let moves: usize = view.whys.iter().map(|w| w.moves.len()).sum();
    assert!(moves > 0, "the crisis state has moves to project");
    eprintln!("mid-crisis: {moves} moves projected on the page");
    group.bench_function("month_end_detail_page_mid_crisis", |b| {
        b.iter(|| {
            let s = crisis(&plan);
            let view = detail_view(&s, &filter, JOBS_PER_PAGE);
            let html = templates
                .render("detail", &Page::local("month-end", Some(1), view))
                .expect("renders");
            black_box(html.len())
        })
    });
    let s = snapshot(&plan);
    group.bench_function("month_end_gantt_svg_only", |b| {
        b.iter(|| black_box(detail_view(&s, &filter, JOBS_PER_PAGE).gantt.body_svg.len()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
