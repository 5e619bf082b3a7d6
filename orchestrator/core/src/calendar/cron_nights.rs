//! The dates a cron schedule runs on.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::{Calendar, local_instant};

/// When a cron expression first fires on `date` in `tz`, if it does.
pub fn cron_fires_on(cron: &croner::Cron, tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
    let start = local_instant(tz, date, NaiveTime::MIN).with_timezone(&tz);
    let next = cron.find_next_occurrence(&start, true).ok()?;
    (next.date_naive() == date).then(|| next.with_timezone(&Utc))
}

/// The nearest dates before and after `date` on which the schedule runs (the cron fires and,
/// if required, it is a business day), searching up to 400 days each way.
pub fn nearest_cron_nights(
    cron: &croner::Cron,
    tz: Tz,
    calendar: &Calendar,
    business_days_only: bool,
    date: NaiveDate,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let runs = |d: &NaiveDate| {
        cron_fires_on(cron, tz, *d).is_some()
            && (!business_days_only || calendar.is_business_day(*d))
    };
    let before = (1..=400)
        .filter_map(|i| date.checked_sub_days(Days::new(i)))
        .find(runs);
    let after = (1..=400)
        .filter_map(|i| date.checked_add_days(Days::new(i)))
        .find(runs);
    (before, after)
}
