//! The operator actions, shared by the JSON API and the page forms. Each checks the role,
//! that the command fits the job's state now (the same rule as the CLI), and records it in
//! the store with its actor and reason; the run's orchestrator applies it exactly once.
//! And an architect's approval of a batch impact test that came back `review` (the same
//! rule and store record as `warden impact approve`), with every refusal in the UI's audit.

use chrono::Utc;
use warden_core::sched::{command_fits, command_needs_reason, reason_needed_because};
use warden_store::{ApproveOutcome, ImpactApproval};

use crate::auth::{Permission, Principal, Role};
use crate::error::ApiError;
use crate::params::parse_command;
use crate::snapshot::RunSnapshot;
use crate::state::AppState;

/// Queues `action` on `job_id`; returns what the operator is told.
pub async fn job_command(
    state: &AppState,
    principal: &Principal,
    run_id: i64,
    job_id: &str,
    action: &str,
    reason: Option<&str>,
) -> Result<String, ApiError> {
    let user = principal.require(Permission::Operate)?;
    let command = parse_command(action)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let snapshot = RunSnapshot::load(&state.store, &state.catalog, run_id).await?;
    let job = job_index(&snapshot, job_id)?;
    // Whether it fits the job's state first: no reason makes a hold of a finished job fit.
    if let Err(why) = command_fits(
        command,
        snapshot.machine.status(job),
        snapshot.machine.is_held(job),
    ) {
        return Err(ApiError::Conflict(format!(
            "cannot {action} `{job_id}`: it {why}"
        )));
    }
    if command_needs_reason(command) && reason.is_none() {
        return Err(ApiError::BadRequest(format!(
            "{action} needs a reason: {}",
            reason_needed_because(command)
        )));
    }
    state
        .store
        .submit_command(run_id, job as i64, command, &user.name, reason, Utc::now())
        .await?;
    tracing::info!(run = run_id, job = job_id, action, actor = %user.name, "operator action queued from the web UI");
    Ok(format!(
        "{action} {job_id} by {} queued; the orchestrator applies it now if it is running, else when the run resumes",
        user.name
    ))
}

