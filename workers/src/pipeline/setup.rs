//! Setup (CLMSETUP): read the input once, reject bad rows, split the accepted claims into
//! partition files, write the accumulator pre-load, and decide which families pass 1 defers.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::defer::{Analysis, Located};
use super::error::{At, PipelineError, Result};
use super::layout::{self, Layout};
use super::partition::{self, Boundaries, Range};
use super::progress::Progress;
use crate::io::binary::{self, CLAIM_SIZE, ClaimWriter, RecordReader};
use crate::io::csv_rows::{self, Row};
use crate::io::parallel_csv::{self, ReadError};
use crate::io::reject::{Reject, RejectWriter};
use crate::io::{claims_csv, members_csv};
use crate::model::{Claim, MemberRow};
use crate::plans::Plans;
use crate::rules::hash::FxHashMap;

pub const CLAIMS_FILE: &str = "claims.csv";
pub const MEMBERS_FILE: &str = "members.csv";

/// What setup found; later stages and reconciliation read it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub boundaries: Boundaries,
    pub plans: Vec<String>,
    pub claim_rows: u64,
    pub accepted: u64,
    pub rejected_claims: u64,
    pub member_rows: u64,
    pub rejected_members: u64,
    pub accepted_billed_cents: i64,
    pub partition_claims: Vec<u64>,
    pub group_claims: Vec<u64>,
    pub deferred_families: u64,
    /// Members started from the store's accumulators rather than the feed's, and store
    /// rows for members the feed does not list (both 0 without a store export).
    #[serde(default)]
    pub ytd: super::ytd::Applied,
}

pub fn read_manifest(setup_dir: &Path) -> Result<Manifest> {
    let path = setup_dir.join(layout::MANIFEST);
    let bytes = std::fs::read(&path).at(&path)?;
    serde_json::from_slice(&bytes).map_err(|e| PipelineError::Corrupt {
        path,
        message: e.to_string(),
    })
}

/// How setup splits the work.
#[derive(Debug, Clone)]
pub enum Split {
    /// One partition, nothing deferred: the serial run.
    Serial,
    /// Compute balanced boundaries for this many partitions from the claims' PCP groups.
    Balanced(usize),
    /// Use these boundaries.
    Given(Boundaries),
}

/// Most fields a row of either file has.
pub(crate) const MAX_FIELDS: usize = 24;

