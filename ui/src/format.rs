//! Text the pages share for times, margins and job states, in one place so the views, the
//! Gantt and the charts all say them the same way (and none depends on the others for it).

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use warden_core::sched::JobStatus;

/// A job's state in one word.
pub fn state_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Waiting => "waiting",
        JobStatus::Ready => "ready",
        JobStatus::Dispatched { .. } => "queued",
        JobStatus::Running { .. } => "running",
        JobStatus::RetryWait { .. } => "retry-wait",
        JobStatus::Succeeded { .. } => "succeeded",
        JobStatus::Failed { .. } => "failed",
        JobStatus::Skipped { .. } => "skipped",
    }
}

/// `+19h38m`, `-2h05m`, `+0m`: margins to the minute.
pub fn signed(d: TimeDelta) -> String {
    let minutes = (d.num_seconds() as f64 / 60.0).round() as i64;
    let sign = if minutes < 0 { "-" } else { "+" };
    let m = minutes.abs();
    if m >= 60 {
        format!("{sign}{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{sign}{m}m")
    }
}

/// A time in the cycle's zone, with its year: `Sat 2025-03-01 06:00`.
pub fn local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string()
}

/// A time with its zone's abbreviation, for lists that mix runs: `Sat 2025-03-01 06:00 EST`.
pub fn zoned(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_read_to_the_minute_with_their_sign() {
        assert_eq!(signed(TimeDelta::minutes(19 * 60 + 38)), "+19h38m");
        assert_eq!(signed(TimeDelta::minutes(-125)), "-2h05m");
        assert_eq!(signed(TimeDelta::seconds(29)), "+0m");
        assert_eq!(signed(TimeDelta::minutes(-7)), "-7m");
    }
}
