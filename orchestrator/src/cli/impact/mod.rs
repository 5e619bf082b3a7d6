//! `warden impact`: the batch impact test for new claim volume (issue #12,
//! `docs/impact.md`).
//!
//! ```text
//! measure  sample the baseline and the new claims, run the real engine, print the figures
//! run      measure + re-project the cycle + verdict + mitigations; the report is stored
//! show     a stored report (text or JSON) with its approval
//! approve  an architect approves a `review` (auth file + WARDEN_TOKEN)
//! gate     the go-live decision `warden run` takes from the stored tests
//! golive   after go-live: the test's projection against the run's actual stages
//! ```

use std::io::Write;

use clap::Subcommand;

use super::CliResult;

mod enforce;
pub mod gate;
pub mod golive;
mod measure;
pub mod review;
mod run;

pub use enforce::{Override, Verdict as GateVerdict, enforce};
pub use measure::MeasureArgs;
pub(crate) use measure::{Measured, Measuring, measure_claims};
pub(crate) use run::{Inputs, build_report, store_report};

#[derive(Debug, Subcommand)]
pub enum ImpactCommand {
    /// Sample the baseline and the new claims, run the real two-pass engine on both and
    /// measure each stage, the exception rates, the deferral share and the elasticity.
    Measure(MeasureArgs),
    /// The whole test: measure, re-project every deadline (p50/p90, margin, P(miss)),
    /// judge pass/review/fail, try mitigations, and store the report. Exit 0 on pass,
    /// 1 on review or fail.
    Run(Box<run::RunArgs>),
    /// Print a stored test's report (text, or `--format json`) and its approval.
    Show(review::ShowArgs),
    /// Approve a `review` verdict (architect role; the token in WARDEN_TOKEN).
    Approve(review::ApproveArgs),
}

pub(super) fn run(command: &ImpactCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    match command {
        ImpactCommand::Measure(args) => measure::measure(args, out, err),
        ImpactCommand::Run(args) => run::run(args, out, err),
        ImpactCommand::Show(args) => review::show(args, out),
        ImpactCommand::Approve(args) => review::approve(args, out),
    }
}
