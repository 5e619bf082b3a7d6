//! The online router's audit journal (`--routing-audit journal`): an answer of
//! `POST /api/route` waits until its decision is appended to a file of Warden's own, not
//! for a database commit, and a loader moves the journal into the store's routing audit in
//! bulk, in the background.
//!
//! Durability is the store's own: an append is a `write` to the file, as a commit of SQLite
//! in WAL mode with `synchronous=NORMAL` is a `write` to its WAL. Both survive any crash of
//! the process (the kernel has the bytes); neither survives the machine losing power before
//! the kernel writes them out.
//!
//! Exactly once: the file starts with a header line naming the journal's id; the store keeps
//! how many bytes of each journal are loaded (`routing_journal_positions`), moved in the same
//! transaction as the rows, so a loader that dies between the two loads nothing twice. A
//! line is a decision only once it ends with a newline: a line cut short by a crash was
//! never answered (the answer waits for the whole append), and is cut off when the journal is
//! opened again. A journal the store has loaded whole is replaced by a new one (a new id) when
//! it has grown past [`ROTATE_BYTES`], and on start.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use warden_store::RoutingDecisionRow;

/// A journal loaded whole and this large is replaced by a new one.
pub const ROTATE_BYTES: u64 = 64 << 20;

const MAGIC: &str = "warden-routing-journal";

/// An open journal, appended to by the audit's writer.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
    id: String,
    /// The file's length: everything written.
    len: u64,
}

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{}: not a Warden routing journal (its first line is not the journal's header); move it away or name another file with --routing-journal",
        .0.display()
    )]
    NotAJournal(PathBuf),
    #[error("{}: line at byte {at}: {why}", path.display())]
    BadLine { path: PathBuf, at: u64, why: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The header line of a journal with id `id`.
fn header(id: &str) -> String {
    format!("{{\"{MAGIC}\":1,\"id\":\"{id}\"}}\n")
}

/// A new journal id: the time and randomness, so a replaced journal never reuses one.
fn new_id() -> String {
    format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%S"),
        &crate::secrets::secret()[..16]
    )
}

/// The id in a header line, if it is one.
fn id_of(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    (v.get(MAGIC)?.as_i64()? == 1).then_some(())?;
    Some(v.get("id")?.as_str()?.to_string())
}

/// A journal's id and its header's length, read from the file.
pub fn read_header(path: &Path) -> Result<(String, u64), JournalError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut start = vec![0u8; 256];
    let n = file.read(&mut start).map_err(io(path))?;
    let text = String::from_utf8_lossy(&start[..n]);
    let line = text
        .split_once('\n')
        .map(|(l, _)| l)
        .ok_or_else(|| JournalError::NotAJournal(path.to_path_buf()))?;
    let id = id_of(line).ok_or_else(|| JournalError::NotAJournal(path.to_path_buf()))?;
    Ok((id, line.len() as u64 + 1))
}

