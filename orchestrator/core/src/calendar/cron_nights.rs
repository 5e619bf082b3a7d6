//! The dates a cron schedule runs on.
//!
//! A nightly cycle is planned for a date; these say whether its cron expression fires on that
//! date in the cycle's zone, and if not, which nearby dates it does run on, so the user gets
//! "the nearest runs are 2025-02-28 (Fri) and 2025-03-03 (Mon)" rather than a bare refusal.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Calendar, local_instant};

/// How far [`nearest_cron_nights`] looks each way, in days.
pub const NEAREST_SEARCH_DAYS: u64 = 400;

/// The instant a cron expression first fires on `date` (a local date in `tz`), if it does.
///
/// Searches from the first instant of the date (midnight, or the end of a gap at midnight);
/// croner decides what a firing inside a DST gap or repeated hour means.
pub fn cron_fires_on(cron: &croner::Cron, tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let next = next_firing(cron, tz, date)?;
    (next.date_naive() == date).then(|| next.with_timezone(&Utc))
}

/// The first firing at or after the start of `date`, in `tz`.
fn next_firing(cron: &croner::Cron, tz: Tz, date: NaiveDate) -> Option<DateTime<Tz>> {
    let start = local_instant(tz, date, NaiveTime::MIN).with_timezone(&tz);
    cron.find_next_occurrence(&start, true).ok()
}

/// The nearest dates strictly before and after `date` on which the schedule runs: the cron
/// fires on them in `tz` and, when `business_days_only`, the calendar calls them business
/// days. Looks at most [`NEAREST_SEARCH_DAYS`] days each way; `None` when there is no such
/// date within that.
///
/// Each step asks croner for the next (or previous) firing and jumps to its date, so a
/// schedule that rarely or never fires costs a few searches, not one per day.
pub fn nearest_cron_nights(
    cron: &croner::Cron,
    tz: Tz,
    calendar: &Calendar,
    business_days_only: bool,
    date: NaiveDate,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let runs = |d: NaiveDate| !business_days_only || calendar.is_business_day(d);
    (
        search_before(cron, tz, date, &runs),
        search_after(cron, tz, date, &runs),
    )
}

fn search_after(
    cron: &croner::Cron,
    tz: Tz,
    date: NaiveDate,
    runs: &dyn Fn(NaiveDate) -> bool,
) -> Option<NaiveDate> {
    let limit = date.checked_add_days(chrono::Days::new(NEAREST_SEARCH_DAYS))?;
    let mut from = date.succ_opt()?;
    // Each step moves `from` forward by at least a day, so this bound is never reached.
    for _ in 0..=NEAREST_SEARCH_DAYS {
        let fired = next_firing(cron, tz, from)?.date_naive();
        if fired > limit {
            return None;
        }
        if fired >= from && runs(fired) {
            return Some(fired);
        }
        from = fired.max(from).succ_opt()?;
    }
    None
}

fn search_before(
    cron: &croner::Cron,
    tz: Tz,
    date: NaiveDate,
    runs: &dyn Fn(NaiveDate) -> bool,
) -> Option<NaiveDate> {
    let limit = date.checked_sub_days(chrono::Days::new(NEAREST_SEARCH_DAYS))?;
    // Firings strictly before the start of `until` are on earlier dates.
    let mut until = date;
    for _ in 0..=NEAREST_SEARCH_DAYS {
        let start = local_instant(tz, until, NaiveTime::MIN).with_timezone(&tz);
        let fired = cron
            .find_previous_occurrence(&start, false)
            .ok()?
            .date_naive();
        if fired < limit {
            return None;
        }
        if fired < until && runs(fired) {
            return Some(fired);
        }
        until = fired.min(until.pred_opt()?);
    }
    None
}
