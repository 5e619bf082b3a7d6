//! The compiler's working context: where diagnostics go and how other files are read.

use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, FileId, SourceMap, Span};
use crate::workflow::located::Located;

/// Reads files a workflow references. The compiler itself does no I/O.
pub trait Loader {
    /// Reads `path`, written in `from` (the referencing file's path). Returns the path to show
    /// in messages and the text, or a message saying why it could not be read.
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String>;
}

/// A loader for text compiled on its own: every reference fails.
#[derive(Debug)]
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, _from: &str, path: &str) -> Result<(String, String), String> {
        Err(format!(
            "`{path}` cannot be read here (no files are available)"
        ))
    }
}

/// Reads referenced files from the file system, relative to the referencing file (and to
/// `root`, when set, so that paths shown in messages can stay relative to a project root).
#[derive(Debug, Default)]
pub struct FsLoader {
    pub root: Option<PathBuf>,
}

impl FsLoader {
    pub fn rooted(root: impl Into<PathBuf>) -> Self {
        Self {
            root: Some(root.into()),
        }
    }
}

impl Loader for FsLoader {
    fn load(&self, from: &str, path: &str) -> Result<(String, String), String> {
        let base = Path::new(from).parent().unwrap_or(Path::new(""));
        let shown: PathBuf = base.join(path);
        let full = match &self.root {
            Some(root) => root.join(&shown),
            None => shown.clone(),
        };
        let shown = shown.to_string_lossy().into_owned();
        std::fs::read_to_string(&full)
            .map(|text| (shown.clone(), text))
            .map_err(|e| format!("cannot read `{shown}`: {e}"))
    }
}

pub(super) struct Ctx<'a> {
    pub file: FileId,
    pub sources: &'a mut SourceMap,
    pub loader: &'a dyn Loader,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: FileId, sources: &'a mut SourceMap, loader: &'a dyn Loader) -> Self {
        Self {
            file,
            sources,
            loader,
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
