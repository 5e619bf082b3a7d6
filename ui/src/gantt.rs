//! The cycle's Gantt chart as server-side SVG, built to stay readable at 757 jobs.
//!
//! - A lane per day and stream. Lanes are collapsed to one summary row (their span, their
//!   counts) except the lane the deadlines are waiting on: the lane of the job to look at
//!   first for the most severe deadline (`expand=` in the query opens others, or `all`).
//! - In an open lane a template's partitions share one row (`FRAUD-SCAN ×24`) unless every
//!   row is asked for (`expand=all`).
//! - Each row has its planned bar (from the plan's estimates, before the run) as a thin line
//!   over the actual or projected bar, and the part of a bar past its planned finish is
//!   drawn as overrun, so an overrun shows as one.
//! - Zoom to the whole cycle, the night in progress, or the hours around now.
//! - The time axis with the deadline labels is its own SVG, kept in view while the rows
//!   scroll (CSS `position: sticky`).
//!
//! Pure: a snapshot in, strings out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use warden_core::plan::Plan;
use warden_deadlines::Phase;

use crate::format::{local, signed};
use crate::snapshot::RunSnapshot;

/// What the cycle page shows: the Gantt's filters, lanes and zoom, and the jobs table's
/// search, order and page (all in its query, so a view is a link).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GanttFilter {
    /// A day id (`d1`).
    #[serde(default)]
    pub day: Option<String>,
    /// A stream id (`A`).
    #[serde(default)]
    pub stream: Option<String>,
    /// Lanes to open besides the default (`d1:A,d2:cycle`), `all`, or `none`.
    #[serde(default)]
    pub expand: Option<String>,
    /// `cycle` (the default), `night` (the night in progress) or `now` (two hours back,
    /// six ahead).
    #[serde(default)]
    pub zoom: Option<String>,
    /// The jobs table: a search over job id, template, day, stream and state.
    #[serde(default)]
    pub q: Option<String>,
    /// The jobs table's order: `start` (default), `finish`, `slack`, `job`, `state`.
    #[serde(default)]
    pub sort: Option<String>,
    /// The jobs table's page (from 1).
    #[serde(default)]
    pub page: Option<usize>,
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

    /// The query string of this view with `expand` (and nothing else) changed.
    pub fn with_expand(&self, expand: &str) -> String {
        let mut parts = Vec::new();
        let mut push = |k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", url_escape(v)));
            }
        };
        push("day", self.day.as_deref());
        push("stream", self.stream.as_deref());
        push("zoom", self.zoom.as_deref());
        push("expand", Some(expand));
        format!("?{}", parts.join("&amp;"))
    }
}

fn url_escape(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | ':' | ',' => c.to_string(),
            c => {
                let mut b = [0u8; 4];
                c.encode_utf8(&mut b)
                    .bytes()
                    .map(|x| format!("%{x:02X}"))
                    .collect()
            }
        })
        .collect()
}

const LABEL: f64 = 230.0;
const CHART: f64 = 1000.0;
const ROW: f64 = 16.0;
const LANE_HEAD: f64 = 20.0;
const AXIS: f64 = 40.0;

/// XML text escaping for ids and names.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A lane of the chart: its key in `expand=`, its title and whether it is open.
#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    pub key: String,
    pub title: String,
    pub open: bool,
    pub jobs: usize,
    /// The link that opens (or closes) it.
    pub toggle: String,
}

/// The chart: its sticky axis, its rows, and what it shows.
#[derive(Debug, Clone, Serialize)]
pub struct Gantt {
    pub axis_svg: String,
    pub body_svg: String,
    /// Rows drawn (lane heads not counted).
    pub rows: usize,
    pub lanes: Vec<Lane>,
    /// `cycle`, `night` or `now`.
    pub zoom: String,
    /// The time range shown, in words.
    pub range: String,
}

type LaneKey = (usize, Option<usize>);

fn lane_key(plan: &Plan, (day, stream): LaneKey) -> String {
    format!(
        "{}:{}",
        plan.nights[day].day_id,
        stream.map_or("cycle", |st| plan.streams[st].id.as_str())
    )
}

/// One drawn row: a job, or a template's partitions together, or a closed lane.
struct Row {
    label: String,
    link: Option<String>,
    jobs: Vec<usize>,
    kind: RowKind,
}

