//! What the built-in jobs (the adjudication stages, `intake`) are given besides their
//! attempt's paths: the settings they run with, and the run's store.
//!
//! [`BuiltinSettings`] is parsed once, when `warden run`, `warden worker` or `warden demo`
//! starts, from three places; for each setting the first that gives it wins:
//!
//! 1. its flag (`--claims-input`, `--plans`, `--partners`, `--checkpoint-every`,
//!    `--monitor-every`, `--partitions`);
//! 2. its environment variable (`WARDEN_CLAIMS_INPUT`, `WARDEN_PLANS`, `WARDEN_PARTNERS`,
//!    `WARDEN_CHECKPOINT_EVERY`, `WARDEN_MONITOR_EVERY`, `WARDEN_PARTITIONS`): an override of
//!    the file, for one run or one host; an empty variable is an unset one;
//! 3. the settings file, `--settings FILE` (or `WARDEN_SETTINGS`): YAML with the same six
//!    keys in snake_case (`claims_input`, `plans`, `partners`, `checkpoint_every`,
//!    `monitor_every`, `partitions`), a relative path in it relative to the file's directory
//!    (the format: `builtins/file.rs`);
//! 4. the default (no claim input: simulated; `workflows/plans`, `workflows/partners`, the
//!    engine's intervals).
//!
//! clap merges 1 and 2 (`env =`); [`BuiltinSettings::over`] lays the result over the file's,
//! a pure function the tests check. A count that is not a whole number (flag, variable or
//! file) or a settings file that cannot be read, is not YAML or has an unknown key stops the
//! command before anything runs, naming the flag and the variable, or the file's line and
//! column (a count of 0 is taken as 1).

use std::path::{Path, PathBuf};

use warden_workers::located::LocatedError;
use warden_workers::plans;

mod file;

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
/// The settings file of the built-ins (below the flags and the variables).
pub const SETTINGS_ENV: &str = "WARDEN_SETTINGS";

/// The built-ins' benefit plans when neither `--plans` nor `WARDEN_PLANS` says.
pub const DEFAULT_PLANS_DIR: &str = "workflows/plans";

/// How the built-in jobs run: where their inputs are and the adjudication engine's
/// intervals. The default is a run without claim input (its adjudication built-ins are
/// simulated by their estimates) and the engine's own intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct BuiltinSettings {
    /// Read these settings from a YAML file (keys claims_input, plans, partners,
    /// checkpoint_every, monitor_every, partitions; relative paths relative to the file's
    /// directory). A flag, or its WARDEN_* variable, wins over the file.
    #[arg(long, value_name = "FILE", env = SETTINGS_ENV, value_parser = path)]
    settings: Option<PathBuf>,
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
    #[command(flatten)]
    checkpoint_every: CheckpointEvery,
    /// Claims between looks of the exception-rate monitor [default: 100000].
    #[arg(long, value_name = "CLAIMS", env = MONITOR_ENV,
          value_parser = count("--monitor-every", MONITOR_ENV, "claims"))]
    monitor_every: Option<u64>,
    /// Partitions an `adjudicate-phase1` job splits its stream into [default: 6].
    #[arg(long, value_name = "N", env = PARTITIONS_ENV,
          value_parser = count("--partitions", PARTITIONS_ENV, "partitions"))]
    partitions: Option<u64>,
}

/// `--checkpoint-every` (`WARDEN_CHECKPOINT_EVERY`), one of [`BuiltinSettings`] and an
/// argument of `warden impact run` and `warden bench impact` too, whose re-projection assumes
/// the interval the run's adjudication uses: parsed (and refused) alike everywhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct CheckpointEvery {
    /// Claims between an adjudication stage's checkpoints [default: 50000].
    #[arg(long, value_name = "CLAIMS", env = CHECKPOINT_ENV,
          value_parser = count("--checkpoint-every", CHECKPOINT_ENV, "claims"))]
    checkpoint_every: Option<u64>,
}

impl CheckpointEvery {
    /// Claims between checkpoints, if not the engine's default.
    pub fn get(self) -> Option<u64> {
        self.checkpoint_every.filter(|&k| k > 0)
    }
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
        self.checkpoint_every.get()
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

