//! The exception-rate monitor (case study 002, finding 1): every 100,000 claims, the share of
//! exceptions so far; above 5% a warning event is written for the alert machinery and the
//! partition switches to high-exception mode, where exceptions are buffered and written in
//! batches. Exceptions always go to the partition's own sequential file, never to a shared
//! table; a later job bulk-loads them.

use serde::{Deserialize, Serialize};

pub const EVERY: u64 = 100_000;
pub const THRESHOLD: f64 = 0.05;
/// Exceptions held in memory before a write in high-exception mode.
pub const BATCH: usize = 10_000;
/// The `event` of an exception-rate warning.
pub const EVENT: &str = "exception-rate-high";

/// The first exception-rate warning of an `events.jsonl` (lines that are not one are
/// skipped: the file may end in a line being written).
pub fn first_warning(events: &str) -> Option<ExceptionRateEvent> {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<ExceptionRateEvent>(l).ok())
        .find(|e| e.event == EVENT)
}

/// The warning event, one JSON line in `events.jsonl` (the orchestrator raises an alert
/// from the first one it finds). No member data: counts only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExceptionRateEvent {
    pub event: String,
    pub partition: String,
    pub at_claim: u64,
    pub exceptions: u64,
    pub rate: f64,
    pub threshold: f64,
}

/// Decides at a check point; `None` if not a check point or within the threshold.
pub fn check(
    partition: &str,
    adjudicated: u64,
    exceptions: u64,
    every: u64,
) -> Option<ExceptionRateEvent> {
    if adjudicated == 0 || !adjudicated.is_multiple_of(every) {
        return None;
    }
    let rate = exceptions as f64 / adjudicated as f64;
    (rate > THRESHOLD).then(|| ExceptionRateEvent {
        event: EVENT.to_string(),
        partition: partition.to_string(),
        at_claim: adjudicated,
        exceptions,
        rate,
        threshold: THRESHOLD,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_above_five_percent_at_check_points_only() {
        assert!(
            check("p01", 100_000, 5_000, EVERY).is_none(),
            "5% is not above 5%"
        );
        let e = check("p01", 100_000, 5_001, EVERY).expect("above");
        assert_eq!(e.at_claim, 100_000);
        // What the orchestrator reads back: the first warning, past a torn last line.
        let text = format!(
            "{}\n{}\n{{\"event\":\"exc",
            serde_json::to_string(&e).expect("json"),
            serde_json::to_string(&check("p01", 200_000, 12_000, EVERY).expect("above"))
                .expect("json")
        );
        assert_eq!(first_warning(&text), Some(e));
        assert_eq!(first_warning("{\"event\":\"exc"), None);
        assert!(
            check("p01", 99_999, 50_000, EVERY).is_none(),
            "not a check point"
        );
    }
}
