//! Small server-side SVG charts: the margin's sparkline (and its larger chart on the cycle
//! page) and a job's past durations against its estimate. Pure.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::format::signed;

/// The margin over the night: a line, with the zero line when the margin crosses it.
/// Empty below two points.
pub fn sparkline(points: &[(DateTime<Utc>, i64)], width: u32, height: u32) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let scale = Scale::of(points);
    let y = |m: f64| 2.0 + (scale.hi - m) / scale.range() * (h - 4.0);
    let x = |t: DateTime<Utc>| (t - scale.t0).num_seconds() as f64 / scale.span() * (w - 2.0) + 1.0;
    let path = polyline(points, x, y);
    let last = points[points.len() - 1].1;
    let class = if last < 0 { "spark negative" } else { "spark" };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="margin over the night"><line class="zero" x1="0" y1="{z:.1}" x2="{width}" y2="{z:.1}"/><polyline points="{path}"/></svg>"#,
        z = y(0.0)
    )
}

/// A chart's scale, kept steady while points arrive: time up to the next 6-hour mark after
/// the last point, margins out to whole hours. A new projection then adds a point without
/// moving the others (a live update sends the new line, not the chart).
struct Scale {
    t0: DateTime<Utc>,
    t1: DateTime<Utc>,
    lo: f64,
    hi: f64,
}

impl Scale {
    fn of(points: &[(DateTime<Utc>, i64)]) -> Self {
        let t0 = points[0].0;
        let last = points[points.len() - 1].0;
        let step = 6 * 3600;
        let span = (last - t0).num_seconds().max(1);
        let t1 = t0 + chrono::TimeDelta::seconds((span + step - 1) / step * step);
        let hour = 3600.0;
        let lo = points.iter().map(|p| p.1).min().unwrap_or(0).min(0) as f64;
        let hi = points.iter().map(|p| p.1).max().unwrap_or(0).max(0) as f64;
        Self {
            t0,
            t1,
            lo: (lo / hour).floor() * hour,
            hi: ((hi / hour).ceil() * hour).max(hour),
        }
    }

    fn span(&self) -> f64 {
        (self.t1 - self.t0).num_seconds().max(1) as f64
    }

    fn range(&self) -> f64 {
        (self.hi - self.lo).max(60.0)
    }
}

/// Polyline points, eight to a line (see [`Scale`]).
fn polyline(
    points: &[(DateTime<Utc>, i64)],
    x: impl Fn(DateTime<Utc>) -> f64,
    y: impl Fn(f64) -> f64,
) -> String {
    let mut path = String::new();
    for (i, (t, m)) in points.iter().enumerate() {
        let sep = match i {
            0 => "",
            i if i % 8 == 0 => "\n",
            _ => " ",
        };
        let _ = write!(path, "{sep}{:.1},{:.1}", x(*t), y(*m as f64));
    }
    path
}

/// The margin over the night, with axes: the margin (left, with zero marked) against the
/// time of each projection in the cycle's zone (below). Empty below two points.
pub fn margin_chart(points: &[(DateTime<Utc>, i64)], tz: Tz, width: u32, height: u32) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, bottom, top) = (58.0, 20.0, 8.0);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let scale = Scale::of(points);
    let (t0, t1, lo, hi, range) = (scale.t0, scale.t1, scale.lo, scale.hi, scale.range());
    let span = scale.span();
    let y = |m: f64| top + (hi - m) / range * plot_h;
    let x = |t: DateTime<Utc>| left + (t - t0).num_seconds() as f64 / span * plot_w;
    let path = polyline(points, x, y);
    let last = points[points.len() - 1].1;
    let class = if last < 0 { "chart negative" } else { "chart" };
    let label = |m: f64| signed(chrono::TimeDelta::seconds(m as i64));
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="margin from {} to {}, between {} and {}">"#,
        label(points[0].1 as f64),
        label(last as f64),
        label(points.iter().map(|p| p.1).min().unwrap_or(0) as f64),
        label(points.iter().map(|p| p.1).max().unwrap_or(0) as f64)
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{:.1}"/><line class="axis" x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
        top + plot_h,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    for m in [hi, 0.0, lo] {
        if m != 0.0 && (m - 0.0).abs() < range * 0.08 {
            continue; // too close to zero's label
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 4.0,
            y(m) + 4.0,
            label(m)
        );
    }
    let _ = write!(
        out,
        r#"<line class="zero" x1="{left}" y1="{z:.1}" x2="{:.1}" y2="{z:.1}"/>"#,
        left + plot_w,
        z = y(0.0)
    );
    for (t, anchor) in [(t0, "start"), (t1, "end")] {
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            x(t),
            h - 4.0,
            t.with_timezone(&tz).format("%a %H:%M %Z")
        );
    }
    let _ = write!(out, r#"<polyline points="{path}"/></svg>"#);
    out
}

