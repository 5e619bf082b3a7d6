//! The arguments that name a dated cycle run (`FILE --date D [--mode] [--volume]...`), and
//! turning them into a plan: shared by `plan`, `run`, `status` and the operator commands.

use std::io::Write;

use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};
use warden_core::diagnostics::render_text;
use warden_core::plan::{DateSpec, Plan, PlanOptions, VolumeChange};
use warden_core::workflow::{Mode, Workflow, values};
use warden_store::NewRun;

use super::{CliError, CliResult, Exit};
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
    /// Streams' volumes from routed claims: the `volumes.json` of `warden route claims` or
    /// `warden intake --routing`. `FILE` sets each routed stream's volume to its count (the
    /// routed claims are the stream's whole input); `+FILE` adds the counts (a partner's new
    /// claims on top of the approved volume). Repeatable; applied after `--volume`. What the
    /// plan, the projection and the impact gate then see.
    #[arg(long = "routed-volumes", value_name = "[+]FILE", value_parser = parse_routed_volumes)]
    pub routed_volumes: Vec<RoutedVolumes>,
}

/// The volume changes one routed batch's `volumes.json` makes.
#[derive(Debug, Clone)]
pub struct RoutedVolumes {
    pub file: String,
    pub changes: Vec<(String, VolumeChange)>,
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
    /// Every volume change, in order: `--volume`, then each `--routed-volumes`.
    pub fn volume_changes(&self) -> Vec<(String, VolumeChange)> {
        let mut all = self.volumes.clone();
        for routed in &self.routed_volumes {
            all.extend(routed.changes.iter().cloned());
        }
        all
    }

    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            mode: self.mode.map(Mode::from),
            volumes: self.volume_changes(),
        }
    }

    /// Compiles and plans; an invalid workflow's every diagnostic is printed to `err`.
    pub fn load(&self, err: &mut dyn Write) -> CliResult<Loaded> {
        let loaded = load_workflow(&self.file).map_err(CliError::usage)?;
        let Some(workflow) = loaded.compilation.workflow else {
            return Err(invalid_workflow(
                err,
                &self.file,
                &loaded.sources,
                &loaded.compilation.diagnostics,
            ));
        };
        let plan = workflow
            .instantiate(self.date, &self.options())
            .map_err(|e| CliError::usage(e.to_string()))?;
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
        new_run(&self.plan, &self.sha256, &args.volume_changes())
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

/// `[+]FILE`: a routed batch's `volumes.json`, read now; a file that is not one, or whose
/// counts do not reconcile, is refused with why.
pub fn parse_routed_volumes(s: &str) -> Result<RoutedVolumes, String> {
    let (add, file) = match s.strip_prefix('+') {
        Some(f) => (true, f),
        None => (false, s),
    };
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: cannot read: {e}"))?;
    routed_volume_changes(&text, add)
        .map(|changes| RoutedVolumes {
            file: file.to_string(),
            changes,
        })
        .map_err(|e| format!("{file}: {e}"))
}

/// The changes a `volumes.json` text makes: each stream of `by_stream` set to (or, with
/// `add`, increased by) its routed count.
fn routed_volume_changes(text: &str, add: bool) -> Result<Vec<(String, VolumeChange)>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}); give the volumes.json that `warden route claims` or `warden intake --routing` wrote")
    })?;
    let Some(by_stream) = v["by_stream"].as_object() else {
        return Err("no `by_stream` counts: not the volumes.json of a routed batch".into());
    };
    if v["reconciled"] != serde_json::Value::Bool(true) {
        return Err(
            "its counts do not reconcile (`reconciled` is not true): route the claims again".into(),
        );
    }
    let mut changes = Vec::new();
    for (stream, count) in by_stream {
        let n = count
            .as_u64()
            .ok_or_else(|| format!("`by_stream.{stream}`: {count} is not a count of claims"))?;
        changes.push((
            stream.clone(),
            if add {
                VolumeChange::Add(
                    i64::try_from(n)
                        .map_err(|_| format!("`by_stream.{stream}`: {n} is too large"))?,
                )
            } else {
                VolumeChange::Set(n)
            },
        ));
    }
    Ok(changes)
}

/// Prints every diagnostic of a workflow that did not compile, and a line naming the file
/// and `warden validate`; exit 1.
pub fn invalid_workflow(
    err: &mut dyn Write,
    file: &str,
    sources: &warden_core::diagnostics::SourceMap,
    diagnostics: &[warden_core::diagnostics::Diagnostic],
) -> CliError {
    let printed = write!(err, "{}", render_text(sources, diagnostics)).and_then(|()| {
        writeln!(
            err,
            "{file}: invalid; run `warden validate {file}` for details"
        )
    });
    match printed {
        Ok(()) => CliError::Reported(Exit::Invalid),
        Err(e) => CliError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_volumes_set_or_add_each_stream_and_refuse_what_is_not_one() {
        let text = r#"{"reconciled": true, "by_stream": {"A": 6651, "E": 20}}"#;
        assert_eq!(
            routed_volume_changes(text, false).expect("set"),
            vec![
                ("A".to_string(), VolumeChange::Set(6651)),
                ("E".to_string(), VolumeChange::Set(20))
            ]
        );
        assert_eq!(
            routed_volume_changes(text, true).expect("add"),
            vec![
                ("A".to_string(), VolumeChange::Add(6651)),
                ("E".to_string(), VolumeChange::Add(20))
            ]
        );
        let e = routed_volume_changes(r#"{"by_stream": {}, "reconciled": false}"#, true)
            .expect_err("unreconciled");
        assert!(e.contains("do not reconcile"), "{e}");
        let e = routed_volume_changes(r#"{"claims": 3}"#, true).expect_err("not one");
        assert!(e.contains("no `by_stream`"), "{e}");
        let e = routed_volume_changes(r#"{"reconciled": true, "by_stream": {"A": -1}}"#, true)
            .expect_err("negative");
        assert!(e.contains("`by_stream.A`"), "{e}");
        let e = routed_volume_changes("claims", true).expect_err("not json");
        assert!(e.contains("not JSON"), "{e}");
    }

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
