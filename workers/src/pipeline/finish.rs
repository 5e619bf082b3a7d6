//! Finish (CLMRECONCILE): the canonical output, in claim-id order (= received order), and
//! the reconciliation that proves it: every accepted claim adjudicated exactly once, rows
//! in = adjudicated + rejected, amounts balance line by line and in total, and the
//! accumulators end at the start plus everything applied. A failure names the first
//! claims (or members) that break it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Lines, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};

use super::error::{At, PipelineError, Result};
use super::layout;
use super::member_index::MemberIndex;
use super::merge::apply_changes;
use super::setup::{Manifest, read_members_bin};
use crate::io::binary::{self, CLAIM_SIZE, RecordReader};
use crate::io::results;
use crate::model::MemberRow;
use crate::model::money::format_money;
use crate::rules::{Reason, Status};

/// Where the finished stages left their files.
#[derive(Debug, Clone)]
pub struct Sources {
    pub manifest: Manifest,
    /// The accepted claims (partition input files), each in claim order.
    pub claims: Vec<PathBuf>,
    /// Every stage's results, exceptions and accumulator change log.
    pub stages: Vec<PathBuf>,
    pub start_members: PathBuf,
    pub rejects: PathBuf,
    pub deferred_list: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reconciliation {
    pub ok: bool,
    pub claim_rows: u64,
    pub accepted: u64,
    pub rejected_claims: u64,
    pub member_rows: u64,
    pub rejected_members: u64,
    pub adjudicated: u64,
    pub paid: u64,
    pub denied: u64,
    pub pended: u64,
    pub billed_cents: i64,
    pub allowed_cents: i64,
    pub plan_paid_cents: i64,
    pub patient_pays_cents: i64,
    pub deductible_start_cents: i64,
    pub deductible_applied_cents: i64,
    pub deductible_end_cents: i64,
    pub oop_start_cents: i64,
    pub oop_applied_cents: i64,
    pub oop_end_cents: i64,
    /// The first problems found (at most 20).
    pub failures: Vec<String>,
}

/// The reconciliation a finished run wrote to `out/reconciliation.json`; the error says
/// what to do when there is none.
pub fn read_reconciliation(out: &Path) -> Result<Reconciliation> {
    let path = out.join("reconciliation.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        PipelineError::Input(format!(
            "cannot read {}: {e}; run the reconcile job first",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| PipelineError::Corrupt {
        path,
        message: format!("not a reconciliation: {e}"),
    })
}

impl Reconciliation {
    fn fail(&mut self, message: String) {
        if self.failures.len() < 20 {
            self.failures.push(message);
        }
    }
}

/// Merges text files of result lines (each in claim order) into `out`, calling `visit` on
/// every line in order.
fn merge_lines(
    files: &[PathBuf],
    out: &Path,
    header: &str,
    mut visit: impl FnMut(&str) -> Result<()>,
) -> Result<u64> {
    let mut readers: Vec<Lines<BufReader<File>>> = Vec::new();
    for f in files {
        readers.push(BufReader::with_capacity(1 << 20, File::open(f).at(f)?).lines());
    }
    let mut heads: Vec<Option<String>> = Vec::with_capacity(files.len());
    let mut heap = BinaryHeap::new();
    let read = |r: &mut Lines<BufReader<File>>, path: &Path| -> Result<Option<(u64, String)>> {
        match r.next() {
            None => Ok(None),
            Some(l) => {
                let l = l.at(path)?;
                let id = results::claim_id(&l).ok_or_else(|| PipelineError::Corrupt {
                    path: path.to_path_buf(),
                    message: format!("not a result line: {l}"),
                })?;
                Ok(Some((id, l)))
            }
        }
    };
    for (i, r) in readers.iter_mut().enumerate() {
        match read(r, &files[i])? {
            Some((id, l)) => {
                heap.push(Reverse((id, i)));
                heads.push(Some(l));
            }
            None => heads.push(None),
        }
    }
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out).at(out)?);
    w.write_all(header.as_bytes()).at(out)?;
    let mut n = 0;
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(l) = heads[i].take() else { continue };
        visit(&l)?;
        w.write_all(l.as_bytes()).at(out)?;
        w.write_all(b"\n").at(out)?;
        n += 1;
        if let Some((id, nl)) = read(&mut readers[i], &files[i])? {
            heap.push(Reverse((id, i)));
            heads[i] = Some(nl);
        }
    }
    w.flush().at(out)?;
    Ok(n)
}

