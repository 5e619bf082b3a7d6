//! The month-end rule: which nights a month-end cycle runs on.

use chrono::{Datelike, NaiveDate};

use super::Calendar;

/// What to do when a month-end cycle's start day is not a business day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonBusinessStart {
    /// Start on the last business day before it.
    Previous,
    /// Start on the first business day after it.
    Next,
    /// Start on it anyway.
    Keep,
}

/// How a month-end cycle's later nights follow the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NightSpacing {
    /// Consecutive calendar nights.
    Calendar,
    /// Each next night is the next business day.
    Business,
}

/// The month-end rule: start on `start_day` (clamped to the month's last day), adjusted
/// for non-business days, then `nights` nights spaced by `spacing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthEndRule {
    pub start_day: u32,
    pub when_not_business_day: NonBusinessStart,
    pub nights: u32,
    pub spacing: NightSpacing,
}

impl MonthEndRule {
    /// The dates the cycle's nights begin on, for `year`-`month`.
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
        let mut out = vec![start];
        while out.len() < self.nights as usize {
            let Some(next) = out.last().and_then(|d| d.succ_opt()) else {
                break;
            };
            out.push(match self.spacing {
                NightSpacing::Calendar => next,
                NightSpacing::Business => calendar.next_business_day(next),
            });
        }
        out
    }
}

fn last_day_of_month(first: NaiveDate) -> u32 {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .map_or(28, |d| d.day())
}
