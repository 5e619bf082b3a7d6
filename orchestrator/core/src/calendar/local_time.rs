//! Local wall-clock times to instants, and night windows, in an explicit IANA zone.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// A wall-clock time on a date in `tz`, as an instant. A time in a spring-forward gap moves
/// forward by the gap (02:30 on the night DST starts is 03:30 EDT); an ambiguous time (the
/// repeated hour when DST ends) is the earlier instant.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        LocalResult::None => {
            // In a spring-forward gap: read the time with the offset in force before the gap,
            // which lands it past the gap by exactly the wall-clock time it fell inside.
            let before = tz
                .offset_from_utc_datetime(&(naive - TimeDelta::hours(12)))
                .fix();
            Utc.from_utc_datetime(
                &(naive - TimeDelta::seconds(i64::from(before.local_minus_utc()))),
            )
        }
    }
}

/// A night's window in absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
}

impl Window {
    pub fn duration(&self) -> TimeDelta {
        self.closes - self.opens
    }
}

/// The window of the night beginning on `night`: opens on that date; closes the same date if
/// `closes` is after `opens`, else the next morning.
pub fn night_window(tz: Tz, night: NaiveDate, opens: NaiveTime, closes: NaiveTime) -> Window {
    let close_date = if closes > opens {
        night
    } else {
        night.succ_opt().unwrap_or(night)
    };
    Window {
        opens: local_instant(tz, night, opens),
        closes: local_instant(tz, close_date, closes),
    }
}
