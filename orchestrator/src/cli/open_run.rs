//! The store and the run a command reads or adds to (`status`, `alerts`, `ack`, the operator
//! commands, `whatif --state-of`, `serve`, `workers`), and the job a command names: each
//! failure with its exit code, said the same way by every command.

use warden_core::plan::Plan;
use warden_store::{RunRecord, Store, StoreError, redact_url};

use super::CliError;

/// Opens the store of a command that reads or adds to runs: it must exist. Only `warden run`
/// (and `warden demo`) create one, so a mistyped `--db` is an error, not an empty store.
pub async fn open_existing_store(db: &str) -> Result<Store, StoreError> {
    Store::open(db, warden_store::OpenMode::MustExist).await
}

/// A store error as one line naming the store (its password never shown).
pub fn store_error(db: &str, e: &StoreError) -> String {
    let db = redact_url(db);
    match e {
        StoreError::NoStore(_) => {
            format!("no store at {db} (only `warden run` creates one); check --db")
        }
        e => format!("{db}: {e}"),
    }
}

/// A store error of the store at `db`: the environment is not usable (exit 3).
pub fn store_failed(db: &str) -> impl Fn(StoreError) -> CliError + Copy + '_ {
    move |e| CliError::unavailable(store_error(db, &e))
}

/// Opens the store at `db` (it must exist) and finds `plan`'s run (its cycle and business
/// date): exit 3 if the store is not usable, 2 if the run is not there.
pub async fn open_run(db: &str, plan: &Plan) -> Result<(Store, RunRecord), CliError> {
    let store = open_existing_store(db).await.map_err(store_failed(db))?;
    match store.find_run(&plan.cycle, &plan.date).await {
        Ok(Some(run)) => Ok((store, run)),
        Ok(None) => Err(CliError::usage(format!(
            "no run of `{}` for {} in {}; start one with `warden run`",
            plan.cycle,
            plan.date,
            redact_url(db)
        ))),
        Err(e) => Err(store_failed(db)(e)),
    }
}

/// The index of job `id` in `plan`, or a usage error that suggests the nearest job id.
pub fn find_job(plan: &Plan, id: &str) -> Result<usize, CliError> {
    plan.job_index(id).ok_or_else(|| {
        let known =
            warden_core::diagnostics::did_you_mean(id, plan.jobs.iter().map(|j| j.id.as_str()));
        CliError::usage(format!(
            "`{}` has no job `{id}`{}",
            plan.cycle,
            known.map(|k| format!("; {k}")).unwrap_or_default()
        ))
    })
}
