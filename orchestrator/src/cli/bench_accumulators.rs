//! `warden bench accumulators`: the store's side of carrying year-to-date accumulators from
//! one cycle to the next, at the nightly volume (1.09M members changed by the 1.8M-claim
//! nightly bench): the first post (every row inserted), setup's export of every row, the next
//! night's post (every row updated) and that post repeated (undo, then update again).

use std::io::Write;
use std::time::Instant;

use clap::Args;
use warden_store::{AccumulatorPost, NewRun, Store};

use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct AccumulatorsBenchArgs {
    /// Members whose accumulators the night changed (the nightly bench changes 1,085,963);
    /// 1 to 50,000,000.
    #[arg(long, default_value_t = 1_085_963, value_parser = super::limits::signed(1, super::limits::MAX_MEMBERS as i64))]
    pub members: i64,
    /// The store (a fresh SQLite file in a temporary directory by default).
    #[arg(long)]
    pub db: Option<String>,
}

/// The rows a night posts: every member moved on by `step` cents from `base`.
fn night(members: i64, base: i64, step: i64) -> Vec<Result<Vec<AccumulatorPost>, String>> {
    let rows: Vec<AccumulatorPost> = (0..members)
        .map(|i| AccumulatorPost {
            member: 1 + 3 * i,
            family: 1 + i,
            deductible_start: base,
            oop_start: 2 * base,
            deductible_end: base + step,
            oop_end: 2 * (base + step),
        })
        .collect();
    rows.chunks(10_000).map(|c| Ok(c.to_vec())).collect()
}

pub(super) fn run(args: &AccumulatorsBenchArgs, out: &mut dyn Write) -> CliResult {
    let dir = std::env::temp_dir().join(format!("warden-bench-acc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| dir.join("bench.db").to_string_lossy().into_owned());
    let runtime = super::runtime::multi_thread()?;
    let n = args.members;
    let timed = runtime.block_on(async {
        let store = Store::connect(&db).await.map_err(|e| e.to_string())?;
        let tag = format!("bench-acc-{}", std::process::id());
        let mut runs = Vec::new();
        for date in ["2020-01-01", "2020-01-02"] {
            let new = NewRun {
                cycle: tag.clone(),
                business_date: date.into(),
                workflow_sha256: "bench".into(),
                mode: "pipelined".into(),
                options: "{}".into(),
            };
            runs.push(
                store
                    .open_run(&new, chrono::Utc::now())
                    .await
                    .map_err(|e| e.to_string())?
                    .id,
            );
        }
        let mut times = Vec::new();
        let fail = |e: warden_store::StoreError| e.to_string();
        let t = Instant::now();
        let posted = store
            .post_accumulators(runs[0], &tag, night(n, 0, 500), chrono::Utc::now())
            .await
            .map_err(fail)?;
        times.push(("post, night 1 (insert)", posted, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let path = dir.join("ytd-from-store.bin");
        let exported = crate::engine::adjudication::export_ytd(&store, runs[1], &tag, &path)
            .await
            .map_err(|e| e.to_string())?;
        times.push(("setup export, night 2", exported, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let posted = store
            .post_accumulators(runs[1], &tag, night(n, 500, 250), chrono::Utc::now())
            .await
            .map_err(fail)?;
        times.push(("post, night 2 (update)", posted, t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let posted = store
            .post_accumulators(runs[1], &tag, night(n, 500, 250), chrono::Utc::now())
            .await
            .map_err(fail)?;
        times.push((
            "post, night 2 again (undo + update)",
            posted,
            t.elapsed().as_secs_f64(),
        ));
        let totals = store
            .accumulator_totals(runs[1], &tag)
            .await
            .map_err(fail)?;
        if totals.rows != n || totals.deductible_cents != 750 * n || totals.posted_by_run != n {
            return Err(format!(
                "the store does not hold what was posted: {totals:?}"
            ));
        }
        store.delete_accumulators(&tag).await.map_err(fail)?;
        Ok::<_, String>(times)
    });
    let _ = std::fs::remove_dir_all(&dir);
    match timed {
        Ok(times) => {
            writeln!(
                out,
                "{} ({n} members):",
                match &args.db {
                    Some(url) if url.starts_with("postgres") => "PostgreSQL",
                    Some(_) => "SQLite",
                    None => "SQLite (temporary file)",
                }
            )?;
            for (what, rows, s) in times {
                writeln!(
                    out,
                    "  {what:38} {rows:>9} rows {s:7.2} s ({:.0} rows/s)",
                    rows as f64 / s
                )?;
            }
            writeln!(
                out,
                "the store holds every member once, at night 2's values"
            )?;
            Ok(())
        }
        Err(e) => Err(CliError::unavailable(e)),
    }
}
