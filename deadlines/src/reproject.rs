//! The batch impact test's re-projection (issue #12): the whole cycle planned at the declared
//! volumes and again with the new volume, the measured adjudication stages replacing the
//! workflow's declared growth, each through the same scheduling core and Monte Carlo that
//! `warden run` uses; every deadline's p50/p90 finish and P(miss) before and after, the
//! critical chain after, the jobs that moved, where measurement and declaration disagree,
//! the verdict, and mitigations re-projected the same way.
//!
//! Pure: the measurement comes in as numbers ([`MeasuredStages`]).
//!
//! How a measured factor reaches a job: an adjudication built-in of the measured stream
//! takes its duration at the declared volume times (the full-volume seconds of its stages
//! after) ÷ (the same before). When the volume added in the plan is not the claims
//! directories' own proportion, the factor is moved by `(plan ratio ÷ measured ratio)^e`, `e`
//! the measured elasticity. Every other job grows by its declared elasticity, and is listed
//! as declared.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use warden_core::plan::{DateSpec, Plan, PlanError, PlanOptions, VolumeChange};
use warden_core::sched::{Machine, Schedule, Timeline, simulate};
use warden_core::workflow::{Action, Builtin, DeadlineKind, ImpactRules, JobIdx, Mode, Workflow};

use crate::verdict::{DeadlineImpact, Judgement, Reading, Verdict, judge};
use crate::{ChainLink, Estimates, LiveRun, breach_risk, critical_chain};

/// The engine's stages, in order (the workers' `impact::timing::STAGES`).
pub const STAGES: [&str; 5] = ["setup", "pass 1", "merge", "pass 2", "reconcile"];
const PASS_1: usize = 1;

/// The stages an adjudication built-in runs (`None`: not adjudication).
pub fn stages_of(builtin: Builtin) -> Option<&'static [usize]> {
    match builtin {
        Builtin::AdjudicateSetup => Some(&[0]),
        Builtin::AdjudicatePartition => Some(&[1]),
        Builtin::DeferredMerge => Some(&[2]),
        Builtin::AdjudicatePass2 => Some(&[3]),
        Builtin::Reconcile => Some(&[4]),
        Builtin::AdjudicatePhase1 => Some(&[0, 1]),
        Builtin::AdjudicatePhase2 => Some(&[2, 3, 4]),
        _ => None,
    }
}

/// What the real engine measured, at full volume (seconds on the measuring machine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredStages {
    /// The stream the new claims join.
    pub stream: String,
    /// Each stage's seconds at the full baseline volume, and at baseline + new.
    pub before: [f64; 5],
    pub after: [f64; 5],
    /// The claims directories' volume ratio (baseline + new) ÷ baseline.
    pub volume_ratio: f64,
    pub elasticity: f64,
}

/// Checkpoint settings of the adjudication jobs (for the checkpoint mitigation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Checkpointing {
    /// Claims between checkpoints.
    pub every: u64,
    /// Partitions a stream's pass 1 runs in.
    pub partitions: usize,
}

/// What is re-projected.
#[derive(Debug, Clone)]
pub struct ImpactCase<'a> {
    pub workflow: &'a Workflow,
    pub date: DateSpec,
    pub mode: Option<Mode>,
    /// Claims added per stream id (validated by the caller: the stream exists).
    pub added: Vec<(String, u64)>,
    pub measured: Option<MeasuredStages>,
    /// The new claims' measured exception rate.
    pub exception_rate: Option<f64>,
    pub checkpointing: Checkpointing,
    pub samples: usize,
    pub seed: u64,
}

/// A deadline as one projection sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineLook {
    pub id: String,
    pub regulatory: bool,
    pub at: DateTime<Utc>,
    pub reading: Reading,
    /// Deadline minus the p50 finish, in minutes (negative: late).
    pub margin_minutes: i64,
}

