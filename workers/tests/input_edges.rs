//! Hand-made input at the edges (issue #11, item 13): line ends, quoting, byte order marks,
//! empty lines, oversized numbers. Each case runs setup through the whole serial pipeline
//! and looks at `rejects.csv` (file, line, field, reason, the row as read).

mod common;

use std::path::Path;

use warden_workers::pipeline::driver::Report;
use warden_workers::pipeline::{self, NoProgress, Options, PipelineError};

const MEMBERS: &str =
    "member,family,plan,deductible_ytd,oop_ytd\n1,1,GOLD-PPO,0.00,0.00\n2,1,GOLD-PPO,10.00,10.00\n";

fn claim(id: u64, billed: &str) -> String {
    format!(
        "{id},1,1,1,1001,A,2025-03-01,2025-03-03T20:00:{:02}Z,99213,E119,11,{billed},,,,,GOLD-PPO\n",
        id % 60
    )
}

/// Runs the serial pipeline over the two files; the report and `rejects.csv`'s bytes.
fn run(dir: &Path, members: &[u8], claims: &[u8]) -> Result<(Report, Vec<u8>), PipelineError> {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).expect("dir");
    std::fs::write(input.join("members.csv"), members).expect("members");
    std::fs::write(input.join("claims.csv"), claims).expect("claims");
    let out = dir.join("o");
    let r = pipeline::adjudicate_serial(
        &input,
        &common::plans(),
        &dir.join("w"),
        &out,
        &Options::default(),
        &NoProgress,
    )?;
    let rejects = std::fs::read(out.join("rejects.csv")).expect("rejects");
    Ok((r, rejects))
}

/// `rejects.csv` without its header, one string per reject.
fn reject_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn with_line_ends(text: &str, end: &str) -> Vec<u8> {
    text.replace('\n', end).into_bytes()
}

#[test]
fn crlf_and_lone_cr_files_number_their_rejects_like_lf() {
    let mut claims = warden_workers::io::claims_csv::header();
    claims += &claim(10, "-1.00"); // line 2: the first data row, rejected
    claims += &claim(11, "120.00");
    claims += &claim(12, "abc"); // line 4
    claims += "13,1,1\n"; // line 5: short
    let members = format!("{MEMBERS}3,3,NO-PLAN,0,0\n"); // members.csv line 4
    let tmp = tempfile::tempdir().expect("tempdir");
    let (lf, lf_rejects) = run(
        &tmp.path().join("lf"),
        members.as_bytes(),
        claims.as_bytes(),
    )
    .expect("lf");
    let lines = reject_lines(&lf_rejects);
    let starts: Vec<&str> = lines
        .iter()
        .map(|l| l.split(",\"").next().unwrap_or(""))
        .collect();
    assert_eq!(
        starts,
        [
            "members.csv,4,plan",
            "claims.csv,2,billed",
            "claims.csv,4,billed",
            "claims.csv,5,row"
        ]
    );
    assert_eq!(lf.reconciliation.claim_rows, 4);
    for end in ["\r\n", "\r"] {
        let (r, rejects) = run(
            &tmp.path().join(end.len().to_string()),
            &with_line_ends(&members, end),
            &with_line_ends(&claims, end),
        )
        .expect("other line ends");
        assert_eq!(
            reject_lines(&rejects),
            lines,
            "{end:?}: same lines, same rows"
        );
        assert_eq!(r.reconciliation.claim_rows, 4, "{end:?}");
        assert_eq!(r.reconciliation.accepted, 1, "{end:?}");
    }
}

#[test]
fn a_rejected_row_is_written_as_read_with_its_quotes() {
    let mut claims = warden_workers::io::claims_csv::header();
    claims +=
        "10,1,1,1,1001,A,2025-03-01,2025-03-03T20:00:00Z,99213,E119,11,\"1,000.00\",,,,,GOLD-PPO\n";
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, rejects) = run(tmp.path(), MEMBERS.as_bytes(), claims.as_bytes()).expect("run");
    let lines = reject_lines(&rejects);
    assert_eq!(
        lines,
        [
            "claims.csv,2,billed,\"`1,000.00` has a comma; write amounts without thousands separators (1000.00)\",\"10,1,1,1,1001,A,2025-03-01,2025-03-03T20:00:00Z,99213,E119,11,\"\"1,000.00\"\",,,,,GOLD-PPO\""
        ]
    );
}

