//! Local wall-clock times to instants, and night windows, in an explicit IANA zone.
//!
//! Workflows give times of day ("20:00") in the cycle's zone; plans need instants. The two
//! awkward nights a year are resolved by fixed rules (see `docs/calendars.md`) so a plan never
//! depends on the machine's zone or on chance.

use chrono::{
    DateTime, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

/// A wall-clock time on a date in `tz`, as an instant.
///
/// A time in a spring-forward gap moves forward by the gap: it is read with the offset in
/// force before the gap, so 02:30 on the night DST starts in New York is 03:30 EDT (and 02:15
/// in Lord Howe's half-hour gap is 02:45). An ambiguous time (the repeated hour when DST ends)
/// is the earlier instant: 01:30 on the night DST ends in New York is 01:30 EDT. Never
/// panics; at the very edges of chrono's range, where an offset would overflow, the time is
/// read as UTC.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    let offset = match tz.offset_from_local_datetime(&naive) {
        MappedLocalTime::Single(o) => o.fix(),
        MappedLocalTime::Ambiguous(a, b) => {
            // The earlier instant is the one with the larger offset (east of UTC).
            let (a, b) = (a.fix(), b.fix());
            if a.local_minus_utc() >= b.local_minus_utc() {
                a
            } else {
                b
            }
        }
        MappedLocalTime::None => offset_before_gap(tz, naive),
    };
    utc(naive, offset)
}

/// The offset in force just before the gap `naive` falls in. A day either side of `naive` is
/// safely outside any gap (even Samoa's skipped day, 2011-12-30) and within the same pair of
/// transitions; the clock jumps forward in a gap, so the smaller offset is the earlier one.
fn offset_before_gap(tz: Tz, naive: NaiveDateTime) -> FixedOffset {
    let at = |delta: TimeDelta| {
        let instant = naive.checked_add_signed(delta).unwrap_or(naive);
        tz.offset_from_utc_datetime(&instant).fix()
    };
    let (before, after) = (at(TimeDelta::days(-1)), at(TimeDelta::days(1)));
    if before.local_minus_utc() <= after.local_minus_utc() {
        before
    } else {
        after
    }
}

fn utc(naive: NaiveDateTime, offset: FixedOffset) -> DateTime<Utc> {
    naive.checked_sub_offset(offset).unwrap_or(naive).and_utc()
}

/// A night's window in absolute time: what the scheduler and the deadline projection work
/// with, so a DST night is simply an hour longer or shorter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
}

impl Window {
    /// How long the window is open: 11 hours for a 20:00–06:00 window the night DST ends,
    /// 9 the night it starts. Never negative.
    pub fn duration(&self) -> chrono::Duration {
        (self.closes - self.opens).max(TimeDelta::zero())
    }
}

/// The window of the night beginning on `night`: opens at `opens` on that date and closes at
/// `closes` the same date if `closes` is after `opens`, else the next date. Both times follow
/// [`local_instant`]'s rules. A window that a spring-forward gap swallows whole closes when it
/// opens (it never closes before it opens).
pub fn night_window(tz: Tz, night: NaiveDate, opens: NaiveTime, closes: NaiveTime) -> Window {
    let close_date = if closes > opens {
        night
    } else {
        night.succ_opt().unwrap_or(night)
    };
    let opens = local_instant(tz, night, opens);
    let closes = local_instant(tz, close_date, closes).max(opens);
    Window { opens, closes }
}
