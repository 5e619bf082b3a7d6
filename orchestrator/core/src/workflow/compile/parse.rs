//! Phase one: YAML to raw types, with unknown keys reported with the closest known key.

use serde_saphyr::Error as YamlError;

use crate::diagnostics::{Diagnostic, FileId, Span, did_you_mean};
use crate::workflow::raw::RawWorkflow;

/// Largest workflow file accepted; far above any real cycle (a 10,000-job file is ~1 MB).
const MAX_BYTES: usize = 32 * 1024 * 1024;

pub(super) fn parse_workflow(file: FileId, text: &str) -> Result<RawWorkflow, Box<Diagnostic>> {
    if text.len() > MAX_BYTES {
        return Err(Box::new(Diagnostic::error(format!(
            "the file is {} bytes; workflow files are limited to {MAX_BYTES}",
            text.len()
        ))));
    }
    let has_content = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    if !has_content {
        return Err(Box::new(
            Diagnostic::error("the file has no content")
                .help("a workflow needs at least `cycle`, `timezone`, `schedule`, `days` and `jobs`; see docs/workflow-language.md"),
        ));
    }
    serde_saphyr::from_str::<RawWorkflow>(text).map_err(|e| Box::new(yaml_error(file, &e)))
}

/// Turns a serde-saphyr error into a located diagnostic.
pub(crate) fn yaml_error(file: FileId, error: &YamlError) -> Diagnostic {
    let span = error
        .location()
        .map(|loc| Span::from_location(file, loc))
        .unwrap_or_default();
    let message = first_line(&error.without_snippet().to_string());
    if let Some((field, expected)) = unknown_field(&message) {
        let help = did_you_mean(&field, expected.iter().map(String::as_str))
            .unwrap_or_else(|| format!("the keys allowed here are: {}", expected.join(", ")));
        return Diagnostic::error(format!("unknown key `{field}`"))
            .at(span)
            .label("not a key this section knows")
            .help(help);
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
