//! Property: the parallel CSV reader (blocks cut by one thread, parsed on others, consumed
//! in order) reads exactly what a one-thread read of the whole file reads: the same rows,
//! fields, bytes as read and line numbers, and the same stop at a row that is too long, for
//! any block size and thread count. Inputs are adversarial on purpose: stray quotes inside
//! unquoted fields, quoted fields holding commas, LF, CRLF and lone CR, doubled quotes,
//! text after a closing quote, empty lines, quotes never closed; tiny blocks put cuts at
//! every position. A second property checks the one-thread read against the `csv` crate.

use std::path::Path;

use proptest::prelude::*;
use warden_workers::io::csv_rows::{self, Row};
use warden_workers::io::parallel_csv::{self, Options, ReadError};

/// What a read saw: each row's line, bytes as read and fields; then how it stopped.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    rows: Vec<(u64, Vec<u8>, Vec<Vec<u8>>)>,
    too_long_at: Option<u64>,
}

fn fields(r: &Row<'_>) -> Vec<Vec<u8>> {
    r.iter().map(<[u8]>::to_vec).collect()
}

/// The one-thread read: the state machine over the whole file in one piece.
fn one_thread(bytes: &[u8], max_row: usize) -> Seen {
    let mut rows = Vec::new();
    let r = csv_rows::read_rows(bytes, max_row, |before, row| {
        rows.push((1 + before, row.raw.to_vec(), fields(row)));
    });
    Seen {
        rows,
        too_long_at: r.err().map(|t| 1 + t.line_ends_before),
    }
}

fn parallel(path: &Path, opts: &Options) -> Seen {
    let mut rows = Vec::new();
    let r = parallel_csv::for_each(
        path,
        0,
        1,
        opts,
        fields,
        |line, raw, f| {
            rows.push((line, raw.to_vec(), f));
            Ok(())
        },
        |e| e,
    );
    let too_long_at = match r {
        Ok(()) => None,
        Err(ReadError::RowTooLong { line, .. }) => Some(line),
        Err(ReadError::Io(e)) => panic!("{e}"),
    };
    Seen { rows, too_long_at }
}

/// Pieces of CSV, chosen to break a cutter that tracks quotes any other way than the
/// parser does.
fn piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("ab"),
        3 => Just(","),
        3 => Just("\n"),
        1 => Just("\r\n"),
        1 => Just("\r"),
        2 => Just("x\"y"),
        2 => Just("\"q,\nq\""),
        1 => Just("\"c\r\nr\""),
        1 => Just("\"lone\rcr\""),
        1 => Just("\"d\"\"d\""),
        1 => Just("\"after\"text"),
        1 => Just("\""),
        1 => Just(" "),
        1 => Just("\"\""),
    ]
}

fn file() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(piece(), 0..120).prop_map(|p| p.concat().into_bytes())
}

/// Any bytes from the characters that matter.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b',', b'"', b'\n', b'\r', b' ']),
        0..200,
    )
}

fn check(bytes: &[u8], block: usize, threads: usize, max_row: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.csv");
    std::fs::write(&path, bytes).expect("write");
    let want = one_thread(bytes, max_row);
    let got = parallel(
        &path,
        &Options {
            threads,
            block,
            max_row,
        },
    );
    assert_eq!(
        got, want,
        "block {block}, threads {threads}, max_row {max_row}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_parallel_read_equals_the_one_thread_read(
        bytes in prop_oneof![file(), noise()],
        block in 1usize..48,
        threads in 1usize..4,
        small_rows in any::<bool>(),
    ) {
        check(&bytes, block, threads, if small_rows { 24 } else { 1 << 16 });
    }

    #[test]
    fn the_one_thread_read_is_the_csv_crates(bytes in prop_oneof![file(), noise()]) {
        let ours: Vec<Vec<Vec<u8>>> =
            one_thread(&bytes, 1 << 16).rows.into_iter().map(|r| r.2).collect();
        let mut theirs = Vec::new();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[..]);
        for rec in rdr.byte_records() {
            let rec = rec.expect("the csv crate reads any bytes");
            theirs.push(rec.iter().map(<[u8]>::to_vec).collect::<Vec<_>>());
        }
        prop_assert_eq!(ours, theirs);
    }
}

/// The file of issue #11, at the production block size: a stray quote in an unquoted
/// field, then quoted line ends in every row past the first 4 MiB block's end.
#[test]
fn a_stray_quote_before_a_block_boundary_splits_no_row() {
    let mut text = String::from("1,x\"y,plain\n");
    let n = 80_000u64;
    for i in 2..=n {
        text.push_str(&format!(
            "{i},\"a\nb\",padding padding padding padding padding padding padding padding\n"
        ));
    }
    assert!(text.len() > parallel_csv::BLOCK);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.csv");
    std::fs::write(&path, &text).expect("write");
    let seen = parallel(&path, &Options::with_threads(2));
    assert_eq!(seen.too_long_at, None);
    assert_eq!(seen.rows.len() as u64, n, "one row per claim");
    assert!(
        seen.rows.iter().all(|r| r.2.len() == 3),
        "every row has 3 fields"
    );
    assert_eq!(seen.rows.last().map(|r| r.0), Some(2 * n - 2));
}
