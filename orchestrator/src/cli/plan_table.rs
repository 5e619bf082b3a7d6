//! `warden plan` as text for people: nights, jobs, critical path, deadlines.

use super::count;
use std::io::{self, Write};

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use warden_core::plan::start_reason;
use warden_core::workflow::{Workflow, values::format_duration};
use warden_deadlines::{Chain, ChainLink};

use warden_deadlines::Analysis;

pub(super) fn when(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %m-%d %H:%M %Z").to_string()
}

pub(super) fn signed(d: TimeDelta) -> String {
    if d >= TimeDelta::zero() {
        format!("+{}", format_duration(d))
    } else {
        format_duration(d)
    }
}

pub(super) fn write_plan(
    out: &mut dyn Write,
    workflow: &Workflow,
    a: &Analysis,
    with_jobs: bool,
    mode_origin: &str,
) -> io::Result<()> {
    let plan = &a.plan;
    let tz = plan.timezone;
    let per_day = workflow.jobs_per_day();
    writeln!(
        out,
        "Cycle {} for {} · {} · {} mode ({mode_origin}) · {}",
        plan.cycle,
        plan.date,
        tz.name(),
        plan.mode.as_str(),
        count(plan.jobs.len(), "job")
    )?;
    for note in &plan.notes {
        writeln!(out, "note: {note}")?;
    }
    for warning in &plan.warnings {
        writeln!(out, "warning: {warning}")?;
    }
    writeln!(out, "\nNights")?;
    for (n, jobs) in plan.nights.iter().zip(&per_day) {
        writeln!(
            out,
            "  {:<6} {}  {} → {}  ({})  {}  {}{}",
            n.day_id,
            n.date.format("%a %Y-%m-%d"),
            when(n.opens, tz),
            when(n.closes, tz),
            format_duration(n.closes - n.opens),
            count(*jobs, "job"),
            n.name.as_deref().unwrap_or(""),
            if n.when_ready {
                "  [when_ready: jobs start as their dependencies allow, even before the window]"
            } else {
                ""
            }
        )?;
    }
    if with_jobs {
        writeln!(out, "\nJobs")?;
        let width = plan
            .jobs
            .iter()
            .map(|j| j.id.len())
            .max()
            .unwrap_or(3)
            .max(3);
        writeln!(
            out,
            "  {:<width$}  {:<6} {:<20} {:<20} {:>8} {:>9}  STARTS BECAUSE",
            "JOB", "DAY", "START", "FINISH", "DURATION", "SLACK"
        )?;
        let critical: std::collections::HashSet<usize> = a
            .critical
            .iter()
            .flat_map(|c| c.jobs.iter().copied())
            .collect();
        let mut order: Vec<usize> = (0..plan.jobs.len()).collect();
        order.sort_by_key(|j| (a.schedule.jobs[*j].start, *j));
        for j in order {
            let job = &plan.jobs[j];
            let s = &a.schedule.jobs[j];
            writeln!(
                out,
                "{} {:<width$}  {:<6} {:<20} {:<20} {:>8} {:>9}  {}",
                if critical.contains(&j) { "*" } else { " " },
                job.id,
                plan.nights[job.day].day_id,
                when(s.start, tz),
                when(s.finish, tz),
                format_duration(job.duration),
                a.slack[j].map(signed).unwrap_or_else(|| "-".into()),
                start_reason(plan, j, s),
            )?;
        }
        writeln!(
            out,
            "  (* on the critical path; slack is against the deadlines the job feeds)"
        )?;
    }
    if let Some(chain) = &a.critical {
        writeln!(
            out,
            "\nCritical path  {} ({} min) from {} to {}, {}",
            format_duration(chain.length()),
            chain.length().num_minutes(),
            when(chain.start, tz),
            when(chain.finish, tz),
            count(chain.jobs.len(), "job")
        )?;
        writeln!(out, "  {}", describe_chain(a, chain))?;
    }
    write_deadlines(out, a)?;
    Ok(())
}

/// `A (95m) → B (40m) ⇢[fee-tables] C (85m)`: resource waits drawn differently.
fn describe_chain(a: &Analysis, chain: &Chain) -> String {
    let plan = &a.plan;
    let mut text = String::new();
    for (i, (j, link)) in chain.jobs.iter().zip(&chain.links).enumerate() {
        if i > 0 {
            match link {
                ChainLink::Resource { resource } => {
                    text.push_str(&format!(" ⇢[waits for {}] ", plan.resources[*resource].id));
                }
                _ => text.push_str(" → "),
            }
        }
        text.push_str(&format!(
            "{} ({})",
            plan.jobs[*j].id,
            format_duration(plan.jobs[*j].duration)
        ));
    }
    text
}

