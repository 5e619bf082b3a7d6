//! Rendering diagnostics for people (rustc-style snippets) and for tools (JSON).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use super::{Diagnostic, Severity, SourceMap, Span};

/// Renders diagnostics as text: one block per diagnostic, the offending line shown with a
/// caret, then notes and help. Plain (no colour) so the output is stable and pinnable.
pub fn render_text(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let renderer = Renderer::plain();
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&renderer.render(&report(sources, d)));
        out.push_str("\n\n");
    }
    out
}

fn report<'a>(sources: &'a SourceMap, d: &'a Diagnostic) -> Vec<Group<'a>> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let title = level.primary_title(d.message.as_str());
    let mut group = match d.span {
        None => Group::with_title(title),
        Some(span) => {
            let mut snippet = Snippet::source(sources.text(span.file))
                .path(sources.path(span.file))
                .fold(true)
                .annotation(annotation(
                    sources,
                    &span,
                    AnnotationKind::Primary,
                    d.label.as_deref(),
                ));
            for note in d.notes.iter().filter(|n| n.span.file == span.file) {
                snippet = snippet.annotation(annotation(
                    sources,
                    &note.span,
                    AnnotationKind::Context,
                    Some(&note.text),
                ));
            }
            let mut group = title.element(snippet);
            for note in d.notes.iter().filter(|n| n.span.file != span.file) {
                group = group.element(
                    Snippet::source(sources.text(note.span.file))
                        .path(sources.path(note.span.file))
                        .fold(true)
                        .annotation(annotation(
                            sources,
                            &note.span,
                            AnnotationKind::Context,
                            Some(&note.text),
                        )),
                );
            }
            group
        }
    };
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    vec![group]
}

fn annotation<'a>(
    sources: &SourceMap,
    span: &Span,
    kind: AnnotationKind,
    label: Option<&'a str>,
) -> annotate_snippets::Annotation<'a> {
    let text = sources.text(span.file);
    // Snap both ends to character boundaries: a span's byte length may end mid-character.
    let mut start = sources.offset_of(span).unwrap_or(0).min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + span.len.max(1)).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    // Never underline across the end of the line.
    if let Some(nl) = text[start..end].find('\n') {
        end = start + nl.max(1);
    }
    let annotation = kind.span(start..end);
    match label {
        Some(l) => annotation.label(l),
        None => annotation,
    }
}

/// A diagnostic as tools see it (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub label: Option<String>,
    pub help: Option<String>,
}

/// Diagnostics as JSON values, in order.
pub fn render_json(sources: &SourceMap, diagnostics: &[Diagnostic]) -> Vec<JsonDiagnostic> {
    diagnostics
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity,
            message: d.message.clone(),
            file: d.span.map(|s| sources.path(s.file).to_string()),
            line: d.span.map(|s| s.line),
            column: d.span.map(|s| s.column),
            label: d.label.clone(),
            help: d.help.clone(),
        })
        .collect()
}
