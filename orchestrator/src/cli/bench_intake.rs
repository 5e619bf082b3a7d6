//! `warden bench intake`: partner files of a large volume through intake (issue #15). The
//! claims are generated once (kept in `--dir`), written in each partner's layout (not timed),
//! then each file is taken in `--repeat` times: the whole of `intake::intake` (reading every
//! record, mapping, the engine's checks, the claims input and the rejects in memory); then
//! the real `warden intake` once, as a process of its own, for its wall time and peak memory.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use warden_workers::intake::{self, Status};

use super::bench_adjudicate::generated_input;
use super::intake::{PARTNERS_DIR, load_mapping};
use super::{CliError, CliResult, load_plans};

#[derive(Debug, Args)]
pub struct IntakeBenchArgs {
    /// Claims in each partner file, 1 to 200,000,000.
    #[arg(long, default_value_t = 1_000_000, value_parser = super::limits::amount(1, super::limits::MAX_CLAIMS))]
    pub claims: u64,
    /// Members the claims are spread over, 1 to 50,000,000.
    #[arg(long, default_value_t = 400_000, value_parser = super::limits::amount(1, super::limits::MAX_MEMBERS))]
    pub members: u64,
    /// Seed of the generated claims.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Intakes of each file; the median is reported. 1 to 100.
    #[arg(long, default_value_t = 3, value_parser = super::limits::count(super::limits::MAX_REPEAT))]
    pub repeat: usize,
    /// The partners measured (mapping names in `--partners`, or paths); default: every
    /// shipped one.
    #[arg(long)]
    pub partner: Vec<String>,
    /// The directory of partner mappings.
    #[arg(long, default_value = PARTNERS_DIR, value_name = "DIR")]
    pub partners: PathBuf,
    /// Where the generated claims and partner files go (kept; the claims are reused when
    /// their parameters match).
    #[arg(long, default_value = "target/bench-intake")]
    pub dir: PathBuf,
    /// Benefit plans (a directory of YAML files). Default: `workflows/plans` if it is there,
    /// else the built-in copies of the shipped plans.
    #[arg(long, value_name = "DIR")]
    pub plans: Option<PathBuf>,
}

pub(super) fn run(args: &IntakeBenchArgs, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let plans = load_plans(args.plans.as_deref(), err)?;
    let input = generated_input(&args.dir, args.members, args.claims, args.seed, &plans, out)?;
    let partners = if args.partner.is_empty() {
        vec!["acme-pbm".to_string(), "keystone-tpa".to_string()]
    } else {
        args.partner.clone()
    };
    let mut files = Vec::new();
    for partner in &partners {
        let mapping = load_mapping(partner, &args.partners)?;
        match super::claims::write_partner_file(&input, &args.dir, &mapping, &plans) {
            Ok((path, claims)) => files.push((mapping, path, claims)),
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
        "intake of {} claims per file, {} runs each",
        args.claims, args.repeat
    )?;
    let exe = std::env::current_exe()?;
    for (mapping, path, expected) in files {
        let bytes = std::fs::read(&path)?;
        let mut seconds = Vec::with_capacity(args.repeat);
        for _ in 0..args.repeat {
            let started = Instant::now();
            let got = intake::intake(&mapping, &plans, &bytes);
            seconds.push(started.elapsed().as_secs_f64());
            let ok = got.status == Status::Accepted && got.totals.accepted == expected as u64;
            if !ok {
                return Err(CliError::invalid(format!(
                    "{}: {:?}, {} of {expected} accepted: the measured intake must take every claim",
                    mapping.partner, got.status, got.totals.accepted
                )));
            }
        }
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        // The real command once, as a process of its own: its wall time (the claims input,
        // rejects and acknowledgement written) and its peak memory.
        let partner_path = args
            .partners
            .join(format!("{}.yaml", mapping.partner.to_lowercase()));
        let (cli_seconds, peak_kib) = cli_run(
            &exe,
            &partner_path,
            &path,
            &args.dir.join("out"),
            args.plans.as_deref(),
        )?;
        writeln!(
            out,
            "  {:<14} {:>6.1} MB  median {:>5.2} s  {:>7.0} claims/s  {:>4.0} MB/s;  warden intake {:>5.2} s, peak {} MiB",
            mapping.partner,
            bytes.len() as f64 / 1e6,
            median,
            expected as f64 / median,
            bytes.len() as f64 / 1e6 / median,
            cli_seconds,
            peak_kib.map_or("?".into(), |k| (k / 1024).to_string()),
        )?;
    }
    Ok(())
}

/// `warden intake` on `file`: its wall time, and its peak memory (VmHWM, read from `/proc`
/// every 5 ms until it exits: the last reading is at most 5 ms before its end).
fn cli_run(
    exe: &std::path::Path,
    mapping: &std::path::Path,
    file: &std::path::Path,
    out: &std::path::Path,
    plans: Option<&std::path::Path>,
) -> std::io::Result<(f64, Option<u64>)> {
    let mut command = std::process::Command::new(exe);
    command
        .arg("intake")
        .arg(mapping)
        .arg(file)
        .arg("--out")
        .arg(out);
    if let Some(p) = plans {
        command.arg("--plans").arg(p);
    }
    let started = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut peak = None;
    loop {
        if let Some(k) = crate::bench::peak_memory_kib(child.id()) {
            peak = Some(k);
        }
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok((started.elapsed().as_secs_f64(), peak))
}
