//! The month-end rule: which nights a month-end cycle runs on.

use chrono::{Datelike, NaiveDate};

use super::Calendar;

/// What to do when a month-end cycle's start day is not a business day (a weekend or a
/// holiday): architects differ, so the workflow says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonBusinessStart {
    /// Start on the last business day before it.
    Previous,
    /// Start on the first business day after it.
    Next,
    /// Start on it anyway.
    Keep,
}

/// How a month-end cycle's later nights follow the first: the case study's cycle runs on
/// consecutive calendar nights, weekend included; others skip non-business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NightSpacing {
    /// Consecutive calendar nights.
    Calendar,
    /// Each next night is the next business day.
    Business,
}

/// The month-end rule: start on `start_day` (clamped to the month's last day), adjusted
/// for non-business days, then `nights` nights spaced by `spacing`. A value, so workflows can
/// hold it and tests can build it directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthEndRule {
    /// Day of the month the cycle starts on; 0 is read as 1, and days past the month's end
    /// as its last day.
    pub start_day: u32,
    pub when_not_business_day: NonBusinessStart,
    /// Nights in the cycle; at most [`MonthEndRule::MAX_NIGHTS`] are produced.
    pub nights: u32,
    pub spacing: NightSpacing,
}

impl MonthEndRule {
    /// A cap on `nights`, so a bad value cannot ask for billions of dates. The workflow
    /// compiler accepts 1 to 31.
    pub const MAX_NIGHTS: u32 = 366;

    /// The dates the cycle's nights begin on, for `year`-`month`, in increasing order.
    ///
    /// `start_day` is clamped to the month's last day (31 in a 30-day month is the 30th; 28 or
    /// more in February is the 28th, or the 29th in a leap year); that date is moved per
    /// `when_not_business_day`; then `nights` nights follow per `spacing`: consecutive calendar
    /// dates (across the month's end: February 2025 from the 28th gives Feb 28, Mar 1, Mar 2)
    /// or each the next business day. Empty for an impossible month (0, 13, or a year outside
    /// chrono's range), and cut short at the end of chrono's range.
    pub fn nights(&self, calendar: &Calendar, year: i32, month: u32) -> Vec<NaiveDate> {
        let Some(first_of_month) = NaiveDate::from_ymd_opt(year, month, 1) else {
            return Vec::new();
        };
        let last_day = last_day_of_month(first_of_month);
        let day = self.start_day.clamp(1, last_day);
        let Some(nominal) = NaiveDate::from_ymd_opt(year, month, day) else {
            return Vec::new();
        };
        let start = match self.when_not_business_day {
            NonBusinessStart::Keep => nominal,
            NonBusinessStart::Previous => calendar.previous_business_day(nominal),
            NonBusinessStart::Next => calendar.next_business_day(nominal),
        };
        let count = self.nights.min(Self::MAX_NIGHTS) as usize;
        let mut out: Vec<NaiveDate> = Vec::with_capacity(count);
        let mut next = Some(start);
        while out.len() < count {
            let Some(night) = next else { break };
            // `next_business_day` returns its argument when it finds none (the end of
            // chrono's range); never go backwards or repeat a night.
            if out.last().is_some_and(|last| night <= *last) {
                break;
            }
            out.push(night);
            next = night.succ_opt().map(|after| match self.spacing {
                NightSpacing::Calendar => after,
                NightSpacing::Business => calendar.next_business_day(after),
            });
        }
        out
    }
}

/// The month's last day number.
fn last_day_of_month(first: NaiveDate) -> u32 {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        // Only December of chrono's last year has no next month.
        .map_or(31, |d| d.day())
}
