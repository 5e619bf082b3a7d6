//! The compiler's working context: where diagnostics go and how other files are read.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::diagnostics::{Diagnostic, FileId, SourceMap, Span};
use crate::workflow::located::Located;

use super::loader::Loader;

pub(super) struct Ctx<'a> {
    pub file: FileId,
    pub sources: &'a mut SourceMap,
    pub loader: &'a dyn Loader,
    /// The cycle's zone, once the header has resolved it (for daylight-saving warnings).
    pub timezone: Option<chrono_tz::Tz>,
    /// Times of day already searched for a daylight-saving gap: where each is first moved.
    pub gaps: HashMap<NaiveTime, Option<(NaiveDate, NaiveDateTime)>>,
    /// The zone's changes of UTC offset, found once (see [`crate::calendar::offset_changes`]).
    pub offset_changes: Option<Vec<NaiveDate>>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: FileId, sources: &'a mut SourceMap, loader: &'a dyn Loader) -> Self {
        Self {
            file,
            sources,
            loader,
            timezone: None,
            gaps: HashMap::new(),
            offset_changes: None,
            diagnostics: Vec::new(),
        }
    }

    pub fn span<T>(&self, located: &Located<T>) -> Span {
        located.span(self.file)
    }

    /// A span inside a string value: `delta` bytes into its content (after any quote).
    pub fn inner_span(&self, located: &Located<String>, delta: usize, len: usize) -> Span {
        let span = self.span(located);
        let text = self.sources.text(self.file);
        let quoted = span
            .offset
            .and_then(|o| text.as_bytes().get(o))
            .is_some_and(|b| *b == b'"' || *b == b'\'');
        span.narrow(delta + usize::from(quoted), len)
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// An error at `span` with a label.
    pub fn error(&mut self, span: Span, message: impl Into<String>, label: impl Into<String>) {
        self.push(Diagnostic::error(message).at(span).label(label));
    }

    pub fn error_help(
        &mut self,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let mut d = Diagnostic::error(message).at(span).label(label);
        if let Some(h) = help {
            d = d.help(h);
        }
        self.push(d);
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}
