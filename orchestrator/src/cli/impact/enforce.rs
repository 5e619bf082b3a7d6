//! The gate at `warden run` (the decision itself is `gate.rs`'s): a new run is checked
//! against the cycle's stored impact tests; a refusal names the test to run; an operator's
//! override needs a reason, is kept in the store's audit of overrides and alerts on-call and
//! compliance through the run's outbox. A run that already exists was checked when it
//! started and resumes unchecked.

use warden_core::plan::Plan;
use warden_deadlines::alert::{GateEvent, VolumeGateView};
use warden_store::{NewImpactOverride, NewRun, Store, StoreError};

use super::gate::{Gate, decide};

/// Who overrides, and why.
#[derive(Debug, Clone)]
pub struct Override {
    pub actor: String,
    pub reason: String,
}

/// What `warden run` does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Go on; say `note` first (if any). `test`: the impact test that cleared the volume.
    Go {
        note: Option<String>,
        test: Option<i64>,
    },
    /// Refused: the message.
    Refused(String),
}

pub async fn enforce(
    store: &Store,
    plan: &Plan,
    file: &str,
    new: &NewRun,
    overriding: Option<&Override>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Verdict, StoreError> {
    if store
        .find_run(&new.cycle, &new.business_date)
        .await?
        .is_some()
    {
        return Ok(Verdict::Go {
            note: None,
            test: None,
        });
    }
    let tests = store.impact_tests(&plan.cycle).await?;
    match decide(plan, file, &tests) {
        Gate::Open => Ok(Verdict::Go {
            note: None,
            test: None,
        }),
        Gate::Covered { how, test } => Ok(Verdict::Go {
            note: Some(format!(
                "batch impact gate: volume above approved, cleared: {how}"
            )),
            test: Some(test),
        }),
        Gate::Refused { message, over } => {
            let Some(o) = overriding else {
                return Ok(Verdict::Refused(message));
            };
            let run = store.open_run(new, now).await?;
            for s in &over {
                let view = VolumeGateView::new(
                    plan,
                    run.id,
                    &s.stream,
                    (s.volume, s.declared, s.limit),
                    &GateEvent::Override {
                        actor: &o.actor,
                        reason: &o.reason,
                    },
                    now,
                );
                store
                    .record_impact_override(&NewImpactOverride {
                        cycle: plan.cycle.clone(),
                        business_date: plan.date.clone(),
                        run_id: Some(run.id),
                        actor: o.actor.clone(),
                        reason: o.reason.clone(),
                        detail: view.trigger.clone(),
                        at: now,
                    })
                    .await?;
                store.raise_alert(&crate::alerts::gate_alert(&view)).await?;
                tracing::warn!(run = run.id, stream = %s.stream, actor = %o.actor, "batch impact gate overridden: alert raised to on-call and compliance");
            }
            Ok(Verdict::Go {
                note: Some(format!(
                    "batch impact gate OVERRIDDEN by {} (reason: {}); recorded, and on-call and compliance are alerted. Without the override: {message}",
                    o.actor, o.reason
                )),
                test: None,
            })
        }
    }
}
