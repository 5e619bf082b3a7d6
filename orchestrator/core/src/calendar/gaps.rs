//! Local times that do not exist: the hour (or half hour, or day) a spring-forward
//! transition skips. [`super::local_instant`] moves such a time forward by the gap; these
//! say when that happens, so the compiler and `warden plan` can warn instead of moving a
//! window silently (docs/calendars.md).

use chrono::{Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;

use super::local_instant;

/// Years searched for a gap by [`first_gap`]: the code has no clock, so a fixed span that
/// covers the cycles it will plan.
pub const GAP_SEARCH_YEARS: std::ops::RangeInclusive<i32> = 2025..=2044;

/// Where `time` on `date` is moved to, when it falls in a gap in `tz`.
pub fn moved_by_gap(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<NaiveDateTime> {
    match tz.offset_from_local_datetime(&date.and_time(time)) {
        MappedLocalTime::None => Some(
            local_instant(tz, date, time)
                .with_timezone(&tz)
                .naive_local(),
        ),
        _ => None,
    }
}

/// The first date in [`GAP_SEARCH_YEARS`] on which `time` falls in a gap in `tz`, and the
/// local date and time it is moved to that night.
pub fn first_gap(tz: Tz, time: NaiveTime) -> Option<(NaiveDate, NaiveDateTime)> {
    let mut date = NaiveDate::from_ymd_opt(*GAP_SEARCH_YEARS.start(), 1, 1)?;
    while date.year() <= *GAP_SEARCH_YEARS.end() {
        if let Some(moved) = moved_by_gap(tz, date, time) {
            return Some((date, moved));
        }
        date = date.checked_add_signed(TimeDelta::days(1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default()
    }

    #[test]
    fn half_past_two_on_the_spring_forward_night_in_new_york_is_moved() {
        let tz: Tz = "America/New_York".parse().unwrap_or(Tz::UTC);
        let (date, moved) = first_gap(tz, t(2, 30)).expect("a gap");
        assert_eq!(date.to_string(), "2025-03-09");
        assert_eq!(moved.to_string(), "2025-03-09 03:30:00");
        assert_eq!(first_gap(tz, t(20, 0)), None);
        assert_eq!(first_gap(Tz::UTC, t(2, 30)), None);
    }
}
