//! Taking a partner's files in: the work `warden intake` and a cycle's `intake` job share.
//! Each file goes through the partner's mapping; the accepted claims of the accepted files,
//! routed when a rule set is given, and the rejects, acknowledgements and control totals are
//! written into one directory (docs/intake.md lists the files). Every file is written whole
//! (a temporary name, then renamed), and the claims are written last, so a reader that finds
//! `claims.csv` finds the rest. No printing here: the caller says what happened.

use std::path::{Path, PathBuf};

use serde_json::json;
use warden_workers::intake::{self, Mapping, Status, Totals, ack, mapping};
use warden_workers::io::claims_csv;
use warden_workers::plans::Plans;
use warden_workers::routing::{self, RoutedCsv, RuleSet};

/// Where partner mappings are looked up by name.
pub const PARTNERS_DIR: &str = "workflows/partners";

/// The mapping named `partner`: a path to a mapping file, or a name in `dir`
/// (`acme-pbm` for `dir/acme-pbm.yaml`). A missing one is named with the partners there; a
/// bad one says where (file:line:column).
pub fn find_mapping(partner: &str, dir: &Path) -> Result<Mapping, String> {
    let given = Path::new(partner);
    let path = if given.is_file() {
        given.to_path_buf()
    } else {
        dir.join(format!("{}.yaml", partner.to_lowercase()))
    };
    if !path.is_file() {
        let mut known: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter_map(|n| n.strip_suffix(".yaml").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        return Err(format!(
            "no mapping for partner `{partner}`: {} is not a file; the partners in {} are: {}",
            path.display(),
            dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    }
    mapping::load(&path).map_err(|e| e.to_string())
}

/// What one file came to.
#[derive(Debug, Clone)]
pub struct FileTaken {
    /// The file's name (what its acknowledgement and rejects call it).
    pub name: String,
    pub totals: Totals,
    /// Refused whole: the reason code, the reason and the line (0: the file as a whole).
    pub refused: Option<(String, String, u64)>,
}

/// The routing of the accepted claims.
#[derive(Debug, Clone)]
pub struct Routed {
    pub tally: routing::Tally,
    /// Rows the router could not read (a claims.csv it did not write itself).
    pub unreadable: u64,
    /// Decisions recorded in the routing audit.
    pub recorded: u64,
    /// `volumes.json`.
    pub volumes: serde_json::Value,
}

impl Routed {
    /// Claims that reached no stream (each in `route-errors.csv`).
    pub fn not_routed(&self) -> u64 {
        self.tally.errors + self.unreadable
    }
}

/// The whole intake.
#[derive(Debug, Clone)]
pub struct Taken {
    pub files: Vec<FileTaken>,
    pub total: Totals,
    pub refused: usize,
    pub routed: Option<Routed>,
    /// The accepted (and routed) claims as written to `claims.csv`, header first.
    pub claims_csv: String,
}

/// Why an intake stopped before its claims were written.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    #[error("{}: cannot read the file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The routing audit refused the decisions: no routed claim is written without its
    /// decision on record.
    #[error(
        "{0}; no claims input was written: a routed claim is only written once its decision is on record"
    )]
    Audit(String),
}

/// Records a routed batch's decisions in the routing audit; returns how many.
pub type RecordDecisions<'a> = dyn FnMut(&RoutedCsv<'_>) -> Result<u64, String> + 'a;

