//! Business calendars, month-end night rules, night windows across daylight saving time, and
//! the nights a cron schedule runs on. Pure: no clock, no I/O. See `docs/calendars.md`.
//!
//! - [`Calendar`]: business weekdays and holidays, read from a calendar file;
//! - [`MonthEndRule`]: which nights a month-end cycle runs on;
//! - [`local_instant`], [`night_window`]: local times to instants, with fixed DST rules;
//! - [`cron_fires_on`], [`nearest_cron_nights`]: the dates a nightly schedule runs on.

mod business;
mod cron_nights;
mod gaps;
mod local_time;
mod month_end;
mod parse;

pub use business::Calendar;
pub use cron_nights::{NEAREST_SEARCH_DAYS, cron_fires_on, nearest_cron_nights};
pub use gaps::{GAP_SEARCH_YEARS, first_gap, first_gap_near, moved_by_gap, offset_changes};
pub use local_time::{Window, local_instant, night_window};
pub use month_end::{MonthEndRule, NightSpacing, NonBusinessStart};

#[cfg(test)]
mod tests;
