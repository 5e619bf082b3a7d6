//! `warden validate FILE...`

use std::io::Write;

use clap::{Args, ValueEnum};
use serde::Serialize;
use warden_core::diagnostics::{JsonDiagnostic, Severity, render_json, render_text};

use super::{CliError, CliResult, Exit, count};
use crate::load::load_workflow;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Workflow files to check.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct FileReport {
    path: String,
    valid: bool,
    /// Concrete jobs per day, when the file compiled.
    jobs_per_day: Option<Vec<usize>>,
    errors: Vec<JsonDiagnostic>,
    warnings: Vec<JsonDiagnostic>,
}

pub(super) fn run(args: &ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let mut worst: Option<Exit> = None;
    let mut reports = Vec::new();
    for path in &args.files {
        // A file that cannot be read is a usage error (exit 2); one that is not UTF-8 is
        // invalid input, reported like any other error (exit 1).
        let l = match load_workflow(path) {
            Ok(loaded) => loaded,
            Err(message) => {
                worst = Some(Exit::Usage);
                match args.format {
                    Format::Text => writeln!(err, "error: {message}")?,
                    Format::Json => reports.push(unreadable(path, message)),
                }
                continue;
            }
        };
        let c = &l.compilation;
        let errors: Vec<_> = c.errors().cloned().collect();
        let warnings: Vec<_> = c.warnings().cloned().collect();
        let valid = errors.is_empty() && (!args.deny_warnings || warnings.is_empty());
        if !valid && worst.is_none() {
            worst = Some(Exit::Invalid);
        }
        match args.format {
            Format::Text => {
                // Errors first, then warnings, each group in the order the compiler's checks
                // ran (see `Compilation::diagnostics`).
                write!(out, "{}", render_text(&l.sources, &errors))?;
                write!(out, "{}", render_text(&l.sources, &warnings))?;
                let summary = match (&c.workflow, valid) {
                    (Some(w), true) => format!(
                        "{path}: valid: cycle `{}`, {} over {}{}",
                        w.id,
                        count(w.jobs.len(), "job"),
                        count(w.days.len(), "day"),
                        plural_warnings(warnings.len())
                    ),
                    (Some(_), false) => format!(
                        "{path}: invalid: {} denied by --deny-warnings",
                        count(warnings.len(), "warning")
                    ),
                    (None, _) => format!(
                        "{path}: invalid: {}{}",
                        count(errors.len(), "error"),
                        plural_warnings(warnings.len())
                    ),
                };
                writeln!(out, "{summary}")?;
            }
            Format::Json => reports.push(FileReport {
                path: path.clone(),
                valid,
                jobs_per_day: c.workflow.as_ref().map(|w| w.jobs_per_day()),
                errors: render_json(&l.sources, &errors),
                warnings: render_json(&l.sources, &warnings),
            }),
        }
    }
    if let Format::Json = args.format {
        let json = serde_json::json!({ "files": reports });
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        )?;
    }
    worst.map_or(Ok(()), |exit| Err(CliError::Reported(exit)))
}

/// A file that could not be read, as a report with that one error.
fn unreadable(path: &str, message: String) -> FileReport {
    FileReport {
        path: path.to_string(),
        valid: false,
        jobs_per_day: None,
        errors: vec![JsonDiagnostic {
            severity: Severity::Error,
            message,
            file: Some(path.to_string()),
            line: None,
            column: None,
            label: None,
            help: None,
        }],
        warnings: Vec::new(),
    }
}

fn plural_warnings(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {}", count(n, "warning"))
    }
}