/// A row's fields as text, on the stack (no allocation per row: 62M rows at month-end);
/// the count, or what is wrong: too many fields, or field `i` not UTF-8.
pub(crate) fn fields<'a>(
    rec: &'a Row<'_>,
    columns: &[&'static str],
    out: &mut [&'a str; MAX_FIELDS],
) -> std::result::Result<usize, claims_csv::FieldError> {
    if rec.len() > MAX_FIELDS {
        return Err(claims_csv::FieldError {
            field: "row",
            reason: format!("{} fields, expected {}", rec.len(), columns.len()),
        });
    }
    for (i, f) in rec.iter().enumerate() {
        out[i] = std::str::from_utf8(f).map_err(|_| claims_csv::FieldError {
            field: columns.get(i).copied().unwrap_or("row"),
            reason: "not UTF-8".into(),
        })?;
    }
    Ok(rec.len())
}

/// The read options: one parsing thread per core, production block and row sizes (or the
/// block size [`with_csv_block`] set for this thread).
pub(crate) fn read_options() -> parallel_csv::Options {
    let mut o = parallel_csv::Options::with_threads(parse_threads());
    if let Some(block) = CSV_BLOCK.with(std::cell::Cell::get) {
        o.block = block;
    }
    o
}

thread_local! {
    static CSV_BLOCK: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with setup reading its CSV files in blocks of `bytes` on this thread. The batch
/// impact test runs a 10% sample as a scale model of the full run: with blocks a tenth the
/// size, the sample's files are cut into as many blocks as the full ones, so they are parsed
/// on as many threads (with production blocks a sample is one block on one thread, and its
/// time per claim overstates the full run's by a third). The rows are the same either way.
pub fn with_csv_block<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
    let before = CSV_BLOCK.with(|b| b.replace(Some(bytes.max(1))));
    let out = f();
    CSV_BLOCK.with(|b| b.set(before));
    out
}

/// A read that stopped, as the pipeline's error (a row too long is a file-level problem).
pub(crate) fn read_error(path: &Path, e: ReadError) -> PipelineError {
    match e {
        ReadError::Io(source) => PipelineError::Io {
            path: path.to_path_buf(),
            source,
        },
        ReadError::RowTooLong { line, max } => PipelineError::Input(format!(
            "{}:{line}: a row longer than {max} bytes starts here (a quote that is never \
             closed?); nothing after it can be read",
            path.display()
        )),
    }
}

/// Where the `wanted` claims of partition file `path` (partition `p`) are.
fn locate(
    path: &Path,
    p: usize,
    wanted: &crate::rules::hash::FxHashSet<u64>,
    found: &mut FxHashMap<u64, Located>,
) -> Result<()> {
    let mut rr = RecordReader::<CLAIM_SIZE>::open(path, 0).at(path)?;
    while let Some(b) = rr.next_record().at(path)? {
        let c = binary::decode_claim(&b);
        if wanted.contains(&c.id) {
            found.insert(
                c.id,
                Located {
                    partition: u8::try_from(p).unwrap_or(u8::MAX),
                    member: c.member,
                    family: c.family,
                },
            );
        }
    }
    Ok(())
}

/// Why a row cannot be accepted (its bytes as read come with it from the reader).
type Rejected = claims_csv::FieldError;

/// Threads that parse CSV blocks while this one consumes them: one per core.
fn parse_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Where the rows of a CSV file start, after its header is checked: (byte, line). The
/// header is the file's first row, after a UTF-8 byte order mark (skipped) and empty lines;
/// its fields are compared trimmed of ASCII whitespace.
pub(crate) fn body_start(path: &Path, columns: &[&str]) -> Result<(u64, u64)> {
    use std::io::Read;
    let max = parallel_csv::MAX_ROW;
    let mut head = Vec::new();
    File::open(path)
        .at(path)?
        .take(2 * max as u64)
        .read_to_end(&mut head)
        .at(path)?;
    let bom = if head.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    let text = &head[bom..];
    let Some(end) = header_end(text) else {
        let what = if text.iter().all(|b| *b == b'\n' || *b == b'\r') {
            "the file is empty".to_string()
        } else {
            format!("no header row in the first {} bytes", 2 * max)
        };
        return Err(PipelineError::Input(format!(
            "{}:1: {what}; the header must be `{}`",
            path.display(),
            columns.join(",")
        )));
    };
    let mut header: Option<(u64, Vec<String>)> = None;
    let _ = csv_rows::read_rows(&text[..end], max, |before, row| {
        let f = row
            .iter()
            .map(|h| String::from_utf8_lossy(h.trim_ascii()).into_owned());
        header.get_or_insert_with(|| (before + 1, f.collect()));
    });
    let (line, header) = header.unwrap_or((1, Vec::new()));
    if header != columns {
        return Err(PipelineError::Input(format!(
            "{}:{line}: the header is `{}`; it must be `{}`",
            path.display(),
            header.join(","),
            columns.join(",")
        )));
    }
    Ok(((bom + end) as u64, 1 + csv_rows::line_ends(&text[..end])))
}

/// Just past the header's line end in `text`; `None` for no header in the buffer.
fn header_end(text: &[u8]) -> Option<usize> {
    let end = csv_rows::first_row_end(text)?;
    // A header that runs to the end of a full buffer may go on past it.
    (end < text.len() || text.len() < 2 * parallel_csv::MAX_ROW).then_some(end)
}

/// Reads `members.csv`: rows sorted by member id; bad or repeated rows rejected.
pub fn read_members(
    path: &Path,
    plans: &Plans,
    rejects: &mut RejectWriter,
) -> Result<(Vec<MemberRow>, u64)> {
    let body = body_start(path, &members_csv::COLUMNS)?;
    let mut rows: Vec<(MemberRow, u64)> = Vec::new();
    let mut total = 0u64;
    let parse = |rec: &Row<'_>| -> std::result::Result<MemberRow, Rejected> {
        let mut f = [""; MAX_FIELDS];
        fields(rec, &members_csv::COLUMNS, &mut f)
            .and_then(|n| members_csv::parse_row(&f[..n], plans))
    };
    parallel_csv::for_each(
        path,
        body.0,
        body.1,
        &read_options(),
        parse,
        |line, raw, parsed| {
            total += 1;
            match parsed {
                Ok(m) => rows.push((m, line)),
                Err(e) => rejects
                    .write(&Reject {
                        file: MEMBERS_FILE.into(),
                        line,
                        field: e.field.into(),
                        reason: e.reason,
                        row: raw.to_vec(),
                    })
                    .at(path)?,
            }
            Ok(())
        },
        |e| read_error(path, e),
    )?;
    // Sorted in place by (member, line): a repeated member keeps its first row. No second
    // copy of the table (12M members at month-end).
    rows.sort_unstable_by_key(|(m, line)| (m.member, *line));
    let mut out: Vec<MemberRow> = Vec::with_capacity(rows.len());
    let mut repeated: Vec<(u64, u32)> = Vec::new();
    for (m, line) in rows {
        if out.last().is_some_and(|x| x.member == m.member) {
            repeated.push((line, m.member));
        } else {
            out.push(m);
        }
    }
    if !repeated.is_empty() {
        // Rare: the rows as read are not kept (12M of them), so read again for these.
        let lines: std::collections::BTreeSet<u64> = repeated.iter().map(|r| r.0).collect();
        let raw = raw_rows(path, body, &lines)?;
        for (line, member) in repeated {
            rejects
                .write(&Reject {
                    file: MEMBERS_FILE.into(),
                    line,
                    field: "member".into(),
                    reason: format!(
                        "member {member} is listed more than once; the first row is used"
                    ),
                    row: raw.get(&line).cloned().unwrap_or_default(),
                })
                .at(path)?;
        }
    }
    Ok((out, total))
}

