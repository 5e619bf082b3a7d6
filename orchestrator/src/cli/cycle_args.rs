//! The arguments that name a dated cycle run (`FILE --date D [--mode] [--volume]...`), and
//! turning them into a plan: shared by `plan`, `run`, `status` and the operator commands.

use std::io::Write;

use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};
use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, Plan, PlanOptions, VolumeChange};
use warden_core::workflow::{Mode, Workflow, values};
use warden_store::NewRun;

use super::{EXIT_INVALID, EXIT_USAGE};
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

#[derive(Debug, Clone, Args)]
pub struct CycleArgs {
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
}

/// A workflow compiled and planned for the arguments' date.
#[derive(Debug)]
pub struct Loaded {
    pub workflow: Workflow,
    pub plan: Plan,
    /// SHA-256 of the workflow file's text: a run is resumed only from the same file.
    pub sha256: String,
    /// Every file the compilation read (path as named, text), the workflow first: kept with
    /// the run for workers on other hosts.
    pub sources: Vec<(String, String)>,
}

impl CycleArgs {
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            mode: self.mode.map(Mode::from),
            volumes: self.volumes.clone(),
        }
    }

    /// Compiles and plans, printing what is wrong to `err`; `Err` carries the exit code.
    pub fn load(&self, err: &mut dyn Write) -> Result<Loaded, i32> {
        let loaded = match load_workflow(&self.file) {
            Ok(l) => l,
            Err(message) => {
                let _ = writeln!(err, "error: {message}");
                return Err(EXIT_USAGE);
            }
        };
        let Some(workflow) = loaded.compilation.workflow else {
            let _ = write!(
                err,
                "{}",
                render_text(&loaded.sources, &loaded.compilation.diagnostics)
            );
            let _ = writeln!(
                err,
                "{}: invalid; run `warden validate {}` for details",
                self.file, self.file
            );
            return Err(EXIT_INVALID);
        };
        let plan = match workflow.instantiate(self.date, &self.options()) {
            Ok(p) => p,
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return Err(EXIT_USAGE);
            }
        };
        let text = std::fs::read(&self.file).unwrap_or_default();
        let sha256 = Sha256::digest(&text)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let sources = loaded
            .sources
            .files()
            .iter()
            .map(|f| (f.path.clone(), f.text.clone()))
            .collect();
        Ok(Loaded {
            workflow,
            plan,
            sha256,
            sources,
        })
    }
}

impl Loaded {
    /// The run record this plan is (or becomes).
    pub fn new_run(&self, args: &CycleArgs) -> NewRun {
        new_run(&self.plan, &self.sha256, &args.volumes)
    }
}

/// The run record of a plan made from a file with this SHA-256 and these volume changes
/// (the web UI's catalog reads the volumes back: `warden_ui::catalog::run_options`).
pub fn new_run(plan: &Plan, sha256: &str, volumes: &[(String, VolumeChange)]) -> NewRun {
    let volumes: Vec<serde_json::Value> = volumes
        .iter()
        .map(|(s, v)| serde_json::json!({ "stream": s, "change": format!("{v:?}") }))
        .collect();
    NewRun {
        cycle: plan.cycle.clone(),
        business_date: plan.date.clone(),
        workflow_sha256: sha256.to_string(),
        mode: plan.mode.as_str().to_string(),
        options: serde_json::json!({ "volumes": volumes }).to_string(),
    }
}

fn parse_date(s: &str) -> Result<DateSpec, String> {
    s.parse()
}

/// `A=34M`, `A=+12M`, `A=-2M`.
pub fn parse_volume(s: &str) -> Result<(String, VolumeChange), String> {
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
