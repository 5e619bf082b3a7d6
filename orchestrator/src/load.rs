//! Reading workflow files from disk and compiling them (the I/O edge of the compiler).

use warden_core::diagnostics::SourceMap;
use warden_core::workflow::{Compilation, FsLoader, compile_bytes};

/// A workflow file read and compiled.
#[derive(Debug)]
pub struct Loaded {
    pub sources: SourceMap,
    pub compilation: Compilation,
}

/// Reads `path` and compiles it; `Err` when the file itself cannot be read. Content that is
/// not UTF-8 is a located compile error (invalid input), like any other bad content.
pub fn load_workflow(path: &str) -> Result<Loaded, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut sources = SourceMap::new();
    let compilation = compile_bytes(&mut sources, path, bytes, &FsLoader::default());
    Ok(Loaded {
        sources,
        compilation,
    })
}
