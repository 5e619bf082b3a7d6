//! Reading workflow files from disk and compiling them (the I/O edge of the compiler).

use warden_core::diagnostics::SourceMap;
use warden_core::workflow::{Compilation, FsLoader, compile_bytes};

/// A workflow file read and compiled.
#[derive(Debug)]
pub struct Loaded {
    pub sources: SourceMap,
    pub compilation: Compilation,
}

/// Directories, besides a workflow file's own, that the files it references (its calendar)
/// may live in: `WARDEN_ALLOWED_ROOTS`, separated like `PATH` (docs/workflow-language.md).
pub const ALLOWED_ROOTS_VAR: &str = "WARDEN_ALLOWED_ROOTS";

/// Reads `path` and compiles it; `Err` when the file itself cannot be read. Content that is
/// not UTF-8 is a located compile error (invalid input), like any other bad content.
pub fn load_workflow(path: &str) -> Result<Loaded, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut sources = SourceMap::new();
    let allowed = std::env::var_os(ALLOWED_ROOTS_VAR)
        .map(|roots| std::env::split_paths(&roots).collect::<Vec<_>>())
        .unwrap_or_default();
    let loader =
        FsLoader::default().allowing(allowed.into_iter().filter(|r| !r.as_os_str().is_empty()));
    let compilation = compile_bytes(&mut sources, path, bytes, &loader);
    Ok(Loaded {
        sources,
        compilation,
    })
}
