//! The clocks that read real time: the system clock, and an accelerated one that makes a
//! three-night month-end watchable in minutes (`--speed 600`: a minute in 0.1 s).

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;
use warden_core::clock::Clock;

/// Real time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Time that starts at `origin` and runs `speed` times faster than real time. It measures
/// real time with tokio's `Instant`, so tests with paused tokio time are deterministic.
#[derive(Debug)]
pub struct AcceleratedClock {
    origin: DateTime<Utc>,
    started: Instant,
    speed: f64,
}

impl AcceleratedClock {
    pub fn new(origin: DateTime<Utc>, speed: f64) -> Self {
        Self {
            origin,
            started: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }
}

impl Clock for AcceleratedClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.started.elapsed().as_secs_f64();
        self.origin + TimeDelta::milliseconds((real * self.speed * 1000.0) as i64)
    }

    fn real_duration(&self, d: TimeDelta) -> std::time::Duration {
        let seconds = d.num_milliseconds().max(0) as f64 / 1000.0 / self.speed;
        std::time::Duration::from_secs_f64(seconds)
    }

    fn clock_duration(&self, real: std::time::Duration) -> TimeDelta {
        TimeDelta::milliseconds((real.as_secs_f64() * self.speed * 1000.0) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn accelerated_time_runs_faster() {
        let origin = DateTime::<Utc>::UNIX_EPOCH;
        let clock = AcceleratedClock::new(origin, 600.0);
        tokio::time::advance(std::time::Duration::from_millis(100)).await;
        assert_eq!(clock.now(), origin + TimeDelta::minutes(1));
        assert_eq!(
            clock.real_duration(TimeDelta::minutes(10)),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(
            clock.clock_duration(std::time::Duration::from_secs(1)),
            TimeDelta::minutes(10)
        );
    }
}
