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
    pub row: String,
}

pub const HEADER: &str = "file,line,field,reason,row\n";

fn quote(s: &str, out: &mut String) {
    out.push('"');
    out.push_str(&s.replace('"', "\"\""));
    out.push('"');
}

impl Reject {
    pub fn line_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&self.file);
        s.push(',');
        s.push_str(&self.line.to_string());
        s.push(',');
        s.push_str(&self.field);
        s.push(',');
        quote(&self.reason, &mut s);
        s.push(',');
        quote(&self.row, &mut s);
        s.push('\n');
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
        self.w.write_all(r.line_text().as_bytes())
    }
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.w.flush()?;
        Ok(self.count)
    }
}