/// The bytes as read of the rows of `path` starting on `lines`.
fn raw_rows(
    path: &Path,
    body: (u64, u64),
    lines: &std::collections::BTreeSet<u64>,
) -> Result<FxHashMap<u64, Vec<u8>>> {
    let mut found = FxHashMap::default();
    parallel_csv::for_each(
        path,
        body.0,
        body.1,
        &read_options(),
        |_: &Row<'_>| (),
        |line, raw, ()| {
            if lines.contains(&line) {
                found.insert(line, raw.to_vec());
            }
            Ok(())
        },
        |e| read_error(path, e),
    )?;
    Ok(found)
}

/// Claims per PCP group (index = group − 1), reading only the group column.
pub fn count_groups(claims: &Path, min_groups: usize) -> Result<Vec<u64>> {
    let body = body_start(claims, &claims_csv::COLUMNS)?;
    let mut counts = vec![0u64; min_groups];
    parallel_csv::for_each(
        claims,
        body.0,
        body.1,
        &read_options(),
        |rec: &Row<'_>| {
            rec.get(3)
                .and_then(|f| std::str::from_utf8(f).ok())
                .and_then(|s| claims_csv::pcp_group(s).ok())
        },
        |_, _, g| {
            if let Some(g) = g {
                let i = usize::from(g) - 1;
                if i >= counts.len() {
                    counts.resize(i + 1, 0);
                }
                counts[i] += 1;
            }
            Ok(())
        },
        |e| read_error(claims, e),
    )?;
    Ok(counts)
}

/// Above this size, setup balances partitions from a sample of the claims file.
pub const SAMPLE_ABOVE: u64 = 512 << 20;
/// Windows read evenly over the file, and the bytes of each.
const SAMPLE_WINDOWS: u64 = 128;
const SAMPLE_WINDOW: usize = 1 << 20;

