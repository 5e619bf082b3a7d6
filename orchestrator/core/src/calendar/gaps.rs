//! Local times that do not exist: the hour (or half hour, or day) a spring-forward
//! transition skips. [`super::local_instant`] moves such a time forward by the gap; these
//! say when that happens, so the compiler and `warden plan` can warn instead of moving a
//! window silently (docs/calendars.md).

use chrono::{
    Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone,
};
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
/// local date and time it is moved to that night. Only the days around a change of UTC
/// offset are tried (found a week at a time), so a search costs about a thousand offset
/// look-ups, not one per day.
pub fn first_gap(tz: Tz, time: NaiveTime) -> Option<(NaiveDate, NaiveDateTime)> {
    first_gap_near(tz, time, &offset_changes(tz))
}

/// [`first_gap`], with the zone's [`offset_changes`] already found (a compiler checks
/// several times of day in one zone).
pub fn first_gap_near(
    tz: Tz,
    time: NaiveTime,
    changes: &[NaiveDate],
) -> Option<(NaiveDate, NaiveDateTime)> {
    changes
        .iter()
        .copied()
        .flat_map(|day| [day.pred_opt(), Some(day), day.succ_opt()])
        .flatten()
        .find_map(|date| moved_by_gap(tz, date, time).map(|moved| (date, moved)))
}

/// The dates in [`GAP_SEARCH_YEARS`] whose noon (UTC) has another UTC offset than the noon
/// before: a transition happened within a day of them.
pub fn offset_changes(tz: Tz) -> Vec<NaiveDate> {
    let noon = |date: NaiveDate| {
        let instant = date.and_hms_opt(12, 0, 0).unwrap_or_default();
        tz.offset_from_utc_datetime(&instant)
            .fix()
            .local_minus_utc()
    };
    let mut changes = Vec::new();
    let Some(mut week) = NaiveDate::from_ymd_opt(*GAP_SEARCH_YEARS.start(), 1, 1) else {
        return changes;
    };
    while week.year() <= *GAP_SEARCH_YEARS.end() {
        let Some(next) = week.checked_add_signed(TimeDelta::days(7)) else {
            break;
        };
        if noon(week) != noon(next) {
            let mut day = week;
            while day < next {
                let Some(following) = day.succ_opt() else {
                    break;
                };
                if noon(day) != noon(following) {
                    changes.push(following);
                }
                day = following;
            }
        }
        week = next;
    }
    changes
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

    #[test]
    fn gaps_of_other_sizes_are_found_too() {
        // Lord Howe Island springs forward half an hour at 02:00 (first Sunday of October).
        let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap_or(Tz::UTC);
        let (date, moved) = first_gap(lord_howe, t(2, 15)).expect("a gap");
        assert_eq!(date.to_string(), "2025-10-05");
        assert_eq!(moved.format("%H:%M").to_string(), "02:45");
        assert_eq!(first_gap(lord_howe, t(2, 45)), None);
    }
}
