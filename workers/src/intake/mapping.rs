//! A partner mapping: how one trading partner's claim file becomes the claim model, field by
//! field, written by an analyst as YAML (`workflows/partners/*.yaml`, docs/intake.md). Read
//! with serde-saphyr into raw types (unknown keys refused), then checked; every problem names
//! the file, line and column and says what to write instead, as for workflows and plans.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::io::claims_csv::COLUMNS;

/// A located problem in a mapping file.
pub type MappingError = crate::located::LocatedError;

/// The claim model's fields a mapping may leave out (empty in every claim).
const OPTIONAL_TARGETS: [&str; 4] = [
    "prior_auth",
    "cob_other_payer",
    "cob_primary_paid",
    "cob_partner",
];

/// A checked mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub partner: String,
    pub format: Format,
    pub trailer: Option<Trailer>,
    /// One per column of the claim model (`claims_csv::COLUMNS`), in its order.
    pub fields: Vec<FieldMap>,
}

/// The layout of the partner's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Delimited records; with `header`, the first record names the columns.
    Csv { delimiter: u8, header: bool },
    /// One record a line, fields at fixed byte positions; lines starting with `header_tag`
    /// are headers (skipped, not claims).
    FixedWidth { header_tag: Option<String> },
    /// An ANSI X12 837 interchange, professional (005010X222A1, `kind: x12-837`) or
    /// institutional (005010X223A2, `kind: x12-837i`): one record per claim (CLM), its fields
    /// named by loop, segment and element (`x12_837_read::Kind::fields`).
    X12_837(super::x12_837_read::Kind),
}

/// Where a field's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A CSV column, by its header name.
    Column(String),
    /// A fixed-width field: 0-based byte offset and length.
    Range { start: usize, len: usize },
    /// The same text for every claim.
    Value(String),
    /// Not mapped (an optional field): empty.
    Nothing,
}

/// How an amount is written in the partner's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyUnit {
    /// `125.40` (at most two decimals).
    Dollars,
    /// `12540`: whole cents, as fixed-width files and some trailers carry them.
    Cents,
}

/// What a field's text goes through, after the source's own whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    /// Taken as it is.
    Plain,
    /// A date in this strftime format → `YYYY-MM-DD`.
    Date(String),
    /// A date or date-time in this strftime format (UTC) → `YYYY-MM-DDTHH:MM:SSZ`; a date
    /// alone is midnight.
    Timestamp(String),
    /// An amount → dollars with two decimals.
    Money(MoneyUnit),
    /// A code table: the partner's code → ours; any other code is `UNKNOWN_CODE`.
    Table(BTreeMap<String, String>),
}

/// What a bad value in this field does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnError {
    /// The claim goes to the reject file (the default).
    RejectClaim,
    /// The whole file is refused: nothing of it reaches the claims input.
    RejectFile,
    /// This text is used instead (and the fix is counted in the acknowledgement).
    Default(String),
}

/// One field of the claim model and how the partner's file fills it.
#[derive(Debug, Clone)]
pub struct FieldMap {
    /// The claim model's column.
    pub target: &'static str,
    pub source: Source,
    /// Characters removed before anything else (`.` of an ICD-10 code written `E11.9`).
    pub remove: String,
    /// A prefix removed when present (`M` of `M0001234`).
    pub strip_prefix: String,
    pub upper: bool,
    pub transform: Transform,
    /// An empty value is allowed (the field stays empty) instead of `MISSING`.
    pub optional: bool,
    pub on_error: OnError,
}

/// The partner's trailer record: its control totals, checked against the records read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// A record that starts with this (fixed width), or whose first field is this (CSV).
    pub tag: String,
    /// The number of claim records the partner sent.
    pub count: Position,
    /// The sum of their billed amounts.
    pub billed_total: Option<Position>,
    pub money: MoneyUnit,
}

