//! One partner file through its mapping: every record either becomes a claim (in the engine's
//! `claims.csv` form) or a reject naming its line, field and reason code; the file's control
//! totals are reconciled against its trailer. A file whose envelope or totals fail is
//! refused whole: none of its claims are returned. Pure: bytes in, results out.

use std::collections::HashSet;

use super::mapping::{Format, Mapping, OnError, Position, Source, Trailer};
use super::transform::{self, Code, Problem};
use crate::io::claims_csv::{self, COLUMNS};
use crate::model::money::parse_money;
use crate::plans::Plans;

/// The claim model's columns read here by position (`claims_csv::COLUMNS`).
const CLAIM_ID: usize = 0;
const BILLED: usize = 11;

/// One refused claim (or, for a refused file, the file's reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line where the record starts (CSV records may span lines).
    pub line: u64,
    /// The claim id as the partner wrote it, when it could be read.
    pub claim_id: String,
    /// The claim model's field, or `record` / `file`.
    pub field: String,
    /// Where the field's value came from in the partner's record: a CSV column's header, an
    /// 837 loop path (`2300.CLM02`), a fixed-width byte range (`bytes 13-22`), `constant`;
    /// empty for a whole record or file.
    pub source: String,
    pub code: Code,
    pub reason: String,
}

/// Whether the file's claims reach the claims input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Accepted,
    /// Refused whole: `reject` says where and why.
    Refused(Reject),
}

/// The control totals of one file. `received = accepted + rejected` always; amounts in cents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Billed amounts of every record whose amount could be read; of those, the accepted
    /// and the rejected claims'.
    pub billed_received: i64,
    pub billed_accepted: i64,
    pub billed_rejected: i64,
    /// Records whose billed amount could not be read (not in the sums above).
    pub billed_unreadable: u64,
    /// Values replaced by a field's `on_error: { default }`.
    pub defaults_applied: u64,
    /// What the trailer said: claim records, and their billed total.
    pub trailer_count: Option<u64>,
    pub trailer_billed: Option<i64>,
}

impl Totals {
    /// Adds another file's counts and amounts (a run's totals); the trailer's figures are
    /// each file's own and are not summed.
    pub fn absorb(&mut self, other: &Totals) {
        self.received += other.received;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.billed_received += other.billed_received;
        self.billed_accepted += other.billed_accepted;
        self.billed_rejected += other.billed_rejected;
        self.billed_unreadable += other.billed_unreadable;
        self.defaults_applied += other.defaults_applied;
    }
}

/// The outcome of one file.
#[derive(Debug, Clone)]
pub struct FileIntake {
    pub status: Status,
    pub totals: Totals,
    /// The accepted claims' rows (no header), in the file's order; empty when refused.
    pub claims_csv: String,
    pub rejects: Vec<Reject>,
}

/// One record of the file: where it starts and its fields' raw bytes.
struct Record<'a> {
    line: u64,
    fields: Vec<&'a [u8]>,
}

/// Takes one partner file (its whole bytes) through `mapping`.
pub fn intake(mapping: &Mapping, plans: &Plans, bytes: &[u8]) -> FileIntake {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut run = Run::new(mapping, plans);
    let outcome = match &mapping.format {
        Format::Csv { delimiter, header } => run.csv(bytes, *delimiter, *header),
        Format::FixedWidth { header_tag } => run.fixed(bytes, header_tag.as_deref()),
        Format::X12_837(kind) => run.x12(bytes, *kind),
    };
    run.finish(outcome)
}

struct Run<'m> {
    mapping: &'m Mapping,
    plans: &'m Plans,
    totals: Totals,
    claims_csv: String,
    rejects: Vec<Reject>,
    ids: HashSet<u64>,
    /// Where each mapped field is in a record: a CSV column's index (from the header) or a
    /// fixed-width range; `None` for a constant or unmapped field.
    places: Vec<Option<Place>>,
    trailer_seen: bool,
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Index(usize),
    Range { start: usize, len: usize },
}

/// A file-level refusal.
type Refusal = Reject;

/// Where a mapped field's value is read in the partner's record, for a person.
fn describe(source: &Source) -> String {
    match source {
        Source::Column(name) => name.clone(),
        Source::Range { start, len } => format!("bytes {}-{}", start + 1, start + len),
        Source::Value(_) => "constant".into(),
        Source::Nothing => String::new(),
    }
}