#[test]
fn oversized_numbers_say_how_large_they_may_be() {
    let mut claims = warden_workers::io::claims_csv::header();
    claims += &claim(10, "120.00").replacen("10,", "99999999999999999999,", 1);
    claims += &claim(11, "1000000000.00");
    claims += &claim(12, "120.00").replacen(",1,1,1,", ",4294967296,1,1,", 1);
    claims += &claim(13, "120.00").replacen(",1,1,1,", ",1,1,65536,", 1);
    claims += &claim(14, "120.00").replacen(",1,1,1,", ",+1,1,1,", 1);
    let members = format!("{MEMBERS}4294967296,1,GOLD-PPO,0,0\n");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, rejects) = run(tmp.path(), members.as_bytes(), claims.as_bytes()).expect("run");
    let reasons: Vec<String> = reject_lines(&rejects)
        .iter()
        .map(|l| l.split(",\"").take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        reasons,
        [
            "members.csv,4,member `4294967296` is too large (at most 4294967295)\"",
            "claims.csv,2,claim_id `99999999999999999999` is too large (at most 18446744073709551615)\"",
            "claims.csv,3,billed `1000000000.00` is too large (at most 999999999.99)\"",
            "claims.csv,4,member `4294967296` is too large (at most 4294967295)\"",
            "claims.csv,5,pcp_group `65536` is too large (at most 65535)\"",
            "claims.csv,6,member `+1` is not a number (digits only)\"",
        ]
    );
}

#[test]
fn a_byte_order_mark_and_empty_lines_are_skipped_and_still_counted_as_lines() {
    let mut claims = String::from("\u{feff}");
    claims += &warden_workers::io::claims_csv::header();
    claims += "\n";
    claims += &claim(10, "120.00"); // line 3
    claims += "\n\r\n";
    claims += &claim(11, "-1"); // line 6
    let tmp = tempfile::tempdir().expect("tempdir");
    let members = format!("\u{feff}{MEMBERS}");
    let (r, rejects) = run(tmp.path(), members.as_bytes(), claims.as_bytes()).expect("run");
    assert_eq!(r.reconciliation.claim_rows, 2, "empty lines are no rows");
    assert_eq!(r.reconciliation.accepted, 1);
    let lines = reject_lines(&rejects);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("claims.csv,6,billed,"), "{lines:?}");
}

#[test]
fn a_quote_that_never_closes_stops_setup_with_its_line() {
    let mut claims = warden_workers::io::claims_csv::header();
    claims += &claim(10, "120.00");
    claims += "11,\"1,1\n";
    for i in 12..2_000 {
        claims += &claim(i, "120.00");
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let e = run(tmp.path(), MEMBERS.as_bytes(), claims.as_bytes()).expect_err("stops");
    let text = e.to_string();
    assert!(
        text.contains("claims.csv:3: a row longer than 65536 bytes starts here"),
        "{text}"
    );
}

#[test]
fn an_empty_file_or_a_wrong_header_stops_setup_with_file_and_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let e = run(&tmp.path().join("a"), MEMBERS.as_bytes(), b"\r\n\n").expect_err("empty");
    let text = e.to_string();
    assert!(
        text.contains("claims.csv:1: the file is empty; the header must be `claim_id,"),
        "{text}"
    );
    let e = run(&tmp.path().join("b"), b"\n\nmember,family,plan\n", b"").expect_err("header");
    let text = e.to_string();
    assert!(
        text.contains("members.csv:3: the header is `member,family,plan`; it must be `member,family,plan,deductible_ytd,oop_ytd`"),
        "{text}"
    );
}

/// Issue #11's file end to end: 80,000 generated claims, a stray quote inside an unquoted
/// field of the second row, and a quoted line end in every row (so one sits at the first
/// 4 MiB block's end). Setup counted 80,001 rows and rejected two halves of a claim.
#[test]
fn a_stray_quote_and_quoted_line_ends_across_a_block_boundary_count_every_claim_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("gen");
    let stats = common::generate_into(
        &input,
        &warden_workers::generate::Config {
            members: 20_000,
            claims: 80_000,
            ..Default::default()
        },
        &common::plans(),
    );
    let text = common::read(&input.join("claims.csv"));
    let mut claims = String::with_capacity(text.len() * 2);
    for (i, line) in text.lines().enumerate() {
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        if i == 2 {
            f[4].insert(1, '"'); // provider `1"001`: an ordinary character, a bad number
        }
        if i > 0 {
            f[8] = format!("\"{}\n\"", f[8]); // procedure `"99213<LF>"`: trimmed, valid
        }
        claims.push_str(&f.join(","));
        claims.push('\n');
    }
    assert!(claims.len() > 4 << 20, "more than one block");
    let members = std::fs::read(input.join("members.csv")).expect("members");
    let (r, rejects) = run(&tmp.path().join("run"), &members, claims.as_bytes()).expect("run");
    let c = &r.reconciliation;
    assert!(c.ok, "{:?}", c.failures);
    assert_eq!(c.claim_rows, stats.claims);
    assert_eq!((c.accepted, c.rejected_claims), (stats.claims - 1, 1));
    let lines = reject_lines(&rejects);
    // Header line 1, the first claim on lines 2-3, the second from line 4.
    assert!(lines[0].starts_with("claims.csv,4,provider,"), "{lines:?}");
}
