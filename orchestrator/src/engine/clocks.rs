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

/// A run's clock as its orchestrator published it (`warden_store::RunClock`), read from
/// this host's wall clock: what a `warden worker` on any host stamps its leases and reports
/// with. Hosts' wall clocks are assumed kept by NTP (docs/deployment.md).
#[derive(Debug)]
pub struct PublishedClock {
    published: warden_store::RunClock,
    wall: std::sync::Arc<dyn Clock>,
}

impl PublishedClock {
    pub fn new(published: warden_store::RunClock, wall: std::sync::Arc<dyn Clock>) -> Self {
        Self { published, wall }
    }
}

impl Clock for PublishedClock {
    fn now(&self) -> DateTime<Utc> {
        let p = &self.published;
        let wall = (self.wall.now() - p.wall_start).num_milliseconds() as f64;
        p.origin + TimeDelta::milliseconds((wall * p.speed) as i64)
    }

    fn real_duration(&self, d: TimeDelta) -> std::time::Duration {
        let seconds = d.num_milliseconds().max(0) as f64 / 1000.0 / self.published.speed;
        std::time::Duration::from_secs_f64(seconds)
    }

    fn clock_duration(&self, real: std::time::Duration) -> TimeDelta {
        TimeDelta::milliseconds((real.as_secs_f64() * self.published.speed * 1000.0) as i64)
    }
}

/// What an orchestrator publishes of its clock for run `run_id`, at wall time `wall`.
pub fn publish(run_id: i64, clock: &dyn Clock, wall: DateTime<Utc>) -> warden_store::RunClock {
    let second = clock.clock_duration(std::time::Duration::from_secs(1));
    let speed = second.num_milliseconds() as f64 / 1000.0;
    warden_store::RunClock {
        run_id,
        origin: clock.now(),
        wall_start: wall,
        speed: if speed.is_finite() && speed > 0.0 {
            speed
        } else {
            1.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_published_clock_is_the_orchestrators_read_from_any_wall() {
        let origin = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        let run = AcceleratedClock::new(origin, 600.0);
        let wall_start = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_500);
        let published = publish(7, &run, wall_start);
        assert_eq!(published.speed, 600.0);
        assert_eq!(published.origin, origin);
        let wall = std::sync::Arc::new(warden_core::clock::ManualClock::new(wall_start));
        let worker = PublishedClock::new(published, wall.clone());
        wall.advance(TimeDelta::milliseconds(250));
        tokio::time::advance(std::time::Duration::from_millis(250)).await;
        assert_eq!(worker.now(), run.now());
        assert_eq!(worker.now(), origin + TimeDelta::seconds(150));
        assert_eq!(
            worker.real_duration(TimeDelta::minutes(10)),
            std::time::Duration::from_secs(1)
        );
        assert_eq!(
            worker.clock_duration(std::time::Duration::from_secs(3)),
            TimeDelta::minutes(30)
        );
        // The real clock publishes itself: speed one, no offset.
        let real = publish(8, &SystemClock, Utc::now());
        assert_eq!(real.speed, 1.0);
        assert!((real.origin - real.wall_start).num_seconds().abs() <= 1);
    }

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