/// The accepted claim ids in order (k-way over the partition files).
struct ExpectedIds {
    readers: Vec<(RecordReader<CLAIM_SIZE>, PathBuf)>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl ExpectedIds {
    fn open(files: &[PathBuf]) -> Result<ExpectedIds> {
        let mut e = ExpectedIds {
            readers: Vec::new(),
            heap: BinaryHeap::new(),
        };
        for f in files {
            e.readers.push((RecordReader::open(f, 0).at(f)?, f.clone()));
        }
        for i in 0..e.readers.len() {
            e.refill(i)?;
        }
        Ok(e)
    }
    fn refill(&mut self, i: usize) -> Result<()> {
        let (r, p) = &mut self.readers[i];
        if let Some(b) = r.next_record().at(p)? {
            self.heap.push(Reverse((binary::decode_claim(&b).id, i)));
        }
        Ok(())
    }
    fn peek(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((id, _))| *id)
    }
    fn next_id(&mut self) -> Result<Option<u64>> {
        match self.heap.pop() {
            None => Ok(None),
            Some(Reverse((id, i))) => {
                self.refill(i)?;
                Ok(Some(id))
            }
        }
    }
}

/// Writes OUT/ and reconciles; the report is also written to OUT/reconciliation.json.
pub fn run(src: &Sources, out: &Path) -> Result<Reconciliation> {
    std::fs::create_dir_all(out).at(out)?;
    let m = &src.manifest;
    let mut rec = Reconciliation {
        claim_rows: m.claim_rows,
        accepted: m.accepted,
        rejected_claims: m.rejected_claims,
        member_rows: m.member_rows,
        rejected_members: m.rejected_members,
        ..Reconciliation::default()
    };
    // The member table once: the accumulator thread applies the change logs to it, the
    // result checks add what each paid claim applied into one slot per member (atomics:
    // the stages' threads share it; 16 bytes a member, not a map per stage).
    let mut members = read_members_bin(&src.start_members, |_| true)?;
    let start: Vec<(i64, i64)> = members
        .iter()
        .map(|m| (m.deductible_ytd, m.oop_ytd))
        .collect();
    let index = super::member_index::MemberIndex::new(&members);
    let applied: Vec<Applied> = (0..members.len()).map(|_| Applied::default()).collect();
    let (checked, accumulated) = std::thread::scope(|scope| {
        // The accumulators (changes applied, written) on one thread while the results are
        // merged on this one and checked on threads of their own.
        let acc = scope.spawn(|| accumulate(src, out, &mut members, &index));
        let checked = check_results(src, out, &mut rec, &index, &applied);
        let accumulated = acc.join().unwrap_or_else(|_| {
            Err(PipelineError::Input(
                "the accumulator thread panicked".into(),
            ))
        });
        (checked, accumulated)
    });
    checked?;
    accumulated?;
    drop(index);
    rec.deductible_start_cents = start.iter().map(|x| x.0).sum();
    rec.oop_start_cents = start.iter().map(|x| x.1).sum();
    rec.deductible_end_cents = members.iter().map(|m| m.deductible_ytd).sum();
    rec.oop_end_cents = members.iter().map(|m| m.oop_ytd).sum();
    if rec.deductible_end_cents != rec.deductible_start_cents + rec.deductible_applied_cents
        || rec.oop_end_cents != rec.oop_start_cents + rec.oop_applied_cents
    {
        rec.fail("accumulator totals ≠ start + applied".into());
    }
    for ((mrow, (d0, o0)), a) in members.iter().zip(&start).zip(&applied) {
        let (d, o) = a.get();
        if mrow.deductible_ytd != d0 + d || mrow.oop_ytd != o0 + o {
            rec.fail(format!(
                "member {}: accumulators end at start + changes logged, which differs from start + results",
                mrow.member
            ));
        }
    }
    write_changed(&out.join(layout::ACCUMULATORS_CHANGED), &members, &start)?;
    let rpath = out.join("rejects.csv");
    std::fs::copy(&src.rejects, &rpath).at(&rpath)?;
    if let Some(d) = &src.deferred_list {
        let p = out.join("deferred.csv");
        std::fs::copy(d, &p).at(&p)?;
    }
    rec.ok = rec.failures.is_empty();
    let jpath = out.join("reconciliation.json");
    let bytes = serde_json::to_vec_pretty(&rec).map_err(|e| PipelineError::Corrupt {
        path: jpath.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&jpath, bytes).at(&jpath)?;
    Ok(rec)
}

/// What one stage's result lines add up to: checked line by line on a thread of its own
/// (the parsing is most of reconciliation's work), while the merge in claim order only
/// matches ids.
#[derive(Debug, Default)]
struct StageCheck {
    adjudicated: u64,
    paid: u64,
    denied: u64,
    pended: u64,
    billed_cents: i64,
    allowed_cents: i64,
    plan_paid_cents: i64,
    patient_pays_cents: i64,
    deductible_applied_cents: i64,
    oop_applied_cents: i64,
    failures: Vec<String>,
}

/// What the results applied to one member: (deductible, OOP) cents.
#[derive(Debug, Default)]
struct Applied(AtomicI64, AtomicI64);

impl Applied {
    fn add(&self, deductible: i64, oop: i64) {
        self.0.fetch_add(deductible, Ordering::Relaxed);
        self.1.fetch_add(oop, Ordering::Relaxed);
    }
    fn get(&self) -> (i64, i64) {
        (
            self.0.load(Ordering::Relaxed),
            self.1.load(Ordering::Relaxed),
        )
    }
}

/// The member table's index and its per-member slots, shared by the checking threads.
#[derive(Clone, Copy)]
struct Slots<'a> {
    index: &'a MemberIndex,
    applied: &'a [Applied],
}

