//! Before an operator's move: what it would do to every deadline, from the what-if
//! projection. The confirmation page of an action (hold, release, rerun, skip, kill,
//! force-complete) and the cycle page's what-if form both show it.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use warden_core::sched::{
    Command, command_fits, command_name, command_needs_reason, reason_needed_because,
};
use warden_deadlines::DEFAULT_HOLD;

use super::overview::{RunSummary, run_summary};
use super::why::{MoveView, delay_view, move_view};
use crate::snapshot::RunSnapshot;

/// A confirmation page's query: how long a hold is projected to last.
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    pub hold_for: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfirmView {
    pub run: RunSummary,
    pub job: String,
    pub command: String,
    pub allowed: bool,
    pub why_not: String,
    pub needs_reason: bool,
    pub reason_because: String,
    pub is_hold: bool,
    pub hold_for: String,
    pub effect: MoveView,
    pub problem: Option<String>,
}

/// A duration as an operator types it: `+45m`, `-20m`, `2h`, `90m`.
pub fn parse_signed_duration(text: &str) -> Result<TimeDelta, String> {
    let t = text.trim();
    let scalar = |t: &str| warden_core::workflow::raw::Scalar::Text(t.to_string());
    let parsed = if let Some(rest) = t.strip_prefix('-') {
        warden_core::workflow::values::duration(&scalar(rest)).map(|d| -d)
    } else {
        warden_core::workflow::values::duration(&scalar(t.strip_prefix('+').unwrap_or(t)))
    };
    parsed.map_err(|e| format!("`{t}` is not a duration ({e}); write e.g. +45m, -20m or 2h"))
}

pub fn confirm_view(
    s: &RunSnapshot,
    job: usize,
    command: Command,
    q: &ConfirmQuery,
) -> ConfirmView {
    let (hold_for, problem) = match q.hold_for.as_deref().filter(|h| !h.trim().is_empty()) {
        None => (DEFAULT_HOLD, None),
        Some(text) => match parse_signed_duration(text) {
            Ok(d) if d > TimeDelta::zero() => (d, None),
            Ok(_) => (
                DEFAULT_HOLD,
                Some(format!(
                    "a hold lasts a positive time, not `{text}`; projected for 1h"
                )),
            ),
            Err(e) => (DEFAULT_HOLD, Some(format!("{e}; projected for 1h"))),
        },
    };
    let fits = command_fits(command, s.machine.status(job), s.machine.is_held(job));
    let pj = &s.plan.jobs[job];
    ConfirmView {
        run: run_summary(s),
        job: pj.id.clone(),
        command: command_name(command).into(),
        allowed: fits.is_ok(),
        why_not: fits
            .err()
            .map(|w| format!("{} {w}", pj.id))
            .unwrap_or_default(),
        needs_reason: command_needs_reason(command),
        reason_because: reason_needed_because(command).into(),
        is_hold: command == Command::Hold,
        // As the field takes it back: whole minutes.
        hold_for: format!("{}m", hold_for.num_minutes()),
        effect: move_view(s, job, command, hold_for, None),
        problem,
    }
}

/// The what-if form's query.
#[derive(Debug, Default, Deserialize)]
pub struct WhatifQuery {
    #[serde(default)]
    pub job: Option<String>,
    /// `delay`, or an operator command's name.
    #[serde(default)]
    pub change: Option<String>,
    /// The delay (or a hold's length).
    #[serde(default)]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WhatifView {
    pub run: RunSummary,
    pub job: String,
    pub change: String,
    pub by: String,
    pub effect: Option<MoveView>,
    /// What was wrong with the question, and what to ask instead.
    pub problem: Option<String>,
    pub job_ids: Vec<String>,
}

/// The what-if form's answer: the move projected, or what is wrong with the question.
pub fn whatif_view(s: &RunSnapshot, q: &WhatifQuery) -> WhatifView {
    let job_text = q.job.clone().unwrap_or_default().trim().to_string();
    let change = q.change.clone().unwrap_or_else(|| "delay".into());
    let by = q.by.clone().unwrap_or_default();
    let answer = || -> Result<MoveView, String> {
        let job = s.plan.job_index(&job_text).ok_or_else(|| {
            let hint = warden_core::diagnostics::did_you_mean(
                &job_text,
                s.plan.jobs.iter().map(|j| j.id.as_str()),
            );
            format!(
                "run {} has no job `{job_text}`{}",
                s.run.id,
                hint.map(|h| format!("; {h}")).unwrap_or_default()
            )
        })?;
        if change == "delay" {
            return Ok(delay_view(s, job, parse_signed_duration(&by)?));
        }
        let command = crate::params::parse_command(&change).map_err(|e| e.public_message())?;
        let hold_for = if command == Command::Hold && !by.trim().is_empty() {
            parse_signed_duration(&by)?
        } else {
            DEFAULT_HOLD
        };
        if let Err(why) = command_fits(command, s.machine.status(job), s.machine.is_held(job)) {
            return Err(format!("cannot {change} `{job_text}` now: it {why}"));
        }
        Ok(move_view(
            s,
            job,
            command,
            hold_for.max(TimeDelta::minutes(1)),
            None,
        ))
    };
    let (effect, problem) = match answer() {
        Ok(e) => (Some(e), None),
        Err(e) => (None, Some(e)),
    };
    WhatifView {
        run: run_summary(s),
        job: job_text,
        change,
        by,
        effect,
        problem,
        job_ids: s.plan.jobs.iter().map(|j| j.id.clone()).collect(),
    }
}