#[derive(PartialEq)]
enum RowKind {
    Job,
    Partitions,
    Lane,
}

/// The lane to open by default: where the job to look at first for the most severe
/// deadline at risk is, else where the cycle's critical chain is not yet done.
fn default_lane(s: &RunSnapshot, critical: &[usize]) -> Option<LaneKey> {
    let plan = &s.plan;
    let focus = s
        .diagnoses
        .iter()
        .filter(|d| d.first_look.is_some())
        .min_by_key(|d| d.margin)
        .and_then(|d| d.first_look.map(|i| d.steps[i].job))
        .or_else(|| {
            critical
                .iter()
                .copied()
                .find(|&j| s.projection.phases[j] != Phase::Done)
        })?;
    Some((plan.jobs[focus].day, plan.jobs[focus].stream))
}

pub fn render(s: &RunSnapshot, critical: &[usize], filter: &GanttFilter) -> Gantt {
    let plan = &s.plan;
    let tz = plan.timezone;
    let bars = &s.projection.schedule.jobs;
    let mut lanes: BTreeMap<LaneKey, Vec<usize>> = BTreeMap::new();
    for j in (0..plan.jobs.len()).filter(|&j| filter.keeps(plan, j)) {
        let pj = &plan.jobs[j];
        lanes.entry((pj.day, pj.stream)).or_default().push(j);
    }
    for jobs in lanes.values_mut() {
        jobs.sort_by_key(|&j| (bars[j].start, j));
    }
    let expand = filter.expand.as_deref().unwrap_or("");
    let all = expand == "all";
    let asked: BTreeSet<&str> = expand.split(',').filter(|k| !k.is_empty()).collect();
    let default = if asked.contains("none") {
        None
    } else {
        default_lane(s, critical)
    };
    // One lane alone (a day and stream filter) is open.
    let single = lanes.len() == 1;
    let is_open = |k: &LaneKey| {
        all || single || Some(*k) == default || asked.contains(lane_key(plan, *k).as_str())
    };

    // Time range.
    let shown: Vec<usize> = lanes.values().flatten().copied().collect();
    let cycle_t0 = shown
        .iter()
        .map(|&j| bars[j].start.min(s.planned.jobs[j].start))
        .chain(std::iter::once(plan.start))
        .min()
        .unwrap_or(plan.start);
    // The end rounded up to a 12-hour mark, so a projection that grows by minutes does not
    // rescale every bar (a live update then sends only the bars that moved).
    let cycle_t1 = shown
        .iter()
        .map(|&j| bars[j].finish.max(s.planned.jobs[j].finish))
        .chain(plan.deadlines.iter().map(|d| d.at))
        .chain(std::iter::once(s.now))
        .max()
        .unwrap_or(plan.start)
        .max(cycle_t0 + TimeDelta::hours(1));
    let cycle_t1 = round_up(cycle_t0, cycle_t1, TimeDelta::hours(12));
    let zoom = match filter.zoom.as_deref() {
        Some("night") => "night",
        Some("now") => "now",
        _ => "cycle",
    };
    let (t0, t1) = match zoom {
        "night" => plan
            .nights
            .iter()
            .find(|n| n.closes >= s.now)
            .or(plan.nights.last())
            .map_or((cycle_t0, cycle_t1), |n| {
                (n.opens, n.closes.max(n.opens + TimeDelta::hours(1)))
            }),
        "now" => {
            let from = round_up(plan.start, s.now, TimeDelta::hours(1)) - TimeDelta::hours(3);
            (from, from + TimeDelta::hours(9))
        }
        _ => (cycle_t0, cycle_t1),
    };
    let span = (t1 - t0).num_seconds().max(1) as f64;
    let x = |t: DateTime<Utc>| LABEL + ((t.clamp(t0, t1) - t0).num_seconds() as f64 / span * CHART);
    let width = LABEL + CHART + 10.0;

    // Rows.
    let mut out_lanes = Vec::new();
    let mut drawn: Vec<(String, String, bool, Vec<Row>)> = Vec::new();
    for (key, jobs) in &lanes {
        let k = lane_key(plan, *key);
        let night = &plan.nights[key.0];
        let title = format!(
            "{} · {}",
            night.name.as_deref().unwrap_or(&night.day_id),
            key.1.map_or("cycle-wide".to_string(), |st| format!(
                "stream {}",
                plan.streams[st].id
            ))
        );
        let open = is_open(key);
        let toggle = {
            let mut set: Vec<&str> = asked
                .iter()
                .copied()
                .filter(|a| !matches!(*a, "all" | "none") && *a != k)
                .collect();
            if !open {
                set.push(&k);
            }
            let none = asked.contains("none") || (open && Some(*key) == default);
            if none {
                set.insert(0, "none");
            }
            filter.with_expand(&set.join(","))
        };
        out_lanes.push(Lane {
            key: k.clone(),
            title: title.clone(),
            open,
            jobs: jobs.len(),
            toggle: toggle.clone(),
        });
        let rows = if open {
            open_rows(s, jobs, all)
        } else {
            let done = jobs
                .iter()
                .filter(|&&j| s.projection.phases[j] == Phase::Done)
                .count();
            let running = jobs
                .iter()
                .filter(|&&j| s.projection.phases[j] == Phase::Running)
                .count();
            vec![Row {
                label: format!("{} jobs · {done} done · {running} running", jobs.len()),
                link: None,
                jobs: jobs.clone(),
                kind: RowKind::Lane,
            }]
        };
        drawn.push((title, toggle, open, rows));
    }
    let rows: usize = drawn.iter().map(|l| l.3.len()).sum();
    let height = drawn.len() as f64 * LANE_HEAD + rows as f64 * ROW + 6.0;

    // The axis: ticks, deadline labels, now.
    let mut axis = String::with_capacity(4096);
    let _ = writeln!(
        axis,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="gantt-axis" viewBox="0 0 {width:.0} {AXIS}" width="{width:.0}" height="{AXIS}" role="img" aria-label="time axis, {} to {} ({})">"#,
        local(tz, t0),
        local(tz, t1),
        tz.name()
    );
    let hours = span / 3600.0;
    let step = if hours > 96.0 {
        12
    } else if hours > 36.0 {
        6
    } else if hours > 12.0 {
        2
    } else {
        1
    };
    let mut ticks = Vec::new();
    let mut tick = t0
        .with_timezone(&tz)
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .map_or(t0, |t| t.with_timezone(&Utc));
    while tick <= t1 {
        let lt = tick.with_timezone(&tz);
        if tick >= t0 && lt.minute() == 0 && lt.hour() % step == 0 {
            let px = x(tick);
            ticks.push(px);
            let anchor = if px > width - 40.0 { "end" } else { "middle" };
            let label = if lt.hour() == 0 || ticks.len() == 1 {
                lt.format("%a %d %H:%M").to_string()
            } else {
                lt.format("%H:%M").to_string()
            };
            let _ = writeln!(
                axis,
                r#"<line class="tick" x1="{px:.1}" y1="14" x2="{px:.1}" y2="{AXIS}"/><text class="tick" x="{px:.1}" y="11" text-anchor="{anchor}">{label}</text>"#
            );
        }
        tick += TimeDelta::hours(1);
    }
    for d in &plan.deadlines {
        if d.at < t0 || d.at > t1 {
            continue;
        }
        let px = x(d.at);
        let anchor = if px > width - 160.0 { "end" } else { "start" };
        let dx = if anchor == "end" { -3.0 } else { 3.0 };
        let _ = writeln!(
            axis,
            r#"<line class="deadline" x1="{px:.1}" y1="16" x2="{px:.1}" y2="{AXIS}"/><text class="deadline" data-deadline="{}" x="{:.1}" y="27" text-anchor="{anchor}">{} {}</text>"#,
            esc(&d.id),
            px + dx,
            esc(d.name.as_deref().unwrap_or(&d.id)),
            d.at.with_timezone(&tz).format("%H:%M")
        );
    }
    if s.now >= t0 && s.now <= t1 {
        let px = x(s.now);
        let _ = writeln!(
            axis,
            r#"<line class="now" x1="{px:.1}" y1="28" x2="{px:.1}" y2="{AXIS}"/><text class="now" x="{:.1}" y="38" text-anchor="{}">now {}</text>"#,
            px + 3.0,
            if px > width - 80.0 { "end" } else { "start" },
            s.now.with_timezone(&tz).format("%H:%M")
        );
    }
    axis.push_str("</svg>");

    // The rows.
    let mut svg = String::with_capacity(rows * 420 + 4096);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="gantt" data-rows="{rows}" viewBox="0 0 {width:.0} {height:.0}" width="{width:.0}" height="{height:.0}" role="group" aria-label="Gantt chart of {} for {}: {rows} rows">"#,
        esc(&plan.cycle),
        esc(&plan.date)
    );
    for n in &plan.nights {
        let (a, b) = (x(n.opens), x(n.closes));
        if b > a {
            let _ = writeln!(
                svg,
                r#"<rect class="window" x="{a:.1}" y="0" width="{:.1}" height="{height:.1}"><title>{} window {} – {}</title></rect>"#,
                b - a,
                esc(&n.day_id),
                local(tz, n.opens),
                local(tz, n.closes)
            );
        }
    }
    for px in &ticks {
        let _ = writeln!(
            svg,
            r#"<line class="tick" x1="{px:.1}" y1="0" x2="{px:.1}" y2="{height:.0}"/>"#
        );
    }
    let mut y = 0.0;
    for (title, toggle, open, rows) in &drawn {
        let _ = writeln!(
            svg,
            r#"<a href="{toggle}" class="lane-toggle"><text class="lane" x="4" y="{:.1}">{} {}</text></a><line class="lane" x1="0" y1="{y:.1}" x2="{width:.0}" y2="{y:.1}"/>"#,
            y + 14.0,
            if *open { "▾" } else { "▸" },
            esc(title)
        );
        y += LANE_HEAD;
        for row in rows {
            draw_row(&mut svg, s, critical, row, y, &x);
            y += ROW;
        }
    }
    for d in &plan.deadlines {
        if d.at < t0 || d.at > t1 {
            continue;
        }
        let px = x(d.at);
        let _ = writeln!(
            svg,
            r#"<line class="deadline" data-deadline="{}" x1="{px:.1}" y1="0" x2="{px:.1}" y2="{height:.0}"><title>{} at {}</title></line>"#,
            esc(&d.id),
            esc(d.name.as_deref().unwrap_or(&d.id)),
            local(tz, d.at),
        );
    }
    if s.now >= t0 && s.now <= t1 {
        let px = x(s.now);
        let _ = writeln!(
            svg,
            r#"<line class="now" x1="{px:.1}" y1="0" x2="{px:.1}" y2="{height:.0}"><title>now (the run's clock): {}</title></line>"#,
            local(tz, s.now)
        );
    }
    svg.push_str("</svg>");
    Gantt {
        axis_svg: axis,
        body_svg: svg,
        rows,
        lanes: out_lanes,
        zoom: zoom.into(),
        range: format!("{} to {} ({})", local(tz, t0), local(tz, t1), tz.name()),
    }
}

