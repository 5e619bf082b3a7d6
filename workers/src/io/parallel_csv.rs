//! Reading a large CSV file on several cores, in order.
//!
//! Setup's single pass over `claims.csv` (62M rows at month-end) was one core parsing while
//! the other waited. Here one thread reads the file in blocks cut between rows, `threads`
//! threads parse the blocks (CSV splitting and the caller's field parsing, the expensive
//! part), and the caller's thread consumes the parsed rows strictly in file order, so
//! everything order-dependent (received-order checks, partition writers, the deferral
//! analysis, reject numbering) stays sequential and unchanged.
//!
//! **Why the cuts are right.** The cutter and the parsers run the same scanner
//! (`csv_rows::scan`, through [`csv_rows::last_cut`] and [`csv_rows::read_rows`]). Every
//! block starts where the previous one was cut, and a cut is only made where the scanner,
//! run over the block from its start, is between rows just after a whole line end. So each
//! block starts between rows, scanning a block from its start is scanning the file in order
//! from there, and the parsers see exactly the rows a one-thread read of the file sees
//! (`tests/parallel_csv_props.rs` checks it on adversarial quoting with tiny blocks).
//! An earlier cutter kept only the parity of `"` characters: a stray quote inside an
//! unquoted field (an ordinary character to the parser) inverted it, and a quoted line end
//! later in the block became a cut, splitting a claim in two.
//!
//! Line numbers are the file's: each parsed row carries the line ends before it within its
//! block and each block its line-end count (a cut never splits a CRLF), and the consumer
//! adds them up.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::csv_rows::{self, Row};

/// Bytes read per block (the last cut before it ends the block).
pub const BLOCK: usize = 4 << 20;
/// The longest row read, in bytes. A longer one stops the read: only a quote that never
/// closes makes one (it swallows the rest of the file), and holding it would hold the file.
pub const MAX_ROW: usize = 64 << 10;

/// How to read.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Threads that parse blocks.
    pub threads: usize,
    /// Bytes read per block (tests use tiny blocks to put cuts everywhere).
    pub block: usize,
    pub max_row: usize,
}

impl Options {
    /// `threads` parsers, the production block and row sizes.
    pub fn with_threads(threads: usize) -> Options {
        Options {
            threads,
            block: BLOCK,
            max_row: MAX_ROW,
        }
    }
}

/// Why a read stopped.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// The row starting at `line` is longer than `max` bytes.
    RowTooLong {
        line: u64,
        max: usize,
    },
}

/// A block of whole rows, `seq`-th of the file.
struct Block {
    seq: u64,
    bytes: Vec<u8>,
}

/// One parsed row: line ends before it in its block, where its bytes are, the value.
type ParsedRow<T> = (u64, usize, usize, T);

/// A block parsed: its bytes, its rows, its line ends, and whether a row in it was too
/// long (the line ends before that row).
struct Parsed<T> {
    seq: u64,
    bytes: Vec<u8>,
    rows: Vec<ParsedRow<T>>,
    line_ends: u64,
    too_long: Option<u64>,
}

/// Reads `path` from byte `start` (where a row may start, after the header; `start_line`
/// is the line number there), parses each row with `parse(row)` on `opts.threads` threads
/// and hands `(line, row as read, value)` to `consume` in file order. Stops at the first
/// error `consume` returns, at a read error or at a row longer than `opts.max_row`
/// (`on_error` turns those into the caller's error).
pub fn for_each<T, E, P, C>(
    path: &Path,
    start: u64,
    start_line: u64,
    opts: &Options,
    parse: P,
    mut consume: C,
    on_error: impl Fn(ReadError) -> E,
) -> Result<(), E>
where
    T: Send,
    P: Fn(&Row<'_>) -> T + Sync,
    C: FnMut(u64, &[u8], T) -> Result<(), E>,
{
    let io = |e| on_error(ReadError::Io(e));
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let threads = opts.threads.max(1);
    let (block_tx, block_rx) = sync_channel::<Block>(threads * 2);
    let block_rx = Arc::new(Mutex::new(block_rx));
    let (done_tx, done_rx) = sync_channel::<Parsed<T>>(threads * 2);
    let (block, max_row) = (opts.block.max(1), opts.max_row.max(1));
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || read_blocks(file, block, max_row, block_tx));
        for _ in 0..threads {
            let (rx, tx, parse) = (block_rx.clone(), done_tx.clone(), &parse);
            scope.spawn(move || parse_blocks(&rx, &tx, max_row, parse));
        }
        // Only the parsers hold these now: when they stop, the reader's sends fail too.
        drop(block_rx);
        drop(done_tx);
        let consumed =
            consume_in_order(&done_rx, start_line, &mut consume).map_err(|stop| match stop {
                Ok(line) => on_error(ReadError::RowTooLong { line, max: max_row }),
                Err(e) => e,
            });
        // Dropping the receiver stops the parsers and then the reader, if we stopped early.
        drop(done_rx);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the CSV reader thread panicked")));
        consumed?;
        read.map_err(|e| on_error(ReadError::Io(e)))
    })
}

