//! Reading a large CSV file on several cores, in order.
//!
//! Setup's single pass over `claims.csv` (62M rows at month-end) was one core parsing while
//! the other waited. Here one thread reads the file in blocks cut at record boundaries,
//! `threads` threads parse the blocks (CSV splitting and the caller's field parsing, the
//! expensive part), and the caller's thread consumes the parsed rows strictly in file
//! order, so everything order-dependent (received-order checks, partition writers, the
//! deferral analysis, reject numbering) stays sequential and unchanged.
//!
//! A block ends at a newline outside quotes: the reader keeps the parity of `"` characters
//! (an escaped `""` counts twice, so parity is right for any RFC 4180 file), so a quoted
//! field holding a newline is never cut. Line numbers are the file's: each parsed row
//! carries its line within its block and each block its newline count, and the consumer
//! adds them up.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes read per block (the last record boundary before it ends the block).
const BLOCK: usize = 4 << 20;

/// A block of whole records, `seq`-th of the file.
struct Block {
    seq: u64,
    bytes: Vec<u8>,
}

/// A block parsed: its rows (line within the block, the parser's value) and its newlines.
struct Parsed<T> {
    seq: u64,
    rows: Vec<(u64, T)>,
    newlines: u64,
}

/// Reads `path` from byte `start` (just after the header; `start_line` is the line number of
/// the first record there), parses each record with `parse(record)` on `threads` threads and
/// hands `(line, value)` to `consume` in file order. Stops at the first error `consume`
/// returns, or at a read error (`on_io` turns it into the caller's error).
pub fn for_each<T, E, P, C>(
    path: &Path,
    start: u64,
    start_line: u64,
    threads: usize,
    parse: P,
    mut consume: C,
    on_io: impl Fn(std::io::Error) -> E,
) -> Result<(), E>
where
    T: Send,
    P: Fn(&csv::ByteRecord) -> T + Sync,
    C: FnMut(u64, T) -> Result<(), E>,
{
    let mut file = File::open(path).map_err(&on_io)?;
    file.seek(SeekFrom::Start(start)).map_err(&on_io)?;
    let threads = threads.max(1);
    let (block_tx, block_rx) = sync_channel::<Block>(threads * 2);
    let block_rx = Arc::new(Mutex::new(block_rx));
    let (done_tx, done_rx) = sync_channel::<Parsed<T>>(threads * 2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_blocks(file, block_tx));
        for _ in 0..threads {
            let (rx, tx, parse) = (block_rx.clone(), done_tx.clone(), &parse);
            scope.spawn(move || parse_blocks(&rx, &tx, parse));
        }
        // Only the parsers hold these now: when they stop, the reader's sends fail too.
        drop(block_rx);
        drop(done_tx);
        let consumed = consume_in_order(&done_rx, start_line, &mut consume);
        // Dropping the receiver stops the parsers and then the reader, if we stopped early.
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the CSV reader thread panicked")));
        consumed?;
        read.map_err(&on_io)
    })
}

fn read_blocks(mut file: File, tx: SyncSender<Block>) -> std::io::Result<()> {
    // What follows the last boundary of a block: the start of the next one.
    let mut carry: Vec<u8> = Vec::new();
    let mut seq = 0u64;
    loop {
        let mut buf = std::mem::take(&mut carry);
        let have = buf.len();
        buf.resize(have + BLOCK, 0);
        let mut filled = have;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        let eof = filled < have + BLOCK;
        if eof {
            if !buf.is_empty() {
                // A send that fails means the consumer stopped: nothing left to do.
                let _ = tx.send(Block { seq, bytes: buf });
            }
            return Ok(());
        }
        match last_boundary(&buf) {
            Some(cut) => {
                carry = buf.split_off(cut);
            }
            // One record longer than a block: read on until it ends.
            None => {
                carry = buf;
                continue;
            }
        }
        if tx.send(Block { seq, bytes: buf }).is_err() {
            return Ok(());
        }
        seq += 1;
    }
}

