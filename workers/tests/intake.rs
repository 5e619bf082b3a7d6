//! Partner intake (issue #15) on both sides of every mapping path: claims generated, written
//! in each shipped partner's layout and taken back in must be the same claims; then the files
//! partners really send: BOM and CRLF, quoted newlines, bytes that are not UTF-8, amounts
//! with three decimals, unknown codes, wrong field counts, truncated files, trailers that do
//! not match. Every outcome's counts reconcile: received = accepted + rejected.

use std::path::Path;

use warden_workers::generate::{self, Config};
use warden_workers::intake::transform::Code;
use warden_workers::intake::{self, FileIntake, Status, mapping, partner_file};
use warden_workers::io::claims_csv;
use warden_workers::model::Claim;
use warden_workers::pipeline::NoProgress;
use warden_workers::plans::{Plans, load_dir};

fn plans() -> Plans {
    load_dir(Path::new("../workflows/plans")).expect("the shipped plans")
}

fn partner(name: &str) -> mapping::Mapping {
    mapping::load(&Path::new("../workflows/partners").join(format!("{name}.yaml")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Generated claims, and their rows in the engine's `claims.csv` form.
fn generated(claims: u64) -> (Vec<Claim>, String) {
    let plans = plans();
    let cfg = Config {
        members: 2_000,
        claims,
        seed: 15,
        // Non-standard codes are lower case; ACME's mapping upper-cases codes as it reads.
        exception_rate: 0.0,
        ..Config::default()
    };
    let (mut members, mut csv) = (Vec::new(), Vec::new());
    generate::generate(&cfg, &plans, &mut members, &mut csv, &NoProgress).expect("generated");
    let text = String::from_utf8(csv).expect("utf-8");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let claims: Vec<Claim> = rows
        .iter()
        .map(|r| {
            let fields: Vec<&str> = r.split(',').collect();
            claims_csv::parse_row(&fields, &plans).expect("a generated claim parses")
        })
        .collect();
    let mut canonical = String::new();
    for c in &claims {
        claims_csv::write_row(c, &plans, &mut canonical);
    }
    (claims, canonical)
}

fn reconciles(i: &FileIntake) {
    let t = &i.totals;
    assert_eq!(t.received, t.accepted + t.rejected, "{t:?}");
    assert_eq!(
        t.billed_received,
        t.billed_accepted + t.billed_rejected,
        "{t:?}"
    );
    if matches!(i.status, Status::Refused(_)) {
        assert!(i.claims_csv.is_empty(), "a refused file gives no claims");
        assert_eq!(t.accepted, 0);
    }
}

#[test]
fn every_shipped_partner_round_trips_generated_claims() {
    let (claims, canonical) = generated(3_000);
    for name in [
        "acme-pbm",
        "keystone-tpa",
        "summit-clearinghouse",
        "lakeside-hospital",
    ] {
        let m = partner(name);
        let file =
            partner_file::write(&m, &plans(), &claims).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = intake::intake(&m, &plans(), &file);
        reconciles(&got);
        assert_eq!(
            got.status,
            Status::Accepted,
            "{name}: {:?}",
            got.rejects.first()
        );
        assert_eq!(got.totals.accepted, claims.len() as u64, "{name}");
        let billed: i64 = claims.iter().map(|c| c.billed).sum();
        assert_eq!(got.totals.billed_accepted, billed, "{name}");
        if m.trailer.is_some() {
            assert_eq!(
                got.totals.trailer_count,
                Some(claims.len() as u64),
                "{name}"
            );
            assert_eq!(got.totals.trailer_billed, Some(billed), "{name}");
        }
        if let Some((a, b)) = got
            .claims_csv
            .lines()
            .zip(canonical.lines())
            .find(|(a, b)| a != b)
        {
            panic!("{name}: a claim came back different:\n got {a}\nsent {b}");
        }
        assert!(
            got.claims_csv == canonical,
            "{name}: the claims came back different"
        );
    }
}

/// ACME's header and a trailer for `records` (rows without the trailer) and `billed`.
const HEADER: &str = "CLAIM_NO,MEMBER_ID,SUBSCRIBER_ID,PCP_GROUP,PROVIDER_ID,LOB,DATE_OF_SERVICE,RECEIVED_AT,CPT,ICD10,POS,BILLED_AMT,PA_NUMBER,OTHER_PAYER,OTHER_PAID,OTHER_PAYER_ID,GROUP_PLAN";

fn row(id: u64, lob: &str, billed: &str) -> String {
    format!(
        "{id},M{id},S{id},1,7001,{lob},02/27/2025,02/28/2025 10:00:00,99213,e11.9,11,{billed},,,,,G100"
    )
}

fn acme(rows: &[String], trailer: Option<(usize, &str)>) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    if let Some((count, total)) = trailer {
        text.push_str(&format!("TRL,{count},{total}\n"));
    }
    text.into_bytes()
}

fn take(bytes: &[u8]) -> FileIntake {
    let got = intake::intake(&partner("acme-pbm"), &plans(), bytes);
    reconciles(&got);
    got
}

fn refused(got: &FileIntake) -> &intake::Reject {
    match &got.status {
        Status::Refused(r) => r,
        Status::Accepted => panic!("expected the file refused: {:?}", got.totals),
    }
}

#[test]
fn a_bom_and_crlf_change_nothing() {
    let rows = vec![row(1, "COMM", "10.00"), row(2, "MAPD", "20.50")];
    let plain = acme(&rows, Some((2, "30.50")));
    let mut windows = b"\xEF\xBB\xBF".to_vec();
    windows.extend(
        String::from_utf8(plain.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .bytes(),
    );
    let (a, b) = (take(&plain), take(&windows));
    assert_eq!(a.status, Status::Accepted);
    assert_eq!(b.status, Status::Accepted);
    assert_eq!(a.claims_csv, b.claims_csv);
    assert_eq!(b.totals.accepted, 2);
    // The ICD-10 code was upper-cased, the stream and plan mapped through their tables.
    assert!(
        a.claims_csv
            .starts_with("1,1,1,1,7001,A,2025-02-27,2025-02-28T10:00:00Z,99213,E11.9,11,10.00,"),
        "{}",
        a.claims_csv
    );
}

#[test]
fn a_quoted_newline_keeps_the_line_numbers_of_the_records_after_it() {
    // An extra column the mapping does not read, with a note over two lines.
    let text = format!(
        "{HEADER},NOTE\n{},\"first line\nsecond line\"\n{},plain\n{},x\nTRL,3,60.00\n",
        row(1, "COMM", "10.00"),
        row(2, "COMM", "20.00"),
        row(3, "HMO", "30.00"),
    );
    let got = take(text.as_bytes());
    assert_eq!(got.status, Status::Accepted);
    assert_eq!((got.totals.accepted, got.totals.rejected), (2, 1));
    let r = &got.rejects[0];
    // Header line 1, claim 1 on lines 2–3, claim 2 on line 4, claim 3 on line 5.
    assert_eq!(
        (r.line, r.field.as_str(), r.code),
        (5, "stream", Code::UnknownCode)
    );
    assert_eq!(r.claim_id, "3");
    // The reject names the partner's column the value came from.
    assert_eq!(r.source, "LOB");
}

#[test]
fn bad_values_reject_their_claim_and_name_line_field_and_code() {
    let rows = vec![
        row(1, "COMM", "10.00"),
        row(2, "COMM", "12.345"),
        row(3, "COMM", "30.00").replacen("M3", "M\u{1}3", 1),
        row(4, "COMM", "40.00").replacen(",11,", ",,", 1),
        row(5, "COMM", "50.00").replacen("02/27/2025", "02/30/2025", 1),
        row(1, "COMM", "60.00"),
        format!("{},extra", row(7, "COMM", "70.00")),
    ];
    // The trailer counts every record; its total is the sum of the amounts that can be read
    // (12.345 cannot, and the record with a wrong field count is not mapped).
    let mut bytes = acme(&rows, Some((7, "190.00")));
    // A Latin-1 é, not UTF-8, in the third claim's member id.
    for b in &mut bytes {
        if *b == 1 {
            *b = 0xE9;
        }
    }
    let got = take(&bytes);
    assert_eq!(got.status, Status::Accepted, "{:?}", got.status);
    let seen: Vec<(u64, &str, Code)> = got
        .rejects
        .iter()
        .map(|r| (r.line, r.field.as_str(), r.code))
        .collect();
    assert_eq!(
        seen,
        [
            (3, "billed", Code::TooManyDecimals),
            (4, "member", Code::BadEncoding),
            (6, "service_date", Code::BadDate),
            (7, "claim_id", Code::DuplicateClaim),
            (8, "record", Code::FieldCount),
        ]
    );
    assert_eq!((got.totals.received, got.totals.accepted), (7, 2));
    assert_eq!(got.totals.billed_unreadable, 2);
    assert_eq!(got.totals.billed_accepted, 5_000);
    // POS was missing in claim 4: its `on_error: { default: "11" }` applied.
    assert_eq!(got.totals.defaults_applied, 1);
    assert!(
        got.claims_csv
            .contains("\n4,4,4,1,7001,A,2025-02-27,2025-02-28T10:00:00Z,99213,E11.9,11,40.00,"),
        "{}",
        got.claims_csv
    );
    // The acknowledgement and the reject file say the same.
    let ack = intake::ack::acknowledgement("ACME-PBM", "f.csv", &got);
    assert_eq!(ack["status"], "accepted-with-errors");
    assert_eq!(ack["records"]["rejected"], 5);
    assert_eq!(ack["errors"][1]["code"], "BAD_ENCODING");
    let mut rejects = Vec::new();
    intake::ack::write_rejects("f.csv", &got.rejects, &mut rejects);
    let text = String::from_utf8(rejects).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.starts_with("f.csv,3,2,billed,BILLED_AMT,TOO_MANY_DECIMALS,"),
        "{text}"
    );
    // Each reject names the partner's column; a whole record has none.
    assert!(text.contains("\nf.csv,8,7,record,,FIELD_COUNT,"), "{text}");
    assert_eq!(ack["errors"][1]["source"], "MEMBER_ID");
}

#[test]
fn files_whose_envelope_or_totals_fail_are_refused_whole() {
    let rows = vec![row(1, "COMM", "10.00"), row(2, "COMM", "20.00")];
    // No trailer: cut short.
    let cut = take(&acme(&rows, None));
    assert_eq!(refused(&cut).code, Code::Truncated);
    assert_eq!(cut.totals.received, 2);
    // A file cut in the middle of a record.
    let whole = acme(&rows, Some((2, "30.00")));
    let half = take(&whole[..whole.len() - 20]);
    assert_eq!(refused(&half).code, Code::Truncated);
    // Counts or totals that disagree.
    let count = take(&acme(&rows, Some((3, "30.00"))));
    let r = refused(&count);
    assert_eq!(r.code, Code::TotalsMismatch);
    assert!(
        r.reason.contains("3 claim records") && r.reason.contains("has 2"),
        "{}",
        r.reason
    );
    let total = take(&acme(&rows, Some((2, "31.00"))));
    assert!(
        refused(&total).reason.contains("31.00"),
        "{}",
        refused(&total).reason
    );
    // A record after the trailer.
    let mut after = acme(&rows, Some((2, "30.00")));
    after.extend_from_slice(format!("{}\n", row(9, "COMM", "1.00")).as_bytes());
    assert_eq!(refused(&take(&after)).code, Code::Truncated);
    // An unknown plan code: the mapping says `on_error: reject-file`.
    let plan = vec![
        row(1, "COMM", "10.00"),
        row(2, "COMM", "20.00").replace("G100", "Z999"),
    ];
    let r = take(&acme(&plan, Some((2, "30.00"))));
    let why = refused(&r);
    assert_eq!(
        (why.code, why.line, why.field.as_str()),
        (Code::FieldRejectsFile, 3, "plan")
    );
    // A header without a column the mapping reads.
    let renamed = String::from_utf8(whole.clone())
        .unwrap()
        .replacen("BILLED_AMT", "AMOUNT", 1);
    let r = take(renamed.as_bytes());
    let why = refused(&r);
    assert_eq!(why.code, Code::UnknownColumn);
    assert!(
        why.reason.contains("BILLED_AMT") && why.reason.contains("billed"),
        "{}",
        why.reason
    );
    // Empty.
    assert_eq!(
        refused(&take(format!("{HEADER}\nTRL,0,0.00\n").as_bytes())).code,
        Code::Empty
    );
}

#[test]
fn fixed_width_files_refuse_a_cut_record_and_name_bad_bytes() {
    let (claims, _) = generated(20);
    let m = partner("keystone-tpa");
    let file = partner_file::write(&m, &plans(), &claims).expect("written");
    let text = String::from_utf8(file.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("HDRKEYSTONE-TPA"));
    assert_eq!(lines[1].len(), 136);
    // Cut mid-record: the trailer is gone, the file refused.
    let cut = intake::intake(&m, &plans(), &file[..file.len() / 2]);
    reconciles(&cut);
    assert_eq!(refused(&cut).code, Code::Truncated);
    // A byte that is not UTF-8 in the third claim's procedure code (bytes 69–76).
    let mut bad = file.clone();
    let third = lines[0].len() + 1 + 2 * (lines[1].len() + 1);
    bad[third + 69] = 0xFF;
    let got = intake::intake(&m, &plans(), &bad);
    reconciles(&got);
    assert_eq!(got.status, Status::Accepted);
    let r = &got.rejects[0];
    assert_eq!(
        (r.line, r.field.as_str(), r.code),
        (4, "procedure", Code::BadEncoding)
    );
    assert!(r.reason.contains("byte 2"), "{}", r.reason);
    // The fixed-width field's bytes, 1-based as a partner's layout counts them.
    assert_eq!(r.source, "bytes 69-76");
}

#[test]
fn a_bad_mapping_is_refused_with_its_line_and_column() {
    let acme = std::fs::read_to_string("../workflows/partners/acme-pbm.yaml").unwrap();
    let parse = |text: &str| {
        mapping::parse(Path::new("p.yaml"), text)
            .unwrap_err()
            .to_string()
    };
    let missing = parse(&acme.replace(
        "  billed:           { from: BILLED_AMT, money: dollars }\n",
        "",
    ));
    assert!(
        missing.starts_with("p.yaml:") && missing.contains("no mapping for `billed`"),
        "{missing}"
    );
    let typo = parse(&acme.replace("  billed:  ", "  biled:   "));
    assert!(typo.contains("did you mean `billed`"), "{typo}");
    let line = acme
        .lines()
        .position(|l| l.contains("DATE_OF_SERVICE"))
        .unwrap()
        + 1;
    let date = parse(&acme.replace("%m/%d/%Y\" }", "%m/%Q/%Y\" }"));
    assert!(
        date.starts_with(&format!("p.yaml:{line}:")) && date.contains("strftime"),
        "{date}"
    );
    let kind = parse(&acme.replace("kind: csv", "kind: x13"));
    assert!(kind.contains("unknown format `x13`"), "{kind}");
    let fixed = parse(&acme.replace(
        "kind: csv, delimiter: \",\", header: true",
        "kind: fixed-width",
    ));
    assert!(
        fixed.contains("fixed-width field is `start:` and `length:`"),
        "{fixed}"
    );
    let word = parse(&acme.replace("on_error: reject-file", "on_error: explode"));
    assert!(
        word.contains("reject-claim") && word.contains("default"),
        "{word}"
    );
}

#[test]
fn generated_837_files_pass_an_independent_validator_and_our_envelope_check() {
    use intake::x12_837_read::Kind;
    for kind in [Kind::Professional, Kind::Institutional] {
        generated_837_passes(kind);
    }
}

/// One kind of 837: our envelope check, then pyx12's guide check, which must also refuse a
/// wrong segment count. (A test's body, moved out to run once per kind.)
#[allow(clippy::unwrap_used)]
fn generated_837_passes(kind: intake::x12_837_read::Kind) {
    let (claims, _) = generated(2_000);
    // Every optional part of the writer is in the file: prior authorisations, other payers,
    // and an other payer's id (REF*2U).
    assert!(claims.iter().any(|c| c.prior_auth.is_some()));
    assert!(
        claims
            .iter()
            .any(|c| c.cob.is_some_and(|cob| cob.partner.is_some()))
    );
    let parties = intake::x12_837_write::Parties {
        sender: "WARDENGEN".into(),
        receiver: "ACMEPAYER".into(),
        control: 905,
    };
    let bytes = intake::x12_837_write::write(&claims, &plans(), &parties, kind);
    assert!(
        String::from_utf8_lossy(&bytes).contains(&format!("*{}~", kind.guide())),
        "GS08 names the guide"
    );
    let envelope = intake::x12_envelope::read(&bytes).expect("our own envelope check");
    let sets: usize = envelope.groups.iter().map(|g| g.sets.len()).sum();
    let clms: usize = envelope
        .groups
        .iter()
        .flat_map(|g| &g.sets)
        .flat_map(|s| s.segments())
        .filter(|s| s.id() == b"CLM")
        .count();
    assert_eq!(clms, claims.len());
    assert!(sets >= 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.837");
    std::fs::write(&path, &bytes).unwrap();
    // pyx12 (PyPI), installed by .ci/run: an implementation-guide validator that is not ours.
    let Ok(out) = std::process::Command::new("x12valid").arg(&path).output() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "x12valid (pip install pyx12) must be on PATH under CI"
        );
        eprintln!("skipped: x12valid (pyx12) is not installed");
        return;
    };
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // x12valid exits 1 whether or not the file is valid: its verdict is the `: OK` or
    // `: Failure` it prints, with an ERROR line per problem.
    assert!(
        report.contains(": OK") && !report.contains("ERROR"),
        "pyx12 refused the generated {} ({}):\n{report}",
        kind.name(),
        out.status
    );
    // The validator is not a rubber stamp: a wrong segment count is its failure too.
    let text = String::from_utf8(bytes).unwrap();
    let se = text
        .lines()
        .find(|l| l.starts_with("SE*"))
        .unwrap()
        .to_string();
    let count: u32 = se.split('*').nth(1).unwrap().parse().unwrap();
    let wrong = text.replacen(
        &se,
        &se.replacen(&format!("SE*{count}*"), &format!("SE*{}*", count + 1), 1),
        1,
    );
    std::fs::write(&path, wrong).unwrap();
    let out = std::process::Command::new("x12valid")
        .arg(&path)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains(": Failure") && report.contains("SE count"),
        "{report}"
    );
}

