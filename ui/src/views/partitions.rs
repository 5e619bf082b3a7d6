//! The partitions page: every partitioned job grouped by template and stream, with its
//! progress (live, else its checkpoint), rate, exceptions, deferrals, and each group's
//! imbalance.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use warden_core::sched::JobStatus;

use super::overview::{RunSummary, run_summary};
use crate::format::state_word;
use crate::run_files;
use crate::snapshot::RunSnapshot;

#[derive(Debug, Clone, Serialize)]
pub struct PartitionRow {
    pub job: String,
    pub stream: String,
    pub index: u32,
    pub count: u32,
    pub state: String,
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub percent: Option<f64>,
    pub claims_per_second: Option<f64>,
    pub exceptions: Option<u64>,
    pub exception_rate: Option<f64>,
    pub deferred: Option<u64>,
    /// Where the counts come from: `progress` (live), `checkpoint`, or `none` (a simulated job).
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionGroup {
    pub template: String,
    pub stream: String,
    pub count: usize,
    /// Partitions by state: done, running, not started.
    pub done: usize,
    pub running: usize,
    pub waiting: usize,
    pub partitions: Vec<PartitionRow>,
    /// Largest partition's claims over the mean (1.0: perfectly balanced).
    pub imbalance: Option<f64>,
    pub imbalance_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionsView {
    pub run: RunSummary,
    pub groups: Vec<PartitionGroup>,
    pub simulated: bool,
}

pub fn partitions_view(s: &RunSnapshot, data_dir: Option<&Path>) -> PartitionsView {
    let plan = &s.plan;
    let mut groups: BTreeMap<(String, String), Vec<PartitionRow>> = BTreeMap::new();
    for (j, pj) in plan.jobs.iter().enumerate() {
        let Some(part) = pj.partition else { continue };
        let status = s.machine.status(j);
        let checkpoint = data_dir.and_then(|d| run_files::checkpoint(d, s.run.id, &pj.id));
        let live = s.progress.get(j).copied().flatten();
        let (done, total, source) = match (live, &checkpoint) {
            (Some(p), _) => (Some(p.done), Some(p.total), "progress"),
            (None, Some(c)) => (Some(c.position), None, "checkpoint"),
            (None, None) => (None, None, "none"),
        };
        let elapsed = match status {
            JobStatus::Running { since, .. } => Some((s.now - since).num_seconds()),
            _ => s
                .attempts
                .iter()
                .rev()
                .find(|a| a.job_idx == j as i64)
                .and_then(|a| a.finished_at.map(|f| (f - a.started_at).num_seconds())),
        };
        let stream = pj
            .stream
            .map(|st| plan.streams[st].id.clone())
            .unwrap_or_default();
        groups
            .entry((pj.template.clone(), stream.clone()))
            .or_default()
            .push(PartitionRow {
                job: pj.id.clone(),
                stream,
                index: part.index,
                count: part.count,
                state: state_word(status).to_string(),
                done,
                total,
                percent: done.zip(total).and_then(|(d, t)| {
                    (t > 0).then(|| (d as f64 / t as f64 * 1000.0).round() / 10.0)
                }),
                claims_per_second: done
                    .zip(elapsed)
                    .and_then(|(d, e)| (e > 0).then(|| (d as f64 / e as f64).round())),
                exceptions: checkpoint.as_ref().map(|c| c.exceptions),
                exception_rate: checkpoint.as_ref().and_then(|c| {
                    (c.adjudicated > 0).then(|| {
                        (c.exceptions as f64 / c.adjudicated as f64 * 10_000.0).round() / 100.0
                    })
                }),
                deferred: checkpoint.as_ref().map(|c| c.deferred_records),
                source: source.to_string(),
            });
    }
    let simulated = groups.values().flatten().all(|p| p.source == "none");
    let groups = groups
        .into_iter()
        .map(|((template, stream), partitions)| {
            let sizes: Vec<f64> = partitions
                .iter()
                .filter_map(|p| p.total.or(p.done))
                .map(|n| n as f64)
                .collect();
            let imbalance = (sizes.len() == partitions.len() && !sizes.is_empty())
                .then(|| {
                    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
                    let max = sizes.iter().cloned().fold(0.0, f64::max);
                    (mean > 0.0).then(|| (max / mean * 100.0).round() / 100.0)
                })
                .flatten();
            let count = |w: &[&str]| {
                partitions
                    .iter()
                    .filter(|p| w.contains(&p.state.as_str()))
                    .count()
            };
            PartitionGroup {
                count: partitions.len(),
                done: count(&["succeeded", "skipped"]),
                running: count(&["running", "queued"]),
                waiting: count(&["waiting", "ready", "retry-wait", "failed"]),
                template,
                stream,
                imbalance_text: imbalance.map_or("–".into(), |i| format!("{i:.2}×")),
                imbalance,
                partitions,
            }
        })
        .collect();
    PartitionsView {
        run: run_summary(s),
        groups,
        simulated,
    }
}