/// Just past the last newline of `bytes` that is outside quotes (the block starts at a
/// record boundary, so outside quotes).
fn last_boundary(bytes: &[u8]) -> Option<usize> {
    if !bytes.contains(&b'"') {
        return bytes.iter().rposition(|b| *b == b'\n').map(|i| i + 1);
    }
    let mut quoted = false;
    let mut last = None;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => last = Some(i + 1),
            _ => {}
        }
    }
    last
}

fn parse_blocks<T, P>(rx: &Mutex<Receiver<Block>>, tx: &SyncSender<Parsed<T>>, parse: &P)
where
    P: Fn(&csv::ByteRecord) -> T,
{
    loop {
        let block = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let newlines = block.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&block.bytes[..]);
        let mut rec = csv::ByteRecord::new();
        let mut rows = Vec::with_capacity(usize::try_from(newlines).unwrap_or(0) + 1);
        // Reading from memory cannot fail; a malformed record is still a record.
        while r.read_byte_record(&mut rec).unwrap_or(false) {
            let line = rec.position().map_or(1, |p| p.line());
            rows.push((line, parse(&rec)));
        }
        if tx
            .send(Parsed {
                seq: block.seq,
                rows,
                newlines,
            })
            .is_err()
        {
            return;
        }
    }
}

fn consume_in_order<T, E>(
    rx: &Receiver<Parsed<T>>,
    start_line: u64,
    consume: &mut impl FnMut(u64, T) -> Result<(), E>,
) -> Result<(), E> {
    let mut waiting: BTreeMap<u64, Parsed<T>> = BTreeMap::new();
    let mut next = 0u64;
    let mut base = start_line;
    while let Ok(p) = rx.recv() {
        waiting.insert(p.seq, p);
        while let Some(p) = waiting.remove(&next) {
            for (line, value) in p.rows {
                consume(base + line - 1, value)?;
            }
            base += p.newlines;
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, threads: usize) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).expect("write");
        let header = text.find('\n').map_or(0, |i| i + 1) as u64;
        let mut seen = Vec::new();
        for_each(
            &path,
            header,
            2,
            threads,
            |r: &csv::ByteRecord| String::from_utf8_lossy(&r[0]).into_owned(),
            |line, v| {
                seen.push((line, v));
                Ok::<(), String>(())
            },
            |e| e.to_string(),
        )
        .expect("reads");
        seen
    }

    #[test]
    fn rows_come_in_file_order_with_their_line_numbers_across_blocks() {
        let mut text = String::from("id,x\n");
        let n = 400_000;
        for i in 0..n {
            text.push_str(&format!("{i},some padding to make blocks\n"));
        }
        assert!(text.len() > 3 * BLOCK, "several blocks");
        let seen = lines_of(&text, 3);
        assert_eq!(seen.len(), n);
        for (i, (line, v)) in seen.iter().enumerate() {
            assert_eq!(*v, i.to_string());
            assert_eq!(*line, i as u64 + 2);
        }
    }

    #[test]
    fn a_quoted_newline_is_never_cut_and_counts_as_a_line() {
        let mut text = String::from("id,x\n");
        let mut expected = Vec::new();
        let mut line = 2u64;
        for i in 0..300_000u64 {
            if i % 1000 == 7 {
                text.push_str(&format!("\"{i}\",\"two\nlines, \"\"quoted\"\"\"\n"));
                expected.push((line, i.to_string()));
                line += 2;
            } else {
                text.push_str(&format!("{i},plain\n"));
                expected.push((line, i.to_string()));
                line += 1;
            }
        }
        // No newline at the end: the last record still comes.
        text.push_str("last,row");
        expected.push((line, "last".to_string()));
        assert_eq!(lines_of(&text, 2), expected);
    }

    #[test]
    fn an_early_stop_returns_the_consumers_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.csv");
        let text: String = (0..200_000).map(|i| format!("{i},x\n")).collect();
        std::fs::write(&path, text).expect("write");
        let r = for_each(
            &path,
            0,
            1,
            2,
            |r: &csv::ByteRecord| r.len(),
            |line, _| if line == 150_000 { Err(line) } else { Ok(()) },
            |_| 0,
        );
        assert_eq!(r, Err(150_000));
    }
}
