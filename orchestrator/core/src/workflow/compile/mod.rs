//! From a workflow file to a validated [`Workflow`].
//!
//! Phase one (`parse`) reads the YAML into the raw types; it stops at the first structural
//! problem (broken YAML, an unknown or missing key, a value of the wrong shape), which is
//! then the only diagnostic. Phase two never stops at the first problem: each section is
//! checked on its own and later sections work with whatever earlier ones could resolve, so
//! one run reports everything else that is wrong. Nothing here panics on any input (a fuzz
//! target and a property test hold it to that).

mod ctx;
mod cycles;
mod deadlines;
mod header;
mod impact;
mod jobs;
mod limits;
mod loader;
mod mismatch;
mod parse;
pub(crate) use parse::yaml_error;
mod refs;
mod syntax;

use std::collections::HashSet;

pub use loader::{FsLoader, LoadError, Loader, MAX_REFERENCED_BYTES, NoFiles, StoredLoader};

use crate::diagnostics::{Diagnostic, FileId, SourceMap, Span};
use crate::workflow::model::Workflow;
use ctx::Ctx;

/// The result of compiling one workflow file.
#[derive(Debug)]
pub struct Compilation {
    /// The workflow, when there were no errors (warnings allowed).
    pub workflow: Option<Workflow>,
    /// Errors and warnings, in the order the checks ran: header, then each job's fields,
    /// then dependencies, cycles, deadlines (file order within a step, not overall).
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }

    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Compiles the workflow file `file` (already in `sources`). Files it references (the
/// calendar) are read through `loader` and added to `sources`.
pub fn compile(sources: &mut SourceMap, file: FileId, loader: &dyn Loader) -> Compilation {
    let text = sources.text(file).to_string();
    let path = sources.path(file).to_string();
    let raw = match parse::parse_workflow(file, &path, &text) {
        Ok(raw) => raw,
        Err(diagnostic) => {
            return Compilation {
                workflow: None,
                diagnostics: vec![*diagnostic],
            };
        }
    };
    let mut cx = Ctx::new(file, sources, loader);
    let header = header::compile_header(&mut cx, &raw);
    let jobs = jobs::compile_jobs(&mut cx, &raw, &header);
    cycles::check_cycles(&mut cx, &jobs);
    let (milestones, deadlines) = deadlines::compile_deadlines(&mut cx, &raw, &header, &jobs);
    jobs::warn_unused_resources(&mut cx, &raw);

    let mut diagnostics = cx.into_diagnostics();
    dedupe(&mut diagnostics);
    let workflow = if diagnostics.iter().any(Diagnostic::is_error) {
        None
    } else {
        header.into_workflow(jobs.jobs, milestones, deadlines)
    };
    Compilation {
        workflow,
        diagnostics,
    }
}

/// Compiles a workflow file read as bytes from `path` (added to `sources`). Bytes that are
/// not UTF-8 are one error, located at the first invalid byte; the file is kept (with U+FFFD
/// in place of what could not be decoded) so the line can be shown.
pub fn compile_bytes(
    sources: &mut SourceMap,
    path: &str,
    bytes: Vec<u8>,
    loader: &dyn Loader,
) -> Compilation {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let file = sources.add(path, text);
            compile(sources, file, loader)
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let file = sources.add(path, String::from_utf8_lossy(&bytes).into_owned());
            Compilation {
                workflow: None,
                diagnostics: vec![not_utf8(file, &bytes, valid)],
            }
        }
    }
}

/// "not UTF-8" at the first invalid byte (`valid` bytes decode).
fn not_utf8(file: FileId, bytes: &[u8], valid: usize) -> Diagnostic {
    let prefix = bytes.get(..valid).unwrap_or_default();
    let line_start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let column = std::str::from_utf8(prefix.get(line_start..).unwrap_or_default())
        .map_or(0, |s| s.chars().count())
        + 1;
    let byte = bytes.get(valid).copied().unwrap_or_default();
    let span = Span {
        file,
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        offset: Some(valid),
        // U+FFFD, which stands in for the byte in the text kept for display.
        len: 3,
    };
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    let help = if utf16 {
        "the file looks like UTF-16; save it as UTF-8 (YAML workflow files are UTF-8 text)"
    } else {
        "save the file as UTF-8 (YAML workflow files are UTF-8 text); the byte may come from a \
         Latin-1 or Windows-1252 editor"
    };
    Diagnostic::error(format!(
        "the file is not UTF-8 text: byte 0x{byte:02X} at offset {valid} cannot be decoded"
    ))
    .at(span)
    .label("not UTF-8")
    .help(help)
}

/// Compiles workflow text that references no other files (fuzzing, benchmarks, tests).
pub fn compile_str(path: &str, text: &str) -> (SourceMap, Compilation) {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let compilation = compile(&mut sources, file, &NoFiles);
    (sources, compilation)
}

/// Template expansion can report the same problem once per instance; keep the first.
fn dedupe(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    diagnostics.retain(|d| {
        seen.insert((
            d.message.clone(),
            d.span.map(|s| (s.file, s.line, s.column)),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::render_text;

    #[test]
    fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
        let mut sources = SourceMap::new();
        let bytes = b"cycle: x\ndescription: caf\xe9\n".to_vec();
        let c = compile_bytes(&mut sources, "w.yaml", bytes, &NoFiles);
        assert!(c.workflow.is_none());
        let [d] = c.diagnostics.as_slice() else {
            panic!("one diagnostic: {:?}", c.diagnostics);
        };
        let span = d.span.expect("located");
        assert_eq!((span.line, span.column, span.offset), (2, 17, Some(25)));
        assert!(d.message.contains("not UTF-8"), "{}", d.message);
        assert!(d.message.contains("0xE9"), "{}", d.message);
        let text = render_text(&sources, &c.diagnostics);
        assert!(text.contains("w.yaml:2:17"), "{text}");
    }

    #[test]
    fn an_empty_or_comment_only_file_is_located_at_its_start() {
        for (text, message) in [
            ("", "the file is empty"),
            ("# nothing yet\n\n", "the file has only comments"),
        ] {
            let (sources, c) = compile_str("w.yaml", text);
            let [d] = c.diagnostics.as_slice() else {
                panic!("one diagnostic: {:?}", c.diagnostics);
            };
            assert_eq!(d.message, message);
            let span = d.span.expect("located");
            assert_eq!((span.line, span.column), (1, 1));
            let rendered = render_text(&sources, &c.diagnostics);
            assert!(rendered.contains("w.yaml:1:1"), "{rendered}");
            assert!(rendered.contains("`cycle: nightly`"), "{rendered}");
        }
    }
}
