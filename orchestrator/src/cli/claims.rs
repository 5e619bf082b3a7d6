//! `warden claims generate`: deterministic synthetic claims (see docs/adjudication.md).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use warden_workers::generate::{self, Config};

use super::progress::Bars;
use super::{CliResult, EXIT_OK, EXIT_USAGE, load_plans};

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Write members.csv and claims.csv: the same flags and seed always give the same bytes.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long, default_value_t = 10_000)]
    pub members: u64,
    #[arg(long, default_value_t = 20_000)]
    pub claims: u64,
    #[arg(long, default_value_t = 48)]
    pub pcp_groups: u16,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of claims with a non-standard code, 0–1 (pended as exceptions).
    #[arg(long, default_value_t = 0.02)]
    pub exception_rate: f64,
    /// Share of rows written malformed, 0–1 (to exercise the reject file).
    #[arg(long, default_value_t = 0.0)]
    pub bad_rows: f64,
    /// Directory to write into (created).
    #[arg(long, default_value = "claims")]
    pub out: PathBuf,
    /// Benefit plans (YAML).
    #[arg(long, default_value = "workflows/plans")]
    pub plans: PathBuf,
}

pub(super) fn run(command: &ClaimsCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let ClaimsCommand::Generate(args) = command;
    for (name, v) in [
        ("--exception-rate", args.exception_rate),
        ("--bad-rows", args.bad_rows),
    ] {
        if !(0.0..=1.0).contains(&v) {
            writeln!(err, "error: {name} is a share between 0 and 1, not {v}")?;
            return Ok(EXIT_USAGE);
        }
    }
    let plans = match load_plans(&args.plans, err)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        writeln!(
            err,
            "error: {}: cannot create the directory: {e}",
            args.out.display()
        )?;
        return Ok(super::EXIT_UNAVAILABLE);
    }
    let cfg = Config {
        members: args.members,
        claims: args.claims,
        pcp_groups: args.pcp_groups,
        seed: args.seed,
        exception_rate: args.exception_rate,
        bad_row_rate: args.bad_rows,
        ..Config::default()
    };
    let open = |name: &str| {
        File::create(args.out.join(name)).map(|f| BufWriter::with_capacity(1 << 20, f))
    };
    let (mut m, mut c) = match (open("members.csv"), open("claims.csv")) {
        (Ok(m), Ok(c)) => (m, c),
        (Err(e), _) | (_, Err(e)) => {
            writeln!(err, "error: {}: {e}", args.out.display())?;
            return Ok(super::EXIT_UNAVAILABLE);
        }
    };
    let bars = Bars::new();
    warden_workers::pipeline::Progress::stage(&bars, "generating claims", args.claims);
    let stats = generate::generate(&cfg, &plans, &mut m, &mut c, &bars)?;
    m.flush()?;
    c.flush()?;
    bars.finish();
    writeln!(
        out,
        "wrote {}: {} members in {} families, {} claims ({} duplicates, {} prior authorisations, {} COB of which {} with the primary here, {} non-standard codes, {} malformed rows)",
        args.out.display(),
        stats.members,
        stats.families,
        stats.claims + stats.bad_rows,
        stats.duplicates,
        stats.prior_auths,
        stats.cob,
        stats.cob_partners,
        stats.nonstandard,
        stats.bad_rows
    )?;
    Ok(EXIT_OK)
}
