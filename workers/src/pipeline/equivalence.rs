//! The audit: a serial run and a partitioned run over the same input must write the same
//! bytes (the outputs are already in the canonical order, claim id / member id).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::error::{At, Result};

/// The files compared, in the order reported.
pub const COMPARED: [&str; 5] = [
    "adjudicated.csv",
    "accumulators.csv",
    "accumulators-changed.csv",
    "exceptions.csv",
    "rejects.csv",
];

/// The first difference between two output directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub file: String,
    pub line: u64,
    pub serial: Option<String>,
    pub partitioned: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "(end of file)".into());
        write!(
            f,
            "{} line {}: serial `{}`, partitioned `{}`",
            self.file,
            self.line,
            show(&self.serial),
            show(&self.partitioned)
        )
    }
}

/// `None` if every compared file is byte-identical.
pub fn compare(serial: &Path, partitioned: &Path) -> Result<Option<Difference>> {
    for name in COMPARED {
        let (a, b) = (serial.join(name), partitioned.join(name));
        // Lines as bytes: a reject's row is the row as read, not always UTF-8.
        let mut la = BufReader::new(File::open(&a).at(&a)?).split(b'\n');
        let mut lb = BufReader::new(File::open(&b).at(&b)?).split(b'\n');
        let text = |l: Option<Vec<u8>>| l.map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut n = 0;
        loop {
            n += 1;
            let x = la.next().transpose().at(&a)?;
            let y = lb.next().transpose().at(&b)?;
            if x.is_none() && y.is_none() {
                break;
            }
            if x != y {
                return Ok(Some(Difference {
                    file: name.into(),
                    line: n,
                    serial: text(x),
                    partitioned: text(y),
                }));
            }
        }
        // Lines equal; the bytes too (a missing final newline would differ here).
        if std::fs::metadata(&a).at(&a)?.len() != std::fs::metadata(&b).at(&b)?.len() {
            return Ok(Some(Difference {
                file: name.into(),
                line: n,
                serial: None,
                partitioned: None,
            }));
        }
    }
    Ok(None)
}
