//! The checkpointed adjudication loop one partition (pass 1) or pass 2 runs.
//!
//! Every K input claims it commits a checkpoint: the output files are flushed and synced,
//! then `checkpoint.json` is replaced atomically with the position and the length of every
//! output. A run that starts and finds a checkpoint cuts the outputs back to those lengths,
//! rebuilds its state from what was committed (the accumulator change log is replayed; the
//! duplicate index and referenced results are rebuilt from the committed result lines) and
//! goes on from the position. So a kill anywhere costs fewer than K claims of work and an
//! accumulator change is never applied twice.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::checkpoint::{self, Checkpoint};
use super::error::{At, PipelineError, Result};
use super::layout;
use super::monitor;
use super::progress::Progress;
use super::setup::read_members_bin;
use crate::io::binary::{self, CHANGE_SIZE, CLAIM_SIZE, Change, RecordReader};
use crate::io::results;
use crate::model::Claim;
use crate::plans::Plans;
use crate::rules::hash::{FxHashMap, FxHashSet};
use crate::rules::{AccState, DupIndex, DupKey, RefResult, RefResults, Status, adjudicate};

pub const DEFERRED_SIZE: usize = CLAIM_SIZE + 8;

/// One run of the loop.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Name in logs and events (`p01`, `pass2`, `serial`).
    pub name: String,
    /// The input claims (fixed records, in claim order).
    pub input: PathBuf,
    /// Where the outputs and the checkpoint go.
    pub dir: PathBuf,
    /// The accumulator pre-load (members.bin).
    pub members: PathBuf,
    /// Families whose claims are deferred, with why (pass 1); empty: adjudicate everything.
    pub deferred: Option<PathBuf>,
    /// Result lines of earlier claims this input references (pass 2: pass 1's results).
    pub refs_seed: Option<PathBuf>,
    pub checkpoint_every: u64,
    pub monitor_every: u64,
    /// Crash injection for tests: stop after this many claims (after any checkpoint due at
    /// that claim) without another checkpoint, leaving a torn line at the end of the
    /// results as a kill mid-write would.
    pub stop_after: Option<u64>,
    /// Set by whoever runs this on a thread to stop it as a kill would (checked every
    /// 1,024 claims; the last checkpoint stands).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub position: u64,
    pub adjudicated: u64,
    pub deferred: u64,
    pub exceptions: u64,
    pub high_exception_mode: bool,
    pub restarts: u64,
    /// The checkpoint position this invocation started from.
    pub resumed_from: u64,
}

/// Whether every output in `dir` holds at least what checkpoint `ck` committed.
pub fn holds_checkpoint(dir: &Path, ck: &Checkpoint) -> bool {
    let len = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    len(layout::RESULTS) >= ck.results_bytes
        && len(layout::DEFERRED) >= ck.deferred_records * DEFERRED_SIZE as u64
        && len(layout::EXCEPTIONS) >= ck.exceptions_bytes
        && len(layout::CHANGES) >= ck.change_records * CHANGE_SIZE as u64
        && len(layout::EVENTS) >= ck.events_bytes
}

fn truncate(path: &Path, len: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .at(path)?;
    f.set_len(len).at(path)?;
    f.sync_all().at(path)
}

fn append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .at(path)
}

struct Outputs {
    results: BufWriter<File>,
    deferred: BufWriter<File>,
    exceptions: File,
    exception_batch: Vec<u8>,
    changes: BufWriter<File>,
    events: File,
    results_bytes: u64,
    deferred_records: u64,
    exceptions_bytes: u64,
    change_records: u64,
    events_bytes: u64,
}

impl Outputs {
    fn flush_exceptions(&mut self, path: &Path) -> Result<()> {
        if !self.exception_batch.is_empty() {
            self.exceptions.write_all(&self.exception_batch).at(path)?;
            self.exception_batch.clear();
        }
        Ok(())
    }

    fn sync(&mut self, dir: &Path) -> Result<()> {
        self.flush_exceptions(dir)?;
        for w in [&mut self.results, &mut self.deferred, &mut self.changes] {
            w.flush().at(dir)?;
            w.get_ref().sync_data().at(dir)?;
        }
        self.exceptions.sync_data().at(dir)?;
        self.events.sync_data().at(dir)
    }
}

/// The claim ids this input references (results to keep).
fn references(input: &Path) -> Result<(FxHashSet<u64>, FxHashSet<u32>)> {
    let mut r = RecordReader::<CLAIM_SIZE>::open(input, 0).at(input)?;
    let mut ids = FxHashSet::default();
    let mut families = FxHashSet::default();
    while let Some(b) = r.next_record().at(input)? {
        let c = binary::decode_claim(&b);
        ids.extend(c.references());
        families.insert(c.family);
    }
    Ok((ids, families))
}