impl StageCheck {
    fn fail(&mut self, message: String) {
        if self.failures.len() < 20 {
            self.failures.push(message);
        }
    }

    /// Checks one result line and adds it up.
    fn line(&mut self, line: &str, last: &mut Option<u64>, slots: Slots<'_>) {
        let Some(o) = results::parse_line(line) else {
            self.fail(format!("unreadable result line `{line}`"));
            return;
        };
        match *last {
            // A repeat is reported by the merge, which sees every stage; counted once here.
            Some(prev) if prev == o.claim => return,
            Some(prev) if prev > o.claim => {
                self.fail(format!(
                    "claim {} comes after claim {prev} in its stage's results (not in claim order)",
                    o.claim
                ));
            }
            _ => {}
        }
        *last = Some(o.claim);
        self.adjudicated += 1;
        self.billed_cents += o.billed;
        self.allowed_cents += o.allowed;
        self.plan_paid_cents += o.plan_paid;
        self.patient_pays_cents += o.patient_pays;
        match o.status {
            Status::Paid => self.paid += 1,
            Status::Denied => self.denied += 1,
            Status::Pended => self.pended += 1,
        }
        if o.status == Status::Paid {
            if o.member_share != o.deductible + o.copay + o.coinsurance {
                self.fail(format!(
                    "claim {}: member share ≠ deductible + copay + coinsurance",
                    o.claim
                ));
            }
            let owed = if o.reasons.has(Reason::CobSecondary) {
                (o.allowed - o.cob_primary_paid).max(0)
            } else {
                o.allowed
            };
            if o.plan_paid + o.patient_pays != owed || o.allowed > o.billed || o.plan_paid < 0 {
                self.fail(format!(
                    "claim {}: amounts do not balance (allowed {}, plan paid {}, patient pays {})",
                    o.claim, o.allowed, o.plan_paid, o.patient_pays
                ));
            }
            if o.deductible != 0 || o.member_share != 0 {
                match slots.index.get(o.member).and_then(|i| slots.applied.get(i)) {
                    Some(a) => a.add(o.deductible, o.member_share),
                    None => self.fail(format!(
                        "claim {}: member {} is not in the accumulator table",
                        o.claim, o.member
                    )),
                }
            }
            self.deductible_applied_cents += o.deductible;
            self.oop_applied_cents += o.member_share;
        } else if o.plan_paid != 0 || o.member_share != 0 {
            self.fail(format!(
                "claim {} is {} but has amounts",
                o.claim,
                o.status.word()
            ));
        }
    }

