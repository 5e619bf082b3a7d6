//! `warden plan FILE --date D`: the cycle's nights, every job's planned start and finish from
//! estimates, the critical path and the margin to every deadline.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::cycle_args::CycleArgs;
use warden_core::diagnostics::render_text;
use warden_core::plan::PlanOptions;
use warden_core::workflow::Mode;
use warden_deadlines::analyse;

use super::{CliResult, EXIT_INVALID, EXIT_OK, EXIT_USAGE, plan_json, plan_table};
use crate::load::load_workflow;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum PlanFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub cycle: CycleArgs,
    /// Plan both modes and show them side by side.
    #[arg(long)]
    pub compare_modes: bool,
    /// Leave out the per-job table.
    #[arg(long)]
    pub summary: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
}

pub(super) fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    if args.compare_modes && args.cycle.mode.is_some() {
        writeln!(
            err,
            "error: --compare-modes plans both modes; leave out --mode"
        )?;
        return Ok(EXIT_USAGE);
    }
    let loaded = match load_workflow(&args.cycle.file) {
        Ok(l) => l,
        Err(message) => {
            writeln!(err, "error: {message}")?;
            return Ok(EXIT_USAGE);
        }
    };
    let c = &loaded.compilation;
    let Some(workflow) = &c.workflow else {
        write!(err, "{}", render_text(&loaded.sources, &c.diagnostics))?;
        writeln!(
            err,
            "{}: invalid; run `warden validate {}` for details",
            args.cycle.file, args.cycle.file
        )?;
        return Ok(EXIT_INVALID);
    };
    let warnings: Vec<_> = c.warnings().cloned().collect();
    if !warnings.is_empty() {
        writeln!(
            err,
            "note: {} has {} warning(s); `warden validate {}` shows them",
            args.cycle.file,
            warnings.len(),
            args.cycle.file
        )?;
    }
    let options = |mode: Option<Mode>| PlanOptions {
        mode,
        volumes: args.cycle.volumes.clone(),
    };
    if args.compare_modes {
        let analyses = [Mode::Pipelined, Mode::Serial]
            .map(|m| analyse(workflow, args.cycle.date, &options(Some(m))));
        let [Ok(pipelined), Ok(serial)] = analyses else {
            for a in analyses {
                if let Err(e) = a {
                    writeln!(err, "error: {e}")?;
                    break;
                }
            }
            return Ok(EXIT_USAGE);
        };
        match args.format {
            PlanFormat::Table => plan_table::write_comparison(out, workflow, &pipelined, &serial)?,
            PlanFormat::Json => {
                let json = serde_json::json!({
                    "pipelined": plan_json::plan_json(workflow, &pipelined),
                    "serial": plan_json::plan_json(workflow, &serial),
                });
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                )?;
            }
        }
        return Ok(EXIT_OK);
    }
    let analysis = match analyse(
        workflow,
        args.cycle.date,
        &options(args.cycle.mode.map(Mode::from)),
    ) {
        Ok(a) => a,
        Err(e) => {
            writeln!(err, "error: {e}")?;
            return Ok(EXIT_USAGE);
        }
    };
    match args.format {
        PlanFormat::Table => plan_table::write_plan(out, workflow, &analysis, !args.summary)?,
        PlanFormat::Json => {
            let json = plan_json::plan_json(workflow, &analysis);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            )?;
        }
    }
    Ok(EXIT_OK)
}