/// Runs (or resumes, or confirms done) one partition or pass.
pub fn run(spec: &Spec, plans: &Plans, progress: &dyn Progress) -> Result<Summary> {
    std::fs::create_dir_all(&spec.dir).at(&spec.dir)?;
    let ck_path = spec.dir.join(layout::CHECKPOINT);
    let mut ck = checkpoint::load(&ck_path)?.unwrap_or_default();
    if ck.done {
        return Ok(Summary {
            position: ck.position,
            adjudicated: ck.adjudicated,
            deferred: ck.deferred_records,
            exceptions: ck.exceptions,
            high_exception_mode: ck.high_exception_mode,
            restarts: ck.restarts,
            resumed_from: ck.position,
        });
    }
    let resumed = ck.position > 0 || spec.dir.join(layout::RESULTS).exists();
    if resumed {
        ck.restarts += 1;
    }
    let deferred_families: FxHashMap<u32, u32> = match &spec.deferred {
        Some(p) => super::setup::read_deferred_families(p)?,
        None => FxHashMap::default(),
    };
    let (wanted, mut families) = references(&spec.input)?;
    families.retain(|f| !deferred_families.contains_key(f));
    let rows = read_members_bin(&spec.members, |m| families.contains(&m.family))?;
    let mut acc = AccState::from_rows(&rows);
    drop(rows);
    let mut refs = RefResults::wanting(wanted);
    if let Some(seed) = &spec.refs_seed {
        let f = File::open(seed).at(seed)?;
        for line in BufReader::new(f).lines() {
            let line = line.at(seed)?;
            let o = results::parse_line(&line).ok_or_else(|| PipelineError::Corrupt {
                path: seed.clone(),
                message: format!("not a result line: {line}"),
            })?;
            refs.record(
                o.claim,
                RefResult {
                    member: o.member,
                    status: o.status,
                    plan_paid: o.plan_paid,
                },
            );
        }
    }
    // Sized once for the claims it may hold (paid ones: most): 7/8 of the input is a
    // hashbrown table of the input's size rounded up to a power of two, which is what
    // growing would reach anyway, without the doubling's transient copy.
    let claims = std::fs::metadata(&spec.input).at(&spec.input)?.len() / CLAIM_SIZE as u64;
    let mut dups = DupIndex::with_capacity(usize::try_from(claims - claims / 8).unwrap_or(0));

    // Cut every output back to the checkpoint and rebuild the state it committed.
    let p = |name| spec.dir.join(name);
    // A checkpoint copied while its stage ran (another host's save to the object store is
    // not a snapshot) may name more than the copied files hold; cutting back to it would pad
    // them with zeros. Such a checkpoint is not trusted: the stage starts over.
    if !holds_checkpoint(&spec.dir, &ck) {
        ck = Checkpoint {
            restarts: ck.restarts,
            ..Checkpoint::default()
        };
    }
    truncate(&p(layout::RESULTS), ck.results_bytes)?;
    truncate(
        &p(layout::DEFERRED),
        ck.deferred_records * DEFERRED_SIZE as u64,
    )?;
    truncate(&p(layout::EXCEPTIONS), ck.exceptions_bytes)?;
    truncate(&p(layout::CHANGES), ck.change_records * CHANGE_SIZE as u64)?;
    truncate(&p(layout::EVENTS), ck.events_bytes)?;
    if ck.position > 0 {
        let path = p(layout::CHANGES);
        let mut r = RecordReader::<CHANGE_SIZE>::open(&path, 0).at(&path)?;
        while let Some(b) = r.next_record().at(&path)? {
            let ch = binary::decode_change(&b);
            acc.apply(ch.member, ch.family, ch.deductible, ch.oop);
        }
        let rpath = p(layout::RESULTS);
        let mut lines = BufReader::new(File::open(&rpath).at(&rpath)?).lines();
        let mut r = RecordReader::<CLAIM_SIZE>::open(&spec.input, 0).at(&spec.input)?;
        for _ in 0..ck.position {
            let Some(b) = r.next_record().at(&spec.input)? else {
                break;
            };
            let c = binary::decode_claim(&b);
            if deferred_families.contains_key(&c.family) {
                continue;
            }
            let line = lines.next().transpose().at(&rpath)?.unwrap_or_default();
            let o = results::parse_line(&line)
                .filter(|o| o.claim == c.id)
                .ok_or_else(|| PipelineError::Corrupt {
                    path: rpath.clone(),
                    message: format!(
                        "the committed results do not match the input at claim {}",
                        c.id
                    ),
                })?;
            if o.status == Status::Paid {
                dups.insert(DupKey::of(&c));
            }
            refs.record(
                c.id,
                RefResult {
                    member: c.member,
                    status: o.status,
                    plan_paid: o.plan_paid,
                },
            );
        }
    }

    let mut out = Outputs {
        results: BufWriter::with_capacity(1 << 20, append(&p(layout::RESULTS))?),
        deferred: BufWriter::with_capacity(1 << 16, append(&p(layout::DEFERRED))?),
        exceptions: append(&p(layout::EXCEPTIONS))?,
        exception_batch: Vec::new(),
        changes: BufWriter::with_capacity(1 << 18, append(&p(layout::CHANGES))?),
        events: append(&p(layout::EVENTS))?,
        results_bytes: ck.results_bytes,
        deferred_records: ck.deferred_records,
        exceptions_bytes: ck.exceptions_bytes,
        change_records: ck.change_records,
        events_bytes: ck.events_bytes,
    };
    let resumed_from = ck.position;
    let mut input = RecordReader::<CLAIM_SIZE>::open(&spec.input, ck.position).at(&spec.input)?;
    let k = spec.checkpoint_every.max(1);
    let mut line = String::with_capacity(160);
    let mut this_run = 0u64;
    let mut since_progress = 0u64;
    if resumed && ck.restarts > 0 {
        tracing::info!(partition = %spec.name, position = ck.position, "resuming from checkpoint");
    }
    while let Some(b) = input.next_record().at(&spec.input)? {
        let c: Claim = binary::decode_claim(&b);
        if let Some(reasons) = deferred_families.get(&c.family) {
            out.deferred.write_all(&b).at(&spec.dir)?;
            out.deferred
                .write_all(&reasons.to_le_bytes())
                .at(&spec.dir)?;
            out.deferred.write_all(&[0u8; 4]).at(&spec.dir)?;
            out.deferred_records += 1;
        } else {
            let plan = plans.get(c.plan).ok_or_else(|| PipelineError::Corrupt {
                path: spec.input.clone(),
                message: format!(
                    "claim {} names plan #{} which this run did not load",
                    c.id, c.plan
                ),
            })?;
            let o = adjudicate(&c, plan, &mut acc, &mut dups, &mut refs);
            line.clear();
            results::write_line(&o, &mut line);
            out.results.write_all(line.as_bytes()).at(&spec.dir)?;
            out.results_bytes += line.len() as u64;
            ck.adjudicated += 1;
            if o.status == Status::Pended {
                ck.exceptions += 1;
                out.exceptions_bytes += line.len() as u64;
                if ck.high_exception_mode {
                    out.exception_batch.extend_from_slice(line.as_bytes());
                    if out.exception_batch.len() >= monitor::BATCH * 100 {
                        out.flush_exceptions(&spec.dir)?;
                    }
                } else {
                    out.exceptions.write_all(line.as_bytes()).at(&spec.dir)?;
                }
            }
            if o.status == Status::Paid && (o.deductible != 0 || o.member_share != 0) {
                let ch = Change {
                    member: c.member,
                    family: c.family,
                    deductible: o.deductible,
                    oop: o.member_share,
                };
                out.changes
                    .write_all(&binary::encode_change(&ch))
                    .at(&spec.dir)?;
                out.change_records += 1;
            }
            if let Some(ev) = monitor::check(
                &spec.name,
                ck.adjudicated,
                ck.exceptions,
                spec.monitor_every,
            ) {
                tracing::warn!(partition = %spec.name, at_claim = ev.at_claim, rate = ev.rate, "exception rate above 5%: high-exception mode");
                let mut text = serde_json::to_string(&ev).unwrap_or_default();
                text.push('\n');
                out.events.write_all(text.as_bytes()).at(&spec.dir)?;
                out.events_bytes += text.len() as u64;
                ck.high_exception_mode = true;
            }
        }
        ck.position += 1;
        this_run += 1;
        since_progress += 1;
        if since_progress == 16_384 {
            progress.advance(since_progress);
            since_progress = 0;
        }
        if ck.position.is_multiple_of(k) {
            commit(&mut out, &mut ck, &spec.dir, &ck_path)?;
        }
        let cancelled = this_run.is_multiple_of(1_024)
            && spec
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        if cancelled {
            return Err(PipelineError::Interrupted(this_run));
        }
        if spec.stop_after == Some(this_run) {
            // A kill: whatever was buffered may or may not have reached the disk, and the
            // last line may be torn. Write it all plus a torn line: the worst case.
            out.flush_exceptions(&spec.dir)?;
            out.results.write_all(b"9999999,torn").at(&spec.dir)?;
            let _ = out.sync(&spec.dir);
            return Err(PipelineError::Interrupted(this_run));
        }
    }
    progress.advance(since_progress);
    ck.done = true;
    commit(&mut out, &mut ck, &spec.dir, &ck_path)?;
    Ok(Summary {
        position: ck.position,
        adjudicated: ck.adjudicated,
        deferred: ck.deferred_records,
        exceptions: ck.exceptions,
        high_exception_mode: ck.high_exception_mode,
        restarts: ck.restarts,
        resumed_from,
    })
}

fn commit(out: &mut Outputs, ck: &mut Checkpoint, dir: &Path, ck_path: &Path) -> Result<()> {
    out.sync(dir)?;
    ck.results_bytes = out.results_bytes;
    ck.deferred_records = out.deferred_records;
    ck.exceptions_bytes = out.exceptions_bytes;
    ck.change_records = out.change_records;
    ck.events_bytes = out.events_bytes;
    checkpoint::commit(ck_path, ck)
}
