//! How big a workflow file may be, and what to say when one is bigger.
//!
//! The limits exist so that a hostile or runaway file cannot exhaust memory or the stack;
//! they are set well above what a real cycle needs (100,000 jobs written one entry each is
//! about 23 MB and 1.3 million YAML nodes). The YAML reader's own budget is raised to match,
//! and its breaches are told in the architect's terms: which limit, its value, the file, and
//! how to split the file. docs/workflow-language.md ("Limits") lists them.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, Error as YamlError, Options};

use super::ctx::Ctx;
use super::parse::start_of;
use crate::diagnostics::{Diagnostic, FileId};
use crate::workflow::raw::RawJob;
use crate::workflow::values::thousands;

/// Largest workflow file, in bytes.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Most YAML nodes (every key, value, list and map): about 13 per job written out in full.
pub const MAX_NODES: usize = 8_000_000;
/// Most YAML parser events (nodes plus the ends of lists and maps).
pub const MAX_EVENTS: usize = 16_000_000;
/// Deepest nesting of lists and maps (a workflow needs about 6).
pub const MAX_DEPTH: usize = 64;
/// Most concrete jobs a workflow expands into: templates multiply (streams × partitions),
/// so a small file could otherwise ask for hundreds of millions.
pub const MAX_JOBS: usize = 1_000_000;

/// What to do about a file over a limit.
const SPLIT_HELP: &str = "split the cycle into several workflow files (one per day, or per \
    group of streams), or let one entry stand for many jobs with `streams:` and \
    `partitions:`; docs/workflow-language.md lists the limits";

/// The YAML reader's options: its default budget, raised to the limits above.
pub(super) fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = MAX_EVENTS;
    budget.max_depth = MAX_DEPTH;
    budget.max_total_scalar_bytes = MAX_BYTES;
    let mut options = Options::default();
    options.budget = Some(budget);
    options
}

/// The file's size against [`MAX_BYTES`], checked before reading any YAML.
pub(super) fn check_size(file: FileId, path: &str, text: &str) -> Option<Diagnostic> {
    (text.len() > MAX_BYTES).then(|| {
        over_limit(
            file,
            format!(
                "`{path}` is {} ({} bytes); workflow files are limited to {}",
                megabytes(text.len()),
                text.len(),
                megabytes(MAX_BYTES)
            ),
        )
    })
}

/// A breach of the YAML reader's budget in the architect's words, or `None` for any other
/// error.
pub(super) fn describe(file: FileId, path: &str, error: &YamlError) -> Option<Diagnostic> {
    let YamlError::Budget { breach, .. } = error else {
        return None;
    };
    let message = match breach {
        BudgetBreach::Nodes { .. } => format!(
            "`{path}` has more than {} YAML nodes (keys, values, lists and maps); a job written \
             out takes about 13, so this is about {} jobs",
            thousands(MAX_NODES as u64),
            thousands(MAX_NODES as u64 / 13)
        ),
        BudgetBreach::Events { .. } => format!(
            "`{path}` has more than {} YAML events (nodes and the ends of lists and maps)",
            thousands(MAX_EVENTS as u64)
        ),
        BudgetBreach::Depth { .. } => {
            format!("`{path}` nests lists and maps more than {MAX_DEPTH} levels deep")
        }
        BudgetBreach::ScalarBytes { .. } => format!(
            "`{path}`'s values add up to more than {}",
            megabytes(MAX_BYTES)
        ),
        other => format!("`{path}` is beyond what Warden reads ({other:?})"),
    };
    Some(over_limit(file, message))
}

/// The job whose expansion takes the workflow over [`MAX_JOBS`] (`total` with it).
pub(super) fn too_many_jobs(cx: &mut Ctx<'_>, raw: &RawJob, total: usize) {
    let span = cx.span(&raw.id);
    cx.push(
        Diagnostic::error(format!(
            "with job `{}` the workflow expands to {} jobs; a workflow is limited to {}",
            raw.id.value,
            thousands(total as u64),
            thousands(MAX_JOBS as u64)
        ))
        .at(span)
        .label("expands past the limit")
        .help(SPLIT_HELP),
    );
}

fn over_limit(file: FileId, message: String) -> Diagnostic {
    Diagnostic::error(message)
        .at(start_of(file))
        .label("this file is over a limit")
        .help(SPLIT_HELP)
}

/// `64 MiB`, `23.1 MiB`.
fn megabytes(bytes: usize) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib.fract() == 0.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_breach_names_the_limit_the_file_and_the_way_out() {
        // The real limit takes millions of nodes to reach; a small budget breaches the same way.
        let mut options = options();
        if let Some(budget) = options.budget.as_mut() {
            budget.max_nodes = 50;
        }
        let text = crate::workflow::synthetic::flat(20);
        let error = serde_saphyr::from_str_with_options::<crate::workflow::raw::RawWorkflow>(
            &text, options,
        )
        .expect_err("over the small budget");
        let d = describe(FileId(0), "w.yaml", error.without_snippet()).expect("a budget breach");
        assert_eq!(
            d.message,
            "`w.yaml` has more than 8,000,000 YAML nodes (keys, values, lists and maps); a job \
             written out takes about 13, so this is about 615,384 jobs"
        );
        assert_eq!(d.span.map(|s| (s.line, s.column)), Some((1, 1)));
        assert!(d.help.is_some_and(|h| h.starts_with("split the cycle")));
    }

    #[test]
    fn figures_are_readable() {
        assert_eq!(thousands(8_000_000), "8,000,000");
        assert_eq!(thousands(615), "615");
        assert_eq!(megabytes(MAX_BYTES), "64 MiB");
        assert_eq!(megabytes(23 * 1024 * 1024 + 100 * 1024), "23.1 MiB");
    }
}
