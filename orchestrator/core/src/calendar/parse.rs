//! The calendar file format.
//!
//! The YAML is first read into a loose tree of located nodes (only broken YAML stops there),
//! then checked key by key. Checking the tree rather than deserializing into strict structs
//! is what lets one pass report every problem: two unknown keys, a bad date and a misspelt
//! weekday all come back together, each with its line and column.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::business::{Calendar, MON_TO_FRI};
use crate::diagnostics::{Diagnostic, FileId, Span, did_you_mean};

/// Largest calendar file accepted; a century of holidays is about 200 KB.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Deepest nesting accepted (a calendar needs 3: file, `holidays` list, holiday).
const MAX_DEPTH: usize = 8;

const TOP_KEYS: [&str; 4] = ["name", "description", "business_days", "holidays"];
const HOLIDAY_KEYS: [&str; 2] = ["date", "name"];

/// Weekday spellings accepted in `business_days` (case-insensitive).
const WEEKDAYS: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Mon),
    ("tue", "tuesday", Weekday::Tue),
    ("wed", "wednesday", Weekday::Wed),
    ("thu", "thursday", Weekday::Thu),
    ("fri", "friday", Weekday::Fri),
    ("sat", "saturday", Weekday::Sat),
    ("sun", "sunday", Weekday::Sun),
];

const DATE_HELP: &str = "write dates as YYYY-MM-DD, e.g. 2025-11-27";

pub(super) fn parse(file: FileId, text: &str) -> Result<Calendar, Vec<Diagnostic>> {
    if text.len() > MAX_BYTES {
        return Err(vec![Diagnostic::error(format!(
            "the file is {} bytes; calendar files are limited to {MAX_BYTES}",
            text.len()
        ))]);
    }
    let has_content = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !has_content {
        return Err(vec![
            Diagnostic::error("the calendar file has no content")
                .at(Span {
                    file,
                    line: 1,
                    column: 1,
                    offset: Some(0),
                    len: 0,
                })
                .label("no calendar here")
                .help("a calendar needs at least `name:`; see docs/calendars.md"),
        ]);
    }
    let root: Node = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| vec![yaml_error(file, text, &e)])?;
    let mut checker = Checker {
        file,
        text,
        errors: Vec::new(),
    };
    let calendar = checker.calendar(&root);
    match calendar {
        Some(calendar) if checker.errors.is_empty() => Ok(calendar),
        _ => Err(checker.errors),
    }
}

/// See [`Calendar::is_recognisable`].
pub(super) fn looks_like_calendar(text: &str) -> bool {
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if lines
        .clone()
        .next()
        .is_some_and(|l| l.trim_start().starts_with('{'))
    {
        return true;
    }
    lines.any(|line| {
        TOP_KEYS.iter().any(|key| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with(':'))
        })
    })
}

/// serde-saphyr's defaults, but nesting capped far below its default of 64: a calendar nests
/// three deep, and the loose tree recurses once per level, so a hostile file must not be able
/// to exhaust the stack.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Broken YAML, located, in the same words as for workflow files (which also say a repeated
/// key plainly).
fn yaml_error(file: FileId, text: &str, error: &serde_saphyr::Error) -> Diagnostic {
    let diagnostic = crate::workflow::compile::yaml_error(file, text, error);
    if diagnostic.message.contains("recursion limit exceeded")
        || diagnostic.message.contains("nesting")
    {
        return Diagnostic {
            message: format!("the file nests more than {MAX_DEPTH} levels deep"),
            label: Some("too deep here".into()),
            help: Some(
                "a calendar nests three deep: the file, the `holidays` list, each holiday".into(),
            ),
            ..diagnostic
        };
    }
    diagnostic
}

/// A YAML node and where it was written.
#[derive(Debug)]
struct Node {
    kind: Kind,
    at: Location,
}

