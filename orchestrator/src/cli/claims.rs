//! `warden claims generate`: deterministic synthetic claims (see docs/adjudication.md).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};
use warden_workers::generate::{self, Config};

use super::progress::Bars;
use super::{CliError, CliResult, load_plans};

#[derive(Debug, Subcommand)]
pub enum ClaimsCommand {
    /// Write members.csv and claims.csv: the same flags and seed always give the same bytes.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Members enrolled (in families), 1 to 50,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = super::limits::amount(1, super::limits::MAX_MEMBERS))]
    pub members: u64,
    /// Claims received, 0 to 200,000,000.
    #[arg(long, default_value_t = 20_000, value_parser = super::limits::amount(0, super::limits::MAX_CLAIMS))]
    pub claims: u64,
    /// PCP groups members are spread over (what partitions split), 1 to 999.
    #[arg(long, default_value_t = 48, value_parser = super::limits::pcp_groups::<u16>())]
    pub pcp_groups: u16,
    /// Seed of the generator: the same flags and seed always write the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of claims with a non-standard code, 0–1 (pended as exceptions).
    #[arg(long, default_value_t = 0.02, value_parser = super::limits::share)]
    pub exception_rate: f64,
    /// Share of rows written malformed, 0–1 (to exercise the reject file).
    #[arg(long, default_value_t = 0.0, value_parser = super::limits::share)]
    pub bad_rows: f64,
    /// Directory to write into (created).
    #[arg(long, default_value = "claims")]
    pub out: PathBuf,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is
    /// there, else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
    /// Also write the claims in a partner's layout (its mapping's name in `--partners`, or
    /// a path to one), as `PARTNER.csv` or `PARTNER.txt` (fixed width), trailer included:
    /// what `warden intake` takes in. Malformed rows (`--bad-rows`) are left out of it.
    #[arg(long)]
    pub partner: Vec<String>,
    /// The directory of partner mappings.
    #[arg(long, default_value = super::intake::PARTNERS_DIR, value_name = "DIR")]
    pub partners: PathBuf,
}

/// Writes `members.csv` and `claims.csv` into `dir` (which must exist).
pub(super) fn write_dir(
    dir: &std::path::Path,
    cfg: &Config,
    plans: &warden_workers::plans::Plans,
    progress: &dyn warden_workers::pipeline::Progress,
) -> std::io::Result<generate::Stats> {
    let open =
        |name: &str| File::create(dir.join(name)).map(|f| BufWriter::with_capacity(1 << 20, f));
    let (mut m, mut c) = (open("members.csv")?, open("claims.csv")?);
    let stats = generate::generate(cfg, plans, &mut m, &mut c, progress)?;
    m.flush()?;
    c.flush()?;
    Ok(stats)
}

pub(super) fn run(command: &ClaimsCommand, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let ClaimsCommand::Generate(args) = command;
    let plans = load_plans(args.plans.as_deref(), err)?;
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return Err(CliError::unavailable(format!(
            "{}: cannot create the directory: {e}",
            args.out.display()
        )));
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
    let bars = Bars::new();
    warden_workers::pipeline::Progress::stage(&bars, "generating claims", args.claims);
    let stats = match write_dir(&args.out, &cfg, &plans, &bars) {
        Ok(stats) => stats,
        Err(e) => {
            return Err(CliError::unavailable(format!(
                "{}: {e}",
                args.out.display()
            )));
        }
    };
    bars.finish();
    for partner in &args.partner {
        let mapping = super::intake::load_mapping(partner, &args.partners)?;
        match write_partner_file(&args.out, &args.out, &mapping, &plans) {
            Ok((path, n)) => writeln!(
                out,
                "wrote {}: {n} claims in {}'s layout",
                path.display(),
                mapping.partner
            )?,
            Err(e) => {
                return Err(CliError::invalid(format!(
                    "{}'s layout: {e}",
                    mapping.partner
                )));
            }
        }
    }
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
    Ok(())
}

/// Writes the well-formed claims of `from/claims.csv` in `mapping`'s layout into `to`, as
/// `PARTNER.csv`, `.txt` (fixed width) or `.837`; the file and how many claims it holds.
pub(super) fn write_partner_file(
    from: &std::path::Path,
    to: &std::path::Path,
    mapping: &warden_workers::intake::Mapping,
    plans: &warden_workers::plans::Plans,
) -> Result<(PathBuf, usize), String> {
    use warden_workers::intake::mapping::Format;
    let text = std::fs::read_to_string(from.join("claims.csv")).map_err(|e| e.to_string())?;
    let claims = warden_workers::io::claims_csv::well_formed(&text, plans);
    let bytes = warden_workers::intake::partner_file::write(mapping, plans, &claims)?;
    let extension = match mapping.format {
        Format::Csv { .. } => "csv",
        Format::FixedWidth { .. } => "txt",
        Format::X12_837(_) => "837",
    };
    let path = to.join(format!("{}.{extension}", mapping.partner.to_lowercase()));
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path, claims.len()))
}
