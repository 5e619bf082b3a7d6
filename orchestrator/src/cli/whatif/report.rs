//! Printing what-if looks: for each, when each night's work finishes, every deadline's
//! projected finish, margin and P(miss), and the chain that decides the binding deadline.

use std::io::{self, Write};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use warden_core::plan::Plan;
use warden_core::workflow::DeadlineKind;
use warden_core::workflow::values::format_duration;
use warden_deadlines::{Assumption, Chain, ChainLink, DeadlineRisk, Projection};

use super::super::plan_table::{signed, when};

/// One projected state.
pub struct Look {
    pub name: String,
    pub note: Option<String>,
    /// Conditions of the night in force at this look (contention...).
    pub waits: Vec<String>,
    pub at: DateTime<Utc>,
    pub plan: Plan,
    pub projection: Projection,
    pub risk: Vec<DeadlineRisk>,
}

impl Look {
    /// When each night's last job finishes.
    fn night_finishes(&self) -> Vec<Option<DateTime<Utc>>> {
        let mut out = vec![None; self.plan.nights.len()];
        for (j, job) in self.plan.jobs.iter().enumerate() {
            let f = self.projection.schedule.jobs[j].finish;
            if let Some(slot) = out.get_mut(job.day) {
                *slot = Some(slot.map_or(f, |s: DateTime<Utc>| s.max(f)));
            }
        }
        out
    }

    fn risk(&self, deadline: usize) -> Option<&DeadlineRisk> {
        self.risk.iter().find(|r| r.deadline == deadline)
    }

    /// The deadline with the least margin (the one that binds).
    fn binding(&self) -> Option<&warden_deadlines::DeadlineMargin> {
        self.projection.margins.iter().min_by_key(|m| m.margin)
    }
}

/// To the minute: a what-if's seconds are noise from volume scaling.
fn minute(d: TimeDelta) -> TimeDelta {
    TimeDelta::minutes((d.num_seconds() as f64 / 60.0).round() as i64)
}

fn chain_text(plan: &Plan, chain: &Chain) -> String {
    let mut text = String::new();
    for (i, (j, link)) in chain.jobs.iter().zip(&chain.links).enumerate() {
        if i > 0 {
            match link {
                ChainLink::Resource { resource } => {
                    text.push_str(&format!(" ⇢[{}] ", plan.resources[*resource].id));
                }
                _ => text.push_str(" → "),
            }
        }
        text.push_str(&plan.jobs[*j].id);
    }
    text
}

fn assumption_text(plan: &Plan, a: &Assumption) -> String {
    match a {
        Assumption::RerunNow { job } => format!("{} failed; assumed rerun now", plan.jobs[*job].id),
        Assumption::ReleasedNow { job } => {
            format!("{} is held; assumed released now", plan.jobs[*job].id)
        }
    }
}

pub fn write_table(out: &mut dyn Write, title: &str, looks: &[Look]) -> io::Result<()> {
    writeln!(out, "{title}")?;
    for (i, look) in looks.iter().enumerate() {
        let plan = &look.plan;
        let tz = plan.timezone;
        writeln!(
            out,
            "\n== {} — as at {} ({} mode)",
            look.name,
            when(look.at, tz),
            plan.mode.as_str()
        )?;
        if let Some(note) = &look.note {
            writeln!(out, "   {}", note.trim())?;
        }
        for w in &look.waits {
            writeln!(out, "   still: {w}")?;
        }
        for (night, finish) in plan.nights.iter().zip(look.night_finishes()) {
            if let Some(f) = finish {
                writeln!(
                    out,
                    "   {} finishes {}  (window closes {}, {})",
                    night.day_id,
                    when(f, tz),
                    when(night.closes, tz),
                    signed(minute(night.closes - f))
                )?;
            }
        }
        writeln!(
            out,
            "   {:<16} {:<22} {:<22} {:>9} {:>8} {:>22} {:>22}",
            "DEADLINE", "AT", "PROJECTED FINISH", "MARGIN", "P(MISS)", "P50 FINISH", "P90 FINISH"
        )?;
        for m in &look.projection.margins {
            let d = &plan.deadlines[m.deadline];
            let risk = look.risk(m.deadline);
            let change = match i.checked_sub(1).and_then(|p| looks.get(p)) {
                Some(prev) => prev
                    .projection
                    .margins
                    .iter()
                    .find(|pm| pm.deadline == m.deadline)
                    .map(|pm| format!("  ({} vs previous)", signed(minute(m.margin - pm.margin))))
                    .unwrap_or_default(),
                None => String::new(),
            };
            writeln!(
                out,
                "   {:<16} {:<22} {:<22} {:>9} {:>8} {:>22} {:>22}{}{}",
                d.id,
                when(m.at, tz),
                when(m.finish, tz),
                signed(minute(m.margin)),
                risk.map_or("-".into(), |r| format!("{:.0}%", r.p_miss() * 100.0)),
                risk.map_or("-".into(), |r| when(r.p50_finish, tz)),
                risk.map_or("-".into(), |r| when(r.p90_finish, tz)),
                if m.is_missed() { "  MISSED" } else { "" },
                change
            )?;
        }
        // The chain of the binding deadline, and of every regulatory one.
        let binding = look.binding().map(|m| m.deadline);
        for m in &look.projection.margins {
            let d = &plan.deadlines[m.deadline];
            if Some(m.deadline) == binding || d.kind == DeadlineKind::Regulatory {
                writeln!(
                    out,
                    "   critical path to {} ({}): {}",
                    d.id,
                    format_duration(minute(m.chain.length())),
                    chain_text(plan, &m.chain)
                )?;
            }
        }
        for a in &look.projection.assumptions {
            writeln!(out, "   assumes: {}", assumption_text(plan, a))?;
        }
    }
    Ok(())
}

fn minutes(d: TimeDelta) -> f64 {
    d.num_seconds() as f64 / 60.0
}

pub fn write_json(out: &mut dyn Write, title: &str, looks: &[Look]) -> io::Result<()> {
    let looks: Vec<serde_json::Value> = looks
        .iter()
        .map(|look| {
            let plan = &look.plan;
            let nights: Vec<serde_json::Value> = plan
                .nights
                .iter()
                .zip(look.night_finishes())
                .map(|(n, f)| json!({ "day": n.day_id, "finish": f, "window_closes": n.closes }))
                .collect();
            let deadlines: Vec<serde_json::Value> = look
                .projection
                .margins
                .iter()
                .map(|m| {
                    let risk = look.risk(m.deadline);
                    json!({
                        "id": plan.deadlines[m.deadline].id,
                        "name": plan.deadlines[m.deadline].name,
                        "at": m.at,
                        "finish": m.finish,
                        "margin_minutes": minutes(m.margin),
                        "p_miss": risk.map(|r| r.p_miss()),
                        "p50_finish": risk.map(|r| r.p50_finish),
                        "p90_finish": risk.map(|r| r.p90_finish),
                        "chain": m.chain.jobs.iter().map(|j| plan.jobs[*j].id.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let critical = look.projection.critical.as_ref().map(|c| {
                json!({
                    "jobs": c.jobs.iter().map(|j| plan.jobs[*j].id.as_str()).collect::<Vec<_>>(),
                    "minutes": minutes(c.length()),
                })
            });
            json!({
                "name": look.name,
                "note": look.note,
                "waits": look.waits,
                "at": look.at,
                "mode": plan.mode.as_str(),
                "nights": nights,
                "deadlines": deadlines,
                "critical_path": critical,
                "assumptions": look.projection.assumptions.iter().map(|a| assumption_text(plan, a)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({ "title": title, "looks": looks });
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}
