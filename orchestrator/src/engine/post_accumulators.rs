//! The `post-accumulators` built-in: after reconciliation, write the members whose
//! year-to-date accumulators the run changed back to the store (`member_accumulators`), so
//! the next cycle's setup starts from them.
//!
//! It reads the reconciled `accumulators-changed.csv` (member, family, start and end values
//! in cents), only from a passed reconciliation, and posts it in one transaction that undoes
//! an earlier attempt's post of the same run and refuses rows another run changed since this
//! run's setup read them. The file's changes must add up to what the reconciliation says was
//! applied, or nothing is posted.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use warden_store::{AccumulatorPost, Store};
use warden_workers::pipeline::layout::ACCUMULATORS_CHANGED;
use warden_workers::pipeline::ytd::CHANGED_HEADER;

use super::line_batches::{LineBatches, LineKind, passed_reconciliation};

/// `accumulators-changed.csv`: one line per member changed, adding up to what the
/// reconciliation applied (deductible, out-of-pocket, in cents).
#[derive(Debug)]
struct Changes {
    added: (i64, i64),
    applied: (i64, i64),
}

impl LineKind for Changes {
    type Row = AccumulatorPost;

    fn header(&self) -> &str {
        CHANGED_HEADER.trim_end()
    }

    fn parse(&mut self, line: &str) -> Result<AccumulatorPost, String> {
        let r = row(line)?;
        self.added.0 += r.deductible_end - r.deductible_start;
        self.added.1 += r.oop_end - r.oop_start;
        Ok(r)
    }

    fn at_end(&self, path: &Path) -> Result<(), String> {
        if self.added == self.applied {
            return Ok(());
        }
        Err(format!(
            "{} adds {} cents of deductible and {} of out-of-pocket, but the reconciliation applied {} and {}",
            path.display(),
            self.added.0,
            self.added.1,
            self.applied.0,
            self.applied.1
        ))
    }
}

/// One change from its line: six whole numbers, the member's values never decreasing.
fn row(line: &str) -> Result<AccumulatorPost, String> {
    const FIELDS: [&str; 6] = [
        "member",
        "family",
        "deductible_start",
        "oop_start",
        "deductible_ytd",
        "oop_ytd",
    ];
    let mut v = [0i64; 6];
    let mut parts = line.trim_end().split(',');
    for (i, name) in FIELDS.iter().enumerate() {
        let f = parts
            .next()
            .ok_or_else(|| format!("{} fields, expected 6", i))?;
        v[i] = f
            .parse()
            .map_err(|_| format!("field {name} is not a whole number of cents"))?;
    }
    if parts.next().is_some() {
        return Err("more than 6 fields".into());
    }
    if v[4] < v[2] || v[5] < v[3] {
        return Err("accumulators decrease; adjudication only adds to them".into());
    }
    Ok(AccumulatorPost {
        member: v[0],
        family: v[1],
        deductible_start: v[2],
        oop_start: v[3],
        deductible_end: v[4],
        oop_end: v[5],
    })
}

/// Posts `out/accumulators-changed.csv` (the reconcile job's output) as `source` of
/// `run_id`; the text is what goes to the attempt's log.
pub async fn post(
    store: &Store,
    run_id: i64,
    source: &str,
    out: &Path,
    cancel: Arc<AtomicBool>,
) -> Result<String, String> {
    let rec = passed_reconciliation(out, "accumulators are posted")?;
    let path = out.join(ACCUMULATORS_CHANGED);
    let kind = Changes {
        added: (0, 0),
        applied: (rec.deductible_applied_cents, rec.oop_applied_cents),
    };
    let batches = LineBatches::open(kind, &path, cancel)?;
    let posted = store
        .post_accumulators(run_id, source, batches, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "posted the accumulators of {posted} members of {source} to the store (member_accumulators): {} cents of deductible and {} of out-of-pocket applied, as reconciled",
        rec.deductible_applied_cents, rec.oop_applied_cents
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_six_whole_numbers_that_only_add() {
        let r = row("100234,9001,0,1500,2500,4000").expect("a change");
        assert_eq!(
            (r.member, r.deductible_start, r.oop_end),
            (100_234, 0, 4000)
        );
        assert!(row("1,2,3").expect_err("short").contains("3 fields"));
        assert!(
            row("1,2,3,4,5,x")
                .expect_err("text")
                .contains("field oop_ytd")
        );
        assert!(row("1,2,30,4,5,6").expect_err("down").contains("decrease"));
        assert!(
            row("1,2,3,4,5,6,7")
                .expect_err("long")
                .contains("more than")
        );
    }
}
