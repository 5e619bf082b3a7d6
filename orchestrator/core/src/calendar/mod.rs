//! Business calendars, month-end night rules, night windows across daylight saving time, and
//! the nights a cron schedule runs on. Pure: no clock, no I/O. See `docs/calendars.md`.

mod business;
mod cron_nights;
mod local_time;
mod month_end;

pub use business::Calendar;
pub use cron_nights::{cron_fires_on, nearest_cron_nights};
pub use local_time::{Window, local_instant, night_window};
pub use month_end::{MonthEndRule, NightSpacing, NonBusinessStart};

#[cfg(test)]
mod tests;