/// Claims per PCP group (index = group − 1) estimated from `SAMPLE_WINDOWS` windows spread
/// evenly over the file (1.6 % of a 62M-claim file), for a file above `SAMPLE_ABOVE`; `None`
/// for a smaller one, which is counted whole. Why: balancing needs proportions, not exact
/// counts, and a whole extra pass over 8 GB cost 10–20 s of the month-end's 5 minutes. The
/// exact counts come from the claims pass itself (the manifest's `group_claims` and
/// `partition_claims`, from which the imbalance is reported). Rows are split on commas only:
/// a quoted field in a sampled row can only misplace that row's count.
pub fn sample_groups(claims: &Path, min_groups: usize) -> Result<Option<Vec<u64>>> {
    let len = std::fs::metadata(claims).at(claims)?.len();
    if len <= SAMPLE_ABOVE {
        return Ok(None);
    }
    sample_counts(claims, len, min_groups, SAMPLE_WINDOWS, SAMPLE_WINDOW).map(Some)
}

/// A line end byte: LF, or CR (of a CRLF or alone; the empty piece between CR and LF has no
/// group and counts nothing).
fn is_eol(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

/// Group counts over `windows` windows of `window` bytes spread evenly over the file.
fn sample_counts(
    claims: &Path,
    len: u64,
    min_groups: usize,
    windows: u64,
    window: usize,
) -> Result<Vec<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(claims).at(claims)?;
    let mut counts = vec![0u64; min_groups];
    let mut buf = vec![0u8; window];
    let stride = len / windows.max(1);
    for w in 0..windows {
        f.seek(SeekFrom::Start(w * stride)).at(claims)?;
        let mut filled = 0;
        while filled < buf.len() {
            let n = f.read(&mut buf[filled..]).at(claims)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let window = &buf[..filled];
        // Whole lines only: from after the first line end to the last (the header, in the
        // first window, is skipped the same way).
        let (Some(first), Some(last)) = (
            window.iter().position(|b| is_eol(*b)),
            window.iter().rposition(|b| is_eol(*b)),
        ) else {
            continue;
        };
        for line in window[first + 1..last].split(|b| is_eol(*b)) {
            let group = line
                .split(|b| *b == b',')
                .nth(3)
                .and_then(|g| std::str::from_utf8(g).ok())
                .and_then(|g| claims_csv::pcp_group(g).ok());
            if let Some(g) = group {
                let i = usize::from(g) - 1;
                if i >= counts.len() {
                    counts.resize(i + 1, 0);
                }
                counts[i] += 1;
            }
        }
    }
    Ok(counts)
}

/// Runs setup from `input` (claims.csv, members.csv) into `layout`; `store_ytd`, if
/// given, is the store's accumulators (a `ytd.rs` file), which replace the feed's.
pub fn run(
    input: &Path,
    plans: &Plans,
    split: &Split,
    layout: &Layout,
    store_ytd: Option<&Path>,
    progress: &dyn Progress,
) -> Result<Manifest> {
    let dir = layout.setup();
    std::fs::create_dir_all(&dir).at(&dir)?;
    let claims_path = input.join(CLAIMS_FILE);
    let members_path = input.join(MEMBERS_FILE);
    let rejects_path = dir.join(layout::REJECTS);
    let mut rejects = RejectWriter::create(&rejects_path).at(&rejects_path)?;

    progress.stage("setup: members", 0);
    let (mut members, member_rows) = read_members(&members_path, plans, &mut rejects)?;
    let rejected_members = rejects.count;
    let ytd = match store_ytd {
        Some(path) => super::ytd::apply(path, &mut members)?,
        None => super::ytd::Applied::default(),
    };

    let (boundaries, serial) = match split {
        Split::Serial => (
            Boundaries {
                partitions: vec![Range {
                    first: 1,
                    last: u16::MAX,
                }],
            },
            true,
        ),
        Split::Given(b) => {
            b.check().map_err(PipelineError::Input)?;
            (b.clone(), false)
        }
        Split::Balanced(n) => {
            progress.stage("setup: balancing partitions (PCP groups)", 0);
            let counts = match sample_groups(&claims_path, *n)? {
                Some(sampled) => sampled,
                None => count_groups(&claims_path, *n)?,
            };
            (partition::plan(&counts, *n), false)
        }
    };
    let n = boundaries.len();
    if n > super::defer::MAX_PARTITIONS {
        return Err(PipelineError::Input(format!(
            "{n} partitions; at most {} are supported",
            super::defer::MAX_PARTITIONS
        )));
    }
    // A new setup starts a new adjudication: what later stages left from an earlier one
    // (checkpoints above all, which would make a rerun skip its work) goes.
    let mut stale: Vec<PathBuf> = (0..n).map(|p| layout.partition(p)).collect();
    stale.push(layout.pass2());
    for d in &stale {
        for f in [
            layout::CHECKPOINT,
            layout::RESULTS,
            layout::DEFERRED,
            layout::EXCEPTIONS,
            layout::CHANGES,
            layout::EVENTS,
        ] {
            match std::fs::remove_file(d.join(f)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(&d.join(f)),
                _ => {}
            }
        }
    }
    let merge_dir = layout.merge();
    if merge_dir.is_dir() && merge_dir != dir {
        for f in [
            layout::DEFERRED,
            layout::REFS,
            layout::MEMBERS,
            layout::DEFERRED_LIST,
        ] {
            let _ = std::fs::remove_file(merge_dir.join(f));
        }
    }
    let mut writers = Vec::with_capacity(n);
    for p in 0..n {
        let pd = layout.partition(p);
        std::fs::create_dir_all(&pd).at(&pd)?;
        let path = pd.join(layout::CLAIMS);
        writers.push(ClaimWriter::create(&path).at(&path)?);
    }

    progress.stage("setup: claims", 0);
    let index = super::member_index::MemberIndex::new(&members);
    let body = body_start(&claims_path, &claims_csv::COLUMNS)?;
    let mut analysis = Analysis::new(if serial { 0 } else { members.len() });
    let mut manifest = Manifest {
        boundaries: boundaries.clone(),
        plans: plans.ids().map(str::to_string).collect(),
        member_rows,
        rejected_members,
        ytd,
        ..Manifest::default()
    };
    let mut last: Option<(u64, i64)> = None;
    let mut group_claims: Vec<u64> = Vec::new();
    let mut since = 0u64;
    // Parsed on the other cores (fields, values, enrolment: what does not depend on
    // order); checked for order, split and written here, in file order.
    let parse = |rec: &Row<'_>| -> std::result::Result<(Claim, usize), Rejected> {
        let mut f = [""; MAX_FIELDS];
        fields(rec, &claims_csv::COLUMNS, &mut f)
            .and_then(|n| claims_csv::parse_row(&f[..n], plans))
            .and_then(|c| match index.get(c.member).map(|i| (i, members[i])) {
                None => Err(claims_csv::FieldError {
                    field: "member",
                    reason: format!("member {} is not enrolled (not in members.csv)", c.member),
                }),
                Some((_, m)) if m.family != c.family => Err(claims_csv::FieldError {
                    field: "family",
                    reason: format!(
                        "member {} belongs to family {} in members.csv",
                        c.member, m.family
                    ),
                }),
                Some((i, _)) => Ok((c, i)),
            })
    };
    let mut consume = |line: u64,
                       raw: &[u8],
                       parsed: std::result::Result<(Claim, usize), Rejected>|
     -> Result<()> {
        manifest.claim_rows += 1;
        since += 1;
        if since == 65_536 {
            progress.advance(since);
            since = 0;
        }
        let order = |field, reason| claims_csv::FieldError { field, reason };
        let ordered = parsed.and_then(|(c, i)| match last {
            Some((id, _)) if c.id <= id => Err(order("claim_id", format!("claim id {} is not above the previous claim's {id}; claims are numbered in received order", c.id))),
            Some((_, t)) if c.received < t => Err(order("received", "received before the previous claim; the file must be in received order (sort it first)".into())),
            _ => Ok((c, i)),
        });
        match ordered {
            Ok((c, member_index)) => {
                last = Some((c.id, c.received));
                let p = boundaries.partition_of(c.pcp_group);
                let g = usize::from(c.pcp_group) - 1;
                if g >= group_claims.len() {
                    group_claims.resize(g + 1, 0);
                }
                group_claims[g] += 1;
                if !serial {
                    analysis.observe(&c, member_index, p);
                }
                writers[p].write(&c).at(&claims_path)?;
                manifest.accepted += 1;
                manifest.accepted_billed_cents += c.billed;
            }
            Err(e) => rejects
                .write(&Reject {
                    file: CLAIMS_FILE.into(),
                    line,
                    field: e.field.into(),
                    reason: e.reason,
                    row: raw.to_vec(),
                })
                .at(&rejects_path)?,
        }
        Ok(())
    };
    parallel_csv::for_each(
        &claims_path,
        body.0,
        body.1,
        &read_options(),
        parse,
        &mut consume,
        |e| read_error(&claims_path, e),
    )?;
    progress.advance(since);
    manifest.rejected_claims = rejects.count - rejected_members;
    manifest.group_claims = group_claims;
    for w in writers {
        manifest.partition_claims.push(w.finish().at(&dir)?);
    }
    rejects.finish().at(&rejects_path)?;

    // Where the referenced claims are, then which families wait for pass 2.
    progress.stage("setup: deferral analysis", 0);
    let deferred = if serial {
        FxHashMap::default()
    } else {
        let wanted = analysis.referenced();
        // Each partition file scanned on its own thread (one per core at a time).
        let mut located: FxHashMap<u64, Located> = FxHashMap::default();
        if !wanted.is_empty() {
            let threads = parse_threads().min(n).max(1);
            let found: Vec<Result<FxHashMap<u64, Located>>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let wanted = &wanted;
                        scope.spawn(move || {
                            let mut found = FxHashMap::default();
                            for p in (t..n).step_by(threads) {
                                locate(
                                    &layout.partition(p).join(layout::CLAIMS),
                                    p,
                                    wanted,
                                    &mut found,
                                )?;
                            }
                            Ok(found)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(PipelineError::Input(
                                "a partition-scanning thread panicked".into(),
                            ))
                        })
                    })
                    .collect()
            });
            for f in found {
                located.extend(f?);
            }
        }
        analysis.decide(&members, &located)
    };
    progress.stage("setup: accumulator pre-loads", 0);
    manifest.deferred_families = deferred.len() as u64;
    write_deferred_families(&dir.join(layout::DEFERRED_FAMILIES), &deferred)?;
    write_members(&dir.join(layout::MEMBERS), &members)?;
    // Each partition's own pre-load: the members of the families it adjudicates (as the
    // case study's partitions each query their member range), so a partition never reads
    // the whole table.
    if !serial {
        let families = analysis.family_partitions(&members);
        let mut rows: Vec<Vec<MemberRow>> = vec![Vec::new(); n];
        for m in &members {
            if let Some(mask) = families.get(&m.family)
                && mask.count_ones() == 1
                && !deferred.contains_key(&m.family)
            {
                rows[mask.trailing_zeros() as usize].push(*m);
            }
        }
        for (p, r) in rows.iter().enumerate() {
            write_members(&layout.partition(p).join(layout::MEMBERS), r)?;
        }
    }
    let mpath = dir.join(layout::MANIFEST);
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| PipelineError::Corrupt {
        path: mpath.clone(),
        message: e.to_string(),
    })?;
    crate::io::write_atomic(&mpath, &bytes).at(&mpath)?;
    Ok(manifest)
}

