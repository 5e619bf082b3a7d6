//! Merging claims files that are each in received order into one that is: a stream's own
//! claims and the claims a partner intake routed to it become the one input its setup reads.
//! The key is the claim's `received` timestamp (fixed width, so text order is time order),
//! then its id. Rows are copied as they are: one whose key does not parse keeps its place
//! after the row before it, and setup rejects it with its reason, so nothing is dropped here.

use std::io::{BufRead, Write};

use super::claims_csv::COLUMNS;

/// Column positions of the merge key.
const ID: usize = 0;
const RECEIVED: usize = 7;

/// One source: its name (for errors) and its lines.
#[derive(Debug)]
pub struct Source<R> {
    pub name: String,
    pub lines: R,
}

/// Why a merge stopped.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0}: the file is empty (no header)")]
    NoHeader(String),
    #[error("{file}: its header is `{found}`, not the claims header `{expected}`")]
    Header {
        file: String,
        found: String,
        expected: String,
    },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// A row's merge key, if its id and received time are there.
fn key(row: &str) -> Option<(&str, u64)> {
    let mut fields = row.split(',');
    let id = fields.next()?.trim().parse::<u64>().ok()?;
    let received = fields.nth(RECEIVED - ID - 1)?;
    Some((received, id))
}

/// Merges `sources` (each with the claims header) into `out`: the header once, then every
/// row of every source, in (received, id) order where the rows allow. Returns the rows
/// written (blank lines are not rows and are left out).
pub fn merge<R: BufRead>(sources: Vec<Source<R>>, out: &mut impl Write) -> Result<u64, MergeError> {
    let expected = COLUMNS.join(",");
    let mut heads: Vec<(String, std::io::Lines<R>, Option<String>)> = Vec::new();
    for s in sources {
        let mut lines = s.lines.lines();
        let header = match lines.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(MergeError::Io(s.name, e)),
            None => return Err(MergeError::NoHeader(s.name)),
        };
        let header = header.trim_start_matches('\u{feff}').trim_end_matches('\r');
        if header != expected {
            return Err(MergeError::Header {
                file: s.name,
                found: header.to_string(),
                expected,
            });
        }
        heads.push((s.name, lines, None));
    }
    let io = |name: &str, e| MergeError::Io(name.to_string(), e);
    // Each source's next row, blank lines skipped.
    let next = |(name, lines, _): &mut (String, std::io::Lines<R>, Option<String>)| {
        for line in lines.by_ref() {
            match line {
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => return Ok(Some(l)),
                Err(e) => return Err(io(name, e)),
            }
        }
        Ok(None)
    };
    for h in &mut heads {
        h.2 = next(h)?;
    }
    writeln!(out, "{expected}").map_err(|e| io("the merged file", e))?;
    let mut rows = 0u64;
    loop {
        // The source whose row comes first; a row without a key goes at once.
        let mut best: Option<usize> = None;
        for (i, h) in heads.iter().enumerate() {
            let Some(row) = &h.2 else { continue };
            let Some(k) = key(row) else {
                best = Some(i);
                break;
            };
            let better = match best.and_then(|b| heads[b].2.as_deref()).and_then(key) {
                Some(bk) => k < bk,
                None => best.is_none(),
            };
            if better {
                best = Some(i);
            }
        }
        let Some(i) = best else { break };
        let row = heads[i].2.take().unwrap_or_default();
        writeln!(out, "{row}").map_err(|e| io("the merged file", e))?;
        rows += 1;
        heads[i].2 = next(&mut heads[i])?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, received: &str) -> String {
        format!("{id},1,1,1,P1,A,2025-03-01,{received},99213,Z00,11,1000,,,,,GOLD-PPO")
    }

    fn source(name: &str, rows: &[String]) -> Source<std::io::Cursor<Vec<u8>>> {
        let mut text = COLUMNS.join(",");
        text.push('\n');
        for r in rows {
            text.push_str(r);
            text.push('\n');
        }
        Source {
            name: name.into(),
            lines: std::io::Cursor::new(text.into_bytes()),
        }
    }

    fn ids(out: &[u8]) -> Vec<u64> {
        String::from_utf8_lossy(out)
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap_or("").parse().unwrap_or(0))
            .collect()
    }

    #[test]
    fn rows_of_two_sorted_files_come_out_in_received_then_id_order() {
        let base = source(
            "base",
            &[
                row(1, "2025-03-01T08:00:00Z"),
                row(3, "2025-03-01T09:00:00Z"),
                row(5, "2025-03-01T11:00:00Z"),
            ],
        );
        let partner = source(
            "partner",
            &[
                row(2, "2025-03-01T08:30:00Z"),
                row(4, "2025-03-01T09:00:00Z"),
                row(6, "2025-03-02T00:00:00Z"),
            ],
        );
        let mut out = Vec::new();
        let n = merge(vec![base, partner], &mut out).expect("merges");
        assert_eq!(n, 6);
        assert_eq!(ids(&out), vec![1, 2, 3, 4, 5, 6]);
        assert!(String::from_utf8_lossy(&out).starts_with(&COLUMNS.join(",")));
    }

    #[test]
    fn a_row_without_a_key_keeps_its_place_and_blank_lines_go() {
        let a = source(
            "a",
            &[
                row(1, "2025-03-01T08:00:00Z"),
                "not,a,claim".to_string(),
                String::new(),
                row(7, "2025-03-01T12:00:00Z"),
            ],
        );
        let b = source("b", &[row(2, "2025-03-01T10:00:00Z")]);
        let mut out = Vec::new();
        let n = merge(vec![a, b], &mut out).expect("merges");
        // Every row is there (the bad one for setup to reject with its reason).
        assert_eq!(n, 4);
        let text = String::from_utf8_lossy(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "not,a,claim");
        assert_eq!(ids(&out), vec![1, 0, 2, 7]);
    }

    #[test]
    fn a_file_with_another_header_is_named() {
        let bad = Source {
            name: "partner/claims.csv".to_string(),
            lines: std::io::Cursor::new(b"id,when\n1,2\n".to_vec()),
        };
        let err = merge(vec![bad], &mut Vec::new()).expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("partner/claims.csv: its header is `id,when`")
        );
        let empty = Source {
            name: "e.csv".to_string(),
            lines: std::io::Cursor::new(Vec::new()),
        };
        assert!(matches!(
            merge(vec![empty], &mut Vec::new()),
            Err(MergeError::NoHeader(_))
        ));
    }
}
