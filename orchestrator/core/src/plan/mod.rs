//! A workflow instantiated for one business date: the concrete nights and windows, every
//! job's earliest start in absolute time, durations scaled to this run's volumes, the
//! dependency DAG (with the serial-mode day barrier when asked), and dated deadlines.
//!
//! This is what the scheduling core, the deadline projection and the orchestrator consume.

mod date;
mod explain;
mod instantiate;

pub use date::DateSpec;
pub use explain::{mode_origin, start_reason};
pub use instantiate::{PlanError, PlanOptions, VolumeChange};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use petgraph::graph::DiGraph;
use serde::Serialize;

use crate::calendar::Window;
use crate::workflow::{
    Action, DeadlineKind, EscalationStep, JobIdx, Mode, OnLost, Partition, Resource, ResourceUse,
    Role,
};

/// What sets a job's earliest start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EarliestReason {
    /// The first night's window opens: nothing in the cycle starts before it.
    CycleStart,
    /// Its day's window opens (the day has `start: window`).
    WindowOpens,
    /// Its stream's start time for that day (`not_before: { d1: "21:30" }`).
    StreamNotBefore,
    /// The job's own `not_before`.
    JobNotBefore,
}

#[derive(Debug, Clone, Serialize)]
pub struct Night {
    pub day: usize,
    pub day_id: String,
    pub name: Option<String>,
    /// The calendar date the night begins on.
    pub date: NaiveDate,
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
    /// The day has `start: when_ready`: its jobs may start before the window opens.
    pub when_ready: bool,
}

impl Night {
    pub fn window(&self) -> Window {
        Window {
            opens: self.opens,
            closes: self.closes,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlanJob {
    pub id: String,
    pub template: String,
    pub day: usize,
    pub stream: Option<usize>,
    pub partition: Option<Partition>,
    /// The estimate scaled to this run's volume (zero when the job has no estimate).
    pub duration: TimeDelta,
    pub has_estimate: bool,
    /// How run time grows with volume: duration ∝ volume^elasticity (0: not at all).
    pub elasticity: f64,
    pub earliest: DateTime<Utc>,
    pub earliest_reason: EarliestReason,
    /// Dependencies, including the serial-mode barrier.
    pub deps: Vec<JobIdx>,
    pub uses: Vec<ResourceUse>,
    pub priority: i64,
    pub action: Action,
    /// Attempts after the first before the job is failed for good.
    pub retries: u32,
    /// Pause before the first retry; it doubles for each further one.
    pub retry_backoff: TimeDelta,
    pub timeout: Option<TimeDelta>,
    /// What a lost attempt (its worker vanished) does: run again, or fail for an operator.
    pub on_lost: OnLost,
    /// Labels a worker must carry to run the job; empty: any worker.
    pub runs_on: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PlanDeadline {
    pub id: String,
    pub name: Option<String>,
    pub kind: DeadlineKind,
    pub at: DateTime<Utc>,
    pub covers: Vec<JobIdx>,
    pub penalty: Option<String>,
    /// The ladder, mildest step first (roles are indices into [`Plan::roles`]).
    pub escalation: Vec<EscalationStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanStream {
    pub id: String,
    pub declared_volume: u64,
    pub volume: u64,
}

/// A dated, concrete cycle run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub cycle: String,
    pub timezone: Tz,
    pub mode: Mode,
    /// The date the user asked for, as written (`2025-02`, `2025-03-03`).
    pub date: String,
    /// The first night's window opening: the cycle's start.
    pub start: DateTime<Utc>,
    pub nights: Vec<Night>,
    pub streams: Vec<PlanStream>,
    pub resources: Vec<Resource>,
    /// Who escalation ladders notify.
    pub roles: Vec<Role>,
    pub jobs: Vec<PlanJob>,
    pub deadlines: Vec<PlanDeadline>,
    /// Edges dependency → dependent; node `i` is job `i`.
    pub graph: DiGraph<JobIdx, ()>,
    /// Things worth saying about this date (e.g. it is outside the calendar's holiday years).
    pub notes: Vec<String>,
    /// Things that may not be what the architect meant on this date (a window moved by a
    /// daylight-saving gap).
    pub warnings: Vec<String>,
    /// The workflow's batch impact thresholds: adjudication setup checks the claims it reads
    /// against each stream's volume plus `trigger`.
    pub impact: crate::workflow::ImpactRules,
}

impl Plan {
    /// Jobs that wait for each job (the graph's outgoing edges), indexed by job.
    pub fn successors(&self) -> Vec<Vec<JobIdx>> {
        let mut succ = vec![Vec::new(); self.jobs.len()];
        for (j, job) in self.jobs.iter().enumerate() {
            for &d in &job.deps {
                succ[d].push(j);
            }
        }
        succ
    }

    pub fn job_index(&self, id: &str) -> Option<JobIdx> {
        self.jobs.iter().position(|j| j.id == id)
    }

    /// Makes `job` also wait for `dep` (a what-if's contention; the compiler's acyclicity
    /// check does not see it, so `false` and no change when it would close a cycle).
    pub fn add_dependency(&mut self, job: JobIdx, dep: JobIdx) -> bool {
        if job == dep || self.jobs[job].deps.contains(&dep) {
            return job != dep;
        }
        let (a, b) = (
            petgraph::graph::NodeIndex::new(dep),
            petgraph::graph::NodeIndex::new(job),
        );
        if petgraph::algo::has_path_connecting(&self.graph, b, a, None) {
            return false;
        }
        self.jobs[job].deps.push(dep);
        self.graph.add_edge(a, b, ());
        true
    }

    /// The claims a job processes in this run: its stream's volume (its share, if
    /// partitioned), or the whole cycle's for a job that spans streams.
    pub fn job_volume(&self, job: JobIdx) -> u64 {
        let pj = &self.jobs[job];
        let volume = match pj.stream {
            Some(s) => self.streams[s].volume,
            None => self.streams.iter().map(|s| s.volume).sum(),
        };
        match pj.partition {
            Some(p) if p.count > 0 => volume / u64::from(p.count),
            _ => volume,
        }
    }
}
