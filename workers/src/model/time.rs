//! Dates and timestamps in the fixed formats of the claim files (`YYYY-MM-DD`,
//! `YYYY-MM-DDTHH:MM:SSZ`), parsed by hand: fixed width, UTC, fast, and every
//! malformed value is an error with its reason rather than a guess.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` → days since the epoch.
pub fn parse_date(text: &str) -> Result<i32, String> {
    let b = text.as_bytes();
    let bad = || format!("`{text}` is not a date (YYYY-MM-DD)");
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let (y, m, d) = (
        digits(&b[0..4]).ok_or_else(bad)?,
        digits(&b[5..7]).ok_or_else(bad)?,
        digits(&b[8..10]).ok_or_else(bad)?,
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
        return Err(format!("`{text}` is not a calendar date"));
    }
    Ok(days_from_civil(i64::from(y), m, d) as i32)
}

/// `YYYY-MM-DDTHH:MM:SSZ` → seconds since the epoch.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let b = text.as_bytes();
    let bad = || format!("`{text}` is not a UTC timestamp (YYYY-MM-DDTHH:MM:SSZ)");
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return Err(bad());
    }
    let days = parse_date(&text[..10])?;
    let (h, mi, s) = (
        digits(&b[11..13]).ok_or_else(bad)?,
        digits(&b[14..16]).ok_or_else(bad)?,
        digits(&b[17..19]).ok_or_else(bad)?,
    );
    if h > 23 || mi > 59 || s > 59 {
        return Err(bad());
    }
    Ok(i64::from(days) * 86_400 + i64::from(h * 3600 + mi * 60 + s))
}

pub fn format_date(days: i32, out: &mut String) {
    use std::fmt::Write;
    let (y, m, d) = civil_from_days(i64::from(days));
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

pub fn format_timestamp(secs: i64, out: &mut String) {
    use std::fmt::Write;
    format_date(secs.div_euclid(86_400) as i32, out);
    let s = secs.rem_euclid(86_400);
    let _ = write!(out, "T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_refused() {
        for t in [
            "2025-03-04T08:15:09Z",
            "2024-02-29T23:59:59Z",
            "1999-12-31T00:00:00Z",
        ] {
            let secs = parse_timestamp(t).expect("valid");
            let mut s = String::new();
            format_timestamp(secs, &mut s);
            assert_eq!(s, t);
        }
        assert_eq!(parse_date("1970-01-02"), Ok(1));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "20250101",
            "2025-04-31",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_timestamp("2025-03-04 08:15:09").is_err());
    }
}