/// One projection of the whole cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    pub label: String,
    pub mode: String,
    pub deadlines: Vec<DeadlineLook>,
    /// The chain binding the cycle's finish (job ids, in order), failure-free.
    pub critical_chain: Vec<String>,
    pub finish: DateTime<Utc>,
}

/// Where a job's duration after comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DurationSource {
    /// The engine's measured stages.
    Measured,
    /// The workflow's estimate grown by its declared elasticity.
    Declared,
}

/// A job whose finish the new volume moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMove {
    pub job: String,
    pub duration_before_minutes: f64,
    pub duration_after_minutes: f64,
    pub finish_before: DateTime<Utc>,
    pub finish_after: DateTime<Utc>,
    pub source: DurationSource,
}

impl JobMove {
    pub fn moved(&self) -> TimeDelta {
        self.finish_after - self.finish_before
    }
}

/// A measured growth set beside the declared one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub job: String,
    pub stages: Vec<String>,
    /// Duration after ÷ before, as the workflow declares it (volume^elasticity).
    pub declared_growth: f64,
    pub declared_elasticity: f64,
    /// The same, measured.
    pub measured_growth: f64,
    pub measured_elasticity: f64,
    /// `measured ÷ declared − 1`: positive when the workflow underestimates.
    pub difference: f64,
}

/// A change re-projected to see whether it restores the margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mitigation {
    pub name: String,
    /// What was changed and how it was modelled.
    pub what: String,
    /// `false`: the change does not apply (e.g. the cycle is pipelined already).
    pub applies: bool,
    pub after: Option<Look>,
    /// The verdict of the deadlines with the change (the exception rate left out: no
    /// schedule change lowers it).
    pub verdict: Option<Verdict>,
    /// Every deadline back within the review lines.
    pub restores: bool,
    /// The deadlines this change brings back within the review lines (they were not,
    /// after the new volume).
    pub restored: Vec<String>,
}

/// The whole re-projection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reprojection {
    pub before: Look,
    pub after: Look,
    pub deadlines: Vec<DeadlineImpact>,
    pub judgement: Judgement,
    /// Jobs whose failure-free finish moves, most first.
    pub moved: Vec<JobMove>,
    /// How many jobs moved in all (`moved` keeps the first [`MOVED_SHOWN`]).
    pub moved_total: usize,
    pub disagreements: Vec<Disagreement>,
    pub mitigations: Vec<Mitigation>,
    pub samples: usize,
    pub seed: u64,
}

/// Moved jobs a report lists.
pub const MOVED_SHOWN: usize = 25;
/// A move smaller than this is not one.
const MOVE_FLOOR: TimeDelta = TimeDelta::seconds(30);
/// Partition multiples tried as a mitigation.
const PARTITION_MULTIPLES: [usize; 2] = [2, 3];
/// Ways the new volume's stream is split on its first night.
const STREAM_SPLITS: [usize; 1] = [2];

