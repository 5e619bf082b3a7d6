//! A claims directory (`claims.csv` + `members.csv`, the `warden claims` input format) read
//! whole into memory and written back. The impact test samples rows, so it needs them
//! parsed, and refuses a file it cannot read rather than measuring a fraction of it: every
//! problem is `FILE:LINE: column: reason`. The rows are read with the engine's own scanner
//! and field parsers (`io/csv_rows.rs`, `io/claims_csv.rs`, `io/members_csv.rs`).

use std::path::{Path, PathBuf};

use crate::io::{claims_csv, csv_rows, members_csv};
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
/// trimmed fields into a value or says which column is wrong and why.
fn read_csv<T>(
    path: &Path,
    columns: &[&str],
    parse: impl Fn(&[&str]) -> Result<T, claims_csv::FieldError>,
) -> Result<Vec<(u64, T)>, ImpactError> {
    let bytes =
        std::fs::read(path).map_err(|e| ImpactError::Input(format!("{}: {e}", path.display())))?;
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut problem: Option<String> = None;
    let at = |line: u64| format!("{}:{line}", path.display());
    let scanned = csv_rows::read_rows(text, crate::io::parallel_csv::MAX_ROW, |before, row| {
        if problem.is_some() {
            return;
        }
        let line = before + 1;
        let fields: Vec<String> = row
            .iter()
            .map(|f| String::from_utf8_lossy(f.trim_ascii()).into_owned())
            .collect();
        if header.is_none() {
            if fields != columns {
                problem = Some(format!(
                    "{}: the header is `{}`; it must be `{}`",
                    at(line),
                    fields.join(","),
                    columns.join(",")
                ));
            }
            header = Some(fields);
            return;
        }
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        match parse(&refs) {
            Ok(v) => rows.push((line, v)),
            Err(e) => problem = Some(format!("{}: {}: {}", at(line), e.field, e.reason)),
        }
    });
    if let Err(t) = scanned {
        return Err(ImpactError::Input(format!(
            "{}: a row longer than {} bytes starts here (a quote that is never closed?)",
            at(t.line_ends_before + 1),
            crate::io::parallel_csv::MAX_ROW
        )));
    }
    if let Some(p) = problem {
        return Err(ImpactError::Input(p));
    }
    if header.is_none() {
        return Err(ImpactError::Input(format!(
            "{}: the file is empty; the header must be `{}`",
            at(1),
            columns.join(",")
        )));
    }
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