/// `t` rounded up to the next whole `step` after `origin`.
fn round_up(origin: DateTime<Utc>, t: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let step_s = step.num_seconds().max(1);
    let span = (t - origin).num_seconds().max(0) as u64;
    origin + TimeDelta::seconds((span.div_ceil(step_s as u64) * step_s as u64) as i64)
}

/// An open lane's rows: a job each, a template's partitions together unless `all`.
fn open_rows(s: &RunSnapshot, jobs: &[usize], all: bool) -> Vec<Row> {
    let plan = &s.plan;
    let mut rows: Vec<Row> = Vec::new();
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for &j in jobs {
        let pj = &plan.jobs[j];
        if !all && pj.partition.is_some() {
            if let Some(&r) = groups.get(pj.template.as_str()) {
                rows[r].jobs.push(j);
                continue;
            }
            groups.insert(pj.template.as_str(), rows.len());
            rows.push(Row {
                label: pj.template.clone(),
                link: Some(format!("/runs/{}/partitions", s.run.id)),
                jobs: vec![j],
                kind: RowKind::Partitions,
            });
            continue;
        }
        rows.push(Row {
            label: pj.id.clone(),
            link: Some(format!("/runs/{}/jobs/{}", s.run.id, pj.id)),
            jobs: vec![j],
            kind: RowKind::Job,
        });
    }
    for r in &mut rows {
        if r.kind == RowKind::Partitions {
            if r.jobs.len() == 1 {
                let pj = &plan.jobs[r.jobs[0]];
                r.label = pj.id.clone();
                r.link = Some(format!("/runs/{}/jobs/{}", s.run.id, pj.id));
                r.kind = RowKind::Job;
            } else {
                r.label = format!("{} ×{}", r.label, r.jobs.len());
            }
        }
    }
    rows
}

