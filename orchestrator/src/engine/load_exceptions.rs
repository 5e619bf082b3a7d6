//! The `load-exceptions` built-in: after reconciliation, bulk-load the stream's pended
//! claims from the reconciled `exceptions.csv` into the store (`claim_exceptions`).
//!
//! Why a job of its own: during the passes every exception goes to its partition's
//! sequential file, never to a shared table (case study 002: synchronous exception writes
//! into one audit table stalled three streams). This job loads them afterwards, in one
//! transaction of batched statements that replaces what an earlier attempt loaded, and only
//! if the count equals the reconciliation's pended claims: the store then holds exactly the
//! run's exceptions, once, or the job fails and holds what it held before.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use warden_store::{ExceptionRow, Store};
use warden_workers::io::results;
use warden_workers::rules::Status;

use super::line_batches::{LineBatches, LineKind, passed_reconciliation};

/// `exceptions.csv`: result lines of pended claims, as many as the reconciliation pended.
#[derive(Debug)]
struct Exceptions {
    rows: u64,
    expected: u64,
}

impl LineKind for Exceptions {
    type Row = ExceptionRow;

    fn header(&self) -> &str {
        results::HEADER.trim_end()
    }

    fn parse(&mut self, line: &str) -> Result<ExceptionRow, String> {
        self.rows += 1;
        row(line)
    }

    fn at_end(&self, path: &Path) -> Result<(), String> {
        if self.rows == self.expected {
            return Ok(());
        }
        Err(format!(
            "{} holds {} exceptions but the reconciliation counted {} pended claims",
            path.display(),
            self.rows,
            self.expected
        ))
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

/// Loads `out/exceptions.csv` (the reconcile job's output) as `source` of `run_id`; the
/// text is what goes to the attempt's log.
pub async fn load(
    store: &Store,
    run_id: i64,
    source: &str,
    out: &Path,
    cancel: Arc<AtomicBool>,
) -> Result<String, String> {
    let expected = passed_reconciliation(out, "exceptions are loaded")?.pended;
    let path = out.join("exceptions.csv");
    let kind = Exceptions { rows: 0, expected };
    let batches = LineBatches::open(kind, &path, cancel)?;
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