    /// Adds `other` (another stage) into this one.
    fn absorb(&mut self, other: StageCheck) {
        self.adjudicated += other.adjudicated;
        self.paid += other.paid;
        self.denied += other.denied;
        self.pended += other.pended;
        self.billed_cents += other.billed_cents;
        self.allowed_cents += other.allowed_cents;
        self.plan_paid_cents += other.plan_paid_cents;
        self.patient_pays_cents += other.patient_pays_cents;
        self.deductible_applied_cents += other.deductible_applied_cents;
        self.oop_applied_cents += other.oop_applied_cents;
        for f in other.failures {
            self.fail(f);
        }
    }
}

fn check_stage(path: &Path, slots: Slots<'_>) -> Result<StageCheck> {
    let mut check = StageCheck::default();
    let mut last = None;
    let reader = BufReader::with_capacity(1 << 20, File::open(path).at(path)?);
    for line in reader.lines() {
        check.line(&line.at(path)?, &mut last, slots);
    }
    Ok(check)
}

/// Merges and checks the results (and exceptions); what they applied goes to `applied`,
/// one slot per member of the table `index` indexes.
fn check_results(
    src: &Sources,
    out: &Path,
    rec: &mut Reconciliation,
    index: &MemberIndex,
    applied: &[Applied],
) -> Result<()> {
    let slots = Slots { index, applied };
    let m = &src.manifest;
    let result_files: Vec<PathBuf> = src.stages.iter().map(|d| d.join(layout::RESULTS)).collect();
    let (merged, stages) = std::thread::scope(|scope| {
        let checks: Vec<_> = result_files
            .iter()
            .map(|f| scope.spawn(move || check_stage(f, slots)))
            .collect();
        let merged = match_ids(src, &result_files, out, rec);
        let stages: Vec<Result<StageCheck>> = checks
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PipelineError::Input(
                        "a result-checking thread panicked".into(),
                    ))
                })
            })
            .collect();
        (merged, stages)
    });
    merged?;
    let mut total = StageCheck::default();
    for stage in stages {
        total.absorb(stage?);
    }
    rec.adjudicated = total.adjudicated;
    rec.paid = total.paid;
    rec.denied = total.denied;
    rec.pended = total.pended;
    rec.billed_cents = total.billed_cents;
    rec.allowed_cents = total.allowed_cents;
    rec.plan_paid_cents = total.plan_paid_cents;
    rec.patient_pays_cents = total.patient_pays_cents;
    rec.deductible_applied_cents = total.deductible_applied_cents;
    rec.oop_applied_cents = total.oop_applied_cents;
    for f in std::mem::take(&mut total.failures) {
        rec.fail(f);
    }
    if rec.claim_rows != rec.accepted + rec.rejected_claims {
        rec.fail(format!(
            "{} claim rows read but {} accepted + {} rejected",
            rec.claim_rows, rec.accepted, rec.rejected_claims
        ));
    }
    if rec.adjudicated != rec.accepted {
        rec.fail(format!(
            "{} claims accepted but {} adjudicated",
            rec.accepted, rec.adjudicated
        ));
    }
    if rec.billed_cents != m.accepted_billed_cents {
        rec.fail(format!(
            "billed total {} adjudicated, {} accepted",
            rec.billed_cents, m.accepted_billed_cents
        ));
    }

    let exc_files: Vec<PathBuf> = src
        .stages
        .iter()
        .map(|d| d.join(layout::EXCEPTIONS))
        .collect();
    let mut exceptions = 0u64;
    merge_lines(
        &exc_files,
        &out.join("exceptions.csv"),
        results::HEADER,
        |_| {
            exceptions += 1;
            Ok(())
        },
    )?;
    if exceptions != rec.pended {
        rec.fail(format!(
            "{exceptions} exceptions written but {} claims pended",
            rec.pended
        ));
    }

    Ok(())
}

