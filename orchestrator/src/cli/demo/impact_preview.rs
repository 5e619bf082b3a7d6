//! What the batch impact test would have said before the February 2025 cycle (issue #12),
//! for `warden demo`: the scenario's new volume generated as claims with the acquisition's
//! share and exception rate (case study 002: 12M new claims on Stream A's 22M, 9% exceptions
//! against the baseline's 2–3%), at 1:1,000, sampled, run through the real engine, and the
//! cycle re-projected, exactly as `warden impact run` does. The demo then runs the cycle the
//! way it went in 2025: without the test.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use warden_core::plan::VolumeChange;
use warden_deadlines::impact_report::ImpactReport;
use warden_workers::generate::Config;

use super::inject::Injected;
use crate::cli::impact::{Inputs, Measured, Measuring, build_report, measure_claims};

/// The claims a generated claim stands for.
const SCALE: u64 = 1000;
/// The baseline's exception rate (2–3%) and the acquisition's (9%).
const BASELINE_EXCEPTIONS: f64 = 0.025;
const NEW_EXCEPTIONS: f64 = 0.09;
/// Claims per member in the generated populations.
const CLAIMS_PER_MEMBER: u64 = 2;

/// The test's report, or why there is none (the demo goes on without it).
#[derive(Debug)]
pub struct Preview {
    pub report: ImpactReport,
    pub measured: Measured,
}

fn generate(
    dir: &Path,
    plans: &warden_workers::plans::Plans,
    claims: u64,
    seed: u64,
    rate: f64,
) -> std::io::Result<()> {
    if dir.join("claims.csv").is_file() && dir.join("members.csv").is_file() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let cfg = Config {
        members: (claims / CLAIMS_PER_MEMBER).max(1),
        claims,
        seed,
        exception_rate: rate,
        ..Config::default()
    };
    crate::cli::claims::write_dir(dir, &cfg, plans, &warden_workers::pipeline::NoProgress)
        .map(|_| ())
}

/// Generates, measures and re-projects; `err` gets the progress bars.
/// `checkpoint_every` is the run's (engine::builtins), which the re-projection assumes.
pub fn preview(
    injected: &Injected,
    workflow_file: &str,
    data: &Path,
    checkpoint_every: Option<u64>,
    err: &mut dyn Write,
) -> Result<Preview, String> {
    let (workflow, date, mode) = (&injected.workflow, injected.date, injected.mode);
    let volumes = &injected.volumes;
    let Some((stream, added)) = volumes.iter().find_map(|(s, v)| match v {
        VolumeChange::Add(n) if *n > 0 => Some((s.clone(), *n as u64)),
        _ => None,
    }) else {
        return Err("the scenario adds no volume".into());
    };
    let declared = workflow
        .streams
        .iter()
        .find(|s| s.id == stream)
        .map(|s| s.volume)
        .ok_or_else(|| format!("the scenario's stream {stream} is not the workflow's"))?;
    let mut sink = Vec::new();
    // What a failure printed, else the error itself.
    let said = |e: crate::cli::CliError, sink: &[u8]| match String::from_utf8_lossy(sink).trim() {
        "" => e.to_string(),
        printed => printed.to_string(),
    };
    let plans = crate::cli::load_plans(None, &mut sink).map_err(|e| said(e, &sink))?;
    let dir: PathBuf = data.join("impact-test");
    let (base, new) = (dir.join("baseline"), dir.join("new"));
    generate(&base, &plans, declared / SCALE, 1, BASELINE_EXCEPTIONS)
        .and_then(|()| generate(&new, &plans, added / SCALE, 2, NEW_EXCEPTIONS))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let rules = workflow.impact;
    let measuring = Measuring {
        baseline: &base,
        new: &new,
        sample: rules.sample,
        seed: 1,
        partitions: 6,
        threads: None,
        repeat: 1,
        work: None,
        plans: None,
    };
    let measured = measure_claims(&measuring, &mut sink).map_err(|e| said(e, &sink))?;
    let _ = err.write_all(&sink);
    let sha = crate::cli::serve::file_sha256(workflow_file);
    let inputs = Inputs {
        workflow,
        workflow_file,
        workflow_sha256: &sha,
        date,
        mode: Some(mode),
        added: vec![(stream.clone(), added)],
        sources: BTreeMap::from([(
            stream.clone(),
            format!(
                "the scenario's volume; claims generated at 1:{SCALE} with the acquisition's exception rate"
            ),
        )]),
        measured: Some((&stream, &measured)),
        partitions: 6,
        checkpoint_every,
        samples: warden_deadlines::DEFAULT_SAMPLES,
        seed: 1,
    };
    let report = build_report(&inputs)?;
    Ok(Preview { report, measured })
}

/// A few lines for the demo's opening: the verdict, the Day 1 margin, the mitigation.
pub fn summary(p: &Preview, id: Option<i64>) -> Vec<String> {
    use warden_deadlines::alert::format_probability;
    let r = &p.report;
    let m = &p.measured.measurement;
    let mut lines = vec![format!(
        "  batch impact test (what it would have said before the cycle, had it run): {} — new claims' exception rate {} against the baseline's {}",
        r.verdict.as_str().to_uppercase(),
        format_probability(m.new_exception_rate.value),
        format_probability(m.baseline_exception_rate.value),
    )];
    let rp = &r.reprojection;
    for d in rp.deadlines.iter().take(4) {
        let b = rp.before.deadlines.iter().find(|x| x.id == d.id);
        let a = rp.after.deadlines.iter().find(|x| x.id == d.id);
        if let (Some(b), Some(a)) = (b, a)
            && a.margin_minutes < b.margin_minutes
        {
            lines.push(format!(
                "    {}: margin {} → {}, P(miss) {} → {}",
                d.id,
                crate::cli::plan_table::signed(chrono::TimeDelta::minutes(b.margin_minutes)),
                crate::cli::plan_table::signed(chrono::TimeDelta::minutes(a.margin_minutes)),
                format_probability(b.reading.p_miss),
                format_probability(a.reading.p_miss)
            ));
        }
    }
    let restoring: Vec<String> = rp
        .mitigations
        .iter()
        .filter(|m| !m.restored.is_empty())
        .map(|m| format!("{} (restores {})", m.name, m.restored.join(", ")))
        .collect();
    if !restoring.is_empty() {
        lines.push(format!("    mitigations: {}", restoring.join("; ")));
    }
    if let Some(id) = id {
        lines.push(format!(
            "    the report: `warden impact show {id} --db DB`, and /impact/{id} in the UI; in 2025 it was not run, and the demo runs the cycle as it went"
        ));
    }
    lines
}
