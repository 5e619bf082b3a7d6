//! The `load-exceptions` built-in: after reconciliation, bulk-load the stream's pended
//! claims from the reconciled `exceptions.csv` into the store (`claim_exceptions`).
//!
//! Why a job of its own: during the passes every exception goes to its partition's
//! sequential file, never to a shared table (case study 002: synchronous exception writes
//! into one audit table stalled three streams). This job loads them afterwards, in one
//! transaction of batched statements that replaces what an earlier attempt loaded, and only
//! if the count equals the reconciliation's pended claims: the store then holds exactly the
//! run's exceptions, once, or the job fails and holds what it held before.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use warden_store::{ExceptionRow, Store};
use warden_workers::io::results;
use warden_workers::rules::Status;

/// Lines read per batch handed to the store.
const READ_BATCH: usize = 10_000;

/// Reads `exceptions.csv` in batches; yields an error (which rolls the load back) for a
/// line that is not a pended result, for a count that is not the reconciliation's, or when
/// the attempt is killed.
struct Batches {
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    line_no: u64,
    rows: u64,
    expected: u64,
    cancel: Arc<AtomicBool>,
    done: bool,
}

impl Iterator for Batches {
    type Item = Result<Vec<ExceptionRow>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.cancel.load(Ordering::Relaxed) {
            self.done = true;
            return Some(Err("stopped by a kill; nothing was loaded".into()));
        }
        let mut batch = Vec::with_capacity(READ_BATCH);
        while batch.len() < READ_BATCH {
            let Some(line) = self.lines.next() else {
                self.done = true;
                break;
            };
            self.line_no += 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(self.fail(format!("cannot be read: {e}")))),
            };
            if self.line_no == 1 {
                if line.trim_end() != results::HEADER.trim_end() {
                    return Some(Err(self.fail("the header is not a result file's".into())));
                }
                continue;
            }
            match row(&line) {
                Ok(r) => batch.push(r),
                Err(why) => return Some(Err(self.fail(why))),
            }
        }
        self.rows += batch.len() as u64;
        if self.done && self.rows != self.expected {
            return Some(Err(format!(
                "{} holds {} exceptions but the reconciliation counted {} pended claims; nothing was loaded",
                self.path.display(),
                self.rows,
                self.expected
            )));
        }
        if batch.is_empty() {
            return None;
        }
        Some(Ok(batch))
    }
}

impl Batches {
    /// An error at the current line (which names no member: the line is not quoted).
    fn fail(&mut self, why: String) -> String {
        self.done = true;
        format!(
            "{}:{}: {why}; nothing was loaded",
            self.path.display(),
            self.line_no
        )
    }
}

/// One exception from its result line: it must be a pended claim.
fn row(line: &str) -> Result<ExceptionRow, String> {
    let o = results::parse_line(line).ok_or("not a result line (14 fields)")?;
    if o.status != Status::Pended {
        return Err(format!(
            "claim {} is {}, not pended",
            o.claim,
            o.status.word()
        ));
    }
    let reasons = line.split(',').nth(4).unwrap_or_default().to_string();
    Ok(ExceptionRow {
        claim_id: i64::try_from(o.claim).map_err(|_| "the claim id is out of range")?,
        member: i64::from(o.member),
        family: i64::from(o.family),
        reasons,
        billed_cents: o.billed,
    })
}

/// The reconciliation's pended count, from `reconciliation.json` beside the exceptions.
fn pended(out: &Path) -> Result<(u64, bool), String> {
    let path = out.join("reconciliation.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}; run the reconcile job first",
            path.display()
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a reconciliation: {e}", path.display()))?;
    let pended = v
        .get("pended")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("{} has no pended count", path.display()))?;
    let ok = v.get("ok").and_then(serde_json::Value::as_bool) == Some(true);
    Ok((pended, ok))
}

/// Loads `out/exceptions.csv` (the reconcile job's output) as `source` of `run_id`; the
/// text is what goes to the attempt's log.
pub async fn load(
    store: &Store,
    run_id: i64,
    source: &str,
    out: &Path,
    cancel: Arc<AtomicBool>,
) -> Result<String, String> {
    let (expected, reconciled) = pended(out)?;
    if !reconciled {
        return Err(format!(
            "the reconciliation in {} failed; exceptions are loaded only from reconciled output",
            out.display()
        ));
    }
    let path = out.join("exceptions.csv");
    let file = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let batches = Batches {
        path: path.clone(),
        lines: BufReader::with_capacity(1 << 20, file).lines(),
        line_no: 0,
        rows: 0,
        expected,
        cancel,
        done: false,
    };
    let loaded = store
        .replace_exceptions(run_id, source, batches, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "loaded {loaded} exceptions of {source} into the store (claim_exceptions), equal to the reconciliation's {expected} pended claims"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pended_result_lines_are_exceptions() {
        let pended =
            "17,100234,9001,pended,E-PROC-NONSTD,120.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00";
        let r = row(pended).expect("a pended claim");
        assert_eq!((r.claim_id, r.member, r.family), (17, 100234, 9001));
        assert_eq!(r.reasons, "E-PROC-NONSTD");
        assert_eq!(r.billed_cents, 12_000);
        let paid = pended.replace("pended", "paid");
        assert!(row(&paid).expect_err("paid").contains("not pended"));
        assert!(row("17,garbage").is_err());
    }
}
