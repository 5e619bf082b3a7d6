//! Stage wall times of a pipeline run, read off the progress calls the pipeline already
//! makes at each stage's start (`driver.rs`, `setup.rs`): the run is the very code
//! `warden adjudicate` runs, untouched, and timing it costs one clock read per stage.

use std::sync::Mutex;
use std::time::Instant;

use crate::pipeline::Progress;

/// The stages measured, in run order.
pub const STAGES: [&str; 5] = ["setup", "pass 1", "merge", "pass 2", "reconcile"];

/// The measured stage a progress stage name belongs to (`setup: claims` is setup).
fn stage_of(name: &str) -> Option<usize> {
    let prefixes = ["setup", "pass 1", "deferred merge", "pass 2", "reconciling"];
    prefixes.iter().position(|p| name.starts_with(p))
}

/// Units of work passed on to the progress bar at once: a bar updated per claim costs the
/// engine more than the work it shows (setup measured a third slower with one), and the
/// measurement must time what the engine costs in a cycle, where nothing watches it.
const FORWARD_EVERY: u64 = 16_384;

/// Forwards to `inner` (the progress bar) and notes when each stage starts.
pub struct StageClock<'a> {
    inner: &'a dyn Progress,
    started: Mutex<[Option<Instant>; 5]>,
    pending: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for StageClock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageClock")
            .field("started", &self.started)
            .finish()
    }
}

impl<'a> StageClock<'a> {
    pub fn new(inner: &'a dyn Progress) -> StageClock<'a> {
        StageClock {
            inner,
            started: Mutex::new([None; 5]),
            pending: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Seconds of each stage, a stage ending where the next starts and the last at `end`;
    /// `None` for a stage whose start was never seen.
    pub fn seconds(&self, end: Instant) -> [Option<f64>; 5] {
        let started = self.started.lock().map(|s| *s).unwrap_or([None; 5]);
        let mut out = [None; 5];
        for i in 0..5 {
            let next = started[i + 1..]
                .iter()
                .flatten()
                .next()
                .copied()
                .unwrap_or(end);
            out[i] = started[i].map(|s| next.saturating_duration_since(s).as_secs_f64());
        }
        out
    }
}

impl Progress for StageClock<'_> {
    fn stage(&self, name: &str, total: u64) {
        if let (Some(i), Ok(mut s)) = (stage_of(name), self.started.lock()) {
            s[i].get_or_insert_with(Instant::now);
        }
        self.pending.store(0, std::sync::atomic::Ordering::Relaxed);
        self.inner.stage(name, total);
    }

    fn advance(&self, n: u64) {
        use std::sync::atomic::Ordering;
        let before = self.pending.fetch_add(n, Ordering::Relaxed);
        if before + n >= FORWARD_EVERY {
            let due = self.pending.swap(0, Ordering::Relaxed);
            if due > 0 {
                self.inner.advance(due);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pipeline_stage_name_maps_to_a_measured_stage() {
        for (name, i) in [
            ("setup: members", 0),
            ("setup: claims", 0),
            ("pass 1: 6 partitions", 1),
            ("deferred merge", 2),
            ("pass 2: deferred claims", 3),
            ("reconciling", 4),
        ] {
            assert_eq!(stage_of(name), Some(i), "{name}");
        }
        assert_eq!(stage_of("serial: adjudicating"), None);
    }
}
