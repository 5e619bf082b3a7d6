//! The `--date` argument: a month (`2025-02`) or a day (`2025-03-03`).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSpec {
    Month { year: i32, month: u32 },
    Day(NaiveDate),
}

impl DateSpec {
    pub fn year_month(&self) -> (i32, u32) {
        match self {
            DateSpec::Month { year, month } => (*year, *month),
            DateSpec::Day(d) => (d.year(), d.month()),
        }
    }
}

impl FromStr for DateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(DateSpec::Day(d));
        }
        if let Some((y, m)) = s.split_once('-')
            && y.len() == 4
            && let (Ok(year), Ok(month)) = (y.parse::<i32>(), m.parse::<u32>())
            && (1..=12).contains(&month)
        {
            return Ok(DateSpec::Month { year, month });
        }
        Err(format!(
            "`{s}` is not a date; write YYYY-MM (a month) or YYYY-MM-DD (a day)"
        ))
    }
}

impl fmt::Display for DateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateSpec::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            DateSpec::Day(d) => write!(f, "{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_months_and_days() {
        assert_eq!(
            "2025-02".parse(),
            Ok(DateSpec::Month {
                year: 2025,
                month: 2
            })
        );
        assert_eq!(
            "2025-03-03".parse::<DateSpec>().map(|d| d.to_string()),
            Ok("2025-03-03".to_string())
        );
        assert!("2025-13".parse::<DateSpec>().is_err());
        assert!("2025-02-30".parse::<DateSpec>().is_err());
        assert!("tomorrow".parse::<DateSpec>().is_err());
    }
}