/// Acknowledges an alert of the run; returns what the user is told.
pub async fn acknowledge(
    state: &AppState,
    principal: &Principal,
    run_id: i64,
    alert_id: i64,
    note: Option<&str>,
) -> Result<String, ApiError> {
    let user = principal.require(Permission::Acknowledge)?;
    let alerts = state.store.run_alerts(run_id).await?;
    if !alerts.iter().any(|a| a.id == alert_id) {
        return Err(ApiError::NotFound(format!(
            "run {run_id} has no alert {alert_id}"
        )));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let ack = state
        .store
        .acknowledge(alert_id, &user.name, note, Utc::now())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no alert {alert_id}")))?;
    if ack.already_acknowledged {
        return Ok(format!(
            "alert {} ({} {}) was acknowledged already, by {} at {}; nothing changed",
            ack.alert_id,
            ack.deadline_id,
            ack.level,
            ack.actor,
            ack.at.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    tracing::info!(run = run_id, alert = alert_id, actor = %user.name, "alert acknowledged from the web UI");
    Ok(format!(
        "alert {} ({} {}) acknowledged by {}",
        ack.alert_id, ack.deadline_id, ack.level, ack.actor
    ))
}

/// Acknowledges every unacknowledged alert of the run, or of one incident (`deadline` and
/// `level`), with one note; returns what the user is told. Alerts already acknowledged are
/// left as they are (acknowledging is idempotent).
pub async fn acknowledge_all(
    state: &AppState,
    principal: &Principal,
    run_id: i64,
    deadline: Option<&str>,
    level: Option<&str>,
    note: Option<&str>,
) -> Result<String, ApiError> {
    let user = principal.require(Permission::Acknowledge)?;
    let given = |v: Option<&str>| {
        v.map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (deadline, level) = (given(deadline), given(level));
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let open: Vec<i64> = state
        .store
        .run_alerts(run_id)
        .await?
        .into_iter()
        .filter(|a| a.acks.is_empty())
        .filter(|a| deadline.as_deref().is_none_or(|d| a.deadline_id == d))
        .filter(|a| level.as_deref().is_none_or(|l| a.level == l))
        .map(|a| a.id)
        .collect();
    // One transaction; an alert someone acknowledged in the meantime keeps theirs.
    let stored = if open.is_empty() {
        0
    } else {
        state
            .store
            .acknowledge_all(run_id, Some(&open), &user.name, note, Utc::now())
            .await?
            .iter()
            .filter(|a| !a.already_acknowledged)
            .count()
    };
    let what = match (&deadline, &level) {
        (Some(d), Some(l)) => format!("{d} {l}"),
        (Some(d), None) => d.clone(),
        _ => format!("run {run_id}"),
    };
    tracing::info!(run = run_id, alerts = stored, actor = %user.name, "alerts acknowledged together from the web UI");
    Ok(if stored == 0 {
        format!("nothing to acknowledge for {what}: every alert was acknowledged already")
    } else {
        format!("{stored} alert(s) of {what} acknowledged by {}", user.name)
    })
}

/// Approves impact test `id` as the requester (a user of the auth file with the architect
/// role) with `note` (required: the review board's record); returns what they are told. Only
/// a `review` without an approval is approved; the store writes at most one approval per
/// test, so of two architects racing, the second is told who was first.
pub async fn approve_impact(
    state: &AppState,
    principal: &Principal,
    id: i64,
    note: Option<&str>,
) -> Result<String, ApiError> {
    let user = principal.require(Permission::ApproveImpact)?;
    let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) else {
        return Err(ApiError::BadRequest(format!(
            "approving impact test #{id} needs a note: what the review found, and why the \
             volume may go live"
        )));
    };
    let approval = ImpactApproval {
        approver: user.name.clone(),
        role: Role::Architect.as_str().to_string(),
        note: note.to_string(),
        at: Utc::now(),
    };
    match state.store.approve_impact_test(id, &approval).await? {
        ApproveOutcome::Approved => {
            state
                .audit_ui(
                    &user.name,
                    "impact_approve",
                    Some(format!("impact test #{id} approved (architect): {note}")),
                )
                .await;
            tracing::info!(test = id, actor = %user.name, "impact test approved from the web UI");
            Ok(format!(
                "impact test #{id} approved by {} (architect): a run carrying its volume may start",
                user.name
            ))
        }
        ApproveOutcome::NoSuchTest => Err(ApiError::NotFound(format!(
            "there is no impact test #{id}; GET /api/impact lists them"
        ))),
        ApproveOutcome::NotReview { verdict } => Err(ApiError::Conflict(format!(
            "impact test #{id} came back {verdict}: only a `review` is approved ({})",
            if verdict == "pass" {
                "a pass needs no approval"
            } else {
                "a fail cannot be approved: change the cycle and test again"
            }
        ))),
        ApproveOutcome::AlreadyApproved { by, at } => Err(ApiError::Conflict(format!(
            "impact test #{id} was approved already, by {by} at {}",
            at.format("%Y-%m-%d %H:%M UTC")
        ))),
    }
}

/// Records a refused approval (no credentials, the wrong role, the local operator, a
/// missing or stale CSRF token) in the UI's audit, with the reason given; other errors are
/// outcomes, not refusals.
pub async fn audit_refused_approval(state: &AppState, who: &Principal, test: &str, e: &ApiError) {
    if let ApiError::Unauthorized(why) | ApiError::Forbidden(why) = e {
        // The path segment as given (not necessarily a number), cut short.
        let test: String = test.chars().take(24).collect();
        state
            .audit_ui(
                who.name(),
                "impact_approve_refused",
                Some(format!("impact test #{test}: {why}")),
            )
            .await;
    }
}

pub fn job_index(s: &RunSnapshot, job_id: &str) -> Result<usize, ApiError> {
    s.plan.job_index(job_id).ok_or_else(|| {
        let hint = warden_core::diagnostics::did_you_mean(
            job_id,
            s.plan.jobs.iter().map(|j| j.id.as_str()),
        );
        ApiError::NotFound(format!(
            "run {} has no job `{job_id}`{}",
            s.run.id,
            hint.map(|h| format!("; {h}")).unwrap_or_default()
        ))
    })
}
