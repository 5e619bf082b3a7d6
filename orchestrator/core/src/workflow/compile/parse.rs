//! Phase one: YAML to raw types, with unknown keys reported with the closest known key.

use serde_saphyr::Error as YamlError;

use super::{limits, mismatch, syntax};
use crate::diagnostics::{Diagnostic, FileId, Span, did_you_mean};
use crate::workflow::raw::RawWorkflow;

/// What the smallest useful workflow looks like, for an empty file.
const MINIMAL_WORKFLOW: &str = "a workflow needs at least `cycle`, `timezone`, `schedule`, `days` and `jobs`, e.g. \
    `cycle: nightly`, `timezone: America/New_York`, `schedule: { cron: \"0 23 * * 1-5\" }`, \
    `days: [{ id: night, window: { opens: \"23:00\", closes: \"05:00\" } }]`, \
    `jobs: [{ id: EXTRACT, run: extract.sh, estimate: 30m }]`; see docs/workflow-language.md";

/// Line 1, column 1 of `file`.
pub(crate) fn start_of(file: FileId) -> Span {
    Span {
        file,
        line: 1,
        column: 1,
        offset: Some(0),
        len: 0,
    }
}

pub(super) fn parse_workflow(
    file: FileId,
    path: &str,
    text: &str,
) -> Result<RawWorkflow, Box<Diagnostic>> {
    if let Some(too_large) = limits::check_size(file, path, text) {
        return Err(Box::new(too_large));
    }
    let has_content = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !has_content {
        let message = if text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file has only comments"
        };
        return Err(Box::new(
            Diagnostic::error(message)
                .at(start_of(file))
                .label("no workflow here")
                .help(MINIMAL_WORKFLOW),
        ));
    }
    serde_saphyr::from_str_with_options::<RawWorkflow>(text, limits::options()).map_err(|e| {
        Box::new(
            limits::describe(file, path, e.without_snippet())
                .unwrap_or_else(|| yaml_error(file, text, &e)),
        )
    })
}

/// Turns a serde-saphyr error in `text` into a located diagnostic.
pub(crate) fn yaml_error(file: FileId, text: &str, error: &YamlError) -> Diagnostic {
    let span = error
        .location()
        .map(|loc| Span::from_location(file, loc))
        .unwrap_or_default();
    let error = error.without_snippet();
    let message = first_line(&error.to_string());
    let value_span = match error {
        YamlError::SerdeInvalidType { expected, .. }
        | YamlError::SerdeInvalidValue { expected, .. }
            if expected.ends_with("written without quotes") =>
        {
            past_key(text, span)
        }
        _ => span,
    };
    if let Some((message, help)) =
        mismatch::describe(error, &message, text, byte_offset(text, &value_span))
    {
        let span = value_span;
        return Diagnostic::error(message)
            .at(span)
            .label("not what this key takes")
            .help(help);
    }
    if let Some(d) =
        byte_offset(text, &span).and_then(|offset| syntax::describe(file, text, &message, offset))
    {
        return d;
    }
    if let Some((field, expected)) = unknown_field(&message) {
        let help = did_you_mean(&field, expected.iter().map(String::as_str))
            .unwrap_or_else(|| format!("the keys allowed here are: {}", expected.join(", ")));
        return Diagnostic::error(format!("unknown key `{field}`"))
            .at(span)
            .label("not a key this section knows")
            .help(help);
    }
    if let Some(key) = duplicate_key(&message) {
        return Diagnostic::error(format!("key `{key}` is given twice"))
            .at(span)
            .label("given again here")
            .help("keep one of them");
    }
    if let Some(field) = missing_field(&message) {
        return Diagnostic::error(format!("missing key `{field}`"))
            .at(span)
            .label(format!("the section ending here has no `{field}`"))
            .help(format!(
                "add `{field}:`; docs/workflow-language.md lists every key"
            ));
    }
    Diagnostic::error(message).at(span).label("here")
}

/// A type error raised for a whole `key: value` entry (the numbers in
/// [`crate::workflow::numbers`]) is located at the key; the value is what is wrong.
fn past_key(text: &str, span: Span) -> Span {
    let Some(offset) = byte_offset(text, &span) else {
        return span;
    };
    let rest = text.get(offset..).unwrap_or_default();
    let key_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(0);
    let after_key = &rest[key_len..];
    if key_len == 0 || !after_key.starts_with(':') {
        return span;
    }
    let spaces = after_key[1..].len() - after_key[1..].trim_start_matches([' ', '\t']).len();
    let skip = key_len + 1 + spaces;
    let value = &rest[skip..];
    let len = value
        .find([',', '}', ']', '\n', '#'])
        .unwrap_or(value.len());
    Span {
        offset: Some(offset + skip),
        column: span.column.saturating_add(u32::try_from(skip).unwrap_or(0)),
        len: value[..len].trim_end().len(),
        ..span
    }
}

/// The byte offset of `span` in `text`: its own, or from its line and column.
fn byte_offset(text: &str, span: &Span) -> Option<usize> {
    if !span.is_known() {
        return None;
    }
    if let Some(offset) = span.offset {
        return Some(offset);
    }
    let line_start = if span.line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(span.line as usize - 2)?.0 + 1
    };
    let line = text.get(line_start..)?;
    let column = span.column.saturating_sub(1) as usize;
    line.char_indices().nth(column).map(|(i, _)| line_start + i)
}

/// `unknown field `x`, expected one of `a`, `b`` (serde's wording) → ("x", ["a", "b"]).
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected ")
        .map(|(_, list)| list.trim_start_matches("one of "))
        .unwrap_or("");
    let expected = expected
        .split(',')
        .map(|k| k.trim().trim_matches('`').to_string())
        .filter(|k| !k.is_empty())
        .collect();
    Some((field.to_string(), expected))
}

/// `duplicate mapping key: x, set DuplicateKeyPolicy ...` (serde-saphyr) → "x".
fn duplicate_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("duplicate mapping key: ")?;
    Some(
        rest.split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest)
            .to_string(),
    )
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(f, _)| f.to_string())
}

/// serde-saphyr's messages end with " at line L column C"; the span already says where.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    match line.rfind(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}
