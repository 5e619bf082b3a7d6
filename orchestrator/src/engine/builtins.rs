//! What the built-in jobs (the adjudication stages, `intake`) are given besides their
//! attempt's paths: the settings they run with, and the run's store.
//!
//! [`BuiltinSettings`] is parsed once, when `warden run`, `warden worker` or `warden demo`
//! starts: from its flags (`--claims-input`, `--plans`, `--partners`, `--checkpoint-every`,
//! `--monitor-every`, `--partitions`), each of which its environment variable
//! (`WARDEN_CLAIMS_INPUT`, `WARDEN_PLANS`, `WARDEN_PARTNERS`, `WARDEN_CHECKPOINT_EVERY`,
//! `WARDEN_MONITOR_EVERY`, `WARDEN_PARTITIONS`) sets when the flag is not given. An empty
//! variable is an unset one. A count that is not a whole number stops the command before
//! anything runs, naming the flag and the variable (a count of 0 is taken as 1).

use std::path::{Path, PathBuf};

use warden_workers::plans;

/// The claim input of the adjudication built-ins.
pub const INPUT_ENV: &str = "WARDEN_CLAIMS_INPUT";
/// The benefit plans of the built-ins (default `workflows/plans`).
pub const PLANS_ENV: &str = "WARDEN_PLANS";
/// Claims between checkpoints (default 50,000).
pub const CHECKPOINT_ENV: &str = "WARDEN_CHECKPOINT_EVERY";
/// Claims between looks of the exception-rate monitor (default 100,000).
pub const MONITOR_ENV: &str = "WARDEN_MONITOR_EVERY";
/// Partitions an `adjudicate-phase1` job splits its stream into (default 6).
pub const PARTITIONS_ENV: &str = "WARDEN_PARTITIONS";
/// Where partner mappings are looked up by name (default `workflows/partners`).
pub const PARTNERS_ENV: &str = "WARDEN_PARTNERS";

/// The built-ins' benefit plans when neither `--plans` nor `WARDEN_PLANS` says.
pub const DEFAULT_PLANS_DIR: &str = "workflows/plans";

/// How the built-in jobs run: where their inputs are and the adjudication engine's
/// intervals. The default is a run without claim input (its adjudication built-ins are
/// simulated by their estimates) and the engine's own intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct BuiltinSettings {
    /// Adjudicate for real: the adjudication built-ins read this claim input (claims.csv
    /// and members.csv, or one such directory per stream, DIR/STREAM/). Without it they
    /// take their estimates (simulated).
    #[arg(long, value_name = "DIR", env = INPUT_ENV, value_parser = path)]
    claims_input: Option<PathBuf>,
    /// The benefit plans of the built-ins [default: workflows/plans].
    #[arg(long, value_name = "DIR", env = PLANS_ENV, value_parser = path)]
    plans: Option<PathBuf>,
    /// Where the `intake` built-in looks partner mappings up by name [default:
    /// workflows/partners].
    #[arg(long, value_name = "DIR", env = PARTNERS_ENV, value_parser = path)]
    partners: Option<PathBuf>,
    /// Claims between an adjudication stage's checkpoints [default: 50000].
    #[arg(long, value_name = "CLAIMS", env = CHECKPOINT_ENV,
          value_parser = count("--checkpoint-every", CHECKPOINT_ENV, "claims"))]
    checkpoint_every: Option<u64>,
    /// Claims between looks of the exception-rate monitor [default: 100000].
    #[arg(long, value_name = "CLAIMS", env = MONITOR_ENV,
          value_parser = count("--monitor-every", MONITOR_ENV, "claims"))]
    monitor_every: Option<u64>,
    /// Partitions an `adjudicate-phase1` job splits its stream into [default: 6].
    #[arg(long, value_name = "N", env = PARTITIONS_ENV,
          value_parser = count("--partitions", PARTITIONS_ENV, "partitions"))]
    partitions: Option<u64>,
}

/// A path setting; empty is unset (an empty path, which the accessors drop).
fn path(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// A count setting: a whole number, at least 1 (0 is taken as 1); empty is unset (0, which
/// the accessors drop). Anything else is refused with what to do.
fn count(
    flag: &'static str,
    env: &'static str,
    what: &'static str,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        if s.is_empty() {
            return Ok(0);
        }
        s.trim().parse::<u64>().map(|k| k.max(1)).map_err(|_| {
            format!(
                "`{s}` is not a number of {what}: give {flag} (or {env}) a whole number, or leave both unset for the default"
            )
        })
    }
}

