//! The files a compilation read, and places in them.

use serde_saphyr::Location;

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A place in a source file: 1-based line and column (in characters), and the byte range of
/// the token so the renderer can underline it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub column: u32,
    /// Byte offset of the token in the file, when known.
    pub offset: Option<usize>,
    /// Length of the token in bytes (at least 1 when rendered).
    pub len: usize,
}

impl Span {
    /// A span from a serde-saphyr location in `file`.
    pub fn from_location(file: FileId, loc: Location) -> Self {
        let span = loc.span();
        Self {
            file,
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            offset: span.byte_offset().and_then(|o| usize::try_from(o).ok()),
            len: span
                .byte_len()
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0),
        }
    }

    /// A span covering `len` bytes starting `delta` bytes into this one (for pointing inside
    /// a string value such as a deadline expression). Only meaningful for plain scalars.
    pub fn narrow(self, delta: usize, len: usize) -> Self {
        let delta_cols = u32::try_from(delta).unwrap_or(0);
        Self {
            column: self.column.saturating_add(delta_cols),
            offset: self.offset.map(|o| o + delta),
            len,
            ..self
        }
    }

    /// Whether this span points somewhere (serde-saphyr reports line 0 when it lost track).
    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// A file read for a compilation.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user named it (shown in messages).
    pub path: String,
    pub text: String,
}

/// Every file a compilation read, so diagnostics can show their lines.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            path: path.into(),
            text: text.into(),
        });
        id
    }

    /// Every file read, in the order read (the compiled file first).
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn path(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.path.as_str())
    }

    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", |f| f.text.as_str())
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, id: FileId, line: u32) -> Option<usize> {
        let text = self.text(id);
        if line == 0 {
            return None;
        }
        if line == 1 {
            return Some(0);
        }
        text.match_indices('\n')
            .nth(line as usize - 2)
            .map(|(i, _)| i + 1)
    }

    /// Byte offset of a span: its own when known, else computed from line and column.
    pub fn offset_of(&self, span: &Span) -> Option<usize> {
        if let Some(o) = span.offset {
            return Some(o);
        }
        let start = self.line_start(span.file, span.line)?;
        let text = self.text(span.file);
        let line = &text[start..];
        let col = span.column.saturating_sub(1) as usize;
        Some(
            start
                + line.char_indices().nth(col).map_or(
                    line.len().min(line.find('\n').unwrap_or(line.len())),
                    |(i, _)| i,
                ),
        )
    }
}
