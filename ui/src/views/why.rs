//! Why a deadline stands where it does, in the words an on-call reader acts on: the chain of
//! jobs that binds its finish with each step's state and overrun, the one job to look at
//! first ("ADJUD-PHASE1.A: 203 of 110 min, 65% done, at this rate finishes 03:10; the Day 1
//! window needs it by 01:51"), and the operator moves that would change it, each with its
//! effect on every deadline as the what-if projection computes it.
//!
//! Built from a [`RunSnapshot`]'s diagnosis ([`warden_deadlines::diagnose`]); the moves are
//! projected with [`warden_deadlines::project_moves`], the engine `warden whatif` uses.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use warden_core::sched::{Command, JobStatus, command_fits, command_name};
use warden_deadlines::{
    ChainLink, ChainStep, DEFAULT_HOLD, Diagnosis, Move, StepState, margin_changes, project_moves,
};

use crate::format::signed;
use crate::snapshot::RunSnapshot;

/// One step of a deadline's binding chain.
#[derive(Debug, Clone, Serialize)]
pub struct WhyStep {
    pub job: String,
    /// done | running | failed | held | waiting
    pub state: String,
    /// How it is tied to the step before ("after the previous", "waits for fee-tables").
    pub link: String,
    /// "203 of 110 min" (running or done), "110 min estimated" (not started).
    pub ran: String,
    /// "+93m" when it runs over its estimate, else empty.
    pub overrun: String,
    pub over: bool,
    pub progress: Option<String>,
    pub finish: String,
    pub needed_by: String,
    /// The job to look at first.
    pub first: bool,
}

/// A deadline's "why", as a card's line and the cycle page's panel show it.
#[derive(Debug, Clone, Serialize)]
pub struct Why {
    pub deadline: String,
    pub deadline_name: String,
    /// The job to look at first, in one sentence; empty once the chain is done.
    pub headline: String,
    pub first_job: Option<String>,
    /// The step that ran furthest over its estimate, when it is not the first job ("most
    /// over its estimate: ADJUD-PHASE1.A, 231 of 110 min (+2h01m)"); empty otherwise.
    pub cause: String,
    pub steps: Vec<WhyStep>,
    pub chain_length: usize,
    /// What the chain's steps ran over their estimates, in all ("+1h53m").
    pub overrun_total: String,
    /// Below zero margin, or its ladder above ok: the chain is shown step by step.
    pub at_risk: bool,
    /// Its margin is below zero (projected, or for good once settled).
    pub late: bool,
    /// Moves on the first job that fit its state, each with its projected effect (only for
    /// deadlines at risk, on the cycle page).
    pub moves: Vec<MoveView>,
}

/// One deadline's margin before and after a move.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeView {
    pub deadline: String,
    pub name: String,
    pub before: String,
    pub after: String,
    /// "+25m", "-1h00m", or "no change".
    pub change: String,
    pub gain_seconds: i64,
    pub worse: bool,
    pub better: bool,
    /// The margin goes from negative to zero or more.
    pub restored: bool,
}

/// An operator move and what the projection says it does.
#[derive(Debug, Clone, Serialize)]
pub struct MoveView {
    pub job: String,
    pub command: String,
    /// What the projection assumes of it ("held for 1h00m, then released").
    pub assumes: String,
    pub changes: Vec<ChangeView>,
    /// The change to the deadline this move was suggested for.
    pub effect: String,
    pub helps: bool,
}

fn minutes(d: TimeDelta) -> i64 {
    (d.num_seconds() as f64 / 60.0).round() as i64
}

/// `03:10` when on the same local day as `now`, else `Thu 03:10`.
pub fn clock(tz: Tz, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (lt, ln) = (t.with_timezone(&tz), now.with_timezone(&tz));
    if lt.date_naive() == ln.date_naive() {
        lt.format("%H:%M").to_string()
    } else {
        lt.format("%a %H:%M").to_string()
    }
}

fn state_word(s: StepState) -> &'static str {
    match s {
        StepState::Done => "done",
        StepState::Running => "running",
        StepState::Failed => "failed",
        StepState::Held => "held",
        StepState::Waiting => "waiting",
    }
}

fn link_words(s: &RunSnapshot, link: ChainLink) -> String {
    match link {
        ChainLink::Start { reason } => {
            format!("starts at its earliest ({reason:?})").to_lowercase()
        }
        ChainLink::Dependency => "after the previous".into(),
        ChainLink::Resource { resource } => format!(
            "waits for {}",
            s.plan
                .resources
                .get(resource)
                .map_or("a resource", |r| r.id.as_str())
        ),
        ChainLink::Retry => "a retry".into(),
    }
}