/// A field of the trailer record: a 1-based field number (CSV) or a byte range (fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Field(usize),
    Range { start: usize, len: usize },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    partner: Spanned<String>,
    format: Spanned<RawFormat>,
    #[serde(default)]
    trailer: Option<Spanned<RawTrailer>>,
    fields: Spanned<BTreeMap<String, Spanned<RawField>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    kind: Spanned<String>,
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
    #[serde(default)]
    header: Option<bool>,
    #[serde(default)]
    header_tag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrailer {
    tag: Spanned<String>,
    count: Spanned<RawPosition>,
    #[serde(default)]
    billed_total: Option<Spanned<RawPosition>>,
    #[serde(default)]
    money: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPosition {
    Field(u64),
    Range { start: u64, length: u64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(default)]
    from: Option<Spanned<String>>,
    #[serde(default)]
    start: Option<Spanned<u64>>,
    #[serde(default)]
    length: Option<Spanned<u64>>,
    #[serde(default)]
    value: Option<Spanned<String>>,
    #[serde(default)]
    remove: Option<String>,
    #[serde(default)]
    strip_prefix: Option<String>,
    #[serde(default)]
    upper: bool,
    #[serde(default)]
    date: Option<Spanned<String>>,
    #[serde(default)]
    timestamp: Option<Spanned<String>>,
    #[serde(default)]
    money: Option<Spanned<String>>,
    #[serde(default)]
    table: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    on_error: Option<Spanned<RawOnError>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawOnError {
    Word(String),
    Default { default: String },
}

/// Reads and checks the mapping file at `path`.
pub fn load(path: &Path) -> Result<Mapping, MappingError> {
    let text = std::fs::read_to_string(path).map_err(|e| MappingError {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the mapping: {e}"),
    })?;
    parse(path, &text)
}

/// Parses and checks one mapping file's text.
pub fn parse(file: &Path, text: &str) -> Result<Mapping, MappingError> {
    let raw: RawMapping =
        serde_saphyr::from_str(text).map_err(|e| MappingError::from_yaml(file, &e, "mapping"))?;
    let at = |loc: &Location, message: String| MappingError {
        file: file.to_path_buf(),
        line: loc.line(),
        column: loc.column(),
        message,
    };
    let partner = raw.partner.value.trim().to_string();
    if partner.is_empty() || !partner.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(at(
            &raw.partner.referenced,
            "a partner id is a word such as ACME-PBM".into(),
        ));
    }
    let format = format(&raw.format, &at)?;
    let fixed = matches!(format, Format::FixedWidth { .. });
    // A name that is not a field first: a typo would otherwise read as the field missing.
    for (name, f) in &raw.fields.value {
        if !COLUMNS.contains(&name.as_str()) {
            let near = crate::intake::nearest(name, &COLUMNS);
            return Err(at(
                &f.referenced,
                format!(
                    "`{name}` is not a field of the claim model{near}; the fields are {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    let mut fields = Vec::with_capacity(COLUMNS.len());
    for target in COLUMNS {
        match raw.fields.value.get(target) {
            Some(f) => fields.push(field(target, f, &format, &at)?),
            None if OPTIONAL_TARGETS.contains(&target) => fields.push(FieldMap {
                target,
                source: Source::Nothing,
                remove: String::new(),
                strip_prefix: String::new(),
                upper: false,
                transform: Transform::Plain,
                optional: true,
                on_error: OnError::RejectClaim,
            }),
            None => {
                return Err(at(
                    &raw.fields.referenced,
                    format!(
                        "no mapping for `{target}`: every claim needs it; map it `from:` a \
                         column (or `start:`/`length:`), or give it a `value:`"
                    ),
                ));
            }
        }
    }
    let trailer = match &raw.trailer {
        Some(t) if matches!(format, Format::X12_837(_)) => {
            return Err(at(
                &t.referenced,
                "an X12 837 has no trailer record: its SE, GE and IEA segments are its control \
                 totals, checked always"
                    .into(),
            ));
        }
        Some(t) => Some(trailer(t, fixed, &at)?),
        None => None,
    };
    Ok(Mapping {
        partner,
        format,
        trailer,
        fields,
    })
}

type At<'a> = dyn Fn(&Location, String) -> MappingError + 'a;

fn format(raw: &Spanned<RawFormat>, at: &At<'_>) -> Result<Format, MappingError> {
    let f = &raw.value;
    match f.kind.value.as_str() {
        "csv" => {
            let delimiter = match &f.delimiter {
                None => b',',
                Some(d) if d.value.len() == 1 && d.value.is_ascii() => d.value.as_bytes()[0],
                Some(d) => {
                    return Err(at(
                        &d.referenced,
                        format!(
                            "a delimiter is one ASCII character (`,`, `|`, `\\t`), not `{}`",
                            d.value.escape_debug()
                        ),
                    ));
                }
            };
            if f.header_tag.is_some() {
                return Err(at(
                    &raw.referenced,
                    "`header_tag` is for fixed-width files; a CSV file's header is `header: true`"
                        .into(),
                ));
            }
            Ok(Format::Csv {
                delimiter,
                header: f.header.unwrap_or(true),
            })
        }
        "fixed-width" => {
            if f.delimiter.is_some() || f.header.is_some() {
                return Err(at(
                    &raw.referenced,
                    "a fixed-width file has no `delimiter` or `header`; mark header records with \
                     `header_tag:`"
                        .into(),
                ));
            }
            Ok(Format::FixedWidth {
                header_tag: f.header_tag.clone().filter(|t| !t.is_empty()),
            })
        }
        kind @ ("x12-837" | "x12-837p" | "x12-837i") => {
            if f.delimiter.is_some() || f.header.is_some() || f.header_tag.is_some() {
                return Err(at(
                    &raw.referenced,
                    format!(
                        "an X12 837 declares its own delimiters and envelope: write only \
                         `kind: {kind}`"
                    ),
                ));
            }
            Ok(Format::X12_837(if kind == "x12-837i" {
                super::x12_837_read::Kind::Institutional
            } else {
                super::x12_837_read::Kind::Professional
            }))
        }
        other => Err(at(
            &f.kind.referenced,
            format!(
                "unknown format `{other}`: write `csv`, `fixed-width`, `x12-837` (professional) \
                 or `x12-837i` (institutional)"
            ),
        )),
    }
}

fn money_unit(raw: &Spanned<String>, at: &At<'_>) -> Result<MoneyUnit, MappingError> {
    match raw.value.as_str() {
        "dollars" => Ok(MoneyUnit::Dollars),
        "cents" => Ok(MoneyUnit::Cents),
        other => Err(at(
            &raw.referenced,
            format!("`money: {other}`: write `dollars` (125.40) or `cents` (12540)"),
        )),
    }
}

/// A strftime format chrono can read, naming what is wrong otherwise.
fn strftime(raw: &Spanned<String>, at: &At<'_>) -> Result<String, MappingError> {
    use chrono::format::{Item, StrftimeItems};
    if raw.value.is_empty() || StrftimeItems::new(&raw.value).any(|i| matches!(i, Item::Error)) {
        return Err(at(
            &raw.referenced,
            format!(
                "`{}` is not a strftime format; write e.g. `%m/%d/%Y` or `%Y%m%d`",
                raw.value.escape_debug()
            ),
        ));
    }
    Ok(raw.value.clone())
}

fn field(
    target: &'static str,
    raw: &Spanned<RawField>,
    format: &Format,
    at: &At<'_>,
) -> Result<FieldMap, MappingError> {
    let fixed = matches!(format, Format::FixedWidth { .. });
    let x12 = match format {
        Format::X12_837(kind) => Some(*kind),
        _ => None,
    };
    let f = &raw.value;
    let here = &raw.referenced;
    let source = match (&f.from, &f.start, &f.length, &f.value) {
        (Some(from), None, None, None) if x12.is_some() => {
            let kind = x12.unwrap_or(super::x12_837_read::Kind::Professional);
            let names = kind.fields();
            if !names.contains(&from.value.as_str()) {
                let near = crate::intake::nearest(&from.value, names);
                return Err(at(
                    &from.referenced,
                    format!(
                        "`{target}`: `{}` is not an {} field this reader names{near}; the names \
                         are {}",
                        from.value,
                        kind.name(),
                        names.join(", ")
                    ),
                ));
            }
            Source::Column(from.value.clone())
        }
        (Some(from), None, None, None) if !fixed => Source::Column(from.value.clone()),
        (Some(from), None, None, None) => {
            return Err(at(
                &from.referenced,
                format!("`{target}`: a fixed-width field is `start:` and `length:`, not `from:`"),
            ));
        }
        (None, Some(start), Some(length), None) if fixed => {
            if start.value == 0 || length.value == 0 {
                return Err(at(
                    &start.referenced,
                    format!("`{target}`: `start` counts from 1 and `length` is at least 1"),
                ));
            }
            Source::Range {
                start: usize::try_from(start.value - 1).unwrap_or(usize::MAX),
                len: usize::try_from(length.value).unwrap_or(usize::MAX),
            }
        }
        (None, Some(_), Some(_), None) => {
            return Err(at(
                here,
                format!("`{target}`: a CSV field is `from: COLUMN`, not `start:`/`length:`"),
            ));
        }
        (None, None, None, Some(value)) => Source::Value(value.value.clone()),
        _ => {
            return Err(at(
                here,
                format!(
                    "`{target}` needs exactly one source: `from: COLUMN` (CSV), `start:` and \
                     `length:` (fixed width), or `value: TEXT`"
                ),
            ));
        }
    };
    let transforms = [
        f.date.is_some(),
        f.timestamp.is_some(),
        f.money.is_some(),
        f.table.is_some(),
    ];
    if transforms.iter().filter(|t| **t).count() > 1 {
        return Err(at(
            here,
            format!("`{target}`: at most one of `date`, `timestamp`, `money`, `table`"),
        ));
    }
    let transform = if let Some(d) = &f.date {
        Transform::Date(strftime(d, at)?)
    } else if let Some(t) = &f.timestamp {
        Transform::Timestamp(strftime(t, at)?)
    } else if let Some(m) = &f.money {
        Transform::Money(money_unit(m, at)?)
    } else if let Some(t) = &f.table {
        if t.value.is_empty() {
            return Err(at(
                &t.referenced,
                format!("`{target}`: an empty code table"),
            ));
        }
        Transform::Table(t.value.clone())
    } else {
        Transform::Plain
    };
    let on_error = match &f.on_error {
        None => OnError::RejectClaim,
        Some(o) => match &o.value {
            RawOnError::Word(w) if w == "reject-claim" => OnError::RejectClaim,
            RawOnError::Word(w) if w == "reject-file" => OnError::RejectFile,
            RawOnError::Default { default } => OnError::Default(default.clone()),
            RawOnError::Word(w) => {
                return Err(at(
                    &o.referenced,
                    format!(
                        "`on_error: {w}`: write `reject-claim`, `reject-file` or \
                         `{{ default: VALUE }}`"
                    ),
                ));
            }
        },
    };
    Ok(FieldMap {
        target,
        source,
        remove: f.remove.clone().unwrap_or_default(),
        strip_prefix: f.strip_prefix.clone().unwrap_or_default(),
        upper: f.upper,
        transform,
        optional: f.optional || OPTIONAL_TARGETS.contains(&target),
        on_error,
    })
}

fn position(
    raw: &Spanned<RawPosition>,
    fixed: bool,
    what: &str,
    at: &At<'_>,
) -> Result<Position, MappingError> {
    match (&raw.value, fixed) {
        (RawPosition::Field(n), false) if *n >= 1 => Ok(Position::Field(
            usize::try_from(*n - 1).unwrap_or(usize::MAX),
        )),
        (RawPosition::Range { start, length }, true) if *start >= 1 && *length >= 1 => {
            Ok(Position::Range {
                start: usize::try_from(start - 1).unwrap_or(usize::MAX),
                len: usize::try_from(*length).unwrap_or(usize::MAX),
            })
        }
        (_, false) => Err(at(
            &raw.referenced,
            format!("trailer `{what}`: in a CSV file, the field's number (1 is the tag)"),
        )),
        (_, true) => Err(at(
            &raw.referenced,
            format!(
                "trailer `{what}`: in a fixed-width file, `{{ start: N, length: N }}` (from 1)"
            ),
        )),
    }
}

fn trailer(raw: &Spanned<RawTrailer>, fixed: bool, at: &At<'_>) -> Result<Trailer, MappingError> {
    let t = &raw.value;
    if t.tag.value.is_empty() {
        return Err(at(
            &t.tag.referenced,
            "a trailer's `tag` is the text its record starts with".into(),
        ));
    }
    Ok(Trailer {
        tag: t.tag.value.clone(),
        count: position(&t.count, fixed, "count", at)?,
        billed_total: match &t.billed_total {
            Some(b) => Some(position(b, fixed, "billed_total", at)?),
            None => None,
        },
        money: match &t.money {
            Some(m) => money_unit(m, at)?,
            None => MoneyUnit::Dollars,
        },
    })
}
