//! Command-line interface: one module per subcommand. Every command returns a
//! [`CliResult`]; its error ([`CliError`], with the exit-code table in `error.rs`) is printed
//! once, here in [`run`]. `runtime.rs` makes the async runtime; `open_run.rs` finds the run a
//! command reads or adds to.

mod adjudicate;
mod alerts;
mod bench;
mod bench_accumulators;
mod bench_adjudicate;
mod bench_impact;
mod bench_intake;
mod bench_objects;
mod bench_route;
mod claims;
mod cycle_args;
mod demo;
mod error;
mod impact;
mod intake;
mod limits;
mod objects_args;
mod open_run;
mod operate;
mod partitions;
mod plan;
mod plan_json;
mod plan_table;
mod progress;
mod route;
mod run;
mod runtime;
pub mod schema;
pub mod serve;
mod status;
mod validate;
mod whatif;
mod worker;

use std::ffi::OsString;
use std::io::Write;

use clap::{Parser, Subcommand};
use warden_core::sched::Command as Op;

pub use plan::PlanArgs;
pub use validate::ValidateArgs;

use error::reported_if;
pub use error::{CliError, CliResult, Exit};

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
    #[command(mut_arg("format", |a| with_help(a, "`text` for people, `json` for tools (every file, every diagnostic with its place)")))]
    Validate(ValidateArgs),
    /// Show a cycle's nights, planned job times, critical path and deadline margins for a date.
    #[command(mut_arg("format", |a| with_help(a, "`table` for people, `json` for tools (the plan, critical path and margins)")))]
    Plan(PlanArgs),
    /// Print the JSON Schema of the workflow format (for editors).
    Schema,
    /// Run (or resume) a cycle durably.
    Run(run::RunArgs),
    /// Show every job's state in a cycle run.
    Status(status::StatusArgs),
    /// A worker process for any host: runs the jobs of every running cycle of a store
    /// (docs/deployment.md).
    Worker(worker::WorkerArgs),
    /// List worker processes: host, state, what each runs, when it was last heard from.
    Workers(worker::WorkersArgs),
    /// Run one job's command and record how it ended beside its attempt (workers start
    /// every shell job under it, so a dead worker's attempts are adopted, not rerun).
    #[command(hide = true)]
    Supervise(worker::SuperviseArgs),
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
    /// Partner claim files through the partner's mapping into the claims input, with
    /// rejects, control totals and acknowledgements (docs/intake.md).
    Intake(intake::IntakeArgs),
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
    /// Batch impact test of new claim volume (docs/impact.md).
    #[command(subcommand)]
    Impact(impact::ImpactCommand),
    /// Route claims to streams and platforms by CEL rule sets (docs/routing.md).
    #[command(subcommand)]
    Route(route::RouteCommand),
}

/// `arg` with `help` if its own doc comment gives none, so that `--help` documents every
/// flag (a doc comment where the flag is declared wins).
fn with_help(arg: clap::Arg, help: &'static str) -> clap::Arg {
    if arg.get_help().is_some() {
        arg
    } else {
        arg.help(help)
    }
}

/// The whole command tree, as clap sees it (a test checks every flag has help).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
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
                Exit::Usage as i32
            } else {
                let _ = write!(out, "{text}");
                Exit::Ok as i32
            };
        }
    };
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args, out, err),
        Command::Plan(args) => plan::run(&args, out, err),
        Command::Schema => schema::run(out),
        Command::Run(args) => run::run(&args, out, err),
        Command::Status(args) => status::run(&args, out, err),
        Command::Worker(args) => worker::worker(&args, out),
        Command::Workers(args) => worker::workers(&args, out),
        Command::Supervise(args) => worker::supervise(&args, err),
        Command::Hold(args) => operate::run(Op::Hold, &args, out, err),
        Command::Release(args) => operate::run(Op::Release, &args, out, err),
        Command::Rerun(args) => operate::run(Op::Rerun, &args, out, err),
        Command::Skip(args) => operate::run(Op::Skip, &args, out, err),
        Command::Kill(args) => operate::run(Op::Kill, &args, out, err),
        Command::ForceComplete(args) => operate::run(Op::ForceComplete, &args, out, err),
        Command::Whatif(args) => whatif::run(&args, out, err),
        Command::Alerts(args) => alerts::alerts(&args, out, err),
        Command::Ack(args) => alerts::ack(&args, out),
        Command::Claims(command) => claims::run(&command, out, err),
        Command::Intake(args) => intake::run(&args, out, err),
        Command::Adjudicate(args) => adjudicate::run(&args, out, err),
        Command::Partitions(command) => partitions::run(&command, out),
        Command::Demo(args) => demo::run(&args, out, err),
        Command::Serve(args) => serve::run(&args, out),
        Command::Token(args) => serve::token(&args, out),
        Command::Bench(command) => bench::run(&command, out, err),
        Command::Impact(command) => impact::run(&command, out, err),
        Command::Route(command) => route::run(&command, out, err),
    };
    match result {
        Ok(()) => Exit::Ok as i32,
        Err(e) => {
            e.print(err);
            e.exit_code()
        }
    }
}

