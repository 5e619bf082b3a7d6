//! Command-line interface. Exit codes: 0 success; 1 the input is invalid (every error
//! printed), or a run stopped because jobs failed for good; 2 the command was used wrongly
//! (bad flag, unreadable file, a date the cycle does not run on, an unknown job, an operator
//! command that does not fit the job's state); `warden adjudicate` exits 1 when benefit
//! plans or an input header are invalid, when the run does not reconcile, or when
//! `--verify-equivalence` finds a difference; 3 the environment is not usable (the
//! database cannot be reached or opened, the data directory cannot be written, another
//! orchestrator holds the run).

mod adjudicate;
mod alerts;
mod bench;
mod bench_accumulators;
mod bench_adjudicate;
mod claims;
mod cycle_args;
mod demo;
mod operate;
mod partitions;
mod plan;
mod plan_json;
mod plan_table;
mod progress;
mod run;
pub mod schema;
pub mod serve;
mod status;
mod validate;
mod whatif;

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};
use warden_core::sched::Command as Op;

pub use plan::PlanArgs;
pub use validate::ValidateArgs;

pub const EXIT_OK: i32 = 0;
pub const EXIT_INVALID: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_UNAVAILABLE: i32 = 3;

#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about = "Batch-cycle controller for claims processing: cycles as YAML DAGs, regulatory deadlines as first-class constraints."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check workflow files and print every error and warning.
    Validate(ValidateArgs),
    /// Show a cycle's nights, planned job times, critical path and deadline margins for a date.
    Plan(PlanArgs),
    /// Print the JSON Schema of the workflow format (for editors).
    Schema,
    /// Run (or resume) a cycle durably.
    Run(run::RunArgs),
    /// Show every job's state in a cycle run.
    Status(status::StatusArgs),
    /// Operator: do not dispatch a job.
    Hold(operate::OperateArgs),
    /// Operator: let a held job run.
    Release(operate::OperateArgs),
    /// Operator: run a failed job again.
    Rerun(operate::OperateArgs),
    /// Operator: mark a job done without running it (needs --reason).
    Skip(operate::OperateArgs),
    /// Operator: kill a running job (it fails, without an automatic retry).
    Kill(operate::OperateArgs),
    /// Operator: mark a job succeeded, killing it if it runs (needs --reason).
    ForceComplete(operate::OperateArgs),
    /// Margins, critical path and P(miss) before and after a change, or through a scenario.
    Whatif(whatif::WhatifArgs),
    /// List a run's alerts, their deliveries (dead letters included) and acknowledgements.
    Alerts(alerts::AlertsArgs),
    /// Acknowledge an alert: who, and a note (kept with the alert).
    Ack(alerts::AckArgs),
    /// Synthetic claims (issue #5).
    #[command(subcommand)]
    Claims(claims::ClaimsCommand),
    /// Adjudicate claims: partitioned two-pass (default) or serial; reconciled.
    Adjudicate(adjudicate::AdjudicateArgs),
    /// Plan or rebalance PCP-group partition boundaries.
    #[command(subcommand)]
    Partitions(partitions::PartitionsCommand),
    /// Warden's main job in one command: the month-end cycle with the February 2025 crisis
    /// injected, on an accelerated clock, with the web UI (docs/demo.md).
    Demo(demo::DemoArgs),
    /// Serve the web UI and JSON API over a store (docs/ui.md).
    Serve(serve::ServeArgs),
    /// Make a bearer token for the UI and print its auth-file line.
    Token(serve::TokenArgs),
    /// Measure Warden (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Runs the command line `args` (program name first), writing to `out` and `err`, and
/// returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                let _ = write!(err, "{text}");
                EXIT_USAGE
            } else {
                let _ = write!(out, "{text}");
                EXIT_OK
            };
        }
    };
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args, out, err),
        Command::Plan(args) => plan::run(&args, out, err),
        Command::Schema => schema::run(out),
        Command::Run(args) => run::run(&args, out, err),
        Command::Status(args) => status::run(&args, out, err),
        Command::Hold(args) => operate::run(Op::Hold, &args, out, err),
        Command::Release(args) => operate::run(Op::Release, &args, out, err),
        Command::Rerun(args) => operate::run(Op::Rerun, &args, out, err),
        Command::Skip(args) => operate::run(Op::Skip, &args, out, err),
        Command::Kill(args) => operate::run(Op::Kill, &args, out, err),
        Command::ForceComplete(args) => operate::run(Op::ForceComplete, &args, out, err),
        Command::Whatif(args) => whatif::run(&args, out, err),
        Command::Alerts(args) => alerts::alerts(&args, out, err),
        Command::Ack(args) => alerts::ack(&args, out, err),
        Command::Claims(command) => claims::run(&command, out, err),
        Command::Adjudicate(args) => adjudicate::run(&args, out, err),
        Command::Partitions(command) => partitions::run(&command, out, err),
        Command::Demo(args) => demo::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, out, err),
        Command::Token(args) => serve::token(&args, out, err),
        Command::Bench(command) => bench::run(&command, out, err),
    };
    match result {
        Ok(code) => code,
        // A reader that stopped reading (`warden plan ... | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_USAGE
        }
    }
}

/// `1 job`, `2 jobs`: a count with its noun.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Loads the benefit plans; every bad plan file is printed (file:line:column) and the
/// exit code returned instead.
fn load_plans(
    dir: &std::path::Path,
    err: &mut dyn Write,
) -> std::io::Result<Result<warden_workers::plans::Plans, i32>> {
    match warden_workers::plans::load_dir(dir) {
        Ok(p) => Ok(Ok(p)),
        Err(errors) => {
            for e in &errors {
                writeln!(err, "error: {e}")?;
            }
            writeln!(
                err,
                "the benefit plans in {} are invalid: {}",
                dir.display(),
                count(errors.len(), "error")
            )?;
            Ok(Err(EXIT_INVALID))
        }
    }
}

/// An I/O error writing output is a usage-level failure (e.g. a closed pipe).
type CliResult = Result<i32, std::io::Error>;