/// Past durations (minutes) as bars, one per run (labelled with its business date where
/// known), with the estimate as a dashed line and a minutes axis. Empty without history.
pub fn durations(runs: &[(&str, f64)], estimate: f64, width: u32, height: u32) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let (left, bottom, top) = (44.0, 18.0, 6.0);
    let plot_w = w - left - 4.0;
    let plot_h = h - bottom - top;
    let max = runs.iter().map(|r| r.1).fold(estimate, f64::max).max(1.0);
    let bar = (plot_w / runs.len() as f64).min(28.0);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="durations chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="past durations against the estimate of {estimate:.0} minutes">"#
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{:.1}"/><line class="axis" x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{max:.0} min</text><text x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        top + plot_h,
        top + plot_h,
        left + plot_w,
        top + plot_h,
        left - 4.0,
        top + 9.0,
        left - 4.0,
        top + plot_h
    );
    for (i, (date, m)) in runs.iter().enumerate() {
        let bh = m / max * plot_h;
        let class = if *m > estimate { "over" } else { "under" };
        let bx = left + i as f64 * bar + 1.0;
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{bx:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>{}{m:.0} min</title></rect>"#,
            top + plot_h - bh,
            bar - 2.0,
            if date.is_empty() {
                String::new()
            } else {
                format!("{date}: ")
            }
        );
    }
    if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
        let _ = write!(
            out,
            r#"<text x="{left}" y="{:.1}">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            h - 3.0,
            first.0,
            left + runs.len() as f64 * bar,
            h - 3.0,
            if runs.len() > 1 { last.0 } else { "" }
        );
    }
    let ey = top + plot_h - estimate / max * plot_h;
    let _ = write!(
        out,
        r#"<line class="estimate" x1="{left}" y1="{ey:.1}" x2="{:.1}" y2="{ey:.1}"><title>estimate {estimate:.0} min</title></line></svg>"#,
        left + plot_w
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_sparkline_needs_two_points_and_marks_a_negative_end() {
        let t = |m: i64| {
            Utc.timestamp_opt(1_700_000_000 + m * 60, 0)
                .single()
                .expect("t")
        };
        assert!(sparkline(&[(t(0), 100)], 100, 20).is_empty());
        let falling = sparkline(&[(t(0), 3600), (t(30), 600), (t(60), -300)], 100, 20);
        assert!(falling.contains("spark negative"), "{falling}");
        assert_eq!(falling.matches(',').count(), 3, "one point each: {falling}");
        let fine = sparkline(&[(t(0), 3600), (t(30), 7200)], 100, 20);
        assert!(!fine.contains("negative"));
    }

    #[test]
    fn the_margin_chart_has_axes_in_the_cycle_zone() {
        let t = |m: i64| {
            Utc.timestamp_opt(1_740_000_000 + m * 60, 0)
                .single()
                .expect("t")
        };
        let svg = margin_chart(
            &[(t(0), 3600), (t(60), -1800)],
            chrono_tz::America::New_York,
            520,
            150,
        );
        assert!(svg.contains(r#"class="axis""#), "{svg}");
        // The axis runs to whole hours; the label says what the margin did.
        assert!(
            svg.contains(">+1h00m<") && svg.contains(">-1h00m<"),
            "{svg}"
        );
        assert!(svg.contains("margin from +1h00m to -30m"), "{svg}");
        assert!(svg.contains("EST<"), "times name their zone: {svg}");
        assert!(svg.contains("chart negative"));
    }

    #[test]
    fn durations_over_the_estimate_are_marked() {
        let svg = durations(&[("2025-01", 50.0), ("2025-02", 70.0)], 60.0, 200, 80);
        assert_eq!(svg.matches(r#"class="over""#).count(), 1);
        assert_eq!(svg.matches(r#"class="under""#).count(), 1);
        assert!(svg.contains(">70 min<"), "the axis names its top: {svg}");
        assert!(
            svg.contains(">2025-01<") && svg.contains(">2025-02<"),
            "{svg}"
        );
        assert!(durations(&[], 60.0, 100, 40).is_empty());
    }
}
