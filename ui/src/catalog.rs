//! Which plan a stored run was made from. A run records its cycle, business date, the
//! workflow file's SHA-256, its mode and volume changes; the catalog holds the workflows the
//! server was given and instantiates the run's plan from the one with the same SHA-256.
//! A process that runs a cycle pins its exact plan (it may carry edits no file has, such as
//! a demo's injected waits).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono_tz::Tz;
use warden_core::plan::{DateSpec, Plan, PlanOptions, VolumeChange};
use warden_core::workflow::{Mode, Workflow};
use warden_store::RunRecord;

/// A compiled workflow file.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub path: String,
    pub sha256: String,
    pub workflow: Workflow,
}

/// A run's plan and how sure the catalog is that it is the run's own.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub plan: Arc<Plan>,
    /// Set when the plan had to come from a different version of the file (same cycle,
    /// another SHA-256): the page says so.
    pub warning: Option<String>,
}

#[derive(Debug, Default)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    pinned: Mutex<HashMap<(String, String), Arc<Plan>>>,
    cache: Mutex<HashMap<i64, RunPlan>>,
}

impl Catalog {
    pub fn new(entries: Vec<CatalogEntry>) -> Self {
        Self {
            entries,
            ..Self::default()
        }
    }

    /// The exact plan a running process uses for (cycle, business date).
    pub fn pin(&self, plan: Arc<Plan>) {
        if let Ok(mut pinned) = self.pinned.lock() {
            pinned.insert((plan.cycle.clone(), plan.date.clone()), plan);
        }
    }

    pub fn workflows(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// The cycles the catalog knows (its workflows' and its pinned plans'), sorted, each
    /// once.
    pub fn cycles(&self) -> Vec<String> {
        let mut cycles: Vec<String> = self.entries.iter().map(|e| e.workflow.id.clone()).collect();
        if let Ok(pinned) = self.pinned.lock() {
            cycles.extend(pinned.keys().map(|(cycle, _)| cycle.clone()));
        }
        cycles.sort();
        cycles.dedup();
        cycles
    }

    /// The time zone of a cycle the catalog knows.
    pub fn timezone(&self, cycle: &str) -> Option<Tz> {
        if let Some(e) = self.entries.iter().find(|e| e.workflow.id == cycle) {
            return Some(e.workflow.timezone);
        }
        let pinned = self.pinned.lock().ok()?;
        pinned
            .iter()
            .find(|((c, _), _)| c == cycle)
            .map(|(_, plan)| plan.timezone)
    }

    /// The run's plan, or why there is none.
    pub fn plan_for(&self, run: &RunRecord) -> Result<RunPlan, String> {
        let key = (run.cycle.clone(), run.business_date.clone());
        if let Some(plan) = self.pinned.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return Ok(RunPlan {
                plan,
                warning: None,
            });
        }
        if let Some(found) = self.cache.lock().ok().and_then(|c| c.get(&run.id).cloned()) {
            return Ok(found);
        }
        let exact = self
            .entries
            .iter()
            .find(|e| e.sha256 == run.workflow_sha256);
        let (entry, warning) = match exact {
            Some(e) => (e, None),
            None => match self.entries.iter().find(|e| e.workflow.id == run.cycle) {
                Some(e) => (
                    e,
                    Some(format!(
                        "{} has changed since this run started (SHA-256 {} then, {} now): \
                         jobs are shown as the file plans them today",
                        e.path,
                        short(&run.workflow_sha256),
                        short(&e.sha256)
                    )),
                ),
                None => {
                    return Err(format!(
                        "no workflow of cycle `{}` was given to the server; start it with \
                         `warden serve --workflow FILE` naming the cycle's file",
                        run.cycle
                    ));
                }
            },
        };
        let date: DateSpec = run
            .business_date
            .parse()
            .map_err(|e| format!("run {}: business date: {e}", run.id))?;
        let options = run_options(run)?;
        let plan = entry
            .workflow
            .instantiate(date, &options)
            .map_err(|e| format!("run {}: {e}", run.id))?;
        let found = RunPlan {
            plan: Arc::new(plan),
            warning,
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(run.id, found.clone());
        }
        Ok(found)
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The plan options a run was started with: its mode and the volume changes recorded as
/// `{"volumes": [{"stream": "A", "change": "Add(12000000)"}]}`.
pub fn run_options(run: &RunRecord) -> Result<PlanOptions, String> {
    let mode = Mode::parse(&run.mode)
        .ok_or_else(|| format!("run {}: unknown mode `{}`", run.id, run.mode))?;
    let options: serde_json::Value = serde_json::from_str(&run.options)
        .map_err(|e| format!("run {}: options are not JSON: {e}", run.id))?;
    let mut volumes = Vec::new();
    for v in options["volumes"].as_array().into_iter().flatten() {
        let stream = v["stream"].as_str().unwrap_or_default().to_string();
        let change = v["change"].as_str().unwrap_or_default();
        volumes.push((
            stream,
            parse_change(change).ok_or_else(|| {
                format!(
                    "run {}: volume change `{change}` is not Set(N) or Add(N)",
                    run.id
                )
            })?,
        ));
    }
    Ok(PlanOptions {
        mode: Some(mode),
        volumes,
    })
}

fn parse_change(text: &str) -> Option<VolumeChange> {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(n) = inner("Set(") {
        return n.parse().ok().map(VolumeChange::Set);
    }
    inner("Add(").and_then(|n| n.parse().ok().map(VolumeChange::Add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_changes_read_back_as_recorded() {
        assert_eq!(
            parse_change("Set(34000000)"),
            Some(VolumeChange::Set(34_000_000))
        );
        assert_eq!(parse_change("Add(-500)"), Some(VolumeChange::Add(-500)));
        assert_eq!(parse_change("Add(x)"), None);
        assert_eq!(parse_change("Mul(2)"), None);
    }
}