impl BuiltinSettings {
    /// Where the claims of a run are, if anywhere: without them the adjudication built-ins
    /// are simulated.
    pub fn claims_input(&self) -> Option<&Path> {
        set_path(self.claims_input.as_deref())
    }

    /// The built-ins' benefit plans directory.
    pub fn plans_dir(&self) -> &Path {
        set_path(self.plans.as_deref()).unwrap_or(Path::new(DEFAULT_PLANS_DIR))
    }

    /// Where partner mappings are looked up by name.
    pub fn partners_dir(&self) -> &Path {
        set_path(self.partners.as_deref()).unwrap_or(Path::new(crate::intake_batch::PARTNERS_DIR))
    }

    /// Claims between checkpoints, if not the engine's default.
    pub fn checkpoint_every(&self) -> Option<u64> {
        self.checkpoint_every.filter(|&k| k > 0)
    }

    /// Claims between looks of the exception-rate monitor, if not the engine's default.
    pub fn monitor_every(&self) -> Option<u64> {
        self.monitor_every.filter(|&k| k > 0)
    }

    /// Partitions of an `adjudicate-phase1` job, if not the engine's default.
    pub fn partitions(&self) -> Option<usize> {
        self.partitions
            .filter(|&k| k > 0)
            .map(|k| usize::try_from(k).unwrap_or(usize::MAX))
    }

    /// Settings with this claim input (`None`: simulated adjudication).
    pub fn with_claims_input(mut self, dir: Option<PathBuf>) -> Self {
        self.claims_input = dir;
        self
    }

    /// The built-ins' benefit plans, loaded from [`Self::plans_dir`].
    pub fn load_plans(&self) -> Result<plans::Plans, PlansError> {
        plans::load_dir(self.plans_dir()).map_err(PlansError)
    }
}

fn set_path(p: Option<&Path>) -> Option<&Path> {
    p.filter(|p| !p.as_os_str().is_empty())
}

/// A plans directory that does not load: every problem, one a line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PlansError(pub Vec<plans::PlanError>);

/// The run's store, for a built-in that writes to it (`load-exceptions`).
#[derive(Debug, Clone)]
pub struct RunStore {
    pub store: warden_store::Store,
    pub run_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        settings: BuiltinSettings,
    }

    fn parse(args: &[&str]) -> Result<BuiltinSettings, String> {
        Cli::try_parse_from(std::iter::once("warden").chain(args.iter().copied()))
            .map(|c| c.settings)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn flags_set_the_built_ins_and_the_defaults_stand_without_them() {
        // Only flags here: the environment of the test process is not this test's.
        let s = parse(&[
            "--claims-input",
            "claims",
            "--plans",
            "p",
            "--checkpoint-every",
            "1000",
            "--monitor-every",
            "0",
            "--partitions",
            "3",
        ])
        .expect("parses");
        assert_eq!(s.claims_input(), Some(Path::new("claims")));
        assert_eq!(s.plans_dir(), Path::new("p"));
        assert_eq!(s.checkpoint_every(), Some(1000));
        // At least 1, as before.
        assert_eq!(s.monitor_every(), Some(1));
        assert_eq!(s.partitions(), Some(3));
        let d = BuiltinSettings::default();
        assert_eq!(d.claims_input(), None);
        assert_eq!(d.plans_dir(), Path::new("workflows/plans"));
        assert_eq!(d.partners_dir(), Path::new("workflows/partners"));
        assert_eq!(
            (d.checkpoint_every(), d.monitor_every(), d.partitions()),
            (None, None, None)
        );
    }

    #[test]
    fn an_empty_setting_is_unset() {
        let s = parse(&["--claims-input", "", "--checkpoint-every", ""]).expect("parses");
        assert_eq!(s.claims_input(), None);
        assert_eq!(s.checkpoint_every(), None);
    }

    #[test]
    fn a_count_that_is_not_a_number_is_refused_naming_the_flag_and_the_variable() {
        let e = parse(&["--checkpoint-every", "abc"]).expect_err("refused");
        assert!(
            e.contains(
                "`abc` is not a number of claims: give --checkpoint-every (or WARDEN_CHECKPOINT_EVERY) a whole number"
            ),
            "{e}"
        );
        let e = parse(&["--partitions=-2"]).expect_err("refused");
        assert!(e.contains("WARDEN_PARTITIONS"), "{e}");
    }
}
