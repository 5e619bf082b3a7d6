//! Workflow files at the size of a large estate compile, and files over the limits are
//! refused in the architect's terms (which limit, its value, the file, how to split it).
//! Timed with `cargo test --release -p warden-core --test large_workflow -- --nocapture`.

use std::time::Instant;

use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, PlanOptions};
use warden_core::sched::simulate;
use warden_core::workflow::compile_str;
use warden_core::workflow::synthetic::flat;

#[test]
fn a_100_000_job_file_written_out_compiles() {
    let text = flat(100_000);
    assert!(text.len() > 20_000_000, "{} bytes", text.len());
    let started = Instant::now();
    let (sources, c) = compile_str("estate.yaml", &text);
    let elapsed = started.elapsed();
    let Some(w) = &c.workflow else {
        panic!("{}", render_text(&sources, &c.diagnostics));
    };
    assert_eq!(w.jobs.len(), 100_000);
    let started = Instant::now();
    let date: DateSpec = "2025-02".parse().expect("date");
    let plan = w.instantiate(date, &PlanOptions::default()).expect("plans");
    let schedule = simulate(&plan);
    let planned = started.elapsed();
    assert_eq!(schedule.jobs.len(), 100_000);
    println!(
        "compiled {} jobs ({:.1} MB) in {:.2} s; instantiated and simulated in {:.2} s",
        w.jobs.len(),
        text.len() as f64 / 1e6,
        elapsed.as_secs_f64(),
        planned.as_secs_f64()
    );
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "reads 8.5 million YAML nodes: a minute in debug; run with --release"
)]
fn a_file_over_the_node_limit_says_which_limit_and_how_to_split() {
    // One job waiting for 8.5 million names: small in bytes (17 MB), over the node limit.
    let after = "a,".repeat(8_500_000);
    let text = format!(
        "{}  - {{ id: LAST, day: d3, after: [{after}] }}\n",
        flat(10)
    );
    let (sources, c) = compile_str("huge.yaml", &text);
    let rendered = render_text(&sources, &c.diagnostics);
    let [d] = c.diagnostics.as_slice() else {
        panic!("one diagnostic: {rendered}");
    };
    assert!(
        d.message.contains("more than 8,000,000 YAML nodes"),
        "{rendered}"
    );
    assert!(rendered.contains("huge.yaml:1:1"), "{rendered}");
    assert!(rendered.contains("split the cycle"), "{rendered}");
    assert!(!rendered.contains("budget breached"), "{rendered}");
}

#[test]
fn a_file_over_the_byte_limit_says_its_size() {
    let text = format!("{}\n# {}\n", flat(10), "x".repeat(65 * 1024 * 1024));
    let (sources, c) = compile_str("big.yaml", &text);
    let rendered = render_text(&sources, &c.diagnostics);
    assert!(rendered.contains("`big.yaml` is 65.0 MiB"), "{rendered}");
    assert!(rendered.contains("limited to 64 MiB"), "{rendered}");
    assert!(rendered.contains("big.yaml:1:1"), "{rendered}");
    assert!(rendered.contains("split the cycle"), "{rendered}");
}

#[test]
fn templates_that_expand_past_a_million_jobs_are_refused_before_expanding() {
    // 4,000 streams × 256 partitions = 1,024,000 instances from a 100 KB file.
    let mut text = String::from(
        "cycle: x\ntimezone: UTC\nschedule: { cron: \"0 1 * * *\" }\n\
         days: [{ id: n, window: { opens: \"01:00\", closes: \"05:00\" } }]\nstreams:\n",
    );
    for s in 0..4_000 {
        text.push_str(&format!("  - {{ id: S{s}, volume: 1K }}\n"));
    }
    text.push_str(
        "jobs:\n  - { id: FAN, streams: all, partitions: 256, builtin: sleep, estimate: 1m }\n",
    );
    let started = Instant::now();
    let (sources, c) = compile_str("fan.yaml", &text);
    let rendered = render_text(&sources, &c.diagnostics);
    assert!(
        rendered.contains(
            "with job `FAN` the workflow expands to 1,024,000 jobs; a workflow is limited to 1,000,000"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("split the cycle"), "{rendered}");
    assert!(started.elapsed().as_secs() < 30, "refused before expanding");
}