pub fn write_members(path: &Path, members: &[MemberRow]) -> Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).at(path)?);
    for m in members {
        w.write_all(&binary::encode_member(m)).at(path)?;
    }
    w.flush().at(path)?;
    w.get_ref().sync_all().at(path)
}

pub fn read_members_bin(
    path: &Path,
    mut keep: impl FnMut(&MemberRow) -> bool,
) -> Result<Vec<MemberRow>> {
    let mut r = RecordReader::<{ binary::MEMBER_SIZE }>::open(path, 0).at(path)?;
    let mut v = Vec::new();
    while let Some(b) = r.next_record().at(path)? {
        let m = binary::decode_member(&b);
        if keep(&m) {
            v.push(m);
        }
    }
    Ok(v)
}

fn write_deferred_families(path: &Path, d: &FxHashMap<u32, u32>) -> Result<()> {
    let mut v: Vec<(u32, u32)> = d.iter().map(|(f, r)| (*f, *r)).collect();
    v.sort_unstable();
    let mut w = BufWriter::new(File::create(path).at(path)?);
    for (f, r) in v {
        w.write_all(&f.to_le_bytes()).at(path)?;
        w.write_all(&r.to_le_bytes()).at(path)?;
    }
    w.flush().at(path)
}

pub fn read_deferred_families(path: &Path) -> Result<FxHashMap<u32, u32>> {
    let mut r = RecordReader::<8>::open(path, 0).at(path)?;
    let mut m = FxHashMap::default();
    while let Some(b) = r.next_record().at(path)? {
        let f = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let reasons = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        m.insert(f, reasons);
    }
    Ok(m)
}

