//! Reading workflow files from disk and compiling them (the I/O edge of the compiler).

use warden_core::diagnostics::SourceMap;
use warden_core::workflow::{Compilation, FsLoader, compile};

/// A workflow file read and compiled.
#[derive(Debug)]
pub struct Loaded {
    pub sources: SourceMap,
    pub compilation: Compilation,
}

/// Reads `path` and compiles it; `Err` when the file itself cannot be read.
pub fn load_workflow(path: &str) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let compilation = compile(&mut sources, file, &FsLoader::default());
    Ok(Loaded {
        sources,
        compilation,
    })
}