fn draw_row(
    svg: &mut String,
    s: &RunSnapshot,
    critical: &[usize],
    row: &Row,
    y: f64,
    x: &impl Fn(DateTime<Utc>) -> f64,
) {
    let plan = &s.plan;
    let tz = plan.timezone;
    let bars = &s.projection.schedule.jobs;
    let start = row
        .jobs
        .iter()
        .map(|&j| bars[j].start)
        .min()
        .unwrap_or(s.now);
    let finish = row
        .jobs
        .iter()
        .map(|&j| bars[j].finish)
        .max()
        .unwrap_or(s.now);
    let planned_start = row
        .jobs
        .iter()
        .map(|&j| s.planned.jobs[j].start)
        .min()
        .unwrap_or(start);
    let planned_finish = row
        .jobs
        .iter()
        .map(|&j| s.planned.jobs[j].finish)
        .max()
        .unwrap_or(finish);
    let phases: Vec<Phase> = row.jobs.iter().map(|&j| s.projection.phases[j]).collect();
    // A row of several jobs is running while some are done and some not.
    let phase = if phases.iter().all(|p| *p == Phase::Done) {
        "actual"
    } else if phases
        .iter()
        .any(|p| matches!(p, Phase::Running | Phase::Done))
    {
        "running"
    } else {
        "projected"
    };
    let is_critical = row.jobs.iter().any(|j| critical.contains(j));
    let crit = if is_critical { " critical" } else { "" };
    let label = if is_critical {
        format!("◆ {}", row.label)
    } else {
        row.label.clone()
    };
    let (a, b) = (x(start), x(finish));
    let (pa, pb) = (x(planned_start), x(planned_finish));
    let late = finish - planned_finish;
    // The tooltip holds what does not move with the projection (a row then changes, and a
    // live update sends it, only when its bar moves a pixel): the plan's times, and the
    // actual ones once done. The projected times are on the job's page and in the table.
    let mut title = format!(
        "{} · {phase} · planned {} – {}",
        row.label,
        local(tz, planned_start),
        local(tz, planned_finish)
    );
    if phase == "actual" {
        let _ = write!(title, " · ran {} – {}", local(tz, start), local(tz, finish));
        if late > TimeDelta::minutes(1) {
            let _ = write!(title, " · {} past the plan", signed(late));
        }
    }
    if is_critical {
        title.push_str(" · on the critical path");
    }
    let data_job = if row.kind == RowKind::Job {
        format!(r#" data-job="{}""#, esc(&plan.jobs[row.jobs[0]].id))
    } else {
        String::new()
    };
    let text = format!(
        r#"<text class="job{}" x="{:.1}" y="{:.1}">{}</text>"#,
        if is_critical { " critical" } else { "" },
        LABEL - 6.0,
        y + 12.0,
        esc(&label)
    );
    match &row.link {
        Some(link) => {
            let _ = writeln!(svg, r#"<a href="{}">{text}</a>"#, esc(link));
        }
        None => {
            let _ = writeln!(svg, "{text}");
        }
    }
    let _ = write!(
        svg,
        "<g class=\"row{}\"{data_job}><title>{}</title>\n<rect class=\"planned\" x=\"{pa:.0}\" y=\"{:.1}\" width=\"{:.0}\" height=\"2.5\"/>\n<rect class=\"bar {phase}{crit}\" x=\"{a:.0}\" y=\"{:.1}\" width=\"{:.0}\" height=\"{:.1}\"/>\n",
        if row.kind == RowKind::Lane {
            " lane-row"
        } else {
            ""
        },
        esc(&title),
        y + 1.0,
        (pb - pa).max(2.0),
        y + 4.5,
        (b - a).max(2.0),
        ROW - 7.0,
    );
    if late > TimeDelta::minutes(1) && b > pb {
        let from = pb.max(a);
        let _ = writeln!(
            svg,
            r#"<rect class="overrun" x="{from:.0}" y="{:.1}" width="{:.0}" height="{:.1}"/>"#,
            y + 4.5,
            (b - from).max(1.0),
            ROW - 7.0,
        );
    }
    // A part of a row per line: live updates send the lines that changed (`live_diff.rs`),
    // so a bar that moved costs its own line, not its row's.
    svg.push_str("</g>\n");
}
