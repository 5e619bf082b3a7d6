//! `warden intake` and `warden claims generate --partner` through the real binary: a
//! partner's files written, taken in, and the claims input equal to what was generated; a
//! cut-off file refused whole beside a good one; unknown partners and bad mappings named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn warden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("WARDEN_DB")
        .output()
        .expect("warden runs")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-intake-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn sorted_rows(path: &Path) -> Vec<String> {
    let mut rows: Vec<String> = std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    rows.sort();
    rows
}

#[test]
fn generated_partner_files_come_back_as_the_generated_claims() {
    let dir = fresh_dir("round-trip");
    let generated = dir.join("generated");
    let o = warden(&[
        "claims",
        "generate",
        "--claims",
        "4000",
        "--members",
        "2500",
        "--exception-rate",
        "0",
        "--out",
        s(&generated),
        "--partner",
        "acme-pbm",
        "--partner",
        "keystone-tpa",
        "--partner",
        "summit-clearinghouse",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (partner, file) in [
        ("acme-pbm", "acme-pbm.csv"),
        ("keystone-tpa", "keystone-tpa.txt"),
        ("summit-clearinghouse", "summit-clearinghouse.837"),
    ] {
        let out = dir.join(partner);
        let o = warden(&[
            "intake",
            partner,
            s(&generated.join(file)),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{partner}: {}", text(&o));
        assert!(
            text(&o).contains("4000 accepted, 0 rejected"),
            "{}",
            text(&o)
        );
        assert_eq!(
            sorted_rows(&out.join("claims.csv")),
            sorted_rows(&generated.join("claims.csv")),
            "{partner}"
        );
        let ack: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("ack").join(format!("{file}.ack.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(ack["status"], "accepted");
        assert_eq!(ack["records"]["accepted"], 4000);
    }
}

#[test]
fn a_cut_off_file_is_refused_whole_beside_a_good_one() {
    let dir = fresh_dir("refused");
    let generated = dir.join("generated");
    let o = warden(&[
        "claims",
        "generate",
        "--claims",
        "300",
        "--members",
        "200",
        "--exception-rate",
        "0",
        "--out",
        s(&generated),
        "--partner",
        "acme-pbm",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let good = generated.join("acme-pbm.csv");
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.join("cut.csv");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = dir.join("out");
    let o = warden(&["intake", "ACME-PBM", s(&good), s(&cut), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cut.csv: REFUSED: TRUNCATED"),
        "{}",
        text(&o)
    );
    // Only the good file's claims are in the input.
    assert_eq!(sorted_rows(&out.join("claims.csv")).len(), 300);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert!(
        rejects
            .lines()
            .any(|l| l.starts_with("cut.csv,0,,file,,TRUNCATED,")),
        "{rejects}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let (received, accepted, rejected) = (
        summary["records"]["received"].as_u64().unwrap(),
        summary["records"]["accepted"].as_u64().unwrap(),
        summary["records"]["rejected"].as_u64().unwrap(),
    );
    assert_eq!(received, accepted + rejected);
    assert_eq!(accepted, 300);
    assert_eq!(summary["files_refused"], 1);
}

#[test]
fn an_unknown_partner_or_a_bad_mapping_is_named() {
    let dir = fresh_dir("bad-mapping");
    let file = dir.join("f.csv");
    std::fs::write(&file, "x\n").unwrap();
    let o = warden(&["intake", "nobody", s(&file), "--out", s(&dir.join("o"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("no mapping for partner `nobody`") && text(&o).contains("acme-pbm"),
        "{}",
        text(&o)
    );
    let mapping = dir.join("bad.yaml");
    std::fs::write(
        &mapping,
        "partner: X\nformat: { kind: csv }\nfields:\n  claim_id: { from: A, money: euros }\n",
    )
    .unwrap();
    let o = warden(&["intake", s(&mapping), s(&file), "--out", s(&dir.join("o"))]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("bad.yaml:4:") && t.contains("money: euros"),
        "{t}"
    );
}
