//! Which days are business days.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

use crate::diagnostics::{Diagnostic, FileId, Span, did_you_mean};
use crate::workflow::located::Located;

/// A business calendar: which weekdays are business days, and the holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    name: String,
    description: Option<String>,
    business_days: [bool; 7],
    holidays: BTreeMap<NaiveDate, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: Located<String>,
    description: Option<String>,
    business_days: Option<Vec<Located<String>>>,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    date: Located<String>,
    name: String,
}

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

impl Calendar {
    /// Parses a calendar file, collecting every error.
    pub fn parse(file: FileId, text: &str) -> Result<Calendar, Vec<Diagnostic>> {
        let raw: RawCalendar = serde_saphyr::from_str(text)
            .map_err(|e| vec![crate::workflow::compile::yaml_error(file, &e)])?;
        let mut errors = Vec::new();
        let mut business_days = [false; 7];
        match &raw.business_days {
            None => business_days[..5].fill(true),
            Some(days) => {
                for d in days {
                    match WEEKDAYS
                        .iter()
                        .find(|(n, _)| *n == d.value.to_ascii_lowercase())
                    {
                        Some((_, w)) => business_days[w.num_days_from_monday() as usize] = true,
                        None => errors.push(
                            Diagnostic::error(format!("`{}` is not a weekday", d.value))
                                .at(d.span(file))
                                .label("expected mon, tue, wed, thu, fri, sat or sun")
                                .help(
                                    did_you_mean(&d.value, WEEKDAYS.iter().map(|(n, _)| *n))
                                        .unwrap_or_else(|| {
                                            "write weekdays as mon, tue, wed, thu, fri, sat, sun"
                                                .into()
                                        }),
                                ),
                        ),
                    }
                }
            }
        }
        let mut holidays: BTreeMap<NaiveDate, String> = BTreeMap::new();
        let mut first_seen: BTreeMap<NaiveDate, Span> = BTreeMap::new();
        for h in &raw.holidays {
            let span = h.date.span(file);
            match NaiveDate::parse_from_str(h.date.value.trim(), "%Y-%m-%d") {
                Err(_) => errors.push(
                    Diagnostic::error(format!("`{}` is not a date", h.date.value))
                        .at(span)
                        .label("expected YYYY-MM-DD")
                        .help("write holiday dates as YYYY-MM-DD, e.g. 2025-11-27"),
                ),
                Ok(date) => {
                    if let Some(first) = first_seen.get(&date) {
                        errors.push(
                            Diagnostic::error(format!("{date} is listed twice"))
                                .at(span)
                                .label("listed again here")
                                .note(*first, "first listed here"),
                        );
                    } else {
                        first_seen.insert(date, span);
                        holidays.insert(date, h.name.clone());
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(Calendar {
                name: raw.name.value,
                description: raw.description,
                business_days,
                holidays,
            })
        } else {
            Err(errors)
        }
    }

    /// Monday to Friday, no holidays: the calendar of a workflow that names none.
    pub fn weekdays_only(name: &str) -> Calendar {
        let mut business_days = [false; 7];
        business_days[..5].fill(true);
        Calendar {
            name: name.to_string(),
            description: None,
            business_days,
            holidays: BTreeMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn is_business_day(&self, d: NaiveDate) -> bool {
        self.business_days[d.weekday().num_days_from_monday() as usize]
            && !self.holidays.contains_key(&d)
    }

    pub fn holiday(&self, d: NaiveDate) -> Option<&str> {
        self.holidays.get(&d).map(String::as_str)
    }

    /// The latest business day on or before `d` (at most a year back; `d` itself if none).
    pub fn previous_business_day(&self, d: NaiveDate) -> NaiveDate {
        (0..366)
            .filter_map(|i| d.checked_sub_days(Days::new(i)))
            .find(|x| self.is_business_day(*x))
            .unwrap_or(d)
    }

    /// The earliest business day on or after `d` (at most a year ahead; `d` itself if none).
    pub fn next_business_day(&self, d: NaiveDate) -> NaiveDate {
        (0..366)
            .filter_map(|i| d.checked_add_days(Days::new(i)))
            .find(|x| self.is_business_day(*x))
            .unwrap_or(d)
    }

    /// The years the holiday list covers.
    pub fn covered_years(&self) -> Option<RangeInclusive<i32>> {
        let first = self.holidays.keys().next()?.year();
        let last = self.holidays.keys().next_back()?.year();
        Some(first..=last)
    }
}