/// The built-ins' settings `warden run`, `worker` and `demo` run with: their flags and
/// variables over their settings file's (engine::builtins). A settings file that cannot be
/// read or is invalid stops the command at start (exit 2, `file:line:column: ...`).
fn builtin_settings(
    given: &crate::engine::builtins::BuiltinSettings,
) -> CliResult<crate::engine::builtins::BuiltinSettings> {
    given.with_settings_file().map_err(CliError::usage)
}

/// `1 job`, `2 jobs`: a count with its noun.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Where the benefit plans are by default: the repository's `workflows/plans`, when the
/// command runs where it is.
const PLANS_DIR: &str = "workflows/plans";

/// The plans shipped in `workflows/plans/`, compiled in: what a command uses when it is given
/// no `--plans` and runs where there is no `workflows/plans` (a fresh machine, another
/// directory), so that it works from anywhere and with the plans the docs describe.
const SHIPPED_PLANS: [(&str, &str); 3] = [
    (
        "bronze-hdhp.yaml",
        include_str!("../../../workflows/plans/bronze-hdhp.yaml"),
    ),
    (
        "gold-ppo.yaml",
        include_str!("../../../workflows/plans/gold-ppo.yaml"),
    ),
    (
        "silver-hmo.yaml",
        include_str!("../../../workflows/plans/silver-hmo.yaml"),
    ),
];

/// Loads the benefit plans from `dir`, or without one from `workflows/plans` if it is there,
/// else the built-in copies of the shipped plans. Every bad plan file is printed
/// (file:line:column), then the summary is the error (exit 1).
fn load_plans(
    dir: Option<&std::path::Path>,
    err: &mut dyn Write,
) -> CliResult<warden_workers::plans::Plans> {
    use warden_workers::plans::{Plans, load_dir, parse_plan};
    let default = std::path::Path::new(PLANS_DIR);
    let (loaded, origin) = match dir {
        Some(dir) => (load_dir(dir), dir.display().to_string()),
        None if default.is_dir() => (load_dir(default), PLANS_DIR.to_string()),
        None => {
            let parsed: Result<Vec<_>, _> = SHIPPED_PLANS
                .iter()
                .map(|(name, text)| {
                    parse_plan(std::path::Path::new(&format!("shipped:{name}")), text)
                })
                .collect();
            (
                parsed.map(Plans::new).map_err(|e| vec![e]),
                "the built-in plans".to_string(),
            )
        }
    };
    match loaded {
        Ok(p) => Ok(p),
        Err(errors) => {
            for e in &errors {
                writeln!(err, "error: {e}")?;
            }
            writeln!(
                err,
                "the benefit plans in {origin} are invalid: {}",
                count(errors.len(), "error")
            )?;
            Err(CliError::Reported(Exit::Invalid))
        }
    }
}

#[cfg(test)]
mod tests {
    /// The built-in plans are every shipped plan file: a plan added to `workflows/plans`
    /// must be added to [`super::SHIPPED_PLANS`] too.
    #[test]
    fn the_built_in_plans_are_the_shipped_ones() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../workflows/plans");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("workflows/plans")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
        files.sort();
        let built_in: Vec<&str> = super::SHIPPED_PLANS.iter().map(|(n, _)| *n).collect();
        assert_eq!(files, built_in);
    }
}