/// Writes `adjudicated.csv` in claim order (k-way over the stages' results) and matches the
/// ids against the accepted claims: each adjudicated exactly once.
fn match_ids(
    src: &Sources,
    result_files: &[PathBuf],
    out: &Path,
    rec: &mut Reconciliation,
) -> Result<()> {
    let mut expected = ExpectedIds::open(&src.claims)?;
    let mut last: Option<u64> = None;
    merge_lines(
        result_files,
        &out.join("adjudicated.csv"),
        results::HEADER,
        |line| {
            // merge_lines has read the id already; a line without one stopped it.
            let Some(claim) = results::claim_id(line) else {
                return Ok(());
            };
            if last == Some(claim) {
                rec.fail(format!("claim {claim} is adjudicated more than once"));
                return Ok(());
            }
            last = Some(claim);
            loop {
                match expected.peek() {
                    Some(id) if id == claim => {
                        expected.next_id()?;
                        break;
                    }
                    Some(id) if id < claim => {
                        expected.next_id()?;
                        rec.fail(format!("claim {id} was accepted but never adjudicated"));
                    }
                    _ => {
                        rec.fail(format!("claim {claim} is adjudicated but was not accepted"));
                        break;
                    }
                }
            }
            Ok(())
        },
    )?;
    while let Some(id) = expected.next_id()? {
        rec.fail(format!("claim {id} was accepted but never adjudicated"));
    }
    Ok(())
}

/// The members whose accumulators changed, with what they started from: what the
/// orchestrator posts to the store (`ytd.rs`). Money in cents, as the store keeps it.
fn write_changed(path: &Path, members: &[MemberRow], start: &[(i64, i64)]) -> Result<()> {
    use std::fmt::Write as _;
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).at(path)?);
    w.write_all(super::ytd::CHANGED_HEADER.as_bytes())
        .at(path)?;
    let mut line = String::with_capacity(64);
    for (m, (d0, o0)) in members.iter().zip(start) {
        if m.deductible_ytd != *d0 || m.oop_ytd != *o0 {
            line.clear();
            let _ = writeln!(
                line,
                "{},{},{d0},{o0},{},{}",
                m.member, m.family, m.deductible_ytd, m.oop_ytd
            );
            w.write_all(line.as_bytes()).at(path)?;
        }
    }
    w.flush().at(path)
}

/// Start accumulators (`members`, as read) + every committed change log →
/// OUT/accumulators.csv; `members` ends as the final rows.
fn accumulate(
    src: &Sources,
    out: &Path,
    members: &mut [MemberRow],
    index: &MemberIndex,
) -> Result<()> {
    for d in &src.stages {
        apply_changes(&d.join(layout::CHANGES), members, index)?;
    }
    let apath = out.join("accumulators.csv");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&apath).at(&apath)?);
    w.write_all(b"member,family,deductible_ytd,oop_ytd\n")
        .at(&apath)?;
    let mut line = String::with_capacity(64);
    for mrow in members.iter() {
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(line, "{},{},", mrow.member, mrow.family);
        format_money(mrow.deductible_ytd, &mut line);
        line.push(',');
        format_money(mrow.oop_ytd, &mut line);
        line.push('\n');
        w.write_all(line.as_bytes()).at(&apath)?;
    }
    w.flush().at(&apath)?;
    Ok(())
}