/// An 837 of `n` generated claims from the shipped X12 partner's writer.
fn an_837(n: u64) -> (Vec<Claim>, String) {
    let (claims, _) = generated(n);
    let bytes = partner_file::write(&partner("summit-clearinghouse"), &plans(), &claims)
        .expect("an 837 of generated claims");
    (claims, String::from_utf8(bytes).expect("an 837 is ASCII"))
}

fn take_837(text: &str) -> FileIntake {
    let got = intake::intake(&partner("summit-clearinghouse"), &plans(), text.as_bytes());
    reconciles(&got);
    got
}

/// The position (ISA = 1) of the first segment starting with `prefix`.
fn position(text: &str, prefix: &str) -> u64 {
    text.split('~')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .position(|s| s.starts_with(prefix))
        .expect("the segment is there") as u64
        + 1
}

#[test]
fn an_837_with_a_bad_envelope_or_hierarchy_is_refused_with_the_segment() {
    let (_, text) = an_837(40);
    // A transaction set whose SE count is off.
    let se = text.lines().find(|l| l.starts_with("SE*")).unwrap();
    let n: u32 = se.split('*').nth(1).unwrap().parse().unwrap();
    let wrong = text.replacen(
        se,
        &se.replacen(&format!("SE*{n}*"), &format!("SE*{}*", n - 1), 1),
        1,
    );
    let got = take_837(&wrong);
    let r = refused(&got);
    assert_eq!(
        (r.code, r.line),
        (Code::TotalsMismatch, position(&text, "SE*"))
    );
    // Cut short anywhere.
    assert_eq!(
        refused(&take_837(&text[..text.len() / 2])).code,
        Code::Truncated
    );
    // A subscriber loop whose parent is not there.
    let broken = text.replacen("HL*2*1*22*0", "HL*2*9*22*0", 1);
    let r = refused(&take_837(&broken)).clone();
    assert_eq!(r.code, Code::Envelope);
    assert!(r.reason.contains("parent HL 9"), "{}", r.reason);
    // Not a professional 837.
    let institutional = text.replace("005010X222A1", "005010X223A2");
    assert_eq!(refused(&take_837(&institutional)).code, Code::Envelope);
}

