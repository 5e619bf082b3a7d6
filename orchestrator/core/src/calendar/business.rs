//! Which days are business days.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::diagnostics::{Diagnostic, FileId};

/// A business calendar: which weekdays are business days, and the holidays.
///
/// Built only by [`Calendar::parse`] or [`Calendar::weekdays_only`], so at least one weekday
/// is always a business day and every search for a business day ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub(super) name: String,
    pub(super) description: Option<String>,
    /// Indexed by [`Weekday::num_days_from_monday`].
    pub(super) business_days: [bool; 7],
    pub(super) holidays: BTreeMap<NaiveDate, String>,
}

/// Monday to Friday.
pub(super) const MON_TO_FRI: [bool; 7] = [true, true, true, true, true, false, false];

impl Calendar {
    /// Parses a calendar file (already read into `text`; `file` is its id in the
    /// [`crate::diagnostics::SourceMap`]). Every problem is reported, located, at once; see
    /// `docs/calendars.md` for the format.
    pub fn parse(file: FileId, text: &str) -> Result<Calendar, Vec<Diagnostic>> {
        super::parse::parse(file, text)
    }

    /// Whether `text` looks like a calendar file at all: a top-level `name:`, `holidays:`,
    /// `business_days:` or `description:` key, or a flow map. Only such a file may have its
    /// lines quoted in messages; anything else (a password file a workflow names by mistake or
    /// on purpose) is refused without showing a byte of it.
    pub fn is_recognisable(text: &str) -> bool {
        super::parse::looks_like_calendar(text)
    }

    /// Monday to Friday, no holidays: the calendar of a workflow that names none.
    pub fn weekdays_only(name: &str) -> Calendar {
        Calendar {
            name: name.to_string(),
            description: None,
            business_days: MON_TO_FRI,
            holidays: BTreeMap::new(),
        }
    }

    /// The calendar's `name`, for messages ("calendar `us-federal` lists holidays for ...").
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The calendar's `description`, if the file has one.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Whether `weekday` is one of the file's `business_days` (holidays aside).
    pub fn is_business_weekday(&self, weekday: Weekday) -> bool {
        self.business_days[weekday.num_days_from_monday() as usize]
    }

    /// A business weekday that is not a holiday.
    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        self.is_business_weekday(d.weekday()) && !self.holidays.contains_key(&d)
    }

    /// The holiday's name, so messages can say why a date is not a business day.
    pub fn holiday(&self, d: NaiveDate) -> Option<&str> {
        self.holidays.get(&d).map(String::as_str)
    }

    /// Every holiday, in date order (for listings and for checking a file).
    pub fn holidays(&self) -> impl Iterator<Item = (NaiveDate, &str)> + '_ {
        self.holidays.iter().map(|(d, n)| (*d, n.as_str()))
    }

    /// The latest business day on or before `d`. Returns `d` itself only when there is none,
    /// which can happen only at the start of chrono's date range.
    pub fn previous_business_day(&self, d: NaiveDate) -> NaiveDate {
        self.walk(d, NaiveDate::pred_opt)
    }

    /// The earliest business day on or after `d`. Returns `d` itself only when there is none,
    /// which can happen only at the end of chrono's date range.
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        self.walk(d, NaiveDate::succ_opt)
    }

    /// Steps from `d` until a business day. With at least one business weekday, a run of
    /// non-business days is shorter than a week per holiday plus a week, so this ends.
    fn walk(&self, d: NaiveDate, step: fn(&NaiveDate) -> Option<NaiveDate>) -> NaiveDate {
        let limit = self.holidays.len().saturating_add(1).saturating_mul(7);
        let mut x = d;
        for _ in 0..=limit {
            if self.is_business_day(x) {
                return x;
            }
            match step(&x) {
                Some(next) => x = next,
                None => return d,
            }
        }
        d
    }

    /// The years whose holidays the file lists (first to last holiday), e.g. `2024..=2032`;
    /// `None` without holidays. Planning outside it gets a note from the caller, since no
    /// holidays are known there.
    pub fn covered_years(&self) -> Option<RangeInclusive<i32>> {
        let first = self.holidays.keys().next()?.year();
        let last = self.holidays.keys().next_back()?.year();
        Some(first..=last)
    }
}
