//! A claims directory (`claims.csv` + `members.csv`, the `warden claims` input format) read
//! whole into memory and written back. The impact test samples rows, so it needs them
//! parsed, and refuses a file it cannot read rather than measuring a fraction of it: every
//! problem is `FILE:LINE: column: reason`. The rows are read with the engine's own parallel
//! reader and field parsers (`io/parallel_csv.rs`, `io/claims_csv.rs`, `io/members_csv.rs`).

use std::path::{Path, PathBuf};

use crate::io::{claims_csv, members_csv};
use crate::model::{Claim, MemberRow};
use crate::plans::Plans;

use super::ImpactError;

pub const CLAIMS_FILE: &str = "claims.csv";
pub const MEMBERS_FILE: &str = "members.csv";

/// A claims directory's rows, in file order.
#[derive(Debug, Clone, Default)]
pub struct ClaimsDir {
    pub claims: Vec<Claim>,
    pub members: Vec<MemberRow>,
}

/// The rows of one CSV file after its exact header, each with its line; `parse` turns the
/// fields into a value or says which column is wrong and why. Read the way setup reads (the
/// engine's parallel reader: blocks parsed on every core, rows handed on in file order);
/// a missing file, an empty one, a wrong header and a row too long are setup's messages.
fn read_csv<T: Send>(
    path: &Path,
    columns: &[&'static str],
    parse: impl Fn(&[&str]) -> Result<T, claims_csv::FieldError> + Sync,
) -> Result<Vec<(u64, T)>, ImpactError> {
    use crate::pipeline::setup;
    let input = |e: crate::pipeline::PipelineError| ImpactError::Input(e.to_string());
    let body = setup::body_start(path, columns).map_err(input)?;
    let mut rows = Vec::new();
    crate::io::parallel_csv::for_each(
        path,
        body.0,
        body.1,
        &setup::read_options(),
        |rec| {
            let mut f = [""; setup::MAX_FIELDS];
            setup::fields(rec, columns, &mut f).and_then(|n| parse(&f[..n]))
        },
        |line, _raw, parsed| match parsed {
            Ok(v) => {
                rows.push((line, v));
                Ok(())
            }
            Err(e) => Err(ImpactError::Input(format!(
                "{}:{line}: {}: {}",
                path.display(),
                e.field,
                e.reason
            ))),
        },
        |e| input(setup::read_error(path, e)),
    )?;
    Ok(rows)
}

/// Reads `dir/claims.csv` and `dir/members.csv`. Refused: a missing file, a wrong header,
/// a row that does not parse, no claim at all, claim ids not ascending (the engine needs
/// received order, and the combined run renumbers by it).
pub fn read(dir: &Path, plans: &Plans) -> Result<ClaimsDir, ImpactError> {
    if !dir.is_dir() {
        return Err(ImpactError::Input(format!(
            "{}: no such directory (a claims directory holds claims.csv and members.csv)",
            dir.display()
        )));
    }
    let path = |name: &str| -> PathBuf { dir.join(name) };
    let members = read_csv(&path(MEMBERS_FILE), &members_csv::COLUMNS, |f| {
        members_csv::parse_row(f, plans)
    })?;
    let claims = read_csv(&path(CLAIMS_FILE), &claims_csv::COLUMNS, |f| {
        claims_csv::parse_row(f, plans)
    })?;
    if claims.is_empty() {
        return Err(ImpactError::Input(format!(
            "{}:2: no claims (only a header): there is nothing to measure",
            path(CLAIMS_FILE).display()
        )));
    }
    for pair in claims.windows(2) {
        let ((_, a), (line, b)) = (&pair[0], &pair[1]);
        if b.received < a.received {
            return Err(ImpactError::Input(format!(
                "{}:{line}: received: before the previous claim's; the file must be in received order (sort it)",
                path(CLAIMS_FILE).display()
            )));
        }
        if b.id <= a.id {
            return Err(ImpactError::Input(format!(
                "{}:{line}: claim_id: {} is not above the previous claim's {}; the file must be in received order (sort it)",
                path(CLAIMS_FILE).display(),
                b.id,
                a.id
            )));
        }
    }
    Ok(ClaimsDir {
        claims: claims.into_iter().map(|(_, c)| c).collect(),
        members: members.into_iter().map(|(_, m)| m).collect(),
    })
}

/// Writes `claims` and `members` as a claims directory `dir` (created) that
/// `warden adjudicate` and the pipeline read.
pub fn write(
    dir: &Path,
    claims: &[Claim],
    members: &[MemberRow],
    plans: &Plans,
) -> Result<(), ImpactError> {
    let io = |e: std::io::Error| ImpactError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut text = members_csv::header();
    for m in members {
        members_csv::write_row(m, plans, &mut text);
    }
    std::fs::write(dir.join(MEMBERS_FILE), &text).map_err(io)?;
    let mut text = claims_csv::header();
    for c in claims {
        claims_csv::write_row(c, plans, &mut text);
    }
    std::fs::write(dir.join(CLAIMS_FILE), &text).map_err(io)
}