impl Journal {
    /// Opens the journal at `path` to append to it, creating it (with a new id) when there is
    /// none. A last line cut short by a crash is cut off.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        if !path.exists() {
            return Self::create(path);
        }
        let (id, _) = read_header(path)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        // The end of the last whole line.
        let keep = {
            let tail = len.min(64 << 10);
            file.seek(SeekFrom::Start(len - tail)).map_err(io(path))?;
            let mut buf = vec![0u8; usize::try_from(tail).unwrap_or(0)];
            file.read_exact(&mut buf).map_err(io(path))?;
            match buf.iter().rposition(|b| *b == b'\n') {
                Some(i) => len - tail + i as u64 + 1,
                None => {
                    return Err(JournalError::BadLine {
                        path: path.to_path_buf(),
                        at: len - tail,
                        why: "a line longer than 64 KiB".into(),
                    });
                }
            }
        };
        if keep < len {
            tracing::warn!(journal = %path.display(), bytes = len - keep, "a routing journal line cut short by a crash was cut off (it was never answered)");
            file.set_len(keep).map_err(io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            id,
            len: keep,
        })
    }

    /// A new, empty journal at `path` (written to a temporary name, then renamed over
    /// whatever was there: callers replace only a journal the store has loaded whole).
    pub fn create(path: &Path) -> Result<Journal, JournalError> {
        let id = new_id();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, header(&id)).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        let len = file.seek(SeekFrom::End(0)).map_err(io(path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            id,
            len,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len <= header(&self.id).len() as u64
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `rows`, one line each, in one write.
    pub fn append(&mut self, rows: &[RoutingDecisionRow]) -> Result<(), JournalError> {
        let mut text = String::with_capacity(rows.len() * 160);
        for r in rows {
            text.push_str(&line(r));
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(io(&self.path))?;
        self.len += text.len() as u64;
        Ok(())
    }
}

/// One decision as a journal line (no newline).
fn line(r: &RoutingDecisionRow) -> String {
    warden_store::routing_decision_json(r).to_string()
}

/// A journal line back as a decision.
fn parse(text: &str) -> Result<RoutingDecisionRow, String> {
    let v: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let s = |i: usize| -> Result<String, String> {
        v.get(i)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("element {i} is not text"))
    };
    let opt = |i: usize| {
        v.get(i)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    if v.len() != 9 {
        return Err(format!("{} elements, not 9", v.len()));
    }
    Ok(RoutingDecisionRow {
        id: 0,
        claim_id: s(0)?.parse().map_err(|_| "the claim id is not a number")?,
        decided_at: DateTime::parse_from_rfc3339(&s(1)?)
            .map_err(|e| format!("the time: {e}"))?
            .with_timezone(&Utc),
        channel: s(2)?,
        actor: s(3)?,
        rule_set_sha256: s(4)?,
        rule: s(5)?,
        stream: opt(6),
        platform: opt(7),
        error: opt(8),
    })
}

/// The whole lines of the journal at `path` from byte `from` (at most `max` of them): its
/// id, the decisions, and the byte after the last one read. A journal whose id is not `id`
/// (it was replaced) gives its id and nothing else.
pub fn read_from(
    path: &Path,
    from: u64,
    max: usize,
) -> Result<(String, Vec<RoutingDecisionRow>, u64), JournalError> {
    let (id, header_len) = read_header(path)?;
    let from = from.max(header_len);
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    file.seek(SeekFrom::Start(from)).map_err(io(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut rows = Vec::new();
    let mut at = from;
    let mut buf = String::new();
    while rows.len() < max {
        buf.clear();
        let n = std::io::BufRead::read_line(&mut reader, &mut buf).map_err(io(path))?;
        if n == 0 || !buf.ends_with('\n') {
            break; // the end, or a line still being written
        }
        let row = parse(buf.trim_end()).map_err(|why| JournalError::BadLine {
            path: path.to_path_buf(),
            at,
            why,
        })?;
        rows.push(row);
        at += n as u64;
    }
    Ok((id, rows, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(claim: u64) -> RoutingDecisionRow {
        RoutingDecisionRow {
            id: 0,
            claim_id: claim,
            decided_at: DateTime::parse_from_rfc3339("2026-12-05T10:00:00.123456Z")
                .expect("time")
                .with_timezone(&Utc),
            channel: "online".into(),
            actor: "ana, \"quoted\"".into(),
            rule_set_sha256: "ab".repeat(32),
            rule: "pharmacy-line".into(),
            stream: Some("E".into()),
            platform: Some("pbm-gateway".into()),
            error: None,
        }
    }

    #[test]
    fn appended_decisions_read_back_whole_from_any_position() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        let mut j = Journal::open(&path).expect("created");
        assert!(j.is_empty());
        j.append(&[row(1), row(2)]).expect("append");
        j.append(&[row(u64::MAX)]).expect("append");
        let (id, rows, end) = read_from(&path, 0, 100).expect("read");
        assert_eq!(id, j.id());
        assert_eq!(rows, vec![row(1), row(2), row(u64::MAX)]);
        assert_eq!(end, j.len());
        // From the middle: only what follows; at most `max`.
        let (_, first, mid) = read_from(&path, 0, 1).expect("read");
        assert_eq!(first, vec![row(1)]);
        let (_, rest, _) = read_from(&path, mid, 100).expect("read");
        assert_eq!(rest, vec![row(2), row(u64::MAX)]);
    }

    #[test]
    fn a_line_cut_short_is_not_read_and_is_cut_off_on_open() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        let mut j = Journal::open(&path).expect("created");
        j.append(&[row(7)]).expect("append");
        let whole = j.len();
        let id = j.id().to_string();
        drop(j);
        // A crash in the middle of an append.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        f.write_all(b"[\"8\",\"2026-12-05T1").expect("write");
        drop(f);
        let (_, rows, end) = read_from(&path, 0, 100).expect("read");
        assert_eq!((rows.len(), end), (1, whole));
        let mut again = Journal::open(&path).expect("reopened");
        assert_eq!((again.id(), again.len()), (id.as_str(), whole));
        again.append(&[row(9)]).expect("append");
        let (_, rows, _) = read_from(&path, 0, 100).expect("read");
        assert_eq!(rows, vec![row(7), row(9)]);
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "hello\n").expect("write");
        let e = Journal::open(&path).expect_err("refused");
        assert!(
            e.to_string().contains("not a Warden routing journal"),
            "{e}"
        );
        // A new journal replaces the file and has a new id each time.
        let a = Journal::create(&path).expect("created");
        let b = Journal::create(&path).expect("created");
        assert_ne!(a.id(), b.id());
    }
}
