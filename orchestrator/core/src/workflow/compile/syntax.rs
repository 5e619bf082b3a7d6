//! YAML syntax errors the reader reports far from their cause, told where the cause is.
//!
//! - An unclosed quote: the reader only notices lines later ("invalid indentation in
//!   multiline quoted scalar" on the next key), so the quote that was opened and never
//!   closed is found by scanning the text before that point.
//! - A tab in an indent: the reader points just after it and says "tabs disallowed"; the
//!   tab itself is pointed at, with what to do.
//!
//! Nothing here can panic on any text.

use crate::diagnostics::{Diagnostic, FileId, Span};

/// A clearer diagnostic for the reader's `message` at `offset` in `text`, if it is one of
/// the errors above.
pub(super) fn describe(
    file: FileId,
    text: &str,
    message: &str,
    offset: usize,
) -> Option<Diagnostic> {
    if message.contains("quoted scalar") || message.starts_with("unclosed quote") {
        return unclosed_quote(file, text, offset);
    }
    if message.starts_with("tabs disallowed") {
        return tab(file, text, offset);
    }
    None
}

fn unclosed_quote(file: FileId, text: &str, offset: usize) -> Option<Diagnostic> {
    // The reader points at the quote itself when the file ends inside the value, else at
    // where it stopped, after the quote.
    let (at, quote) = match text.get(offset..).and_then(|t| t.chars().next()) {
        Some(q @ ('"' | '\'')) if open_quote(text, offset).is_none() => (offset, q),
        _ => open_quote(text, offset)?,
    };
    let span = span_at(file, text, at, 1);
    let stopped = line_of(text, offset);
    Some(
        Diagnostic::error(format!(
            "a quoted value opened here is never closed (no closing {quote})"
        ))
        .at(span)
        .label("this quote is not closed")
        .help(format!(
            "end the value with a matching {quote} on the same line, or remove the opening {quote}; \
             the YAML reader only noticed at line {stopped}, where it stopped"
        )),
    )
}

/// The byte offset and kind of a quote opened before `until` and still open there.
fn open_quote(text: &str, until: usize) -> Option<(usize, char)> {
    let until = (0..=until.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))?;
    let head = &text[..until];
    let mut open: Option<(usize, char)> = None;
    // The last character that is not a space on the current line (None at a line's start).
    let mut previous: Option<char> = None;
    let mut chars = head.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match open {
            Some((_, '"')) => match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    open = None;
                    previous = Some(c);
                }
                _ => {}
            },
            Some((_, _)) => {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                    } else {
                        open = None;
                        previous = Some(c);
                    }
                }
            }
            None => match c {
                '\n' => previous = None,
                '#' if previous.is_none() || head[..i].ends_with([' ', '\t']) => {
                    // A comment: skip to the end of the line.
                    while chars.peek().is_some_and(|(_, n)| *n != '\n') {
                        chars.next();
                    }
                }
                '"' | '\''
                    if previous.is_none_or(|p| matches!(p, ':' | '[' | '{' | ',' | '-' | '?')) =>
                {
                    open = Some((i, c));
                }
                ' ' | '\t' | '\r' => {}
                _ => previous = Some(c),
            },
        }
    }
    open
}

fn tab(file: FileId, text: &str, offset: usize) -> Option<Diagnostic> {
    let line_start = text
        .get(..offset.min(text.len()))?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let at = line_start + text[line_start..line_end].find('\t')?;
    let span = span_at(file, text, at, 1);
    Some(
        Diagnostic::error(format!("line {} is indented with a tab", span.line))
            .at(span)
            .label("a tab")
            .help(format!(
                "YAML indents with spaces; replace the tab at {}:{} with spaces",
                span.line, span.column
            )),
    )
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A span of `len` bytes at byte `at` (a character boundary).
fn span_at(file: FileId, text: &str, at: usize, len: usize) -> Span {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    Span {
        file,
        line: u32::try_from(line_of(text, at)).unwrap_or(u32::MAX),
        column: u32::try_from(text[line_start..at].chars().count() + 1).unwrap_or(u32::MAX),
        offset: Some(at),
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_quote_left_open() {
        let text = "cycle: \"nightly\ntimezone: America/New_York\n";
        assert_eq!(open_quote(text, text.len()), Some((7, '"')));
        let closed = "cycle: \"nightly\"\nname: Don't stop\n# it's a comment\nx: 'a''b'\n";
        assert_eq!(open_quote(closed, closed.len()), None);
        let single = "a: [x, 'y\nb: 1\n";
        assert_eq!(open_quote(single, single.len()), Some((7, '\'')));
    }

    #[test]
    fn a_quote_left_open_at_the_end_of_the_file_is_pointed_at() {
        let text = "jobs:\n  - { id: A, estimate: \"5m }\n";
        let d = describe(FileId(0), text, "unclosed quote", 29).expect("explained");
        let span = d.span.expect("located");
        assert_eq!((span.line, span.column), (2, 24));
        assert!(d.help.is_some_and(|h| h.contains("matching \"")));
    }

    #[test]
    fn points_at_the_tab() {
        let text = "days:\n\t- { id: d1 }\n";
        let d = tab(FileId(0), text, 7).expect("a tab");
        let span = d.span.expect("located");
        assert_eq!((span.line, span.column), (2, 1));
        assert_eq!(
            d.help.as_deref(),
            Some("YAML indents with spaces; replace the tab at 2:1 with spaces")
        );
    }

    #[test]
    fn never_panics_on_odd_offsets() {
        for text in ["", "\"", "é\"\n", "'\t"] {
            for offset in 0..=text.len() + 2 {
                let _ = describe(FileId(0), text, "quoted scalar", offset);
                let _ = describe(FileId(0), text, "tabs disallowed", offset);
            }
        }
    }
}