/// Takes `files` in through `mapping` into `out` (created), routing the accepted claims by
/// `rules` when given (their decisions first go through `record`).
pub fn take_in(
    mapping: &Mapping,
    plans: &Plans,
    files: &[PathBuf],
    rules: Option<&RuleSet>,
    out: &Path,
    record: &mut RecordDecisions<'_>,
) -> Result<Taken, TakeError> {
    let acks = out.join("ack");
    std::fs::create_dir_all(&acks).map_err(|source| TakeError::Write {
        path: acks.clone(),
        source,
    })?;
    let mut claims = claims_csv::header();
    let mut rejects = ack::REJECTS_HEADER.as_bytes().to_vec();
    let mut taken = Vec::new();
    let mut acknowledgements = Vec::new();
    let mut total = Totals::default();
    let mut refused = 0usize;
    for path in files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let bytes = std::fs::read(path).map_err(|source| TakeError::Read {
            path: path.clone(),
            source,
        })?;
        let got = intake::intake(mapping, plans, &bytes);
        let t = &got.totals;
        let why = match &got.status {
            Status::Accepted => None,
            Status::Refused(r) => {
                refused += 1;
                Some((r.code.as_str().to_string(), r.reason.clone(), r.line))
            }
        };
        // Counts only: claim ids and values stay in the reject file and acknowledgements.
        tracing::info!(partner = %mapping.partner, file = %name, received = t.received, accepted = t.accepted, rejected = t.rejected, refused = why.is_some(), "partner file taken in");
        claims.push_str(&got.claims_csv);
        ack::write_rejects(&name, &got.rejects, &mut rejects);
        let acknowledgement = ack::acknowledgement(&mapping.partner, &name, &got);
        write_whole(
            &acks.join(format!("{name}.ack.json")),
            &pretty(&acknowledgement),
        )?;
        total.absorb(t);
        acknowledgements.push(json!({ "file": name, "acknowledgement": acknowledgement }));
        taken.push(FileTaken {
            name,
            totals: t.clone(),
            refused: why,
        });
    }
    let mut routed = None;
    if let Some(set) = rules {
        let batch = routing::route_csv(set, &claims, plans, &mapping.partner);
        let recorded = record(&batch).map_err(TakeError::Audit)?;
        // claims.csv comes last, below, with the rest.
        let volumes = write_routing_files(out, set, &batch)?;
        routed = Some(Routed {
            tally: batch.tally.clone(),
            unreadable: batch.unreadable,
            recorded,
            volumes,
        });
        claims = batch.claims_csv;
    }
    let summary = json!({
        "routing": routed.as_ref().map_or(serde_json::Value::Null, |r| r.volumes.clone()),
        "partner": mapping.partner,
        "files": acknowledgements,
        "records": { "received": total.received, "accepted": total.accepted, "rejected": total.rejected },
        "billed": {
            "received": intake::file::dollars(total.billed_received),
            "accepted": intake::file::dollars(total.billed_accepted),
            "rejected": intake::file::dollars(total.billed_rejected),
        },
        "files_refused": refused,
    });
    write_whole(&out.join("rejects.csv"), &rejects)?;
    write_whole(&out.join("summary.json"), &pretty(&summary))?;
    write_whole(&out.join("claims.csv"), claims.as_bytes())?;
    Ok(Taken {
        files: taken,
        total,
        refused,
        routed,
        claims_csv: claims,
    })
}

/// The volumes a routed batch gives the run: by stream, platform and rule, with the totals
/// that reconcile them (`volumes.json`, what `--routed-volumes` reads).
pub fn volumes(set: &RuleSet, routed: &RoutedCsv<'_>) -> serde_json::Value {
    let t = &routed.tally;
    json!({
        "rule_set": { "file": set.file.display().to_string(), "sha256": set.sha256 },
        "claims": t.claims + routed.unreadable,
        "routed": t.routed,
        "not_evaluable": t.errors,
        "unreadable": routed.unreadable,
        "reconciled": t.reconciles(),
        "by_stream": t.by_stream.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "by_platform": t.by_platform,
        "by_rule": t.by_rule,
    })
}

/// Writes the four files of a routed batch into `dir` (`claims.csv`, `routes.csv`,
/// `route-errors.csv`, `volumes.json`), each whole; the volumes written are returned.
pub fn write_routed(
    dir: &Path,
    set: &RuleSet,
    routed: &RoutedCsv<'_>,
) -> Result<serde_json::Value, TakeError> {
    let volumes = write_routing_files(dir, set, routed)?;
    write_whole(&dir.join("claims.csv"), routed.claims_csv.as_bytes())?;
    Ok(volumes)
}

/// [`write_routed`] but for `claims.csv`.
fn write_routing_files(
    dir: &Path,
    set: &RuleSet,
    routed: &RoutedCsv<'_>,
) -> Result<serde_json::Value, TakeError> {
    std::fs::create_dir_all(dir).map_err(|source| TakeError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let volumes = volumes(set, routed);
    for (name, bytes) in [
        ("routes.csv", routed.routes_csv.as_bytes()),
        ("route-errors.csv", routed.errors_csv.as_bytes()),
        ("volumes.json", pretty(&volumes).as_slice()),
    ] {
        write_whole(&dir.join(name), bytes)?;
    }
    Ok(volumes)
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(v).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` to a temporary file beside `path`, then renames it.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), TakeError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| TakeError::Write {
            path: path.to_path_buf(),
            source,
        })
}
