//! The demo's honesty block, printed before the run: what runs for real and what is
//! simulated, and every injected volume, overrun and wait.

use std::io::Write;

use super::DemoArgs;
use super::inject::Injected;

fn minutes(d: chrono::TimeDelta) -> i64 {
    d.num_minutes()
}

/// The honesty block: what runs for real and what is simulated.
pub(super) fn describe_injection(
    i: &Injected,
    args: &DemoArgs,
    impact: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let plan = &i.plan;
    writeln!(
        out,
        "warden demo: {} for {} ({} jobs, {} mode) with the scenario \"{}\"",
        plan.cycle,
        plan.date,
        plan.jobs.len(),
        plan.mode.as_str(),
        i.title
    )?;
    writeln!(
        out,
        "  real: the orchestrator, the store ({}), crash-safe resume, deadline projection, P(miss), escalation ladders, the alerts outbox ({}), the web UI",
        warden_store::redact_url(&args.db),
        args.data.join("alerts.log").display()
    )?;
    writeln!(
        out,
        "  simulated: every job's work: the {} jobs are `builtin: sleep` and take their estimate on a clock {}x real time, except:",
        plan.cycle, args.speed
    )?;
    for (stream, change) in &i.volumes {
        let amount = match change {
            warden_core::plan::VolumeChange::Set(n) => format!("set to {n}"),
            warden_core::plan::VolumeChange::Add(n) => format!("{n:+}"),
        };
        writeln!(
            out,
            "  injected volume: stream {stream} claims {amount} that the plan does not know of (it went live without its batch impact test, as in 2025): its jobs take what that volume needs"
        )?;
    }
    for line in impact {
        writeln!(out, "{line}")?;
    }
    if !i.scaled.is_empty() {
        let extra: chrono::TimeDelta = i.scaled.iter().filter_map(|j| i.scaled_extra(*j)).sum();
        let mut largest: Vec<usize> = i.scaled.clone();
        largest.sort_by_key(|j| std::cmp::Reverse(i.scaled_extra(*j)));
        let examples: Vec<String> = largest
            .iter()
            .take(4)
            .filter_map(|j| {
                i.simulated.get(j).map(|took| {
                    format!(
                        "{} {} min (estimate {})",
                        plan.jobs[*j].id,
                        minutes(*took),
                        minutes(plan.jobs[*j].duration)
                    )
                })
            })
            .collect();
        writeln!(
            out,
            "    so {} jobs run longer than planned ({}), {} more work in all; the most: {}",
            i.scaled.len(),
            i.scaled_summary(),
            crate::cli::plan_table::signed(chrono::TimeDelta::minutes(extra.num_minutes())),
            examples.join(", ")
        )?;
    }
    for (j, took) in &i.overrides {
        writeln!(
            out,
            "  injected overrun: {} takes {} min (estimate {} min), the scenario's `actual:`",
            plan.jobs[*j].id,
            minutes(*took),
            minutes(plan.jobs[*j].duration)
        )?;
    }
    for c in &i.capped {
        writeln!(out, "  note: {c}")?;
    }
    for w in &i.waits {
        writeln!(out, "  injected wait: {w}")?;
    }
    writeln!(
        out,
        "  the watcher is not told these durations: it projects from the plan's estimates and sees each overrun as it happens (the waits are dependencies of the plan it projects)"
    )?;
    Ok(())
}