/// Plans both sides, projects, judges and tries the mitigations.
pub fn reproject(case: &ImpactCase<'_>, rules: &ImpactRules) -> Result<Reprojection, PlanError> {
    let options = |mode: Option<Mode>, added: bool| PlanOptions {
        mode,
        volumes: if added {
            case.added
                .iter()
                .map(|(s, n)| (s.clone(), VolumeChange::Add(*n as i64)))
                .collect()
        } else {
            Vec::new()
        },
    };
    let before_plan = case
        .workflow
        .instantiate(case.date, &options(case.mode, false))?;
    let after_plan = measured_plan(
        &before_plan,
        case.workflow
            .instantiate(case.date, &options(case.mode, true))?,
        case.measured.as_ref(),
    );
    let before = look("before", &before_plan, case);
    let after = look("after", &after_plan, case);
    let deadlines = impacts(&before, &after);
    let judgement = judge(&deadlines, case.exception_rate, rules);
    let (moved, moved_total) = moved_jobs(&before_plan, &after_plan, case.measured.as_ref());
    let disagreements = disagreements(&before_plan, &after_plan, case.measured.as_ref());

    let passed: Vec<String> = judgement
        .deadlines
        .iter()
        .filter(|d| d.verdict == Verdict::Pass)
        .map(|d| d.id.clone())
        .collect();
    let mut mitigations = Vec::new();
    // Pipelined mode: each stream's next day starts when its own previous day is done.
    let pipelined = if after_plan.mode == Mode::Serial {
        let before_p = case
            .workflow
            .instantiate(case.date, &options(Some(Mode::Pipelined), false))?;
        let plan = measured_plan(
            &before_p,
            case.workflow
                .instantiate(case.date, &options(Some(Mode::Pipelined), true))?,
            case.measured.as_ref(),
        );
        Some(plan)
    } else {
        None
    };
    mitigations.push(mitigation(
        "pipelined mode",
        if pipelined.is_some() {
            "the cycle re-planned in pipelined mode (a stream's next day starts when its own previous day is done), the measured stages as above".to_string()
        } else {
            "the cycle is pipelined already".to_string()
        },
        pipelined.as_ref(),
        (&before, &passed),
        case,
        rules,
    ));
    for k in PARTITION_MULTIPLES {
        let plan = more_partitions(&after_plan, case, k);
        mitigations.push(mitigation(
            &format!("{k}× partitions"),
            match &plan {
                Some(_) => format!(
                    "pass 1 of stream {}'s adjudication split into {} partitions instead of {} (modelled: pass 1's measured share of each job divided by {k}; assumes the hosts or threads to run them)",
                    stream_name(case),
                    case.checkpointing.partitions * k,
                    case.checkpointing.partitions,
                ),
                None => "no measured adjudication job to split".to_string(),
            },
            plan.as_ref(),
            (&before, &passed),
            case,
            rules,
        ));
    }
    for k in STREAM_SPLITS {
        let plan = split_stream(&after_plan, case, k);
        mitigations.push(mitigation(
            &format!("stream {} split {k} ways", stream_name(case)),
            match &plan {
                Some(_) => format!(
                    "every first-night job of stream {} whose time grows with volume runs as {k} parallel parts of 1/{k} of its claims (modelled: duration × (1/{k})^elasticity; assumes the capacity to run them side by side)",
                    stream_name(case)
                ),
                None => "no stream to split".to_string(),
            },
            plan.as_ref(),
            (&before, &passed),
            case,
            rules,
        ));
    }
    for r in contended_resources(&after_plan) {
        let mut plan = after_plan.clone();
        plan.resources[r].capacity += 1;
        let id = &after_plan.resources[r].id;
        mitigations.push(mitigation(
            &format!("relieve {id}"),
            format!(
                "the critical chain after waits for `{id}` (capacity {}): re-projected with capacity {} (a second copy of the contended table or thread pool, as the case study's staging audit table did)",
                after_plan.resources[r].capacity,
                after_plan.resources[r].capacity + 1
            ),
            Some(&plan),
            (&before, &passed),
            case,
            rules,
        ));
    }
    for every in checkpoint_intervals(case.checkpointing.every) {
        let plan = one_failure(&after_plan, case, every);
        mitigations.push(mitigation(
            &format!("checkpoint every {every} claims, one pass-1 failure"),
            match &plan {
                Some(_) => format!(
                    "a failure of pass 1 repeats at most {every} claims per partition ({} partitions); re-projected with one such failure of every measured adjudication job (a failure-free run is not moved by the interval)",
                    case.checkpointing.partitions
                ),
                None => "no measured adjudication job".to_string(),
            },
            plan.as_ref(),
            (&before, &passed),
            case,
            rules,
        ));
    }
    Ok(Reprojection {
        before,
        after,
        deadlines,
        judgement,
        moved,
        moved_total,
        disagreements,
        mitigations,
        samples: case.samples,
        seed: case.seed,
    })
}

fn stream_name(case: &ImpactCase<'_>) -> String {
    case.measured
        .as_ref()
        .map_or_else(|| "-".to_string(), |m| m.stream.clone())
}

