//! Reading a reconciled output file in batches for a store load (`load-exceptions`,
//! `post-accumulators`): the header checked, each line parsed by the file's kind, an error
//! at `FILE:LINE:` for the first bad line, a check of the whole file at its end, and a stop
//! when the attempt is killed. Every error is yielded as an `Err` batch, which rolls the
//! store's transaction back.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The reconciliation in `out`, if it passed: a store load reads only reconciled output
/// (`what` says what the job stores, for the error).
pub fn passed_reconciliation(
    out: &Path,
    what: &str,
) -> Result<warden_workers::pipeline::finish::Reconciliation, String> {
    let rec =
        warden_workers::pipeline::finish::read_reconciliation(out).map_err(|e| e.to_string())?;
    if !rec.ok {
        return Err(format!(
            "the reconciliation in {} failed; {what} only from reconciled output",
            out.display()
        ));
    }
    Ok(rec)
}

/// Lines read per batch handed to the store.
const READ_BATCH: usize = 10_000;

/// What one kind of file holds.
pub trait LineKind {
    type Row;
    /// The header line, without its newline.
    fn header(&self) -> &str;
    /// One line after the header (the error names no member: lines are never quoted).
    fn parse(&mut self, line: &str) -> Result<Self::Row, String>;
    /// The whole file, once read (counts and totals against the reconciliation's).
    fn at_end(&self, path: &Path) -> Result<(), String>;
}

#[derive(Debug)]
pub struct LineBatches<K> {
    kind: K,
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    line_no: u64,
    cancel: Arc<AtomicBool>,
    done: bool,
}

impl<K: LineKind> LineBatches<K> {
    pub fn open(kind: K, path: &Path, cancel: Arc<AtomicBool>) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(LineBatches {
            kind,
            path: path.to_path_buf(),
            lines: BufReader::with_capacity(1 << 20, file).lines(),
            line_no: 0,
            cancel,
            done: false,
        })
    }

    fn fail(&mut self, why: String) -> String {
        self.done = true;
        format!(
            "{}:{}: {why}; nothing was stored",
            self.path.display(),
            self.line_no
        )
    }
}

impl<K: LineKind> Iterator for LineBatches<K> {
    type Item = Result<Vec<K::Row>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.cancel.load(Ordering::Relaxed) {
            self.done = true;
            return Some(Err("stopped by a kill; nothing was stored".into()));
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
                if line.trim_end() != self.kind.header() {
                    let why = format!("the header must be `{}`", self.kind.header());
                    return Some(Err(self.fail(why)));
                }
                continue;
            }
            match self.kind.parse(&line) {
                Ok(r) => batch.push(r),
                Err(why) => return Some(Err(self.fail(why))),
            }
        }
        if self.done
            && let Err(why) = self.kind.at_end(&self.path)
        {
            return Some(Err(format!("{why}; nothing was stored")));
        }
        if batch.is_empty() {
            return None;
        }
        Some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of one number each; the file must hold `expected` of them.
    #[derive(Debug)]
    struct Numbers {
        seen: u64,
        expected: u64,
    }

    impl LineKind for Numbers {
        type Row = u64;
        fn header(&self) -> &str {
            "n"
        }
        fn parse(&mut self, line: &str) -> Result<u64, String> {
            self.seen += 1;
            line.parse().map_err(|_| "not a number".to_string())
        }
        fn at_end(&self, _: &Path) -> Result<(), String> {
            if self.seen == self.expected {
                Ok(())
            } else {
                Err(format!("{} rows, expected {}", self.seen, self.expected))
            }
        }
    }

    fn read(text: &str, expected: u64, cancel: bool) -> Vec<Result<Vec<u64>, String>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).expect("write");
        let kind = Numbers { seen: 0, expected };
        LineBatches::open(kind, &path, Arc::new(AtomicBool::new(cancel)))
            .expect("open")
            .collect()
    }

    #[test]
    fn batches_end_with_the_files_check_and_stop_at_the_first_bad_line() {
        let text: String = std::iter::once("n\n".to_string())
            .chain((1..=10_001).map(|i| format!("{i}\n")))
            .collect();
        let ok = read(&text, 10_001, false);
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].as_ref().expect("second batch"), &vec![10_001]);
        let short = read(&text, 10_002, false);
        let last = short.last().expect("a last batch");
        assert!(last.as_ref().is_err_and(|e| e.contains("expected 10002")));
        let bad = read("n\n1\nx\n3\n", 2, false);
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0]
                .as_ref()
                .is_err_and(|e| e.contains("f.csv:3: not a number"))
        );
        let header = read("m\n1\n", 1, false);
        assert!(
            header[0]
                .as_ref()
                .is_err_and(|e| e.contains(":1: the header"))
        );
        let killed = read(&text, 10_001, true);
        assert!(killed[0].as_ref().is_err_and(|e| e.contains("kill")));
    }
}