fn read_blocks(
    mut file: File,
    block: usize,
    max_row: usize,
    tx: SyncSender<Block>,
) -> std::io::Result<()> {
    // What follows the last cut of a block: the start of the next one.
    let mut carry: Vec<u8> = Vec::new();
    let mut seq = 0u64;
    loop {
        let mut buf = std::mem::take(&mut carry);
        let have = buf.len();
        buf.resize(have + block, 0);
        let mut filled = have;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        if filled < have + block {
            if !buf.is_empty() {
                // A send that fails means the consumer stopped: nothing left to do.
                let _ = tx.send(Block { seq, bytes: buf });
            }
            return Ok(());
        }
        match csv_rows::last_cut(&buf) {
            Some(cut) => carry = buf.split_off(cut),
            // No cut and longer than a row may be: the buffer starts with a row that long.
            // Its parser says so; nothing after it is read.
            None if buf.len() > max_row + 1 => {
                let _ = tx.send(Block { seq, bytes: buf });
                return Ok(());
            }
            // A row longer than a block: read on until it ends.
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

fn parse_blocks<T, P>(
    rx: &Mutex<Receiver<Block>>,
    tx: &SyncSender<Parsed<T>>,
    max_row: usize,
    parse: &P,
) where
    P: Fn(&Row<'_>) -> T,
{
    loop {
        let block = match rx.lock() {
            Ok(r) => match r.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let newlines = block.bytes.iter().filter(|b| **b == b'\n').count();
        let mut rows = Vec::with_capacity(newlines + 1);
        let read = csv_rows::read_rows(&block.bytes, max_row, |before, row| {
            rows.push((before, row.start, row.raw.len(), parse(row)));
        });
        let (line_ends, too_long) = match read {
            Ok(n) => (n, None),
            Err(t) => (0, Some(t.line_ends_before)),
        };
        let parsed = Parsed {
            seq: block.seq,
            bytes: block.bytes,
            rows,
            line_ends,
            too_long,
        };
        if tx.send(parsed).is_err() {
            return;
        }
    }
}

/// Hands the rows to `consume` in file order; `Err(Ok(line))` for a row too long.
fn consume_in_order<T, E>(
    rx: &Receiver<Parsed<T>>,
    start_line: u64,
    consume: &mut impl FnMut(u64, &[u8], T) -> Result<(), E>,
) -> Result<(), Result<u64, E>> {
    let mut waiting: BTreeMap<u64, Parsed<T>> = BTreeMap::new();
    let mut next = 0u64;
    let mut base = start_line;
    while let Ok(p) = rx.recv() {
        waiting.insert(p.seq, p);
        while let Some(p) = waiting.remove(&next) {
            for (before, at, len, value) in p.rows {
                consume(base + before, &p.bytes[at..at + len], value).map_err(Err)?;
            }
            if let Some(before) = p.too_long {
                return Err(Ok(base + before));
            }
            base += p.line_ends;
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str, opts: &Options) -> Vec<(u64, String)> {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.csv");
        std::fs::write(&path, text).expect("write");
        let header = text.find('\n').map_or(0, |i| i + 1) as u64;
        let mut seen = Vec::new();
        for_each(
            &path,
            header,
            2,
            opts,
            |r: &Row<'_>| String::from_utf8_lossy(r.get(0).unwrap_or_default()).into_owned(),
            |line, _, v| {
                seen.push((line, v));
                Ok::<(), String>(())
            },
            |e| format!("{e:?}"),
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
        let seen = lines_of(&text, &Options::with_threads(3));
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
        assert_eq!(lines_of(&text, &Options::with_threads(2)), expected);
    }

    /// Issue #11's file: a stray quote in an unquoted field, then, a block later, a quoted
    /// field holding a line end where a block ends. The old parity cutter split that row.
    #[test]
    fn a_stray_quote_does_not_make_a_quoted_line_end_a_cut() {
        let mut text = String::from("id,x\n");
        text.push_str("1,stray\"quote\n");
        let mut expected = vec![(2, "1".to_string())];
        for i in 2..200u64 {
            text.push_str(&format!("{i},\"a\nb\"\n"));
            expected.push((2 * i - 1, i.to_string()));
        }
        for block in 1..40 {
            let opts = Options {
                threads: 2,
                block,
                max_row: MAX_ROW,
            };
            assert_eq!(lines_of(&text, &opts), expected, "block {block}");
        }
    }

    #[test]
    fn a_quote_that_never_closes_stops_the_read_at_its_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("f.csv");
        let mut text = String::from("1,a\n2,\"b\n");
        text.push_str(&"3,c\n".repeat(100));
        std::fs::write(&path, &text).expect("write");
        for block in [3, 64, 1 << 20] {
            let mut seen = Vec::new();
            let r = for_each(
                &path,
                0,
                1,
                &Options {
                    threads: 2,
                    block,
                    max_row: 100,
                },
                |r: &Row<'_>| r.len(),
                |line, _, _| {
                    seen.push(line);
                    Ok(())
                },
                |e| format!("{e:?}"),
            );
            assert_eq!(r, Err("RowTooLong { line: 2, max: 100 }".to_string()));
            assert_eq!(seen, [1]);
        }
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
            &Options::with_threads(2),
            |r: &Row<'_>| r.len(),
            |line, _, _| if line == 150_000 { Err(line) } else { Ok(()) },
            |_| 0,
        );
        assert_eq!(r, Err(150_000));
    }
}
