//! Time, injected. Scheduling code never reads the wall clock: it asks a [`Clock`]. The
//! live orchestrator uses the system clock (or an accelerated one for demonstrations), and
//! tests and projections use a [`ManualClock`] they move themselves.

use std::fmt::Debug;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// A source of "now".
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    /// How long to really wait for `d` of this clock's time to pass (an accelerated clock
    /// waits less). The default is a clock that runs at real speed.
    fn real_duration(&self, d: TimeDelta) -> std::time::Duration {
        d.to_std().unwrap_or_default()
    }

    /// The inverse: how much of this clock's time passes in `real` time.
    fn clock_duration(&self, real: std::time::Duration) -> TimeDelta {
        TimeDelta::from_std(real).unwrap_or(TimeDelta::MAX)
    }
}

/// A clock that moves only when told to: simulated time for tests and projections.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = t;
    }

    pub fn advance(&self, d: TimeDelta) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(TimeDelta::minutes(90));
        assert_eq!(clock.now(), start + TimeDelta::minutes(90));
        clock.set(start);
        assert_eq!(clock.now(), start);
        assert_eq!(
            clock.real_duration(TimeDelta::seconds(2)),
            std::time::Duration::from_secs(2)
        );
    }
}