#[derive(Debug)]
enum Kind {
    /// `~`, `null` or nothing at all.
    Null,
    /// A string scalar.
    Text(String),
    /// A scalar YAML read as a number or boolean; its text is taken from the file.
    Other(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Kind>::deserialize(deserializer)?;
        Ok(Node {
            kind: spanned.value,
            at: spanned.referenced,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Other(v.to_string()))
    }

    fn visit_char<E>(self, v: char) -> Result<Kind, E> {
        Ok(Kind::Text(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Text(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Text(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Other(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        Kind::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}

/// Walks the tree, collecting diagnostics.
struct Checker<'a> {
    file: FileId,
    text: &'a str,
    errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn span(&self, node: &Node) -> Span {
        Span::from_location(self.file, node.at)
    }

    fn push(&mut self, diagnostic: Diagnostic) {
        self.errors.push(diagnostic);
    }

    /// A scalar's text: strings as read, numbers and booleans as written in the file.
    fn scalar(&self, node: &Node) -> Option<String> {
        match &node.kind {
            Kind::Text(t) => Some(t.clone()),
            Kind::Other(formatted) => {
                let span = self.span(node);
                let written = span
                    .offset
                    .and_then(|o| self.text.get(o..o.saturating_add(span.len)))
                    .map(str::trim)
                    .filter(|w| !w.is_empty());
                Some(written.map_or_else(|| formatted.clone(), str::to_string))
            }
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
        }
    }

    fn calendar(&mut self, root: &Node) -> Option<Calendar> {
        let Kind::Map(entries) = &root.kind else {
            self.push(
                Diagnostic::error("a calendar file is a mapping of keys")
                    .at(self.span(root))
                    .label("expected `name:`, `business_days:` and `holidays:`")
                    .help("see docs/calendars.md for the format"),
            );
            return None;
        };
        let mut name = None;
        let mut description = None;
        let mut business_days = Some(MON_TO_FRI);
        let mut holidays = Some(BTreeMap::new());
        for (key, value) in entries {
            let Some(word) = self.key(key) else { continue };
            match word.as_str() {
                "name" => name = Some(self.text_value(value, "name")),
                "description" => {
                    description = match &value.kind {
                        Kind::Null => None,
                        Kind::Text(t) if t.trim().is_empty() => None,
                        _ => self.text_value(value, "description"),
                    }
                }
                "business_days" => business_days = self.business_days(value),
                "holidays" => holidays = self.holidays(value),
                other => self.unknown_key(key, other, &TOP_KEYS),
            }
        }
        let name = match name {
            Some(name) => name,
            None => {
                self.push(
                    Diagnostic::error("missing key `name`")
                        .at(self.span(root))
                        .label("this calendar has no `name`")
                        .help("add `name: us-federal` (messages name the calendar by it)"),
                );
                None
            }
        };
        Some(Calendar {
            name: name?,
            description,
            business_days: business_days?,
            holidays: holidays?,
        })
    }

    /// A mapping key as a word; anything else is an error.
    fn key(&mut self, key: &Node) -> Option<String> {
        match &key.kind {
            Kind::Text(t) => Some(t.clone()),
            _ => {
                self.push(
                    Diagnostic::error("a key must be a word")
                        .at(self.span(key))
                        .label("not a key"),
                );
                None
            }
        }
    }

    fn unknown_key(&mut self, key: &Node, word: &str, allowed: &[&str]) {
        let help = did_you_mean(word, allowed.iter().copied())
            .unwrap_or_else(|| format!("the keys allowed here are: {}", allowed.join(", ")));
        self.push(
            Diagnostic::error(format!("unknown key `{word}`"))
                .at(self.span(key))
                .label("not a key this section knows")
                .help(help),
        );
    }

    /// A non-empty text value for `key`.
    fn text_value(&mut self, value: &Node, key: &str) -> Option<String> {
        if matches!(value.kind, Kind::Seq(_) | Kind::Map(_)) {
            self.push(
                Diagnostic::error(format!("`{key}` must be text"))
                    .at(self.span(value))
                    .label("expected text, not a list or mapping"),
            );
            return None;
        }
        let text = self.scalar(value).map(|t| t.trim().to_string());
        if text.as_deref().is_none_or(str::is_empty) {
            self.push(
                Diagnostic::error(format!("`{key}` is empty"))
                    .at(self.span(value))
                    .label("expected text"),
            );
            return None;
        }
        text
    }

    fn business_days(&mut self, value: &Node) -> Option<[bool; 7]> {
        let items = match &value.kind {
            Kind::Seq(items) => items,
            _ => {
                self.push(
                    Diagnostic::error("`business_days` must be a list of weekdays")
                        .at(self.span(value))
                        .label("expected a list")
                        .help("write `business_days: [mon, tue, wed, thu, fri]`, or leave the key out for Monday to Friday"),
                );
                return None;
            }
        };
        if items.is_empty() {
            self.push(
                Diagnostic::error("`business_days` lists no weekday")
                    .at(self.span(value))
                    .label("at least one weekday is needed")
                    .help("write `business_days: [mon, tue, wed, thu, fri]`, or leave the key out for Monday to Friday"),
            );
            return None;
        }
        let mut days = [false; 7];
        let mut first: [Option<Span>; 7] = [None; 7];
        let mut ok = true;
        for item in items {
            let span = self.span(item);
            let Some(word) = self.scalar(item) else {
                self.push(
                    Diagnostic::error("expected a weekday")
                        .at(span)
                        .label("expected mon, tue, wed, thu, fri, sat or sun"),
                );
                ok = false;
                continue;
            };
            let lower = word.trim().to_ascii_lowercase();
            let Some((short, _, weekday)) = WEEKDAYS
                .iter()
                .find(|(short, long, _)| lower == *short || lower == *long)
            else {
                let candidates = WEEKDAYS.iter().flat_map(|(s, l, _)| [*s, *l]);
                self.push(
                    Diagnostic::error(format!("`{word}` is not a weekday"))
                        .at(span)
                        .label("expected mon, tue, wed, thu, fri, sat or sun")
                        .help(did_you_mean(&word, candidates).unwrap_or_else(|| {
                            "write weekdays as mon, tue, wed, thu, fri, sat, sun".into()
                        })),
                );
                ok = false;
                continue;
            };
            let i = weekday.num_days_from_monday() as usize;
            if let Some(earlier) = first[i] {
                self.push(
                    Diagnostic::error(format!(
                        "`{short}` is listed twice ({})",
                        lines(earlier, span)
                    ))
                    .at(span)
                    .label("listed again here")
                    .note(earlier, "first listed here")
                    .help("remove one of them"),
                );
                ok = false;
            } else {
                first[i] = Some(span);
                days[i] = true;
            }
        }
        ok.then_some(days)
    }

    fn holidays(&mut self, value: &Node) -> Option<BTreeMap<NaiveDate, String>> {
        let items = match &value.kind {
            Kind::Null => return Some(BTreeMap::new()),
            Kind::Seq(items) => items,
            _ => {
                self.push(
                    Diagnostic::error("`holidays` must be a list")
                        .at(self.span(value))
                        .label("expected a list of holidays")
                        .help("write each holiday as `- { date: 2025-11-27, name: Thanksgiving Day }`"),
                );
                return None;
            }
        };
        let mut holidays = BTreeMap::new();
        let mut first: BTreeMap<NaiveDate, Span> = BTreeMap::new();
        let mut ok = true;
        for item in items {
            match self.holiday(item) {
                Some((date, date_span, name)) => {
                    if let Some(earlier) = first.get(&date) {
                        self.push(
                            Diagnostic::error(format!(
                                "{date} is listed twice ({})",
                                lines(*earlier, date_span)
                            ))
                            .at(date_span)
                            .label("listed again here")
                            .note(*earlier, "first listed here")
                            .help("a date has one holiday: remove one entry, or merge their names"),
                        );
                        ok = false;
                    } else {
                        first.insert(date, date_span);
                        holidays.insert(date, name);
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(holidays)
    }

    /// One `{ date, name }` entry: its date, where the date is, and its name.
    fn holiday(&mut self, item: &Node) -> Option<(NaiveDate, Span, String)> {
        let Kind::Map(entries) = &item.kind else {
            self.push(
                Diagnostic::error("a holiday must be a mapping with `date` and `name`")
                    .at(self.span(item))
                    .label("expected `{ date: YYYY-MM-DD, name: ... }`")
                    .help("write each holiday as `- { date: 2025-11-27, name: Thanksgiving Day }`"),
            );
            return None;
        };
        let mut date = None;
        let mut name = None;
        let mut ok = true;
        for (key, value) in entries {
            let Some(word) = self.key(key) else {
                ok = false;
                continue;
            };
            match word.as_str() {
                "date" => date = Some(self.date(value)),
                "name" => name = Some(self.text_value(value, "name")),
                other => {
                    self.unknown_key(key, other, &HOLIDAY_KEYS);
                    ok = false;
                }
            }
        }
        for (key, present) in [("date", date.is_some()), ("name", name.is_some())] {
            if !present {
                self.push(
                    Diagnostic::error(format!("missing key `{key}`"))
                        .at(self.span(item))
                        .label(format!("this holiday has no `{key}`"))
                        .help("write each holiday as `- { date: 2025-11-27, name: Thanksgiving Day }`"),
                );
                ok = false;
            }
        }
        let (date, span) = date.flatten()?;
        let name = name.flatten()?;
        ok.then_some((date, span, name))
    }

    fn date(&mut self, value: &Node) -> Option<(NaiveDate, Span)> {
        let span = self.span(value);
        let Some(text) = self.scalar(value) else {
            self.push(
                Diagnostic::error("expected a date")
                    .at(span)
                    .label("expected YYYY-MM-DD")
                    .help(DATE_HELP),
            );
            return None;
        };
        match parse_date(text.trim()) {
            Ok(date) => Some((date, span)),
            Err(reason) => {
                self.push(
                    Diagnostic::error(format!("`{text}` is not a date"))
                        .at(span)
                        .label(reason)
                        .help(DATE_HELP),
                );
                None
            }
        }
    }
}

/// "lines 6 and 7", or "both on line 6" (a flow list on one line).
fn lines(first: Span, again: Span) -> String {
    if first.line == again.line {
        format!("both on line {}", first.line)
    } else {
        format!("lines {} and {}", first.line, again.line)
    }
}

/// `YYYY-MM-DD`, strictly; the error says what is wrong ("February 2024 has 29 days").
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let number =
        |range: std::ops::Range<usize>| text.get(range).and_then(|t| t.parse::<u32>().ok());
    let (true, Some(year), Some(month), Some(day)) =
        (shaped, number(0..4), number(5..7), number(8..10))
    else {
        return Err("expected YYYY-MM-DD".into());
    };
    let year = i32::try_from(year).map_err(|_| "expected YYYY-MM-DD".to_string())?;
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return Err(format!("there is no month {month}"));
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| {
        let days = first
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .map_or(28, |d| d.day());
        format!("{} has {days} days", first.format("%B %Y"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_and_explained() {
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29).ok_or(String::new())
        );
        assert_eq!(
            parse_date("2024-02-30"),
            Err("February 2024 has 29 days".into())
        );
        assert_eq!(
            parse_date("2025-02-29"),
            Err("February 2025 has 28 days".into())
        );
        assert_eq!(
            parse_date("2025-04-31"),
            Err("April 2025 has 30 days".into())
        );
        assert_eq!(parse_date("2025-13-01"), Err("there is no month 13".into()));
        assert_eq!(parse_date("2025-00-10"), Err("there is no month 0".into()));
        assert_eq!(parse_date("2025-1-1"), Err("expected YYYY-MM-DD".into()));
        assert_eq!(parse_date("2025/01/01"), Err("expected YYYY-MM-DD".into()));
        assert_eq!(parse_date("+025-01-01"), Err("expected YYYY-MM-DD".into()));
        assert_eq!(parse_date("2025-01-0é"), Err("expected YYYY-MM-DD".into()));
        assert_eq!(parse_date(""), Err("expected YYYY-MM-DD".into()));
    }
}