fn refusal(line: u64, code: Code, reason: String) -> Refusal {
    Reject {
        line,
        claim_id: String::new(),
        field: "file".into(),
        source: String::new(),
        code,
        reason,
    }
}

impl<'m> Run<'m> {
    fn new(mapping: &'m Mapping, plans: &'m Plans) -> Self {
        let places = mapping
            .fields
            .iter()
            .map(|f| match f.source {
                Source::Range { start, len } => Some(Place::Range { start, len }),
                _ => None,
            })
            .collect();
        Run {
            mapping,
            plans,
            totals: Totals::default(),
            claims_csv: String::new(),
            rejects: Vec::new(),
            ids: HashSet::new(),
            places,
            trailer_seen: false,
        }
    }

    fn csv(&mut self, bytes: &[u8], delimiter: u8, header: bool) -> Result<(), Refusal> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut width = None;
        let mut record = csv::ByteRecord::new();
        let mut first = true;
        loop {
            let line = reader.position().line();
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    return Err(refusal(
                        line,
                        Code::Truncated,
                        format!("the file cannot be read as CSV past here: {e}"),
                    ));
                }
            }
            let line = record.position().map_or(line, csv::Position::line);
            let fields: Vec<&[u8]> = record.iter().collect();
            if first && header {
                first = false;
                self.header(&fields, line)?;
                width = Some(fields.len());
                continue;
            }
            first = false;
            if self.is_trailer(fields.first().copied()) {
                self.trailer(&Record { line, fields }, line)?;
                continue;
            }
            self.not_after_trailer(line)?;
            if let Some(w) = width.filter(|w| *w != fields.len()) {
                self.refuse_claim(
                    &Record {
                        line,
                        fields: fields.clone(),
                    },
                    "record",
                    Problem {
                        code: Code::FieldCount,
                        reason: format!("{} fields, the header has {w}", fields.len()),
                    },
                );
                continue;
            }
            self.claim(&Record { line, fields })?;
        }
        Ok(())
    }

    /// Finds each mapped column in the header.
    fn header(&mut self, fields: &[&[u8]], line: u64) -> Result<(), Refusal> {
        let names: Vec<String> = fields
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect();
        for (i, f) in self.mapping.fields.iter().enumerate() {
            if let Source::Column(name) = &f.source {
                let Some(index) = names.iter().position(|n| n == name) else {
                    return Err(refusal(
                        line,
                        Code::UnknownColumn,
                        format!(
                            "the header has no column `{name}` (the mapping's `{}`); it has: {}",
                            f.target,
                            names.join(", ")
                        ),
                    ));
                };
                self.places[i] = Some(Place::Index(index));
            }
        }
        Ok(())
    }

    fn fixed(&mut self, bytes: &[u8], header_tag: Option<&str>) -> Result<(), Refusal> {
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        for (i, raw) in lines.into_iter().enumerate() {
            let line = i as u64 + 1;
            let text = raw.strip_suffix(b"\r").unwrap_or(raw);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if header_tag.is_some_and(|t| text.starts_with(t.as_bytes())) {
                continue;
            }
            let record = Record {
                line,
                fields: vec![text],
            };
            if self.is_trailer(Some(text)) {
                self.trailer(&record, line)?;
                continue;
            }
            self.not_after_trailer(line)?;
            self.claim(&record)?;
        }
        Ok(())
    }

    /// An 837: its envelope and hierarchy checked (`x12_837_read`), then each claim (CLM)
    /// mapped like a record, its `line` the CLM segment's position in the interchange.
    fn x12(&mut self, bytes: &[u8], kind: super::x12_837_read::Kind) -> Result<(), Refusal> {
        let names = kind.fields();
        for (i, f) in self.mapping.fields.iter().enumerate() {
            if let Source::Column(name) = &f.source {
                self.places[i] = names.iter().position(|n| n == name).map(Place::Index);
            }
        }
        // One transaction set at a time: the file's claims are never all held as records.
        super::x12_837_read::for_each_claim(bytes, kind, |c| {
            let fields: Vec<&[u8]> = c.values.iter().map(String::as_bytes).collect();
            self.claim(&Record {
                line: u64::from(c.position),
                fields,
            })
        })
        .map_err(|e| match e {
            super::x12_837_read::ReadError::Envelope(e) => {
                refusal(u64::from(e.position), e.code, e.reason)
            }
            super::x12_837_read::ReadError::Each(refused) => refused,
        })
    }

    /// A claim record is refused once the trailer has been read.
    fn not_after_trailer(&self, line: u64) -> Result<(), Refusal> {
        if self.trailer_seen {
            return Err(refusal(
                line,
                Code::Truncated,
                "a record after the trailer: the file was joined or cut wrongly".into(),
            ));
        }
        Ok(())
    }

    fn is_trailer(&self, first: Option<&[u8]>) -> bool {
        let Some(t) = &self.mapping.trailer else {
            return false;
        };
        match (&self.mapping.format, first) {
            (Format::Csv { .. }, Some(f)) => f.trim_ascii() == t.tag.as_bytes(),
            (Format::FixedWidth { .. }, Some(f)) => f.starts_with(t.tag.as_bytes()),
            _ => false,
        }
    }

    fn trailer(&mut self, record: &Record<'_>, line: u64) -> Result<(), Refusal> {
        let Some(t) = self.mapping.trailer.as_ref() else {
            return Ok(());
        };
        if self.trailer_seen {
            return Err(refusal(line, Code::Truncated, "a second trailer".into()));
        }
        self.trailer_seen = true;
        let read = |p: Position| -> Option<&[u8]> {
            match p {
                Position::Field(i) => record.fields.get(i).copied(),
                Position::Range { start, len } => range(record.fields[0], start, len),
            }
        };
        let bad = |what: &str, why: String| {
            refusal(
                line,
                Code::TotalsMismatch,
                format!("the trailer's {what}: {why}"),
            )
        };
        let count = read(t.count)
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::trim)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| bad("claim count", "not a whole number".into()))?;
        self.totals.trailer_count = Some(count);
        if let Some(p) = t.billed_total {
            let text = read(p)
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or("");
            let total = transform::amount(text.trim(), t.money)
                .map_err(|p| bad("billed total", p.reason))?;
            self.totals.trailer_billed = Some(total);
        }
        Ok(())
    }

    /// Maps one claim record; a field whose `on_error` is `reject-file` refuses the file.
    fn claim(&mut self, record: &Record<'_>) -> Result<(), Refusal> {
        let mut values: Vec<String> = Vec::with_capacity(COLUMNS.len());
        let mut failed: Option<(&'static str, Problem)> = None;
        for (i, f) in self.mapping.fields.iter().enumerate() {
            let raw: Result<&str, Problem> = match (&f.source, self.places[i]) {
                (Source::Value(v), _) => Ok(v.as_str()),
                (Source::Nothing, _) => Ok(""),
                (_, Some(Place::Index(k))) => {
                    transform::text(record.fields.get(k).copied().unwrap_or(b""))
                }
                (_, Some(Place::Range { start, len })) => {
                    transform::text(range(record.fields[0], start, len).unwrap_or(b""))
                }
                (_, None) => Ok(""),
            };
            match raw.and_then(|r| transform::apply(f, r)) {
                Ok(v) => values.push(v),
                Err(p) => match &f.on_error {
                    OnError::Default(d) => {
                        self.totals.defaults_applied += 1;
                        values.push(d.clone());
                    }
                    OnError::RejectFile => {
                        let id = values.get(CLAIM_ID).cloned().unwrap_or_default();
                        return Err(Reject {
                            line: record.line,
                            claim_id: id,
                            field: f.target.to_string(),
                            source: describe(&f.source),
                            code: Code::FieldRejectsFile,
                            reason: format!(
                                "{} ({}); the mapping refuses the whole file for a bad `{}`",
                                p.reason,
                                p.code.as_str(),
                                f.target
                            ),
                        });
                    }
                    OnError::RejectClaim => {
                        if failed.is_none() {
                            failed = Some((f.target, p));
                        }
                        values.push(String::new());
                    }
                },
            }
        }
        let billed = parse_money(&values[BILLED]).ok();
        let outcome = match failed {
            Some((field, p)) => Err((field, p)),
            None => {
                let fields: Vec<&str> = values.iter().map(String::as_str).collect();
                claims_csv::parse_row(&fields, self.plans).map_err(|e| {
                    (
                        e.field,
                        Problem {
                            code: if e.reason == "missing" {
                                Code::Missing
                            } else {
                                Code::Invalid
                            },
                            reason: e.reason,
                        },
                    )
                })
            }
        };
        self.totals.received += 1;
        match billed {
            Some(b) => self.totals.billed_received += b,
            None => self.totals.billed_unreadable += 1,
        }
        match outcome {
            Ok(claim) if !self.ids.insert(claim.id) => {
                self.reject(
                    record.line,
                    &values[CLAIM_ID],
                    "claim_id",
                    billed,
                    Problem {
                        code: Code::DuplicateClaim,
                        reason: format!(
                            "claim {} is in the file twice; the first was kept",
                            claim.id
                        ),
                    },
                );
            }
            Ok(claim) => {
                self.totals.accepted += 1;
                self.totals.billed_accepted += billed.unwrap_or(0);
                claims_csv::write_row(&claim, self.plans, &mut self.claims_csv);
            }
            Err((field, p)) => self.reject(record.line, &values[CLAIM_ID], field, billed, p),
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, claim_id: &str, field: &str, billed: Option<i64>, p: Problem) {
        self.totals.rejected += 1;
        self.totals.billed_rejected += billed.unwrap_or(0);
        let source = self
            .mapping
            .fields
            .iter()
            .find(|f| f.target == field)
            .map(|f| describe(&f.source))
            .unwrap_or_default();
        self.rejects.push(Reject {
            line,
            claim_id: claim_id.to_string(),
            field: field.to_string(),
            source,
            code: p.code,
            reason: p.reason,
        });
    }

    /// A record refused before its fields were mapped (its field count).
    fn refuse_claim(&mut self, record: &Record<'_>, field: &str, p: Problem) {
        self.totals.received += 1;
        self.totals.billed_unreadable += 1;
        let id = match self.places[CLAIM_ID] {
            Some(Place::Index(k)) => record
                .fields
                .get(k)
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        self.reject(record.line, &id, field, None, p);
    }

    fn finish(mut self, outcome: Result<(), Refusal>) -> FileIntake {
        let refused = outcome.err().or_else(|| self.check_totals());
        match refused {
            None => FileIntake {
                status: Status::Accepted,
                totals: self.totals,
                claims_csv: self.claims_csv,
                rejects: self.rejects,
            },
            Some(reason) => {
                // Nothing of a refused file reaches the claims input: every record it held
                // is counted as rejected, so the counts still reconcile.
                let t = &mut self.totals;
                t.rejected += t.accepted;
                t.billed_rejected += t.billed_accepted;
                t.accepted = 0;
                t.billed_accepted = 0;
                FileIntake {
                    status: Status::Refused(reason.clone()),
                    totals: self.totals,
                    claims_csv: String::new(),
                    rejects: vec![reason],
                }
            }
        }
    }

    /// The trailer's totals against the records read.
    fn check_totals(&self) -> Option<Refusal> {
        let t = &self.totals;
        if let Some(Trailer { tag, .. }) = &self.mapping.trailer
            && !self.trailer_seen
        {
            return Some(refusal(
                0,
                Code::Truncated,
                format!(
                    "no trailer record (`{tag}`): the file is cut short or is not this \
                     partner's; {} claim records were read",
                    t.received
                ),
            ));
        }
        if t.received == 0 {
            return Some(refusal(
                0,
                Code::Empty,
                "the file has no claim records".into(),
            ));
        }
        if let Some(count) = t.trailer_count
            && count != t.received
        {
            return Some(refusal(
                0,
                Code::TotalsMismatch,
                format!(
                    "the trailer says {count} claim records, the file has {}",
                    t.received
                ),
            ));
        }
        if let Some(total) = t.trailer_billed
            && total != t.billed_received
        {
            let unreadable = match t.billed_unreadable {
                0 => String::new(),
                n => format!(" ({n} records' amounts could not be read)"),
            };
            return Some(refusal(
                0,
                Code::TotalsMismatch,
                format!(
                    "the trailer's billed total is {}, the records' is {}{unreadable}",
                    dollars(total),
                    dollars(t.billed_received)
                ),
            ));
        }
        None
    }
}

/// `start..start+len` of a fixed-width record, shortened to what the line has (a line whose
/// trailing blanks were trimmed still reads); `None` past its end.
fn range(line: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    (start < line.len()).then(|| &line[start..line.len().min(start.saturating_add(len))])
}

/// Cents as dollars, for messages.
pub fn dollars(cents: i64) -> String {
    let mut out = String::new();
    crate::model::money::format_money(cents, &mut out);
    out
}