    /// These settings (flags and variables, as clap parsed them) over those of the settings
    /// file they name, if any: what the command runs with. A file that cannot be read, is not
    /// YAML, has an unknown key or a count that is not a whole number is refused, located.
    pub fn with_settings_file(&self) -> Result<BuiltinSettings, LocatedError> {
        match set_path(self.settings.as_deref()) {
            None => Ok(self.clone()),
            Some(f) => Ok(self.clone().over(file::load(f)?)),
        }
    }

    /// Each setting of `self` that is set, else `file`'s: flag and variable (clap merged
    /// them) over the file. An empty path or a count of 0 (an empty variable) is unset.
    pub fn over(self, file: BuiltinSettings) -> BuiltinSettings {
        fn path(a: Option<PathBuf>, b: Option<PathBuf>) -> Option<PathBuf> {
            a.filter(|p| !p.as_os_str().is_empty()).or(b)
        }
        fn count(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            a.filter(|&k| k > 0).or(b)
        }
        BuiltinSettings {
            settings: self.settings,
            claims_input: path(self.claims_input, file.claims_input),
            plans: path(self.plans, file.plans),
            partners: path(self.partners, file.partners),
            checkpoint_every: CheckpointEvery {
                checkpoint_every: count(
                    self.checkpoint_every.checkpoint_every,
                    file.checkpoint_every.checkpoint_every,
                ),
            },
            monitor_every: count(self.monitor_every, file.monitor_every),
            partitions: count(self.partitions, file.partitions),
        }
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

    /// A settings file of every key, at `conf/site/settings.yaml`.
    const FILE: &str = "\
# the built-ins of this site
claims_input: claims
plans: ../plans
partners: /srv/partners
checkpoint_every: 20000
monitor_every: 0
partitions: 4
";

    fn file_settings(text: &str) -> Result<BuiltinSettings, LocatedError> {
        file::parse(Path::new("conf/site/settings.yaml"), text)
    }

    #[test]
    fn a_settings_file_alone_sets_every_setting_its_paths_from_its_directory() {
        let s = parse(&[])
            .expect("parses")
            .over(file_settings(FILE).expect("valid"));
        // Relative to the file's directory, not to where the command runs.
        assert_eq!(s.claims_input(), Some(Path::new("conf/site/claims")));
        assert_eq!(s.plans_dir(), Path::new("conf/site/../plans"));
        assert_eq!(s.partners_dir(), Path::new("/srv/partners"));
        assert_eq!(s.checkpoint_every(), Some(20_000));
        // 0 is taken as 1, as on the command line.
        assert_eq!(s.monitor_every(), Some(1));
        assert_eq!(s.partitions(), Some(4));
        // Keys left out keep their defaults; a file of comments only sets nothing.
        let s = parse(&[])
            .expect("parses")
            .over(file_settings("partitions: 2\n").expect("valid"));
        assert_eq!(s.plans_dir(), Path::new(DEFAULT_PLANS_DIR));
        assert_eq!((s.checkpoint_every(), s.partitions()), (None, Some(2)));
        assert_eq!(
            file_settings("# nothing yet\n").expect("valid"),
            BuiltinSettings::default()
        );
    }

    #[test]
    fn a_flag_or_its_variable_wins_over_the_file_and_an_empty_one_does_not() {
        // What clap gives for `--plans p --checkpoint-every 7` (or WARDEN_PLANS=p ...):
        // the flag or the variable, merged; the file only fills what neither gave.
        let s = parse(&["--plans", "p", "--checkpoint-every", "7"])
            .expect("parses")
            .over(file_settings(FILE).expect("valid"));
        assert_eq!(s.plans_dir(), Path::new("p"));
        assert_eq!(s.checkpoint_every(), Some(7));
        assert_eq!(s.claims_input(), Some(Path::new("conf/site/claims")));
        assert_eq!(s.partitions(), Some(4));
        // An empty variable (WARDEN_PLANS= ...) is unset: the file's value stands.
        let s = parse(&["--plans", "", "--checkpoint-every", ""])
            .expect("parses")
            .over(file_settings(FILE).expect("valid"));
        assert_eq!(s.plans_dir(), Path::new("conf/site/../plans"));
        assert_eq!(s.checkpoint_every(), Some(20_000));
    }

    #[test]
    fn flag_over_variable_over_file_through_clap_s_own_environment_reading() {
        // The real precedence, the environment read by clap, without changing the test
        // process's environment: `--plans` is pointed at a variable every process has.
        let Some(variable) = std::env::var_os("PATH").filter(|v| !v.is_empty()) else {
            panic!("this test needs PATH set");
        };
        let parse_with_env = |args: &[&str]| {
            use clap::{CommandFactory, FromArgMatches};
            let command = Cli::command().mut_arg("plans", |a| a.env("PATH"));
            let matches = command
                .try_get_matches_from(std::iter::once("warden").chain(args.iter().copied()))
                .expect("parses");
            Cli::from_arg_matches(&matches).expect("settings").settings
        };
        let file = file_settings(FILE).expect("valid");
        // The variable over the file.
        let s = parse_with_env(&[]).over(file.clone());
        assert_eq!(s.plans_dir(), Path::new(&variable));
        // The flag over the variable (and the file).
        let s = parse_with_env(&["--plans", "from-the-flag"]).over(file.clone());
        assert_eq!(s.plans_dir(), Path::new("from-the-flag"));
        // Neither: the file over the default.
        let s = parse(&[]).expect("parses").over(file);
        assert_eq!(s.plans_dir(), Path::new("conf/site/../plans"));
    }

    #[test]
    fn an_unknown_key_is_refused_at_its_line_with_the_nearest_key() {
        let e = file_settings("partitions: 4\n# the plans\nplan: ../plans\n").expect_err("refused");
        assert_eq!(
            (e.line, e.file.as_path()),
            (3, Path::new("conf/site/settings.yaml")),
            "{e}"
        );
        assert!(
            e.to_string().starts_with(
                "conf/site/settings.yaml:3:1: unknown key `plan`; did you mean `plans`?"
            ),
            "{e}"
        );
        // With nothing near, the keys there are.
        let e = file_settings("speed: 2\n").expect_err("refused");
        assert!(
            e.message
                .contains("a settings file's keys are `claims_input`, `plans`"),
            "{e}"
        );
    }

    #[test]
    fn a_count_that_is_not_a_whole_number_is_refused_at_its_line() {
        for (text, value) in [
            ("plans: p\npartitions: -2\n", "`-2`"),
            ("plans: p\ncheckpoint_every: 1.5\n", "`1.5`"),
            ("plans: p\nmonitor_every: often\n", "`\"often\"`"),
        ] {
            let e = file_settings(text).expect_err(text);
            assert_eq!(e.line, 2, "{e}");
            assert!(
                e.message.contains(&format!(
                    "{value} is not a count: write a whole number, 0 or more"
                )),
                "{e}"
            );
        }
        let e = file_settings("plans: [a, b\n").expect_err("not YAML");
        assert!(e.message.contains("a settings file is a mapping of"), "{e}");
        let e = file_settings("plans: a\nplans: b\n").expect_err("twice");
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "`plans` is given twice; keep one"),
            "{e}"
        );
    }

    #[test]
    fn the_named_file_is_read_and_an_unreadable_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let f = dir.path().join("settings.yaml");
        std::fs::write(&f, "plans: my-plans\n").expect("write");
        let f = f.to_str().expect("utf-8 path");
        let s = parse(&["--settings", f, "--partitions", "3"])
            .expect("parses")
            .with_settings_file()
            .expect("read");
        assert_eq!(s.plans_dir(), dir.path().join("my-plans"));
        assert_eq!(s.partitions(), Some(3));
        // No file: the settings as given.
        let given = parse(&["--partitions", "3"]).expect("parses");
        assert_eq!(given.with_settings_file().expect("no file"), given);
        let missing = dir.path().join("missing.yaml");
        let e = parse(&["--settings", missing.to_str().expect("utf-8 path")])
            .expect("parses")
            .with_settings_file()
            .expect_err("refused");
        assert_eq!((e.file.as_path(), e.line), (missing.as_path(), 1));
        assert!(
            e.message.starts_with("cannot read the settings file"),
            "{e}"
        );
    }
}
