//! Located, user-facing diagnostics.
//!
//! Every problem Warden finds in an architect's files is a [`Diagnostic`]: a severity, a
//! one-line message, where it is (file:line:column, with the line shown), and what to do about
//! it. Once a file's structure reads (the YAML parses into the language's keys and shapes,
//! which stops at the first problem), the compiler collects every other problem before
//! giving up, so an architect fixes a file in one pass instead of one error at a time.

mod render;
mod source;

pub use render::{JsonDiagnostic, render_json, render_text};
pub use source::{FileId, SourceMap, Span};

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file can be used, but something is probably not what the architect meant.
    /// `--deny-warnings` turns these into errors.
    Warning,
}

/// A secondary place that explains the primary one ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; `None` only for problems with no place in a file
    /// (an unreadable file, say).
    pub span: Option<Span>,
    /// A short text under the caret ("unknown job").
    pub label: Option<String>,
    /// Other places worth showing.
    pub notes: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            message: message.into(),
            span: None,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// Points the diagnostic at `span` (ignored when the span is unknown).
    pub fn at(mut self, span: Span) -> Self {
        if span.is_known() {
            self.span = Some(span);
        }
        self
    }

    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.label = Some(text.into());
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        if span.is_known() {
            self.notes.push(Label {
                span,
                text: text.into(),
            });
        }
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest candidate to `word`, when one is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" for the closest candidate, if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// "did you mean" for a name that refers to an id. A name with characters no id can have
/// (`CLMGLPÖST`) is only matched by its ASCII spelling (`CLMGLPOST`): a fuzzy match of the
/// name as written would suggest a stranger that merely shares a prefix.
pub fn did_you_mean_id<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    if name.is_ascii() {
        return did_you_mean(name, candidates);
    }
    let folded = ascii_fold(name);
    candidates
        .into_iter()
        .find(|c| *c == folded)
        .map(|c| format!("did you mean `{c}`? (ids are ASCII)"))
}

/// `CLMGLPÖST` → `CLMGLPOST`: Latin letters with accents as their plain letter; other
/// characters that are not ASCII are dropped.
pub fn ascii_fold(text: &str) -> String {
    const FOLDS: [(&str, char); 14] = [
        ("ÀÁÂÃÄÅĀĂĄ", 'A'),
        ("àáâãäåāăą", 'a'),
        ("ÇĆĈĊČ", 'C'),
        ("çćĉċč", 'c'),
        ("ÈÉÊËĒĔĖĘĚ", 'E'),
        ("èéêëēĕėęě", 'e'),
        ("ÌÍÎÏĨĪĬĮİ", 'I'),
        ("ìíîïĩīĭįı", 'i'),
        ("ÑŃŅŇ", 'N'),
        ("ñńņň", 'n'),
        ("ÒÓÔÕÖØŌŎŐ", 'O'),
        ("òóôõöøōŏő", 'o'),
        ("ÙÚÛÜŨŪŬŮŰŲ", 'U'),
        ("ùúûüũūŭůűų", 'u'),
    ];
    text.chars()
        .filter_map(|c| {
            if c.is_ascii() {
                return Some(c);
            }
            FOLDS
                .iter()
                .find(|(from, _)| from.contains(c))
                .map(|(_, to)| *to)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_and_ignores_strangers() {
        let keys = ["estimate", "elasticity", "after", "streams"];
        assert_eq!(closest("estimat", keys), Some("estimate"));
        assert_eq!(closest("Streams", keys), Some("streams"));
        assert_eq!(closest("zzz", keys), None);
    }

    #[test]
    fn names_that_are_not_ascii_are_matched_by_their_ascii_spelling_only() {
        let ids = ["CLMACCUMPOST", "CLMGLPOST"];
        assert_eq!(ascii_fold("CLMGLPÖST"), "CLMGLPOST");
        assert_eq!(
            did_you_mean_id("CLMGLPÖST", ids).as_deref(),
            Some("did you mean `CLMGLPOST`? (ids are ASCII)")
        );
        assert_eq!(did_you_mean_id("CLMGLPÖST", ["CLMACCUMPOST"]), None);
        assert_eq!(
            did_you_mean_id("CLMGLPOS", ids).as_deref(),
            Some("did you mean `CLMGLPOST`?")
        );
    }
}