/// The input directory's two files.
pub fn input_files(input: &Path) -> (PathBuf, PathBuf) {
    (input.join(CLAIMS_FILE), input.join(MEMBERS_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_text_on_the_stack_and_a_long_or_binary_row_says_what_is_wrong() {
        let row = |bytes: &[u8], check: &mut dyn FnMut(&Row<'_>)| {
            let _ = csv_rows::read_rows(bytes, 1 << 10, |_, r| check(r));
        };
        row(b"1,2,3", &mut |r| {
            let mut f = [""; MAX_FIELDS];
            assert_eq!(fields(r, &members_csv::COLUMNS, &mut f).expect("ok"), 3);
            assert_eq!(&f[..3], ["1", "2", "3"]);
        });
        row("x,".repeat(29).as_bytes(), &mut |r| {
            let mut f = [""; MAX_FIELDS];
            let e = fields(r, &claims_csv::COLUMNS, &mut f).expect_err("long");
            assert_eq!(
                (e.field, e.reason.as_str()),
                ("row", "30 fields, expected 17")
            );
        });
        row(b"7,\xff\xfe", &mut |r| {
            let mut f = [""; MAX_FIELDS];
            let e = fields(r, &members_csv::COLUMNS, &mut f).expect_err("binary");
            assert_eq!((e.field, e.reason.as_str()), ("family", "not UTF-8"));
        });
    }

    #[test]
    fn a_sample_of_the_claims_file_gives_the_groups_proportions() {
        // 200,000 rows: group 1 has half the claims, groups 2 and 3 a quarter each, and
        // the mix drifts over the file (group 3's claims come late), as received order can.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("claims.csv");
        let mut text = claims_csv::COLUMNS.join(",");
        text.push('\n');
        for i in 0..200_000u32 {
            let g = match i % 4 {
                0 | 1 => 1,
                2 if i < 100_000 => 2,
                3 if i < 100_000 => 2,
                _ => 3,
            };
            text.push_str(&format!(
                "{i},{},{},{g},7,A,2025-03-01\n",
                1000 + i,
                500 + i
            ));
        }
        std::fs::write(&path, &text).expect("write");
        let len = text.len() as u64;
        let sampled = sample_counts(&path, len, 2, 128, 4096).expect("sample");
        let exact = count_groups(&path, 2).expect("count");
        assert_eq!(exact, [100_000, 50_000, 50_000]);
        let total: u64 = sampled.iter().sum();
        assert!(total > 10_000, "{sampled:?}");
        for (s, e) in sampled.iter().zip(&exact) {
            let share = *s as f64 / total as f64;
            let want = *e as f64 / 200_000.0;
            assert!((share - want).abs() < 0.02, "{sampled:?} vs {exact:?}");
        }
        // The balanced split from the sample is the exact one's.
        assert_eq!(partition::plan(&sampled, 2), partition::plan(&exact, 2));
        // A file at or below the threshold is counted whole.
        assert_eq!(sample_groups(&path, 2).expect("small"), None);
        // Lone-CR line ends (same length, same windows) sample the same, and count the same.
        std::fs::write(&path, text.replace('\n', "\r")).expect("write");
        assert_eq!(
            sample_counts(&path, len, 2, 128, 4096).expect("cr"),
            sampled
        );
        assert_eq!(count_groups(&path, 2).expect("cr"), exact);
    }
}
