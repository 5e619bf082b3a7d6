//! Phase two: from the raw file to a validated [`Workflow`], collecting every error at once.
//!
//! The compiler never stops at the first problem: each section is checked on its own and
//! later sections work with whatever earlier ones could resolve, so one run reports
//! everything that is wrong. Nothing here panics on any input (a fuzz target and a property
//! test hold it to that).

mod ctx;
mod cycles;
mod deadlines;
mod header;
mod jobs;
mod mismatch;
mod parse;
pub(crate) use parse::yaml_error;
mod refs;

use std::collections::HashSet;

pub use ctx::{FsLoader, Loader, NoFiles};

use crate::diagnostics::{Diagnostic, FileId, SourceMap};
use crate::workflow::model::Workflow;
use ctx::Ctx;

/// The result of compiling one workflow file.
#[derive(Debug)]
pub struct Compilation {
    /// The workflow, when there were no errors (warnings allowed).
    pub workflow: Option<Workflow>,
    /// Errors and warnings, in file order within each section.
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
    let raw = match parse::parse_workflow(file, &text) {
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

/// Compiles workflow text that references no other files (fuzzing, benchmarks, tests).
pub fn compile_str(path: &str, text: &str) -> (SourceMap, Compilation) {
    let mut sources = SourceMap::new();
    let file = sources.add(path, text);
    let compilation = compile(&mut sources, file, &ctx::NoFiles);
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
