//! Small server-side SVG charts: the margin's sparkline (and its larger chart on the cycle
//! page) and a job's past durations against its estimate. Pure.

use std::fmt::Write;

use chrono::{DateTime, Utc};

/// The margin over the night: a line, with the zero line when the margin crosses it.
/// Empty below two points.
pub fn sparkline(points: &[(DateTime<Utc>, i64)], width: u32, height: u32) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let t0 = points[0].0;
    let span = (points[points.len() - 1].0 - t0).num_seconds().max(1) as f64;
    let lo = points.iter().map(|p| p.1).min().unwrap_or(0).min(0) as f64;
    let hi = points.iter().map(|p| p.1).max().unwrap_or(0).max(0) as f64;
    let range = (hi - lo).max(60.0);
    let y = |m: i64| 2.0 + (hi - m as f64) / range * (h - 4.0);
    let mut path = String::new();
    for (i, (t, m)) in points.iter().enumerate() {
        let px = (*t - t0).num_seconds() as f64 / span * (w - 2.0) + 1.0;
        let _ = write!(
            path,
            "{}{px:.1},{:.1}",
            if i == 0 { "" } else { " " },
            y(*m)
        );
    }
    let last = points[points.len() - 1].1;
    let class = if last < 0 { "spark negative" } else { "spark" };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="margin over the night"><line class="zero" x1="0" y1="{z:.1}" x2="{width}" y2="{z:.1}"/><polyline points="{path}"/></svg>"#,
        z = y(0)
    )
}

/// Past durations (minutes) as bars, with the estimate as a line. Empty without history.
pub fn durations(minutes: &[f64], estimate: f64, width: u32, height: u32) -> String {
    if minutes.is_empty() {
        return String::new();
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let max = minutes.iter().cloned().fold(estimate, f64::max).max(1.0);
    let bar = (w / minutes.len() as f64).min(24.0);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="durations" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="past durations against the estimate">"#
    );
    for (i, m) in minutes.iter().enumerate() {
        let bh = m / max * (h - 4.0);
        let class = if *m > estimate { "over" } else { "under" };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>{m:.0} min</title></rect>"#,
            i as f64 * bar + 1.0,
            h - bh,
            bar - 2.0
        );
    }
    let ey = h - estimate / max * (h - 4.0);
    let _ = write!(
        out,
        r#"<line class="estimate" x1="0" y1="{ey:.1}" x2="{width}" y2="{ey:.1}"><title>estimate {estimate:.0} min</title></line></svg>"#
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
    fn durations_over_the_estimate_are_marked() {
        let svg = durations(&[50.0, 70.0], 60.0, 100, 40);
        assert_eq!(svg.matches(r#"class="over""#).count(), 1);
        assert_eq!(svg.matches(r#"class="under""#).count(), 1);
        assert!(durations(&[], 60.0, 100, 40).is_empty());
    }
}