fn step_view(s: &RunSnapshot, step: &ChainStep, first: bool) -> WhyStep {
    let tz = s.plan.timezone;
    let est = minutes(step.estimate);
    WhyStep {
        job: s.plan.jobs[step.job].id.clone(),
        state: state_word(step.state).into(),
        link: link_words(s, step.link),
        ran: match step.elapsed {
            Some(e) => format!("{} of {est} min", minutes(e)),
            None => format!("{est} min estimated"),
        },
        overrun: if minutes(step.overrun) > 0 {
            signed(step.overrun)
        } else {
            String::new()
        },
        over: minutes(step.overrun) > 0,
        progress: step.progress.map(|p| format!("{:.0}%", p * 100.0)),
        finish: clock(tz, step.finish, s.now),
        // A step done needs nothing more.
        needed_by: if step.state == StepState::Done {
            "–".into()
        } else {
            clock(tz, step.needed_by, s.now)
        },
        first,
    }
}

/// The sentence naming the job to look at first.
fn headline(s: &RunSnapshot, d: &Diagnosis, deadline_name: &str) -> String {
    let Some(step) = d.first_look.map(|i| &d.steps[i]) else {
        return String::new();
    };
    let tz = s.plan.timezone;
    let job = &s.plan.jobs[step.job].id;
    let est = minutes(step.estimate);
    let needs = format!(
        "the {deadline_name} needs it by {}",
        clock(tz, step.needed_by, s.now)
    );
    let finish = clock(tz, step.finish, s.now);
    match step.state {
        StepState::Running => {
            let ran = minutes(step.elapsed.unwrap_or_default());
            match step.progress {
                Some(p) => format!(
                    "{job}: {ran} of {est} min, {:.0}% done, at this rate finishes {finish}; {needs}",
                    p * 100.0
                ),
                None => format!("{job}: {ran} of {est} min, projected to finish {finish}; {needs}"),
            }
        }
        StepState::Failed => {
            let at = match s.machine.status(step.job) {
                JobStatus::Failed { at, .. } => format!(" at {}", clock(tz, at, s.now)),
                _ => String::new(),
            };
            format!(
                "{job} failed{at}: nothing after it runs until it is rerun, skipped or \
                 force-completed; rerun now it finishes {finish}; {needs}"
            )
        }
        StepState::Held => {
            format!("{job} is held: released now it finishes {finish} ({est} min); {needs}")
        }
        StepState::Waiting | StepState::Done => format!(
            "{job} has not started: projected {}–{finish} ({est} min); {needs}",
            clock(tz, step.start, s.now)
        ),
    }
}

/// The chain's step furthest over its estimate (by at least a minute), unless it is the job
/// to look at first (the headline says that one's overrun).
fn cause(s: &RunSnapshot, d: &Diagnosis) -> String {
    let Some((i, step)) = d
        .steps
        .iter()
        .enumerate()
        .max_by_key(|(_, st)| st.overrun)
        .filter(|(_, st)| minutes(st.overrun) > 0)
    else {
        return String::new();
    };
    if d.first_look == Some(i) {
        return String::new();
    }
    let ran = step
        .elapsed
        .map(|e| format!("{} of {} min", minutes(e), minutes(step.estimate)))
        .unwrap_or_else(|| format!("{} min estimated", minutes(step.estimate)));
    format!(
        "most over its estimate: {}, {ran} ({})",
        s.plan.jobs[step.job].id,
        signed(step.overrun)
    )
}

/// Every deadline's "why", in plan order; with `moves`, the moves on the first job of each
/// deadline at risk (margin below zero or a ladder level above ok), projected.
pub fn whys(s: &RunSnapshot, at_risk: &[bool], moves: bool) -> Vec<Why> {
    s.diagnoses
        .iter()
        .map(|d| {
            let pd = &s.plan.deadlines[d.deadline];
            let name = pd.name.clone().unwrap_or_else(|| pd.id.clone());
            let risky = at_risk.get(d.deadline).copied().unwrap_or(false);
            Why {
                deadline: pd.id.clone(),
                headline: headline(s, d, &name),
                first_job: d.first_look.map(|i| s.plan.jobs[d.steps[i].job].id.clone()),
                cause: cause(s, d),
                steps: d
                    .steps
                    .iter()
                    .enumerate()
                    .map(|(i, st)| step_view(s, st, d.first_look == Some(i)))
                    .collect(),
                chain_length: d.steps.len(),
                at_risk: risky,
                late: d.margin < TimeDelta::zero(),
                overrun_total: signed(d.overrun_total),
                moves: if moves && risky {
                    suggested_moves(s, d)
                } else {
                    Vec::new()
                },
                deadline_name: name,
            }
        })
        .collect()
}

