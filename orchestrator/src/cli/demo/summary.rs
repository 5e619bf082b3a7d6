//! The summary the demo prints when the cycle ends, read back from the store: whether the
//! machine kept up with the accelerated clock, each deadline's outcome and margin, the
//! escalations the ladders notified, and the alerts delivered.

use std::io::Write;

use warden_store::Store;

use super::DemoArgs;
use crate::engine::exec::SimulatedDurations;

/// Each deadline's outcome and margin (first projection → last), every escalation the
/// ladders notified (the margin then, re-notifications folded into one line), and the alerts
/// raised and delivered: all read back from the store.
pub(super) async fn summary(
    store: &Store,
    plan: &warden_core::plan::Plan,
    run_id: i64,
    simulated: &SimulatedDurations,
    args: &DemoArgs,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let read = async {
        Ok::<_, warden_store::StoreError>((
            store.load_projections(run_id).await?,
            store.load_deadline_events(run_id).await?,
            store.run_alerts(run_id).await?,
            store.load_attempts(run_id).await?,
        ))
    };
    let (projections, events, alerts, attempts) = match read.await {
        Ok(read) => read,
        Err(e) => {
            writeln!(
                out,
                "  cannot read the run's deadlines back from the store: {e}; `warden status` shows them"
            )?;
            return Ok(());
        }
    };
    keeping_up(plan, &attempts, simulated, args.speed, out)?;
    let tz = plan.timezone;
    let local =
        |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %H:%M").to_string();
    // Rounded to the minute as `warden status` does.
    let minutes_of =
        |seconds: i64| chrono::TimeDelta::minutes((seconds as f64 / 60.0).round() as i64);
    let margin = |seconds: i64| crate::cli::plan_table::signed(minutes_of(seconds));
    writeln!(
        out,
        "deadlines (margin at the first projection → at the end):"
    )?;
    for d in &plan.deadlines {
        let mine: Vec<_> = projections
            .iter()
            .filter(|p| p.deadline_id == d.id)
            .collect();
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else {
            writeln!(out, "  {:<14} never projected", d.id)?;
            continue;
        };
        let outcome = events
            .iter()
            .rev()
            .find(|e| e.deadline_id == d.id && (e.kind == "met" || e.kind == "breached"))
            .map_or("not settled", |e| e.kind.as_str());
        let late = if outcome == "breached" && last.margin_seconds < 0 {
            format!(
                " ({} late)",
                crate::cli::plan_table::signed(minutes_of(-last.margin_seconds))
                    .trim_start_matches('+')
            )
        } else {
            String::new()
        };
        writeln!(
            out,
            "  {:<14} {:<9} {} → {}{late}, finished {} (deadline {})",
            d.id,
            outcome,
            margin(first.margin_seconds),
            margin(last.margin_seconds),
            local(last.finish),
            local(d.at)
        )?;
    }
    // One line per (deadline, level): first notice and the margin then, re-notifications.
    let mut notified: Vec<(&str, &str, Vec<&warden_store::DeadlineEventRow>)> = Vec::new();
    for e in events.iter().filter(|e| e.kind == "notify") {
        let level = e.level.as_deref().unwrap_or("");
        match notified
            .iter_mut()
            .find(|(d, l, _)| *d == e.deadline_id && *l == level)
        {
            Some((_, _, rows)) => rows.push(e),
            None => notified.push((&e.deadline_id, level, vec![e])),
        }
    }
    let margin_at = |deadline: &str, at: chrono::DateTime<chrono::Utc>| {
        projections
            .iter()
            .rfind(|p| p.deadline_id == deadline && p.at <= at)
            .map_or_else(|| "?".to_string(), |p| margin(p.margin_seconds))
    };
    let trigger = |e: &warden_store::DeadlineEventRow| {
        serde_json::from_str::<serde_json::Value>(&e.payload)
            .ok()
            .and_then(|v| v.get("trigger")?.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    if notified.is_empty() {
        writeln!(out, "escalations: none")?;
    } else {
        writeln!(out, "escalations (the ladders' notices):")?;
    }
    for (deadline, level, rows) in &notified {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            continue;
        };
        let mut line = format!(
            "  {deadline:<14} {level:<17} {} at margin {} ({})",
            local(first.at),
            margin_at(deadline, first.at),
            trigger(first)
        );
        if rows.len() > 1 {
            let times = match rows.len() - 1 {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            line.push_str(&format!(
                ", re-notified {times} until {} (margin {})",
                local(last.at),
                margin_at(deadline, last.at)
            ));
        }
        writeln!(out, "{line}")?;
    }
    let delivered = alerts
        .iter()
        .filter(|a| {
            !a.deliveries.is_empty() && a.deliveries.iter().all(|d| d.status == "delivered")
        })
        .count();
    writeln!(
        out,
        "  {} alert(s) raised, {delivered} delivered to every role; see {} or the UI's Alerts page",
        alerts.len(),
        args.data.join("alerts.log").display()
    )?;
    Ok(())
}

/// How far past its simulated duration an attempt may end, on the run's clock, before the
/// demo says the machine did not keep up with the accelerated clock.
const LAG_ALLOWED: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

/// Whether the machine kept up with the clock. On an accelerated clock every real
/// millisecond the orchestrator is late is `speed` milliseconds of cycle time: a loaded
/// machine makes jobs run long and leases expire, and the margins then show that lag on top
/// of the scenario. Every finished attempt is compared with what it was to take.
fn keeping_up(
    plan: &warden_core::plan::Plan,
    attempts: &[warden_store::AttemptRecord],
    simulated: &SimulatedDurations,
    speed: f64,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut late = 0;
    let mut worst: Option<(usize, chrono::TimeDelta)> = None;
    for a in attempts
        .iter()
        .filter(|a| a.outcome.as_deref() == Some("succeeded"))
    {
        let (Ok(j), Some(finished)) = (usize::try_from(a.job_idx), a.finished_at) else {
            continue;
        };
        let Some(job) = plan.jobs.get(j) else {
            continue;
        };
        if !matches!(job.action, warden_core::workflow::Action::Builtin(_)) {
            continue;
        }
        let intended = simulated.get(&j).copied().unwrap_or(job.duration);
        let over = finished - a.started_at - intended;
        if over > LAG_ALLOWED {
            late += 1;
        }
        if worst.is_none_or(|(_, w)| over > w) {
            worst = Some((j, over));
        }
    }
    let lost = attempts
        .iter()
        .filter(|a| a.outcome.as_deref() == Some("lost"))
        .count();
    let worst_text = worst.map_or_else(String::new, |(j, over)| {
        format!(
            "{} {}",
            plan.jobs[j].id,
            crate::cli::plan_table::signed(chrono::TimeDelta::seconds(over.num_seconds()))
        )
    });
    if late == 0 && lost == 0 {
        writeln!(
            out,
            "the machine kept up with the {speed}x clock: every attempt ended within {} min of its simulated duration (the most: {worst_text})",
            LAG_ALLOWED.num_minutes()
        )
    } else {
        writeln!(
            out,
            "warning: the machine did not keep up with the {speed}x clock: {late} attempt(s) ended more than {} min past their simulated duration (the most: {worst_text}), {lost} attempt(s) lost their lease and ran again; the margins below include that lag on top of the scenario: run again with --fresh and a lower --speed",
            LAG_ALLOWED.num_minutes()
        )
    }
}
