//! `warden plan FILE --date D`: the cycle's nights, every job's planned start and finish from
//! estimates, the critical path and the margin to every deadline.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::cycle_args::{CycleArgs, invalid_workflow};
use warden_core::plan::{PlanOptions, mode_origin};
use warden_core::workflow::{Mode, values::format_duration};
use warden_deadlines::{Analysis, analyse};

use super::{CliError, CliResult, Exit, count, plan_json, plan_table};
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
    /// Exit 1 when a deadline is planned to be missed (in either mode with
    /// --compare-modes), with one line per missed deadline on stderr: a CI gate for
    /// workflow changes.
    #[arg(long)]
    pub check: bool,
}

pub(super) fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    if args.compare_modes && args.cycle.mode.is_some() {
        return Err(CliError::usage(
            "--compare-modes plans both modes; leave out --mode",
        ));
    }
    let loaded = match load_workflow(&args.cycle.file) {
        Ok(l) => l,
        Err(message) => {
            return Err(CliError::usage(message));
        }
    };
    let c = &loaded.compilation;
    let Some(workflow) = &c.workflow else {
        return Err(invalid_workflow(
            err,
            &args.cycle.file,
            &loaded.sources,
            &c.diagnostics,
        ));
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
        volumes: args.cycle.volume_changes(),
    };
    if args.compare_modes {
        let analyses = [Mode::Pipelined, Mode::Serial]
            .map(|m| analyse(workflow, args.cycle.date, &options(Some(m))));
        let [Ok(pipelined), Ok(serial)] = analyses else {
            let first = analyses.into_iter().find_map(Result::err);
            return Err(CliError::usage(
                first.map_or_else(String::new, |e| e.to_string()),
            ));
        };
        // Both modes share the nights, so the dated warnings are the same.
        for warning in &pipelined.plan.warnings {
            writeln!(err, "warning: {warning}")?;
        }
        match args.format {
            PlanFormat::Table => plan_table::write_comparison(out, workflow, &pipelined, &serial)?,
            PlanFormat::Json => {
                let json = serde_json::json!({
                    "pipelined": plan_json::plan_json(workflow, &pipelined, "--compare-modes"),
                    "serial": plan_json::plan_json(workflow, &serial, "--compare-modes"),
                });
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                )?;
            }
        }
        let missed = [("pipelined", &pipelined), ("serial", &serial)]
            .iter()
            .map(|(mode, a)| report_missed(err, a, Some(mode), args.check))
            .sum::<Result<usize, _>>()?;
        return verdict(err, missed, args.check);
    }
    let analysis = match analyse(
        workflow,
        args.cycle.date,
        &options(args.cycle.mode.map(Mode::from)),
    ) {
        Ok(a) => a,
        Err(e) => {
            return Err(CliError::usage(e));
        }
    };
    let overridden = args.cycle.mode.map(Mode::from);
    let origin = mode_origin(workflow, overridden);
    for warning in &analysis.plan.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    match args.format {
        PlanFormat::Table => {
            plan_table::write_plan(out, workflow, &analysis, !args.summary, &origin)?
        }
        PlanFormat::Json => {
            let json = plan_json::plan_json(workflow, &analysis, &origin);
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            )?;
        }
    }
    let missed = report_missed(err, &analysis, None, args.check)?;
    verdict(err, missed, args.check)
}

/// With `--check`, one line per deadline `a` misses (`missed: ...`); returns how many it
/// misses either way.
fn report_missed(
    err: &mut dyn Write,
    a: &Analysis,
    mode: Option<&str>,
    check: bool,
) -> std::io::Result<usize> {
    let tz = a.plan.timezone;
    let mut missed = 0;
    for m in a.margins.iter().filter(|m| m.is_missed()) {
        missed += 1;
        if !check {
            continue;
        }
        let d = &a.plan.deadlines[m.deadline];
        let kind = d.kind.as_str();
        writeln!(
            err,
            "missed{}: {} `{}` ({kind}) due {}, planned finish {}, {} late",
            mode.map(|m| format!(" ({m})")).unwrap_or_default(),
            d.name.as_deref().unwrap_or("deadline"),
            d.id,
            plan_table::when(m.at, tz),
            plan_table::when(m.finish, tz),
            format_duration(-m.margin),
        )?;
    }
    Ok(missed)
}

/// Exit 1 under `--check` when a deadline is missed; otherwise 0, with a hint.
fn verdict(err: &mut dyn Write, missed: usize, check: bool) -> CliResult {
    if missed == 0 {
        return Ok(());
    }
    if check {
        return Err(CliError::Reported(Exit::Invalid));
    }
    writeln!(
        err,
        "note: the plan misses {}; `warden plan --check` exits 1 when a deadline is missed",
        count(missed, "deadline")
    )?;
    Ok(())
}
