//! Year-to-date accumulators carried from one cycle to the next.
//!
//! `members.csv` is the eligibility feed: enrolment, and the accumulators the feed knows.
//! The store holds what Warden's own adjudication left (one row per member, never a family
//! row). The orchestrator exports the store's rows for a stream into `WORK/setup/` as a
//! sorted file of fixed-width records before setup; setup starts every member found there
//! from the store's values instead of the feed's. After reconciliation, the members whose
//! accumulators changed go back to the store (`OUT/accumulators-changed.csv`, with the values
//! they started from, so the store can refuse a post over values another run changed).
//!
//! Record: member u32, deductible i64, out-of-pocket i64 (little-endian, 20 bytes), sorted
//! by member, each member once.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{At, PipelineError, Result};
use crate::io::binary::RecordReader;
use crate::model::MemberRow;

pub const YTD_SIZE: usize = 20;

/// A member's year-to-date accumulators as the store holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ytd {
    pub member: u32,
    pub deductible: i64,
    pub oop: i64,
}

pub fn encode(y: &Ytd) -> [u8; YTD_SIZE] {
    let mut a = [0u8; YTD_SIZE];
    a[0..4].copy_from_slice(&y.member.to_le_bytes());
    a[4..12].copy_from_slice(&y.deductible.to_le_bytes());
    a[12..20].copy_from_slice(&y.oop.to_le_bytes());
    a
}

pub fn decode(b: &[u8; YTD_SIZE]) -> Ytd {
    let mut m = [0u8; 4];
    m.copy_from_slice(&b[0..4]);
    let mut d = [0u8; 8];
    d.copy_from_slice(&b[4..12]);
    let mut o = [0u8; 8];
    o.copy_from_slice(&b[12..20]);
    Ytd {
        member: u32::from_le_bytes(m),
        deductible: i64::from_le_bytes(d),
        oop: i64::from_le_bytes(o),
    }
}

/// Writes YTD records (they must come sorted by member, each once) to a file.
#[derive(Debug)]
pub struct YtdWriter {
    w: BufWriter<File>,
    last: Option<u32>,
    pub rows: u64,
}

impl YtdWriter {
    pub fn create(path: &Path) -> std::io::Result<YtdWriter> {
        Ok(YtdWriter {
            w: BufWriter::with_capacity(1 << 20, File::create(path)?),
            last: None,
            rows: 0,
        })
    }

    pub fn write(&mut self, y: &Ytd) -> std::io::Result<()> {
        if self.last.is_some_and(|l| y.member <= l) {
            return Err(std::io::Error::other(format!(
                "accumulator rows out of member order (row {})",
                self.rows + 1
            )));
        }
        self.last = Some(y.member);
        self.rows += 1;
        self.w.write_all(&encode(y))
    }

    pub fn finish(mut self) -> std::io::Result<u64> {
        self.w.flush()?;
        self.w.get_ref().sync_all()?;
        Ok(self.rows)
    }
}

/// What applying the store's accumulators to the member table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Members that start from the store's values.
    pub from_store: u64,
    /// Store rows for members the feed does not list tonight (kept in the store, unused).
    pub not_enrolled: u64,
}

/// Starts every member of `members` (sorted by member) found in the YTD file at `path`
/// from the file's values: one merge of two sorted sequences.
pub fn apply(path: &Path, members: &mut [MemberRow]) -> Result<Applied> {
    let mut r = RecordReader::<YTD_SIZE>::open(path, 0).at(path)?;
    let mut applied = Applied::default();
    let mut i = 0usize;
    let mut last: Option<u32> = None;
    let mut row = 0u64;
    while let Some(b) = r.next_record().at(path)? {
        row += 1;
        let y = decode(&b);
        if last.is_some_and(|l| y.member <= l) {
            return Err(PipelineError::Corrupt {
                path: path.to_path_buf(),
                message: format!("record {row} is out of member order; export it again"),
            });
        }
        last = Some(y.member);
        while i < members.len() && members[i].member < y.member {
            i += 1;
        }
        match members.get_mut(i) {
            Some(m) if m.member == y.member => {
                m.deductible_ytd = y.deductible;
                m.oop_ytd = y.oop;
                applied.from_store += 1;
            }
            _ => applied.not_enrolled += 1,
        }
    }
    Ok(applied)
}

/// The header of `OUT/accumulators-changed.csv`.
pub const CHANGED_HEADER: &str =
    "member,family,deductible_start,oop_start,deductible_ytd,oop_ytd\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn member(member: u32, d: i64) -> MemberRow {
        MemberRow {
            member,
            family: member / 10,
            plan: 0,
            deductible_ytd: d,
            oop_ytd: d,
        }
    }

    #[test]
    fn store_values_replace_the_feeds_for_the_members_it_has() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ytd.bin");
        let mut w = YtdWriter::create(&path).expect("create");
        for (m, v) in [(5u32, 500i64), (7, 700), (9, 900), (12, 1200)] {
            w.write(&Ytd {
                member: m,
                deductible: v,
                oop: v + 1,
            })
            .expect("write");
        }
        assert_eq!(w.finish().expect("finish"), 4);
        let mut members = vec![member(1, 1), member(5, 2), member(6, 3), member(9, 4)];
        let a = apply(&path, &mut members).expect("apply");
        assert_eq!(
            a,
            Applied {
                from_store: 2,
                not_enrolled: 2
            }
        );
        let got: Vec<(u32, i64, i64)> = members
            .iter()
            .map(|m| (m.member, m.deductible_ytd, m.oop_ytd))
            .collect();
        assert_eq!(
            got,
            vec![(1, 1, 1), (5, 500, 501), (6, 3, 3), (9, 900, 901)]
        );
    }

    #[test]
    fn rows_out_of_order_are_refused_when_written_and_when_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ytd.bin");
        let mut w = YtdWriter::create(&path).expect("create");
        w.write(&Ytd {
            member: 5,
            deductible: 0,
            oop: 0,
        })
        .expect("first");
        let e = w
            .write(&Ytd {
                member: 5,
                deductible: 0,
                oop: 0,
            })
            .expect_err("a repeat");
        assert!(e.to_string().contains("row 2"), "{e}");
        drop(w);
        let mut bytes = encode(&Ytd {
            member: 9,
            deductible: 1,
            oop: 1,
        })
        .to_vec();
        bytes.extend(encode(&Ytd {
            member: 3,
            deductible: 1,
            oop: 1,
        }));
        std::fs::write(&path, bytes).expect("write");
        let e = apply(&path, &mut [member(3, 0)]).expect_err("out of order");
        assert!(e.to_string().contains("record 2"), "{e}");
    }
}
