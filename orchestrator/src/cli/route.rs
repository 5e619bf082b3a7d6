//! `warden route`: claims routing by CEL rule sets (docs/routing.md).
//!
//! - `warden route check RULES`: load the set as a server would (compile, schema, limits,
//!   probes, the tests file beside it) and say whether it may serve. Exit 0 or 1.
//! - `warden route claims --rules RULES --input claims.csv --out DIR`: route every claim.
//!   Writes `claims.csv` (the routed claims, `stream` set by their route), `routes.csv` (one
//!   audited decision per claim: rule, stream, platform, the set's SHA-256),
//!   `route-errors.csv` (rows that do not parse and claims a rule could not evaluate) and
//!   `volumes.json` (counts by stream, platform and rule, reconciled). Every decision is
//!   recorded in the store's routing audit first (`--db`), so no routed claim is written
//!   without its decision on record. Exit 1 when any claim could not be routed.
//! - `warden route audit CLAIM_ID`: every decision recorded for a claim, online and batch.
//!   Exit 1 when there is none.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use warden_store::Store;
use warden_ui::routing_audit::{Asked, decision_row};
use warden_workers::routing::{self, RoutedCsv, RuleSet};

use super::open_run::{open_existing_store, store_error, store_failed};
use super::{CliError, CliResult, load_plans, reported_if, runtime};

/// The shipped rule set.
pub const RULES: &str = "workflows/routing/claims.yaml";

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Load a rule set as a server would and run its tests file; exit 1 if it is refused.
    Check(CheckArgs),
    /// Route a claims input (claims.csv) to streams and platforms.
    Claims(ClaimsArgs),
    /// Every routing decision recorded for a claim (online and batch), oldest first.
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The claim's id.
    pub claim_id: u64,
    /// The store holding the routing audit: a SQLite file, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The rule set (its tests are the `.tests.yaml` file beside it).
    #[arg(default_value = RULES)]
    pub rules: PathBuf,
}

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// The rule set.
    #[arg(long, default_value = RULES)]
    pub rules: PathBuf,
    /// The claims input (`claims.csv`, as `warden intake` and `claims generate` write it).
    #[arg(long)]
    pub input: PathBuf,
    /// Where the routed claims, decisions, errors and volumes are written (created).
    #[arg(long, default_value = "routed")]
    pub out: PathBuf,
    /// The trading partner the claims came from (what rules see as `partner`).
    #[arg(long, default_value = "")]
    pub partner: String,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is there,
    /// else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// The store every decision is recorded in (the routing audit): a SQLite file, created if
    /// missing, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

pub(super) fn run(command: &RouteCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    match command {
        RouteCommand::Check(args) => {
            let set = load_rules(&args.rules)?;
            writeln!(
                out,
                "{}: {} rules, {} test cases passed; platforms {}; sha256 {}",
                args.rules.display(),
                set.rules.len(),
                set.tests,
                set.platforms.join(", "),
                set.sha256
            )?;
            Ok(())
        }
        RouteCommand::Claims(args) => claims(args, out, err),
        RouteCommand::Audit(args) => audit(args, out),
    }
}

/// Loads the rule set at `path`; a refused one is the error (file:line:column, exit 1).
pub(super) fn load_rules(path: &Path) -> CliResult<RuleSet> {
    routing::load(path).map_err(|e| {
        CliError::invalid(format!(
            "{e}\nthe rule set is refused; nothing was routed with it"
        ))
    })
}

fn claims(args: &ClaimsArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let set = load_rules(&args.rules)?;
    let plans = load_plans(args.plans.as_deref(), err)?;
    let text = std::fs::read_to_string(&args.input).map_err(|e| {
        CliError::invalid(format!(
            "{}: cannot read the claims: {e}",
            args.input.display()
        ))
    })?;
    let routed = routing::route_csv(&set, &text, &plans, &args.partner);
    let actor = format!("route claims {}", args.input.display());
    let recorded = record_batch(&args.db, &actor, &set, &routed).map_err(|e| {
        CliError::unavailable(format!(
            "{e}\nnothing was written: a routed claim is only written once its decision is on record"
        ))
    })?;
    crate::intake_batch::write_routed(&args.out, &set, &routed).map_err(CliError::unavailable)?;
    let t = &routed.tally;
    writeln!(
        out,
        "{} claims: {} routed ({}), {} not evaluable, {} unreadable rows; rule set {} ({}); wrote {}; {recorded} decisions in the routing audit ({})",
        t.claims + routed.unreadable,
        t.routed,
        t.streams(),
        t.errors,
        routed.unreadable,
        args.rules.display(),
        &set.sha256[..12],
        args.out.display(),
        warden_store::redact_url(&args.db),
    )?;
    // Counts only: claim ids stay in the files.
    tracing::info!(claims = t.claims, routed = t.routed, errors = t.errors, unreadable = routed.unreadable, rule_set = %set.sha256, "claims routed");
    reported_if(t.errors > 0 || routed.unreadable > 0)
}

/// Records every decision of a routed batch in the store's routing audit, in one
/// transaction, under `actor` (what was routed). Called before the routed claims are written.
pub(super) fn record_batch(
    db: &str,
    actor: &str,
    set: &RuleSet,
    routed: &RoutedCsv<'_>,
) -> Result<u64, String> {
    let asked = Asked {
        at: chrono::Utc::now(),
        channel: "batch",
        actor,
        rule_set_sha256: &set.sha256,
    };
    let rows = routed
        .decisions
        .iter()
        .map(|(claim_id, outcome)| decision_row(*claim_id, asked, outcome));
    runtime::block_on(async {
        let store = Store::connect(db).await.map_err(|e| store_error(db, &e))?;
        store
            .record_routing_decisions(rows)
            .await
            .map_err(|e| format!("the routing audit: {}", store_error(db, &e)))
    })
    .map_err(|e| e.to_string())?
}

fn audit(args: &AuditArgs, out: &mut dyn Write) -> CliResult {
    let rows = runtime::block_on(async {
        let store = open_existing_store(&args.db).await?;
        store.routing_decisions_for_claim(args.claim_id).await
    })?
    .map_err(store_failed(&args.db))?;
    if rows.is_empty() {
        return Err(CliError::invalid(format!(
            "no routing decision is recorded for claim {} in {}",
            args.claim_id,
            warden_store::redact_url(&args.db)
        )));
    }
    writeln!(
        out,
        "{:<27} {:<7} {:<24} {:<6} {:<16} {:<12} by",
        "decided at (UTC)", "channel", "rule", "stream", "platform", "rule set"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:<27} {:<7} {:<24} {:<6} {:<16} {:<12} {}",
            r.decided_at.format("%Y-%m-%d %H:%M:%S%.6f"),
            r.channel,
            r.rule,
            r.stream.as_deref().unwrap_or("-"),
            r.platform.as_deref().unwrap_or("-"),
            &r.rule_set_sha256[..r.rule_set_sha256.len().min(12)],
            r.actor,
        )?;
        if let Some(e) = &r.error {
            writeln!(out, "{:<27} not routed: {e}", "")?;
        }
    }
    Ok(())
}
