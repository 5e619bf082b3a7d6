//! A bad input row is never dropped: it becomes a reject row naming the file, the line,
//! the field and the reason, with the row as read, so it can be fixed and sent again.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Why one input row was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// `claims.csv` or `members.csv`.
    pub file: String,
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub field: String,
    pub reason: String,
    /// The row's bytes as read: from its first byte to its line end, quotes and all (so
    /// not always UTF-8).
    pub row: Vec<u8>,
}

pub const HEADER: &str = "file,line,field,reason,row\n";

/// `bytes` as one quoted CSV field (`"` doubled).
fn quote(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for b in bytes {
        if *b == b'"' {
            out.push(b'"');
        }
        out.push(*b);
    }
    out.push(b'"');
}

impl Reject {
    /// The reject's line in `rejects.csv`: the reason and the row are quoted fields.
    pub fn line_bytes(&self) -> Vec<u8> {
        let mut s = Vec::with_capacity(self.row.len() + self.reason.len() + 40);
        s.extend_from_slice(self.file.as_bytes());
        s.push(b',');
        s.extend_from_slice(self.line.to_string().as_bytes());
        s.push(b',');
        s.extend_from_slice(self.field.as_bytes());
        s.push(b',');
        quote(self.reason.as_bytes(), &mut s);
        s.push(b',');
        quote(&self.row, &mut s);
        s.push(b'\n');
        s
    }
}

/// Appends rejects to a CSV file.
#[derive(Debug)]
pub struct RejectWriter {
    w: BufWriter<File>,
    pub count: u64,
}

impl RejectWriter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let mut w = BufWriter::new(File::create(path)?);
        w.write_all(HEADER.as_bytes())?;
        Ok(RejectWriter { w, count: 0 })
    }
    pub fn write(&mut self, r: &Reject) -> std::io::Result<()> {
        self.count += 1;
        self.w.write_all(&r.line_bytes())
    }
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.w.flush()?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_is_written_as_read_quotes_and_all() {
        let r = Reject {
            file: "claims.csv".into(),
            line: 7,
            field: "billed".into(),
            reason: "`1,000.00` has a comma".into(),
            row: b"1,\"1,000.00\",x\xff".to_vec(),
        };
        assert_eq!(
            r.line_bytes(),
            b"claims.csv,7,billed,\"`1,000.00` has a comma\",\"1,\"\"1,000.00\"\",x\xff\"\n"
        );
    }
}
