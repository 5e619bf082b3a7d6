//! Bad rows never stop a run and are never dropped; counts reconcile; a broken output is
//! named by reconciliation.

mod common;

use warden_workers::pipeline::driver::partitioned_sources;
use warden_workers::pipeline::layout::{self, Layout};
use warden_workers::pipeline::setup::read_manifest;
use warden_workers::pipeline::{self, NoProgress, Options, finish};

const MEMBERS: &str = "member,family,plan,deductible_ytd,oop_ytd\n1,1,GOLD-PPO,0.00,0.00\n2,1,GOLD-PPO,10.00,10.00\n3,3,SILVER-HMO,0,0\n3,3,SILVER-HMO,5,5\n4,4,GOLD-PPO,-1.00,0\n";

fn row(id: u64, member: &str, family: &str, received: &str, billed: &str, plan: &str) -> String {
    format!(
        "{id},{member},{family},1,1001,A,2025-03-01,{received},99213,E119,11,{billed},,,,,{plan}\n"
    )
}

#[test]
fn every_bad_row_is_rejected_with_line_field_and_reason() {
    let plans = common::plans();
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).expect("dir");
    std::fs::write(input.join("members.csv"), MEMBERS).expect("members");
    let t = |s: u32| format!("2025-03-03T20:00:{s:02}Z");
    let mut claims = warden_workers::io::claims_csv::header();
    claims += &row(10, "1", "1", &t(1), "120.00", "GOLD-PPO"); // line 2: good
    claims += &row(11, "1", "1", &t(2), "-5.00", "GOLD-PPO"); // 3: negative
    claims += &row(12, "1", "1", &t(3), "120.00", "PLATINUM"); // 4: unknown plan
    claims += &row(13, "", "1", &t(4), "120.00", "GOLD-PPO"); // 5: missing member
    claims += &row(14, "9", "9", &t(5), "120.00", "GOLD-PPO"); // 6: not enrolled
    claims += &row(15, "2", "1", "2025-03-03 20:00:06", "120.00", "GOLD-PPO"); // 7: bad timestamp
    claims += &row(16, "2", "3", &t(7), "120.00", "GOLD-PPO"); // 8: wrong family
    claims += &row(17, "2", "1", &t(0), "120.00", "GOLD-PPO"); // 9: out of order
    claims += "18,2,1,1,1001,A,2025-03-01\n"; // 10: short row
    claims += &row(19, "2", "1", &t(9), "120.00", "GOLD-PPO"); // 11: good
    let mut bytes = claims.into_bytes();
    bytes.extend_from_slice(
        b"20,2,1,1,1001,A,2025-03-01,2025-03-03T20:00:10Z,99213,E\xff9,11,1.00,,,,,GOLD-PPO\n",
    ); // 12: not UTF-8
    std::fs::write(input.join("claims.csv"), bytes).expect("claims");

    let r = pipeline::adjudicate_partitioned(
        &input,
        &plans,
        &tmp.path().join("w"),
        &tmp.path().join("o"),
        &Options {
            partitions: 2,
            ..Options::default()
        },
        &NoProgress,
    )
    .expect("a run with bad rows completes");
    let c = &r.reconciliation;
    assert!(c.ok, "{:?}", c.failures);
    assert_eq!((c.claim_rows, c.accepted, c.rejected_claims), (11, 2, 9));
    assert_eq!(c.claim_rows, c.accepted + c.rejected_claims);
    assert_eq!((c.member_rows, c.rejected_members), (5, 2));
    // The row as read: the not-UTF-8 row's bytes are written as they were.
    let bytes = std::fs::read(tmp.path().join("o/rejects.csv")).expect("rejects");
    assert!(
        bytes.windows(5).any(|w| w == b"E\xff9,1"),
        "the row's own bytes"
    );
    let rejects = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = rejects.lines().skip(1).collect();
    let expect = [
        ("members.csv,6,deductible_ytd,", "negative amount"),
        ("members.csv,5,member,", "listed more than once"),
        ("claims.csv,3,billed,", "negative amount `-5.00`"),
        ("claims.csv,4,plan,", "unknown plan `PLATINUM`"),
        ("claims.csv,5,member,", "missing"),
        ("claims.csv,6,member,", "member 9 is not enrolled"),
        ("claims.csv,7,received,", "not a UTC timestamp"),
        ("claims.csv,8,family,", "belongs to family 1"),
        ("claims.csv,9,received,", "received order"),
        ("claims.csv,10,row,", "7 fields, expected 17"),
        ("claims.csv,12,diagnosis,", "not UTF-8"),
    ];
    assert_eq!(lines.len(), expect.len(), "{rejects}");
    for ((start, reason), line) in expect.iter().zip(&lines) {
        assert!(
            line.starts_with(start) && line.contains(reason),
            "expected {start}…{reason}, got {line}"
        );
    }
}

#[test]
fn reconciliation_names_the_first_claims_that_break_it() {
    let plans = common::plans();
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    common::generate_into(
        &input,
        &warden_workers::generate::Config {
            members: 500,
            claims: 2_000,
            ..Default::default()
        },
        &plans,
    );
    let work = tmp.path().join("w");
    let r = pipeline::adjudicate_partitioned(
        &input,
        &plans,
        &work,
        &tmp.path().join("o"),
        &Options {
            partitions: 3,
            ..Options::default()
        },
        &NoProgress,
    )
    .expect("run");
    assert!(r.reconciliation.ok);
    let l = Layout::new(&work);
    let manifest = read_manifest(&l.setup()).expect("manifest");
    // Lose the third result line of P01 and repeat the fifth.
    let path = l.partition(0).join(layout::RESULTS);
    let text = common::read(&path);
    let mut lines: Vec<&str> = text.lines().collect();
    let lost = lines.remove(2).split(',').next().expect("id").to_string();
    let twice = lines[4].to_string();
    lines.insert(5, &twice);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let rec =
        finish::run(&partitioned_sources(&l, &manifest), &tmp.path().join("o2")).expect("finish");
    assert!(!rec.ok);
    let twice_id = twice.split(',').next().expect("id");
    assert!(
        rec.failures
            .iter()
            .any(|f| f == &format!("claim {lost} was accepted but never adjudicated")),
        "{:?}",
        rec.failures
    );
    assert!(
        rec.failures
            .iter()
            .any(|f| f == &format!("claim {twice_id} is adjudicated more than once")),
        "{:?}",
        rec.failures
    );
}
