//! `warden partitions plan|rebalance`: PCP-group boundaries balancing claim counts.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use warden_workers::pipeline::partition::{self, Boundaries, imbalance};
use warden_workers::pipeline::setup::count_groups;

use super::adjudicate::{pipeline_error, read_boundaries};
use super::{CliError, CliResult};

#[derive(Debug, Subcommand)]
pub enum PartitionsCommand {
    /// Balanced contiguous PCP-group ranges for N partitions, from the claims' counts.
    Plan(PlanArgs),
    /// Check current boundaries against the claims; propose new ones past the threshold.
    Rebalance(RebalanceArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Directory with claims.csv.
    #[arg(long, default_value = "claims")]
    pub input: PathBuf,
    /// Partitions, 1 to 64.
    #[arg(long, default_value_t = 6, value_parser = super::limits::count(super::limits::MAX_PARTITIONS))]
    pub partitions: usize,
    /// PCP groups to split (at least the claims' highest group is counted), 1 to 999.
    #[arg(long, default_value_t = 48, value_parser = super::limits::pcp_groups::<usize>())]
    pub pcp_groups: usize,
    /// Write the boundaries here (JSON, for `warden adjudicate --boundaries`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RebalanceArgs {
    /// Directory with claims.csv.
    #[arg(long, default_value = "claims")]
    pub input: PathBuf,
    /// The boundaries in use (JSON).
    #[arg(long)]
    pub current: PathBuf,
    /// PCP groups to split (at least the claims' highest group is counted), 1 to 999.
    #[arg(long, default_value_t = 48, value_parser = super::limits::pcp_groups::<usize>())]
    pub pcp_groups: usize,
    /// Largest over smallest partition above which new boundaries are proposed, 1 to 100.
    #[arg(long, default_value_t = 1.15, value_parser = super::limits::threshold)]
    pub threshold: f64,
    /// Write the proposed boundaries here (JSON), if any.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn table(b: &Boundaries, counts: &[u64], out: &mut dyn Write) -> std::io::Result<()> {
    let loads = b.loads(counts);
    writeln!(out, "partition  PCP groups  claims")?;
    for (i, (r, l)) in b.partitions.iter().zip(&loads).enumerate() {
        writeln!(
            out,
            "P{:02}        {:02}-{:02}       {l}",
            i + 1,
            r.first,
            r.last
        )?;
    }
    writeln!(
        out,
        "imbalance ratio: {}",
        imbalance(&loads).map_or("n/a (an empty partition)".into(), |x| format!("{x:.3}:1"))
    )
}

fn write_json(path: &PathBuf, b: &Boundaries) -> CliResult {
    let text = serde_json::to_string_pretty(b).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
        .map_err(|e| CliError::unavailable(format!("{}: {e}", path.display())))
}

pub(super) fn run(command: &PartitionsCommand, out: &mut dyn Write) -> CliResult {
    let input = match command {
        PartitionsCommand::Plan(a) => &a.input,
        PartitionsCommand::Rebalance(a) => &a.input,
    };
    let claims = input.join("claims.csv");
    if !claims.is_file() {
        return Err(CliError::usage(format!(
            "{}: no such file (write one with `warden claims generate`)",
            claims.display()
        )));
    }
    match command {
        PartitionsCommand::Plan(a) => {
            let counts = count_groups(&claims, a.pcp_groups).map_err(|e| pipeline_error(&e))?;
            let b = partition::plan(&counts, a.partitions);
            table(&b, &counts, out)?;
            if let Some(p) = &a.out {
                write_json(p, &b)?;
                writeln!(out, "wrote {}", p.display())?;
            }
        }
        PartitionsCommand::Rebalance(a) => {
            let current = read_boundaries(&a.current)?;
            let counts = count_groups(&claims, a.pcp_groups).map_err(|e| pipeline_error(&e))?;
            writeln!(out, "current:")?;
            table(&current, &counts, out)?;
            let p = partition::rebalance(&current, &counts, a.threshold);
            match &p.proposed {
                None => writeln!(
                    out,
                    "within the threshold {:.3}: no change proposed",
                    a.threshold
                )?,
                Some(b) => {
                    writeln!(out, "above the threshold {:.3}; proposed:", a.threshold)?;
                    table(b, &counts, out)?;
                    if let Some(path) = &a.out {
                        write_json(path, b)?;
                        writeln!(out, "wrote {}", path.display())?;
                    }
                }
            }
        }
    }
    Ok(())
}
