//! `warden intake PARTNER FILE...`: partner claim files through the partner's mapping into
//! the engine's claim input (docs/intake.md). Writes, in `--out`:
//!
//! - `claims.csv`: the accepted claims of every accepted file, in the engine's form (what
//!   `WARDEN_CLAIMS_INPUT` and `warden adjudicate` read);
//! - `rejects.csv`: file, line, claim id, field, source (column, loop path or byte range),
//!   reason code and reason of every refused claim, and one line per refused file;
//! - `ack/FILE.ack.json`: the acknowledgement of each file (what goes back to the partner);
//! - `summary.json`: every file's control totals, and the run's;
//! - with `--routing RULES`: `claims.csv` holds the accepted claims with the stream their
//!   route gives, beside `routes.csv`, `route-errors.csv` and `volumes.json`
//!   (`warden route claims`, docs/routing.md).
//!
//! Each file is written to a temporary name and renamed, so a reader never sees half of one.
//! A refused file contributes no claims. Exit 0 when every file was accepted (some claims
//! may be rejected), 1 when any file was refused, a claim could not be routed, or the
//! mapping or rule set is invalid.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use warden_workers::intake::{self, Mapping};

use crate::intake_batch::{TakeError, take_in};

use super::{CliError, CliResult, load_plans, reported_if};

/// Where partner mappings are looked up by name.
pub use crate::intake_batch::PARTNERS_DIR;

#[derive(Debug, Args)]
pub struct IntakeArgs {
    /// The partner: its mapping's name in `--partners` (`acme-pbm` for acme-pbm.yaml) or a
    /// path to a mapping file.
    pub partner: String,
    /// The partner's claim files, taken in order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where the claims input, rejects and acknowledgements are written (created).
    #[arg(long, default_value = "intake")]
    pub out: PathBuf,
    /// The directory of partner mappings.
    #[arg(long, default_value = PARTNERS_DIR, value_name = "DIR")]
    pub partners: PathBuf,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is there,
    /// else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// Route the accepted claims by this rule set (docs/routing.md): `claims.csv` then holds
    /// them with the stream their route gives, beside `routes.csv` (each decision),
    /// `route-errors.csv` and `volumes.json` (the routed counts per stream).
    #[arg(long, value_name = "RULES")]
    pub routing: Option<PathBuf>,
    /// With `--routing`: the store every routing decision is recorded in (the routing audit):
    /// a SQLite file, created if missing, or a postgres:// URL.
    #[arg(long, env = "WARDEN_DB", default_value = "warden.db")]
    pub db: String,
}

/// Loads the mapping named `partner` (a path, or a name in `dir`); a bad one is the error
/// (file:line:column, exit 1).
pub(super) fn load_mapping(partner: &str, dir: &Path) -> CliResult<Mapping> {
    crate::intake_batch::find_mapping(partner, dir).map_err(CliError::invalid)
}

pub(super) fn run(args: &IntakeArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let mapping = load_mapping(&args.partner, &args.partners)?;
    let plans = load_plans(args.plans.as_deref(), err)?;
    // The rule set first: a refused one stops the intake before any file is read.
    let rules = match &args.routing {
        Some(path) => Some(super::route::load_rules(path)?),
        None => None,
    };
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let actor = format!("intake {} {}", mapping.partner, names.join(" "));
    let mut record = |batch: &warden_workers::routing::RoutedCsv<'_>| {
        let set = rules.as_ref().ok_or("no rule set")?;
        super::route::record_batch(&args.db, &actor, set, batch)
    };
    let taken = match take_in(
        &mapping,
        &plans,
        &args.files,
        rules.as_ref(),
        &args.out,
        &mut record,
    ) {
        Ok(t) => t,
        Err(e @ TakeError::Read { .. }) => return Err(CliError::invalid(e)),
        Err(e) => return Err(CliError::unavailable(e)),
    };
    for f in &taken.files {
        let t = &f.totals;
        match &f.refused {
            None => writeln!(
                out,
                "{}: accepted: {} of {} claims ({} rejected); billed {} of {}{}",
                f.name,
                t.accepted,
                t.received,
                t.rejected,
                intake::file::dollars(t.billed_accepted),
                intake::file::dollars(t.billed_received),
                match (t.trailer_count, t.trailer_billed) {
                    (Some(c), Some(b)) => format!(
                        "; the trailer's {c} claims and {} match",
                        intake::file::dollars(b)
                    ),
                    (Some(c), None) => format!("; the trailer's {c} claims match"),
                    _ => String::new(),
                }
            )?,
            Some((code, reason, line)) => {
                let at = if *line > 0 {
                    format!(" at line {line}")
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{}: REFUSED{at}: {code} {reason}; none of its {} claims reach the claims input",
                    f.name, t.received
                )?;
            }
        }
    }
    let mut not_routed = 0;
    if let (Some(set), Some(routed)) = (&rules, &taken.routed) {
        not_routed = routed.not_routed();
        writeln!(
            out,
            "routed {} of {} accepted claims ({}) by {} ({}); {} not routed (route-errors.csv); {} decisions in the routing audit ({})",
            routed.tally.routed,
            taken.total.accepted,
            routed.tally.streams(),
            set.file.display(),
            &set.sha256[..12],
            not_routed,
            routed.recorded,
            warden_store::redact_url(&args.db),
        )?;
    }
    let total = &taken.total;
    writeln!(
        out,
        "{}: {} claims received, {} accepted, {} rejected; {} of {} files refused; wrote {}",
        mapping.partner,
        total.received,
        total.accepted,
        total.rejected,
        taken.refused,
        args.files.len(),
        args.out.display()
    )?;
    reported_if(taken.refused > 0 || not_routed > 0)
}
