//! `warden plan FILE --date D`: the cycle's nights, every job's planned start and finish from
//! estimates, the critical path and the margin to every deadline.

use std::io::Write;

use clap::{Args, ValueEnum};
use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, PlanOptions, VolumeChange};
use warden_core::workflow::{Mode, values};
use warden_deadlines::analyse;

use super::{CliResult, EXIT_INVALID, EXIT_OK, EXIT_USAGE, plan_json, plan_table};
use crate::load::load_workflow;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Pipelined,
    Serial,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Pipelined => Mode::Pipelined,
            ModeArg::Serial => Mode::Serial,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum PlanFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The workflow file.
    pub file: String,
    /// Business date: YYYY-MM for a month-end cycle, YYYY-MM-DD for a nightly one.
    #[arg(long, value_parser = parse_date)]
    pub date: DateSpec,
    /// Override the file's mode.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Change a stream's volume: `A=34M` sets it, `A=+12M` adds to it (repeatable).
    #[arg(long = "volume", value_name = "STREAM=N", value_parser = parse_volume)]
    pub volumes: Vec<(String, VolumeChange)>,
    /// Plan both modes and show them side by side.
    #[arg(long, conflicts_with = "mode")]
    pub compare_modes: bool,
    /// Leave out the per-job table.
    #[arg(long)]
    pub summary: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
}

pub(super) fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let loaded = match load_workflow(&args.file) {
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
            args.file, args.file
        )?;
        return Ok(EXIT_INVALID);
    };
    let warnings: Vec<_> = c.warnings().cloned().collect();
    if !warnings.is_empty() {
        writeln!(
            err,
            "note: {} has {} warning(s); `warden validate {}` shows them",
            args.file,
            warnings.len(),
            args.file
        )?;
    }
    let options = |mode: Option<Mode>| PlanOptions {
        mode,
        volumes: args.volumes.clone(),
    };
    if args.compare_modes {
        let analyses = [Mode::Pipelined, Mode::Serial]
            .map(|m| analyse(workflow, args.date, &options(Some(m))));
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
    let analysis = match analyse(workflow, args.date, &options(args.mode.map(Mode::from))) {
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

fn parse_date(s: &str) -> Result<DateSpec, String> {
    s.parse()
}

/// `A=34M`, `A=+12M`, `A=-2M`.
fn parse_volume(s: &str) -> Result<(String, VolumeChange), String> {
    let (stream, amount) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not STREAM=N (e.g. `A=34M` or `A=+12M`)"))?;
    let text = |t: &str| warden_core::workflow::raw::Scalar::Text(t.to_string());
    let change = if let Some(rest) = amount.strip_prefix('+') {
        VolumeChange::Add(i64::try_from(values::volume(&text(rest))?).map_err(|e| e.to_string())?)
    } else if let Some(rest) = amount.strip_prefix('-') {
        VolumeChange::Add(-i64::try_from(values::volume(&text(rest))?).map_err(|e| e.to_string())?)
    } else {
        VolumeChange::Set(values::volume(&text(amount))?)
    };
    Ok((stream.trim().to_string(), change))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse() {
        assert_eq!(
            parse_volume("A=34M"),
            Ok(("A".into(), VolumeChange::Set(34_000_000)))
        );
        assert_eq!(
            parse_volume("B=+12M"),
            Ok(("B".into(), VolumeChange::Add(12_000_000)))
        );
        assert_eq!(
            parse_volume("C=-500K"),
            Ok(("C".into(), VolumeChange::Add(-500_000)))
        );
        assert!(parse_volume("A").is_err());
        assert!(parse_volume("A=lots").is_err());
    }
}