/// The measured stream's adjudication jobs, with the stages each runs (in a one-stream
/// cycle, its jobs of no stream too: the nightly's).
pub fn measured_jobs<'p>(
    plan: &'p Plan,
    measured_stream: &str,
) -> impl Iterator<Item = (JobIdx, &'static [usize])> + 'p {
    let stream = plan.streams.iter().position(|s| s.id == measured_stream);
    let only = plan.streams.len() == 1;
    plan.jobs.iter().enumerate().filter_map(move |(j, job)| {
        let Action::Builtin(b) = &job.action else {
            return None;
        };
        let ours = stream.is_some() && (job.stream == stream || (only && job.stream.is_none()));
        ours.then(|| stages_of(*b)).flatten().map(|st| (j, st))
    })
}

/// The measured growth of a job running `stages`, at the plan's volume ratio.
fn measured_growth(measured: &MeasuredStages, stages: &[usize], plan_ratio: f64) -> f64 {
    let sum = |xs: &[f64; 5]| stages.iter().map(|s| xs[*s]).sum::<f64>();
    let (b, a) = (sum(&measured.before), sum(&measured.after));
    if b <= 0.0 || !a.is_finite() {
        return 1.0;
    }
    let adjust = if measured.volume_ratio > 0.0 && plan_ratio > 0.0 {
        (plan_ratio / measured.volume_ratio).powf(measured.elasticity)
    } else {
        1.0
    };
    a / b * adjust
}

fn stream_ratio(before: &Plan, after: &Plan, stream: &str) -> f64 {
    let v = |p: &Plan| {
        p.streams
            .iter()
            .find(|s| s.id == stream)
            .map_or(0.0, |s| s.volume as f64)
    };
    let b = v(before);
    if b > 0.0 { v(after) / b } else { 1.0 }
}

/// `after` with the measured stream's adjudication jobs taking their measured durations.
fn measured_plan(before: &Plan, mut after: Plan, measured: Option<&MeasuredStages>) -> Plan {
    let Some(m) = measured else {
        return after;
    };
    let ratio = stream_ratio(before, &after, &m.stream);
    let jobs: Vec<_> = measured_jobs(before, &m.stream).collect();
    for (j, stages) in jobs {
        let growth = measured_growth(m, stages, ratio);
        after.jobs[j].duration = scale(before.jobs[j].duration, growth);
    }
    after
}

fn scale(d: TimeDelta, factor: f64) -> TimeDelta {
    TimeDelta::milliseconds((d.num_milliseconds() as f64 * factor).round() as i64)
}

/// Pass 1's share of a job running `stages`, after.
fn pass1_share(m: &MeasuredStages, stages: &[usize]) -> f64 {
    let total: f64 = stages.iter().map(|s| m.after[*s]).sum();
    if stages.contains(&PASS_1) && total > 0.0 {
        m.after[PASS_1] / total
    } else {
        0.0
    }
}

/// `after` with pass 1 of the measured jobs split `k` times finer.
fn more_partitions(after: &Plan, case: &ImpactCase<'_>, k: usize) -> Option<Plan> {
    let m = case.measured.as_ref()?;
    let mut plan = after.clone();
    let mut any = false;
    for (j, stages) in measured_jobs(after, &m.stream).collect::<Vec<_>>() {
        let share = pass1_share(m, stages);
        if share > 0.0 {
            plan.jobs[j].duration = scale(after.jobs[j].duration, 1.0 - share + share / k as f64);
            any = true;
        }
    }
    any.then_some(plan)
}

/// `after` with the measured stream's first-night, volume-bound jobs split `k` ways.
fn split_stream(after: &Plan, case: &ImpactCase<'_>, k: usize) -> Option<Plan> {
    let m = case.measured.as_ref()?;
    let stream = after.streams.iter().position(|s| s.id == m.stream)?;
    let first = after.jobs.iter().map(|j| j.day).min()?;
    let mut plan = after.clone();
    let mut any = false;
    for (j, job) in after.jobs.iter().enumerate() {
        let ours = job.stream == Some(stream) || (after.streams.len() == 1 && job.stream.is_none());
        if ours && job.day == first && job.elasticity > 0.0 {
            plan.jobs[j].duration = scale(job.duration, (1.0 / k as f64).powf(job.elasticity));
            any = true;
        }
    }
    any.then_some(plan)
}

/// The intervals tried: the current one and a tenth of it (case study 002 went from
/// 500,000 to 50,000 claims).
fn checkpoint_intervals(every: u64) -> Vec<u64> {
    let mut v = vec![every.max(1), (every / 10).max(1)];
    v.dedup();
    v
}

/// Resources the failure-free critical chain of `plan` waits for, in chain order.
fn contended_resources(plan: &Plan) -> Vec<usize> {
    let schedule = simulate(plan);
    let all: Vec<JobIdx> = (0..plan.jobs.len()).collect();
    let mut found = Vec::new();
    if let Some(chain) = critical_chain(plan, &schedule, &all) {
        for link in &chain.links {
            if let ChainLink::Resource { resource } = link
                && !found.contains(resource)
            {
                found.push(*resource);
            }
        }
    }
    found
}

/// `after` with every measured pass 1 failing once at its worst point: each partition
/// repeats one whole interval (plus the attempt's retry pause).
fn one_failure(after: &Plan, case: &ImpactCase<'_>, every: u64) -> Option<Plan> {
    let m = case.measured.as_ref()?;
    let volume = after
        .streams
        .iter()
        .find(|s| s.id == m.stream)
        .map_or(0, |s| s.volume);
    if volume == 0 {
        return None;
    }
    let mut plan = after.clone();
    let mut any = false;
    for (j, stages) in measured_jobs(after, &m.stream).collect::<Vec<_>>() {
        let share = pass1_share(m, stages);
        if share > 0.0 {
            // A partition holds volume / partitions claims; it repeats `every` of them.
            let per_partition = volume as f64 / case.checkpointing.partitions.max(1) as f64;
            let rework = share * (every as f64 / per_partition).min(1.0);
            plan.jobs[j].duration =
                scale(after.jobs[j].duration, 1.0 + rework) + after.jobs[j].retry_backoff;
            any = true;
        }
    }
    any.then_some(plan)
}

/// `passed`: the deadlines that pass without any mitigation.
fn mitigation(
    name: &str,
    what: String,
    plan: Option<&Plan>,
    (before, passed): (&Look, &[String]),
    case: &ImpactCase<'_>,
    rules: &ImpactRules,
) -> Mitigation {
    let Some(plan) = plan else {
        return Mitigation {
            name: name.to_string(),
            what,
            applies: false,
            after: None,
            verdict: None,
            restores: false,
            restored: Vec::new(),
        };
    };
    let after = look(name, plan, case);
    let with = judge(&impacts(before, &after), None, rules);
    let restored = with
        .deadlines
        .iter()
        .filter(|d| d.verdict == Verdict::Pass && !passed.contains(&d.id))
        .map(|d| d.id.clone())
        .collect();
    Mitigation {
        name: name.to_string(),
        what,
        applies: true,
        after: Some(after),
        verdict: Some(with.overall),
        restores: with.overall == Verdict::Pass,
        restored,
    }
}

/// A projection of `plan` from its start: failure-free for the chain, 1,000 (or the case's)
/// Monte Carlo samples for the readings.
fn look(label: &str, plan: &Plan, case: &ImpactCase<'_>) -> Look {
    let machine = Machine::new(plan);
    let timeline = Timeline::new(plan);
    let live = LiveRun {
        machine: &machine,
        timeline: &timeline,
        now: plan.start,
        progress: &[],
    };
    let estimates = Estimates::from_plan(plan);
    let risk = breach_risk(plan, &live, &estimates, case.samples, case.seed);
    let schedule = simulate(plan);
    let all: Vec<JobIdx> = (0..plan.jobs.len()).collect();
    let chain = critical_chain(plan, &schedule, &all);
    let deadlines = risk
        .iter()
        .map(|r| {
            let d = &plan.deadlines[r.deadline];
            DeadlineLook {
                id: d.id.clone(),
                regulatory: d.kind == DeadlineKind::Regulatory,
                at: d.at,
                reading: Reading {
                    p50_finish: r.p50_finish,
                    p90_finish: r.p90_finish,
                    p_miss: r.p_miss(),
                },
                margin_minutes: (d.at - r.p50_finish).num_minutes(),
            }
        })
        .collect();
    Look {
        label: label.to_string(),
        mode: match plan.mode {
            Mode::Pipelined => "pipelined",
            Mode::Serial => "serial",
        }
        .to_string(),
        deadlines,
        critical_chain: chain.as_ref().map_or_else(Vec::new, |c| {
            c.jobs.iter().map(|j| plan.jobs[*j].id.clone()).collect()
        }),
        finish: last_finish(&schedule).unwrap_or(plan.start),
    }
}

fn last_finish(schedule: &Schedule) -> Option<DateTime<Utc>> {
    schedule.jobs.iter().map(|j| j.finish).max()
}

/// Each deadline before and after (deadlines both projections see).
fn impacts(before: &Look, after: &Look) -> Vec<DeadlineImpact> {
    before
        .deadlines
        .iter()
        .filter_map(|b| {
            let a = after.deadlines.iter().find(|a| a.id == b.id)?;
            Some(DeadlineImpact {
                id: b.id.clone(),
                regulatory: b.regulatory,
                at: b.at,
                before: b.reading,
                after: a.reading,
            })
        })
        .collect()
}

fn minutes(d: TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 60_000.0
}

fn moved_jobs(
    before: &Plan,
    after: &Plan,
    measured: Option<&MeasuredStages>,
) -> (Vec<JobMove>, usize) {
    let (sb, sa) = (simulate(before), simulate(after));
    let measured_set: Vec<JobIdx> = measured.map_or_else(Vec::new, |m| {
        measured_jobs(before, &m.stream).map(|(j, _)| j).collect()
    });
    let mut moves: Vec<JobMove> = (0..before.jobs.len())
        .filter(|j| sa.jobs[*j].finish - sb.jobs[*j].finish >= MOVE_FLOOR)
        .map(|j| JobMove {
            job: before.jobs[j].id.clone(),
            duration_before_minutes: minutes(before.jobs[j].duration),
            duration_after_minutes: minutes(after.jobs[j].duration),
            finish_before: sb.jobs[j].finish,
            finish_after: sa.jobs[j].finish,
            source: if measured_set.contains(&j) {
                DurationSource::Measured
            } else {
                DurationSource::Declared
            },
        })
        .collect();
    moves.sort_by(|a, b| b.moved().cmp(&a.moved()).then(a.job.cmp(&b.job)));
    let total = moves.len();
    moves.truncate(MOVED_SHOWN);
    (moves, total)
}

fn disagreements(
    before: &Plan,
    after: &Plan,
    measured: Option<&MeasuredStages>,
) -> Vec<Disagreement> {
    let Some(m) = measured else {
        return Vec::new();
    };
    let ratio = stream_ratio(before, after, &m.stream);
    measured_jobs(before, &m.stream)
        .map(|(j, stages)| {
            let job = &before.jobs[j];
            let declared = ratio.powf(job.elasticity);
            let measured_growth = measured_growth(m, stages, ratio);
            Disagreement {
                job: job.id.clone(),
                stages: stages.iter().map(|s| STAGES[*s].to_string()).collect(),
                declared_growth: declared,
                declared_elasticity: job.elasticity,
                measured_growth,
                measured_elasticity: m.elasticity,
                difference: measured_growth / declared - 1.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
