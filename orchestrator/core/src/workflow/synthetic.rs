//! Month-end-shaped workflows of any size, for benchmarks and scale checks (compile, plan,
//! projection): the shipped cycle has 757 jobs; these go to 100,000.

/// A month-end-shaped workflow of about `jobs` concrete jobs: three nights, five streams,
/// per-stream chains of partitioned templates, cross-stream fan-ins, resources, deadlines.
pub fn synthetic(jobs: usize) -> String {
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

/// A workflow of exactly `jobs` jobs written out one entry each, the way a generated export
/// of a large estate looks (about 230 bytes a job: 100,000 jobs are about 23 MB), over three
/// nights: chains of ten jobs, each chain's head waiting for the previous chain's tail.
pub fn flat(jobs: usize) -> String {
    let mut y = String::with_capacity(jobs * 240 + 1024);
    y.push_str(
        "cycle: flat\ntimezone: America/New_York\nschedule: { month_end: { start_day: 28, nights: 3 } }\n\
         defaults: { builtin: sleep }\ndays:\n",
    );
    for d in 1..=3 {
        let start = if d == 1 { "window" } else { "when_ready" };
        y.push_str(&format!(
            "  - {{ id: d{d}, window: {{ opens: \"20:00\", closes: \"06:00\" }}, start: {start} }}\n"
        ));
    }
    y.push_str("jobs:\n");
    let per_day = jobs.div_ceil(3).max(1);
    for j in 0..jobs {
        let day = j / per_day + 1;
        y.push_str(&format!("  - id: JOB-{j:06}\n    day: d{day}\n"));
        if j % 10 != 0 && j / per_day == (j - 1) / per_day {
            y.push_str(&format!("    after: [JOB-{:06}]\n", j - 1));
        }
        y.push_str(&format!(
            "    estimate: {}m\n    description: Generated job {j} of the estate's export, \
             claim batch {} for the partner extract, the ledger feed and downstream reconciliation\n",
            1 + j % 9,
            j / 10
        ));
    }
    y
}