#[test]
fn a_bad_value_in_an_837_rejects_its_claim_at_the_clm_segment() {
    let (claims, text) = an_837(30);
    let first = format!("CLM*{}*", claims[0].id);
    let clm = text.lines().find(|l| l.starts_with(&first)).unwrap();
    let billed = clm.split('*').nth(2).unwrap();
    let bad = text.replacen(clm, &clm.replacen(&format!("*{billed}*"), "*12.345*", 1), 1);
    // The unknown filing indicator of the second claim's subscriber.
    let second = text.match_indices("SBR*P*18*").nth(1).unwrap().0;
    let sbr_end = second + text[second..].find('~').unwrap();
    let sbr = &text[second..sbr_end];
    let filing = sbr.rsplit('*').next().unwrap();
    let bad = format!(
        "{}{}{}",
        &bad[..bad.find(sbr).unwrap()],
        sbr.replacen(&format!("*{filing}"), "*XX", 1),
        &bad[bad.find(sbr).unwrap() + sbr.len()..]
    );
    let got = take_837(&bad);
    assert_eq!(got.status, Status::Accepted);
    let seen: Vec<(u64, &str, Code)> = got
        .rejects
        .iter()
        .map(|r| (r.line, r.field.as_str(), r.code))
        .collect();
    assert_eq!(
        seen[0],
        (position(&text, &first), "billed", Code::TooManyDecimals)
    );
    assert_eq!((seen[1].1, seen[1].2), ("stream", Code::UnknownCode));
    // Each names the loop path its value came from.
    assert_eq!(got.rejects[0].source, "2300.CLM02");
    assert_eq!(got.rejects[1].source, "2000B.SBR09");
    assert_eq!((got.totals.received, got.totals.rejected), (30, 2));
    // An 837 mapping naming a field this reader does not have is told the names.
    let m = std::fs::read_to_string("../workflows/partners/summit-clearinghouse.yaml").unwrap();
    let e = mapping::parse(Path::new("s.yaml"), &m.replace("2300.CLM02", "2300.CLM99"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`2300.CLM99` is not an 837 professional field") && e.contains("2300.CLM02"),
        "{e}"
    );
}

#[test]
fn an_institutional_837_is_read_by_its_own_guide_and_a_professional_one_is_refused() {
    let (claims, canonical) = generated(400);
    let hospital = partner("lakeside-hospital");
    let file = partner_file::write(&hospital, &plans(), &claims).expect("written");
    let text = String::from_utf8(file).expect("text");
    assert!(text.contains("GS*HC*") && text.contains("*005010X223A2~"));
    assert!(text.contains("\nSV2*0510*HC:") && text.contains("\nCL1*"));
    let got = intake::intake(&hospital, &plans(), text.as_bytes());
    reconciles(&got);
    assert_eq!(got.status, Status::Accepted);
    assert!(
        got.claims_csv == canonical,
        "the claims came back different"
    );

    // A professional file sent to the hospital's mapping: the guide is named, nothing taken.
    let professional =
        partner_file::write(&partner("summit-clearinghouse"), &plans(), &claims).expect("written");
    let got = intake::intake(&hospital, &plans(), &professional);
    reconciles(&got);
    let why = refused(&got);
    assert_eq!(why.code, Code::Envelope);
    assert!(
        why.reason.contains("005010X222A1")
            && why.reason.contains("837 professional")
            && why
                .reason
                .contains("reads 837 institutional (005010X223A2)"),
        "{}",
        why.reason
    );

    // A facility type the hospital's table does not know rejects that claim, named by its
    // loop path; the others are taken.
    let first_clm = text
        .lines()
        .find(|l| l.starts_with("CLM*"))
        .expect("a claim");
    let facility = first_clm
        .split('*')
        .nth(5)
        .expect("CLM05")
        .split(':')
        .next()
        .unwrap();
    let odd = first_clm.replacen(&format!("*{facility}:A:"), "*99:A:", 1);
    let got = intake::intake(
        &hospital,
        &plans(),
        text.replacen(first_clm, &odd, 1).as_bytes(),
    );
    reconciles(&got);
    assert_eq!(got.status, Status::Accepted);
    assert_eq!(got.totals.rejected, 1);
    assert_eq!(got.rejects[0].field, "place_of_service");
    assert_eq!(got.rejects[0].code, Code::UnknownCode);
    assert_eq!(got.rejects[0].source, "2300.CLM05-1");

    // A professional field in an institutional mapping is told the institutional names.
    let m = std::fs::read_to_string("../workflows/partners/lakeside-hospital.yaml").unwrap();
    let e = mapping::parse(
        Path::new("h.yaml"),
        &m.replace("2400.SV202-2", "2400.SV101-2"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`2400.SV101-2` is not an 837 institutional field")
            && e.contains("2400.SV202-2"),
        "{e}"
    );
}
