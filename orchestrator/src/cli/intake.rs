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
use serde_json::json;
use warden_workers::intake::{self, Mapping, Status, ack, mapping};
use warden_workers::io::claims_csv;

use super::{CliResult, EXIT_INVALID, EXIT_OK, EXIT_UNAVAILABLE, load_plans};

/// Where partner mappings are looked up by name.
pub const PARTNERS_DIR: &str = "workflows/partners";

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

/// Loads the mapping named `partner` (a path, or a name in `dir`); a bad one is printed
/// (file:line:column) and the exit code returned instead.
pub(super) fn load_mapping(
    partner: &str,
    dir: &Path,
    err: &mut dyn Write,
) -> std::io::Result<Result<Mapping, i32>> {
    let given = Path::new(partner);
    let path = if given.is_file() {
        given.to_path_buf()
    } else {
        dir.join(format!("{}.yaml", partner.to_lowercase()))
    };
    if !path.is_file() {
        let known: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter_map(|n| n.strip_suffix(".yaml").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        writeln!(
            err,
            "error: no mapping for partner `{partner}`: {} is not a file; the partners in {} are: {}",
            path.display(),
            dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )?;
        return Ok(Err(EXIT_INVALID));
    }
    match mapping::load(&path) {
        Ok(m) => Ok(Ok(m)),
        Err(e) => {
            writeln!(err, "error: {e}")?;
            Ok(Err(EXIT_INVALID))
        }
    }
}

pub(super) fn run(args: &IntakeArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let mapping = match load_mapping(&args.partner, &args.partners, err)? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let plans = match load_plans(args.plans.as_deref(), err)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    // The rule set first: a refused one stops the intake before any file is read.
    let rules = match &args.routing {
        Some(path) => match super::route::load_rules(path, err)? {
            Ok(set) => Some(set),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let acks = args.out.join("ack");
    if let Err(e) = std::fs::create_dir_all(&acks) {
        writeln!(
            err,
            "error: {}: cannot create the directory: {e}",
            acks.display()
        )?;
        return Ok(EXIT_UNAVAILABLE);
    }
    let mut claims = claims_csv::header();
    let mut rejects = ack::REJECTS_HEADER.as_bytes().to_vec();
    let mut files = Vec::new();
    let mut total = intake::Totals::default();
    let mut refused = 0usize;
    for path in &args.files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                writeln!(err, "error: {}: cannot read the file: {e}", path.display())?;
                return Ok(EXIT_INVALID);
            }
        };
        let got = intake::intake(&mapping, &plans, &bytes);
        let t = &got.totals;
        match &got.status {
            Status::Accepted => writeln!(
                out,
                "{name}: accepted: {} of {} claims ({} rejected); billed {} of {}{}",
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
            Status::Refused(r) => {
                refused += 1;
                let at = if r.line > 0 {
                    format!(" at line {}", r.line)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{name}: REFUSED{at}: {} {}; none of its {} claims reach the claims input",
                    r.code.as_str(),
                    r.reason,
                    t.received
                )?;
            }
        }
        // Counts only: claim ids and values stay in the reject file and acknowledgements.
        tracing::info!(partner = %mapping.partner, file = %name, received = t.received, accepted = t.accepted, rejected = t.rejected, refused = matches!(got.status, Status::Refused(_)), "partner file taken in");
        claims.push_str(&got.claims_csv);
        ack::write_rejects(&name, &got.rejects, &mut rejects);
        let acknowledgement = ack::acknowledgement(&mapping.partner, &name, &got);
        let ack_path = acks.join(format!("{name}.ack.json"));
        if let Err(e) = write_whole(&ack_path, &pretty(&acknowledgement)) {
            writeln!(err, "error: {}: {e}", ack_path.display())?;
            return Ok(EXIT_UNAVAILABLE);
        }
        total.absorb(t);
        files.push(json!({ "file": name, "acknowledgement": acknowledgement }));
    }
    // Routing: the accepted claims through the rule set, as `warden route claims` does.
    let mut routing = serde_json::Value::Null;
    let mut not_routed = 0;
    if let Some(set) = &rules {
        let routed = warden_workers::routing::route_csv(set, &claims, &plans, &mapping.partner);
        let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
        let actor = format!("intake {} {}", mapping.partner, names.join(" "));
        let recorded = match super::route::record_batch(&args.db, &actor, set, &routed) {
            Ok(n) => n,
            Err(e) => {
                writeln!(err, "error: {e}")?;
                writeln!(
                    err,
                    "no claims input was written: a routed claim is only written once its decision is on record"
                )?;
                return Ok(EXIT_UNAVAILABLE);
            }
        };
        routing = match super::route::write_routed(&args.out, set, &routed) {
            Ok(volumes) => volumes,
            Err(e) => {
                writeln!(err, "error: {}: {e}", args.out.display())?;
                return Ok(EXIT_UNAVAILABLE);
            }
        };
        not_routed = routed.tally.errors + routed.unreadable;
        writeln!(
            out,
            "routed {} of {} accepted claims ({}) by {} ({}); {} not routed (route-errors.csv); {recorded} decisions in the routing audit ({})",
            routed.tally.routed,
            total.accepted,
            routed.tally.streams(),
            set.file.display(),
            &set.sha256[..12],
            not_routed,
            warden_store::redact_url(&args.db),
        )?;
        claims = routed.claims_csv;
    }
    let summary = json!({
        "routing": routing,
        "partner": mapping.partner,
        "files": files,
        "records": { "received": total.received, "accepted": total.accepted, "rejected": total.rejected },
        "billed": {
            "received": intake::file::dollars(total.billed_received),
            "accepted": intake::file::dollars(total.billed_accepted),
            "rejected": intake::file::dollars(total.billed_rejected),
        },
        "files_refused": refused,
    });
    for (name, bytes) in [
        ("claims.csv", claims.as_bytes()),
        ("rejects.csv", rejects.as_slice()),
        ("summary.json", pretty(&summary).as_slice()),
    ] {
        let path = args.out.join(name);
        if let Err(e) = write_whole(&path, bytes) {
            writeln!(err, "error: {}: {e}", path.display())?;
            return Ok(EXIT_UNAVAILABLE);
        }
    }
    writeln!(
        out,
        "{}: {} claims received, {} accepted, {} rejected; {} of {} files refused; wrote {}",
        mapping.partner,
        total.received,
        total.accepted,
        total.rejected,
        refused,
        args.files.len(),
        args.out.display()
    )?;
    Ok(if refused == 0 && not_routed == 0 {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` to a temporary file beside `path`, then renames it.
pub(super) fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