fn write_deadlines(out: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let plan = &a.plan;
    let tz = plan.timezone;
    if a.margins.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nDeadlines")?;
    let name = |m: &warden_deadlines::DeadlineMargin| {
        let d = &plan.deadlines[m.deadline];
        d.name.clone().unwrap_or_else(|| d.id.clone())
    };
    let width = a
        .margins
        .iter()
        .map(|m| name(m).chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    writeln!(
        out,
        "  {:<width$} {:<10} {:<20} {:<20} {:>10}",
        "DEADLINE", "KIND", "AT", "PLANNED FINISH", "MARGIN"
    )?;
    for m in &a.margins {
        let d = &plan.deadlines[m.deadline];
        let kind = d.kind.as_str();
        writeln!(
            out,
            "  {:<width$} {:<10} {:<20} {:<20} {:>10}{}",
            name(m),
            kind,
            when(m.at, tz),
            when(m.finish, tz),
            signed(m.margin),
            if m.is_missed() { "  MISSED" } else { "" }
        )?;
    }
    Ok(())
}

pub(super) fn write_comparison(
    out: &mut dyn Write,
    workflow: &Workflow,
    pipelined: &Analysis,
    serial: &Analysis,
) -> io::Result<()> {
    let tz = pipelined.plan.timezone;
    writeln!(
        out,
        "Cycle {} for {} · {} · pipelined vs serial\n",
        pipelined.plan.cycle,
        pipelined.plan.date,
        tz.name()
    )?;
    let label_width = pipelined
        .plan
        .deadlines
        .iter()
        .map(|d| d.name.as_ref().unwrap_or(&d.id).chars().count() + 8)
        .max()
        .unwrap_or(0)
        .max(16);
    let row = |out: &mut dyn Write, label: &str, p: String, s: String| {
        writeln!(out, "  {label:<label_width$} {p:<24} {s}")
    };
    row(out, "", "PIPELINED".into(), "SERIAL".into())?;
    row(
        out,
        "cycle starts",
        when(pipelined.plan.start, tz),
        when(serial.plan.start, tz),
    )?;
    row(
        out,
        "cycle finishes",
        when(pipelined.schedule.finish, tz),
        when(serial.schedule.finish, tz),
    )?;
    let elapsed = |a: &Analysis| {
        let d = a.schedule.finish - a.plan.start;
        format!(
            "{} ({:.1} h)",
            format_duration(d),
            d.num_seconds() as f64 / 3600.0
        )
    };
    row(out, "elapsed", elapsed(pipelined), elapsed(serial))?;
    let chain = |a: &Analysis| {
        a.critical
            .as_ref()
            .map(|c| {
                format!(
                    "{}, {}",
                    count(c.jobs.len(), "job"),
                    format_duration(c.length())
                )
            })
            .unwrap_or_default()
    };
    row(out, "critical path", chain(pipelined), chain(serial))?;
    for (day, d) in workflow.days.iter().enumerate() {
        let done = |a: &Analysis| {
            let finish = a
                .plan
                .jobs
                .iter()
                .enumerate()
                .filter(|(_, j)| j.day == day)
                .map(|(i, _)| a.schedule.jobs[i].finish)
                .max();
            finish.map(|f| when(f, tz)).unwrap_or_default()
        };
        row(
            out,
            &format!("day {} done", d.id),
            done(pipelined),
            done(serial),
        )?;
    }
    for (mp, ms) in pipelined.margins.iter().zip(&serial.margins) {
        let d = &pipelined.plan.deadlines[mp.deadline];
        let name = d.name.as_deref().unwrap_or(&d.id);
        let show = |m: &warden_deadlines::DeadlineMargin| {
            format!(
                "{}{}",
                signed(m.margin),
                if m.is_missed() { " MISSED" } else { "" }
            )
        };
        row(out, &format!("margin: {name}"), show(mp), show(ms))?;
    }
    let saved = (serial.schedule.finish - serial.plan.start)
        - (pipelined.schedule.finish - pipelined.plan.start);
    writeln!(
        out,
        "\n  pipelining saves {} of elapsed time",
        format_duration(saved)
    )?;
    Ok(())
}