/// The moves that fit the first job's state, best first.
fn suggested_moves(s: &RunSnapshot, d: &Diagnosis) -> Vec<MoveView> {
    let Some(step) = d.first_look.map(|i| &d.steps[i]) else {
        return Vec::new();
    };
    let candidates: &[Command] = match step.state {
        StepState::Running => &[Command::ForceComplete, Command::Kill],
        StepState::Failed => &[Command::Rerun, Command::Skip, Command::ForceComplete],
        StepState::Held => &[Command::Release],
        StepState::Waiting => &[Command::Skip],
        StepState::Done => &[],
    };
    let mut out: Vec<MoveView> = candidates
        .iter()
        .filter(|&&c| {
            command_fits(c, s.machine.status(step.job), s.machine.is_held(step.job)).is_ok()
        })
        .map(|&c| move_view(s, step.job, c, DEFAULT_HOLD, Some(d.deadline)))
        .collect();
    out.sort_by_key(|m| {
        std::cmp::Reverse(
            m.changes
                .iter()
                .find(|c| c.deadline == s.plan.deadlines[d.deadline].id)
                .map_or(0, |c| c.gain_seconds),
        )
    });
    out
}

/// What `command` on `job` would do to every deadline (a hold lasting `hold_for`); `focus`
/// is the deadline the move is weighed for (its change is the move's `effect`).
pub fn move_view(
    s: &RunSnapshot,
    job: usize,
    command: Command,
    hold_for: TimeDelta,
    focus: Option<usize>,
) -> MoveView {
    let after = project_moves(
        &s.plan,
        &s.live(),
        &s.estimates,
        &[Move::Command { job, command }],
        hold_for,
    );
    changes_view(
        s,
        &s.projection,
        &after,
        job,
        command_name(command),
        assumes(command, hold_for),
        focus,
    )
}

/// What a hypothetical delay (or speed-up) of `job` by `by` would do to every deadline.
pub fn delay_view(s: &RunSnapshot, job: usize, by: TimeDelta) -> MoveView {
    let after = project_moves(
        &s.plan,
        &s.live(),
        &s.estimates,
        &[Move::Delay { job, by }],
        DEFAULT_HOLD,
    );
    let what = if by < TimeDelta::zero() {
        "faster"
    } else {
        "slower"
    };
    changes_view(
        s,
        &s.projection,
        &after,
        job,
        "delay",
        format!(
            "{} {what} than projected ({})",
            s.plan.jobs[job].id,
            signed(by)
        ),
        None,
    )
}

fn assumes(command: Command, hold_for: TimeDelta) -> String {
    match command {
        Command::Hold => format!(
            "held for {}, then released (a hold has no end until someone releases it)",
            signed(hold_for).trim_start_matches('+')
        ),
        Command::Release => "released now".into(),
        Command::Rerun => "rerun now, taking its estimate".into(),
        Command::Skip => "marked done now without running; its dependents start".into(),
        Command::Kill => "killed now and rerun at once from the start (what the projection assumes of a failed job)".into(),
        Command::ForceComplete => "marked done now; its dependents start".into(),
    }
}

fn changes_view(
    s: &RunSnapshot,
    before: &warden_deadlines::Projection,
    after: &warden_deadlines::Projection,
    job: usize,
    command: &str,
    assumes: String,
    focus: Option<usize>,
) -> MoveView {
    let changes: Vec<ChangeView> = margin_changes(before, after)
        .into_iter()
        .map(|c| {
            let pd = &s.plan.deadlines[c.deadline];
            let gain = minutes(c.gain());
            ChangeView {
                deadline: pd.id.clone(),
                name: pd.name.clone().unwrap_or_else(|| pd.id.clone()),
                before: signed(c.before),
                after: signed(c.after),
                change: if gain == 0 {
                    "no change".into()
                } else {
                    signed(c.gain())
                },
                gain_seconds: c.gain().num_seconds(),
                worse: gain < 0,
                better: gain > 0,
                restored: c.before < TimeDelta::zero() && c.after >= TimeDelta::zero(),
            }
        })
        .collect();
    let focus_change = focus.and_then(|f| {
        let id = &s.plan.deadlines[f].id;
        changes.iter().find(|c| &c.deadline == id)
    });
    MoveView {
        job: s.plan.jobs[job].id.clone(),
        command: command.into(),
        assumes,
        effect: focus_change.map_or(String::new(), |c| {
            format!("{}: {} → {} ({})", c.name, c.before, c.after, c.change)
        }),
        helps: focus_change.is_some_and(|c| c.better),
        changes,
    }
}
