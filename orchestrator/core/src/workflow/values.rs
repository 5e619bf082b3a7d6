//! Parsing the small values of the language: durations, volumes, times of day, time zones.
//! Each returns a message fit to show under the offending value.

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;

use super::raw::Scalar;
use crate::diagnostics::did_you_mean;

/// A duration such as `95m`, `1h30m`, `45s`, `2d`.
pub fn duration(value: &Scalar) -> Result<TimeDelta, String> {
    match value {
        Scalar::Int(n) => Err(format!(
            "`{n}` has no unit; write it with one, e.g. `{n}m` (units: s, m, h, d)"
        )),
        Scalar::Float(f) => Err(format!(
            "`{f}` has no unit; write it with one, e.g. `90m` (units: s, m, h, d)"
        )),
        Scalar::Text(text) if text.trim_start().starts_with('-') => Err(format!(
            "`{text}` is negative; a duration is how long something takes, e.g. `95m`"
        )),
        Scalar::Text(text) => {
            let parsed = humantime::parse_duration(text.trim()).map_err(|e| {
                format!("`{text}` is not a duration ({e}); write e.g. `95m`, `1h30m` or `45s`")
            })?;
            TimeDelta::from_std(parsed)
                .ok()
                .filter(|d| *d <= TimeDelta::days(366))
                .ok_or_else(|| {
                    format!("`{text}` is longer than a year; no batch job runs that long")
                })
        }
    }
}

/// `1 job`, `2 jobs`: a count and a word, plural unless the count is one.
pub fn count<T: std::fmt::Display + PartialEq + From<u8>>(n: T, word: &str) -> String {
    if n == T::from(1) {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A claim volume: `22M`, `1.8M`, `500K`, `1800000`.
pub fn volume(value: &Scalar) -> Result<u64, String> {
    let hint = "write a number of claims such as `22M`, `500K` or `1800000`";
    let number = match value {
        Scalar::Int(n) => *n as f64,
        Scalar::Float(f) => *f,
        Scalar::Text(text) => {
            let t = text.trim();
            let (digits, factor) = match t.chars().last() {
                Some('K' | 'k') => (&t[..t.len() - 1], 1e3),
                Some('M' | 'm') => (&t[..t.len() - 1], 1e6),
                Some('B' | 'b') => (&t[..t.len() - 1], 1e9),
                _ => (t, 1.0),
            };
            let n: f64 = digits
                .trim()
                .parse()
                .map_err(|_| format!("`{text}` is not a volume; {hint}"))?;
            n * factor
        }
    };
    if !number.is_finite() || number < 0.0 {
        return Err(format!("`{}` is not a volume; {hint}", value.as_text()));
    }
    if number > 1e12 {
        return Err(format!(
            "`{}` is more claims than any cycle carries; {hint}",
            value.as_text()
        ));
    }
    Ok(number.round() as u64)
}

/// A percentage written with its sign, `5%` or `0.5%`, as a fraction (0.05). A bare number
/// is refused: `5` and `0.05` would each be read as the other by someone.
pub fn percent(value: &Scalar) -> Result<f64, String> {
    let hint = "write a percentage such as `5%`";
    let Scalar::Text(text) = value else {
        return Err(format!("`{}` is a bare number; {hint}", value.as_text()));
    };
    let number = text
        .trim()
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{text}` is not a percentage; {hint}"))?;
    Ok(number / 100.0)
}

/// A local time of day, `HH:MM` (24-hour).
pub fn time_of_day(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("`{text}` is not a time of day; write 24-hour `HH:MM`, e.g. `20:00`"))
}

/// An IANA time zone name.
pub fn time_zone(text: &str) -> Result<Tz, (String, Option<String>)> {
    text.parse::<Tz>().map_err(|_| {
        let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
        (
            format!("`{text}` is not an IANA time zone"),
            did_you_mean(text, names).or_else(|| {
                Some("write a zone from the IANA database, e.g. `America/New_York`".to_string())
            }),
        )
    })
}

/// Longest id (in characters) of anything a workflow declares: ids name jobs in plans,
/// logs, alerts and the UI, and concrete ids add a stream and partition to it.
pub const MAX_ID_CHARS: usize = 64;

/// A name as messages show it: whole, or its first 24 characters and `…` when it is longer
/// than any id can be (a 10,000-character name is not worth repeating).
pub fn shown_id(name: &str) -> String {
    if name.chars().count() <= MAX_ID_CHARS {
        return name.to_string();
    }
    let head: String = name.chars().take(24).collect();
    format!("{head}…")
}

/// Whether an id is usable: starts with a letter or digit, then letters, digits, `_` or `-`.
/// (`.` is reserved for stream instances, `*` for "every instance".)
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `8000000` as `8,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a duration the way people read batch schedules: `1h25m`, `38m`, `45s`.
pub fn format_duration(d: TimeDelta) -> String {
    let negative = d < TimeDelta::zero();
    let total = d.num_seconds().unsigned_abs();
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = String::from(if negative { "-" } else { "" });
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 || (h > 0 && s > 0) {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || total == 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.to_string())
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(duration(&text("95m")), Ok(TimeDelta::minutes(95)));
        assert_eq!(duration(&text("1h30m")), Ok(TimeDelta::minutes(90)));
        assert!(
            duration(&Scalar::Int(95))
                .unwrap_err()
                .contains("has no unit")
        );
        assert!(
            duration(&text("soon"))
                .unwrap_err()
                .contains("is not a duration")
        );
        assert!(
            duration(&text("400d"))
                .unwrap_err()
                .contains("longer than a year")
        );
    }

    #[test]
    fn negative_durations_are_refused_plainly() {
        assert!(duration(&text("-5m")).unwrap_err().contains("is negative"));
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(count(1u32, "job"), "1 job");
        assert_eq!(count(0u32, "day"), "0 days");
        assert_eq!(count(3usize, "night"), "3 nights");
        assert_eq!(count(-1i64, "estimate"), "-1 estimates");
    }

    #[test]
    fn volumes_accept_suffixes() {
        assert_eq!(volume(&text("22M")), Ok(22_000_000));
        assert_eq!(volume(&text("1.8M")), Ok(1_800_000));
        assert_eq!(volume(&text("500K")), Ok(500_000));
        assert_eq!(volume(&Scalar::Int(144_000)), Ok(144_000));
        assert!(volume(&text("22X")).is_err());
        assert!(volume(&Scalar::Int(-5)).is_err());
    }

    #[test]
    fn times_and_zones() {
        assert_eq!(
            time_of_day("20:00"),
            NaiveTime::from_hms_opt(20, 0, 0).ok_or(String::new())
        );
        assert!(time_of_day("25:00").is_err());
        assert!(time_zone("America/New_York").is_ok());
        let (msg, help) = time_zone("America/NewYork").unwrap_err();
        assert!(msg.contains("not an IANA time zone"));
        assert_eq!(help.as_deref(), Some("did you mean `America/New_York`?"));
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(TimeDelta::minutes(505)), "8h25m");
        assert_eq!(format_duration(TimeDelta::minutes(38)), "38m");
        assert_eq!(format_duration(TimeDelta::minutes(-45)), "-45m");
        assert_eq!(format_duration(TimeDelta::zero()), "0s");
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("CLAIM-EXTRACT"));
        assert!(is_valid_id("d1"));
        assert!(!is_valid_id("a.b"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
    }
}
