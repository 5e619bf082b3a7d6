//! The cycle's Gantt chart as server-side SVG: a lane per day and stream, a bar per job
//! (actual, running or projected), the critical path highlighted, deadline lines, the
//! nights' windows shaded and a "now" line. Pure: a snapshot in, a string out.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use warden_core::plan::Plan;
use warden_deadlines::Phase;

use crate::snapshot::RunSnapshot;
use crate::views::{local, signed};

/// Which jobs a page shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GanttFilter {
    /// A day id (`d1`).
    #[serde(default)]
    pub day: Option<String>,
    /// A stream id (`A`).
    #[serde(default)]
    pub stream: Option<String>,
}

impl GanttFilter {
    pub fn keeps(&self, plan: &Plan, job: usize) -> bool {
        let pj = &plan.jobs[job];
        let day_ok = self
            .day
            .as_deref()
            .is_none_or(|d| d.is_empty() || plan.nights[pj.day].day_id == d);
        let stream_ok = self
            .stream
            .as_deref()
            .is_none_or(|s| s.is_empty() || pj.stream.is_some_and(|st| plan.streams[st].id == s));
        day_ok && stream_ok
    }
}

const LABEL: f64 = 190.0;
const CHART: f64 = 1100.0;
const ROW: f64 = 12.0;
const LANE_HEAD: f64 = 18.0;
const TOP: f64 = 28.0;

/// XML text escaping for ids and names.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(s: &RunSnapshot, critical: &[usize], filter: &GanttFilter) -> String {
    let plan = &s.plan;
    let tz = plan.timezone;
    let bars = &s.projection.schedule.jobs;
    // Lanes: (day, stream) in plan order; jobs by start within a lane.
    let mut lanes: BTreeMap<(usize, Option<usize>), Vec<usize>> = BTreeMap::new();
    for j in (0..plan.jobs.len()).filter(|&j| filter.keeps(plan, j)) {
        let pj = &plan.jobs[j];
        lanes.entry((pj.day, pj.stream)).or_default().push(j);
    }
    for jobs in lanes.values_mut() {
        jobs.sort_by_key(|&j| (bars[j].start, j));
    }
    let shown: Vec<usize> = lanes.values().flatten().copied().collect();
    let t0 = shown
        .iter()
        .map(|&j| bars[j].start)
        .chain(std::iter::once(plan.start))
        .min()
        .unwrap_or(plan.start);
    let t1 = shown
        .iter()
        .map(|&j| bars[j].finish)
        .chain(plan.deadlines.iter().map(|d| d.at))
        .chain(std::iter::once(s.now))
        .max()
        .unwrap_or(plan.start)
        .max(t0 + chrono::TimeDelta::hours(1));
    let span = (t1 - t0).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| LABEL + (t - t0).num_seconds() as f64 / span * CHART;
    let height = TOP + lanes.len() as f64 * LANE_HEAD + shown.len() as f64 * ROW + 10.0;
    let width = LABEL + CHART + 10.0;
    let mut svg = String::with_capacity(shown.len() * 360 + 4096);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="gantt" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="img" aria-label="Gantt chart of {} for {}">"#,
        esc(&plan.cycle),
        esc(&plan.date)
    );
    // Windows, shaded.
    for n in &plan.nights {
        let (a, b) = (x(n.opens.max(t0)), x(n.closes.min(t1)));
        if b > a {
            let _ = write!(
                svg,
                r#"<rect class="window" x="{a:.1}" y="{TOP}" width="{:.1}" height="{:.1}"><title>{} window {} – {}</title></rect>"#,
                b - a,
                height - TOP,
                esc(&n.day_id),
                local(tz, n.opens),
                local(tz, n.closes)
            );
        }
    }
    // Hour ticks every 6 hours (local), with labels.
    let mut tick = t0;
    let step = if span > 4.0 * 86_400.0 { 12 } else { 6 };
    while tick <= t1 {
        let lt = tick.with_timezone(&tz);
        use chrono::Timelike;
        if lt.minute() == 0 && lt.hour() % step == 0 {
            let px = x(tick);
            let _ = write!(
                svg,
                r#"<line class="tick" x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{height:.0}"/><text class="tick" x="{px:.1}" y="12">{}</text>"#,
                TOP - 6.0,
                lt.format("%a %H:%M")
            );
        }
        tick += chrono::TimeDelta::minutes(30);
    }
    // Lanes and bars.
    let mut y = TOP;
    for ((day, stream), jobs) in &lanes {
        let title = format!(
            "{} · {}",
            plan.nights[*day]
                .name
                .as_deref()
                .unwrap_or(&plan.nights[*day].day_id),
            stream.map_or("cycle-wide".to_string(), |st| format!(
                "stream {}",
                plan.streams[st].id
            ))
        );
        let _ = write!(
            svg,
            r#"<text class="lane" x="4" y="{:.1}">{}</text><line class="lane" x1="0" y1="{y:.1}" x2="{width:.0}" y2="{y:.1}"/>"#,
            y + 13.0,
            esc(&title)
        );
        y += LANE_HEAD;
        for &j in jobs {
            let pj = &plan.jobs[j];
            let bar = bars[j];
            let phase = match s.projection.phases[j] {
                Phase::Done => "actual",
                Phase::Running => "running",
                Phase::Projected => "projected",
            };
            let crit = if critical.contains(&j) {
                " critical"
            } else {
                ""
            };
            let (a, b) = (x(bar.start), x(bar.finish));
            let slack = s.projection.slack[j].map_or("–".into(), signed);
            let _ = write!(
                svg,
                r#"<a href="/runs/{}/jobs/{}"><text class="job" x="{:.1}" y="{:.1}">{}</text><rect class="bar {phase}{crit}" data-job="{}" x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{} · {phase} · {} – {} · slack {slack}</title></rect></a>"#,
                s.run.id,
                esc(&pj.id),
                LABEL - 4.0,
                y + 9.5,
                esc(&pj.id),
                esc(&pj.id),
                y + 1.5,
                (b - a).max(1.5),
                ROW - 3.0,
                esc(&pj.id),
                local(tz, bar.start),
                local(tz, bar.finish),
            );
            y += ROW;
        }
    }
    // Deadlines and now, over the bars.
    for d in &plan.deadlines {
        if d.at < t0 || d.at > t1 {
            continue;
        }
        let px = x(d.at);
        let _ = write!(
            svg,
            r#"<line class="deadline" data-deadline="{}" x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{height:.0}"><title>{} at {}</title></line><text class="deadline" x="{:.1}" y="24">{}</text>"#,
            esc(&d.id),
            TOP - 10.0,
            esc(d.name.as_deref().unwrap_or(&d.id)),
            local(tz, d.at),
            px + 2.0,
            esc(&d.id)
        );
    }
    let now = x(s.now.clamp(t0, t1));
    let _ = write!(
        svg,
        r#"<line class="now" x1="{now:.1}" y1="{:.1}" x2="{now:.1}" y2="{height:.0}"><title>now (the run's clock): {}</title></line>"#,
        TOP - 10.0,
        local(tz, s.now)
    );
    svg.push_str("</svg>");
    svg
}
