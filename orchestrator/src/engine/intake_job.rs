//! The `intake` built-in (docs/intake.md): a partner's files, named in the job's `intake:`
//! block, through the partner's mapping into the job's work directory, as `warden intake`
//! writes them (claims, rejects, acknowledgements, control totals), routed by the block's
//! rule set when it names one, every decision in the run's routing audit first.
//!
//! Then the claims are put in the cycle's streams: `WORK/streams/STREAM/claims.csv` for each
//! of the cycle's streams, in received order. A claim goes to the stream whose id is its
//! routed stream letter (`A` … `E`, as the month-end's streams are named), or, in a cycle of
//! one stream, to that stream. The adjudication setup of a stream downstream of the job
//! reads them with the stream's own claims (engine::adjudication), so its volume check and
//! the batch impact gate count the partner's claims before any is adjudicated.
//!
//! The job fails, saying why in its log, when a file is missing, a file is refused whole
//! (unless `on_refused: continue`), a claim cannot be routed, or a routed claim has no
//! stream in the cycle. Counts reconcile: received = accepted + rejected, and the accepted
//! claims = the claims placed in the streams.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use warden_core::plan::Plan;
use warden_core::workflow::{Action, IntakeSpec};
use warden_ui::routing_audit::{Asked, decision_row};
use warden_workers::io::claims_csv;
use warden_workers::routing::{self, RoutedCsv};

use super::attempt_paths::AttemptPaths;
use super::builtins::{BuiltinSettings, RunStore};
use crate::intake_batch::{self, TakeError};

/// The per-stream claims in an intake job's work directory.
pub const STREAMS_DIR: &str = "streams";

/// The claims file an intake job's work directory `dir` holds for `stream` (the cycle's
/// stream id), or, for a job of no stream, all of its claims.
pub fn claims_for(dir: &Path, stream: Option<&str>) -> PathBuf {
    match stream {
        Some(s) => dir.join(STREAMS_DIR).join(s).join(claims_csv_name()),
        None => dir.join(claims_csv_name()),
    }
}

fn claims_csv_name() -> &'static str {
    warden_workers::pipeline::setup::CLAIMS_FILE
}

/// The intake jobs `job` waits on, directly or through other jobs, in plan order.
pub fn upstream_intakes(plan: &Plan, job: usize) -> Vec<usize> {
    let mut seen = vec![false; plan.jobs.len()];
    let mut stack: Vec<usize> = plan.jobs[job].deps.clone();
    while let Some(j) = stack.pop() {
        if j < seen.len() && !seen[j] {
            seen[j] = true;
            stack.extend(plan.jobs[j].deps.iter().copied());
        }
    }
    (0..plan.jobs.len())
        .filter(|&j| seen[j] && matches!(plan.jobs[j].action, Action::Intake(_)))
        .collect()
}

/// Starts the intake on the blocking pool. It reads and writes files only; `cancel` is
/// there for the executor's sake (a kill lets it finish its files, which are each written
/// whole, and its result is then not counted).
pub fn start(
    plan: &Plan,
    job: usize,
    spec: &IntakeSpec,
    paths: &AttemptPaths,
    settings: &BuiltinSettings,
    store: Option<RunStore>,
) -> (tokio::task::JoinHandle<bool>, Arc<AtomicBool>) {
    let cancel = Arc::new(AtomicBool::new(false));
    let streams: Vec<String> = plan.streams.iter().map(|s| s.id.clone()).collect();
    let (spec, paths, id) = (spec.clone(), paths.clone(), plan.jobs[job].id.clone());
    let settings = settings.clone();
    let handle = tokio::runtime::Handle::current();
    let task = tokio::task::spawn_blocking(move || {
        let result = take(
            &spec,
            &paths,
            &settings,
            &streams,
            &id,
            store.as_ref(),
            &handle,
        );
        let _ = std::fs::create_dir_all(paths.log_dir());
        let ok = result.is_ok();
        let text = result.unwrap_or_else(|e| format!("error: {e}"));
        if let Ok(mut f) = std::fs::File::create(&paths.log) {
            let _ = writeln!(f, "{text}");
        }
        if ok {
            tracing::info!(job = %id, "intake done");
        } else {
            tracing::warn!(job = %id, "intake failed (see its log)");
        }
        ok
    });
    let joined = tokio::spawn(async move { task.await.unwrap_or(false) });
    (joined, cancel)
}

/// The files a spec names: each pattern's matches in name order, each path as it is.
pub fn files_of(spec: &IntakeSpec) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in &spec.files {
        if pattern.contains(['*', '?', '[']) {
            let found = glob::glob(pattern)
                .map_err(|e| format!("`{pattern}` is not a file pattern: {e}"))?;
            let mut matched: Vec<PathBuf> = found
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            matched.sort();
            if matched.is_empty() {
                return Err(format!(
                    "no file matches `{pattern}` (relative to {}): the partner's files have not arrived, or the pattern is wrong",
                    here()
                ));
            }
            files.extend(matched);
        } else {
            let path = PathBuf::from(pattern);
            if !path.is_file() {
                return Err(format!("{pattern}: no such file (relative to {})", here()));
            }
            files.push(path);
        }
    }
    Ok(files)
}

fn here() -> String {
    std::env::current_dir().map_or_else(|_| ".".into(), |d| d.display().to_string())
}

/// The whole intake; the log's text, or why it failed.
fn take(
    spec: &IntakeSpec,
    paths: &AttemptPaths,
    settings: &BuiltinSettings,
    streams: &[String],
    job: &str,
    store: Option<&RunStore>,
    runtime: &tokio::runtime::Handle,
) -> Result<String, String> {
    let mapping = intake_batch::find_mapping(&spec.partner, settings.partners_dir())?;
    let plans = settings.load_plans().map_err(|e| e.to_string())?;
    let rules = match &spec.routing {
        Some(path) => Some(
            routing::load(Path::new(path))
                .map_err(|e| format!("{e}\nthe rule set is refused; nothing was taken in"))?,
        ),
        None => None,
    };
    let files = files_of(spec)?;
    let out = &paths.work_dir;
    // A rerun starts clean: nothing of an earlier attempt's streams stays.
    let _ = std::fs::remove_dir_all(out.join(STREAMS_DIR));
    let actor = format!("run {} job {job}", run_of(paths));
    let mut record = |batch: &RoutedCsv<'_>| -> Result<u64, String> {
        let (Some(rs), Some(set)) = (store, rules.as_ref()) else {
            return Err("routing needs the run's store (the routing audit)".into());
        };
        let asked = Asked {
            at: chrono::Utc::now(),
            channel: "batch",
            actor: &actor,
            rule_set_sha256: &set.sha256,
        };
        let rows = batch
            .decisions
            .iter()
            .map(|(claim_id, outcome)| decision_row(*claim_id, asked, outcome));
        runtime
            .block_on(rs.store.record_routing_decisions(rows))
            .map_err(|e| format!("the routing audit: {e}"))
    };
    let taken = intake_batch::take_in(&mapping, &plans, &files, rules.as_ref(), out, &mut record)
        .map_err(|e| match e {
        TakeError::Audit(m) => m,
        other => other.to_string(),
    })?;
    let mut log = String::new();
    use std::fmt::Write as _;
    for f in &taken.files {
        let t = &f.totals;
        match &f.refused {
            None => writeln!(
                log,
                "{}: accepted: {} of {} claims ({} rejected)",
                f.name, t.accepted, t.received, t.rejected
            ),
            Some((code, reason, line)) => writeln!(
                log,
                "{}: REFUSED at line {line}: {code} {reason}; none of its {} claims are taken",
                f.name, t.received
            ),
        }
        .map_err(|e| e.to_string())?;
    }
    let placed = place(&taken.claims_csv, streams, out)?;
    let t = &taken.total;
    let _ = writeln!(
        log,
        "{}: {} files, {} claims received, {} accepted, {} rejected (rejects.csv); {} files refused",
        mapping.partner,
        taken.files.len(),
        t.received,
        t.accepted,
        t.rejected,
        taken.refused
    );
    if let (Some(r), Some(set)) = (&taken.routed, &rules) {
        let _ = writeln!(
            log,
            "routed {} ({}) by {} ({}); {} not routed (route-errors.csv); {} decisions in the routing audit",
            r.tally.routed,
            r.tally.streams(),
            set.file.display(),
            &set.sha256[..12],
            r.not_routed(),
            r.recorded
        );
    }
    let by_stream: Vec<String> = placed.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(
        log,
        "into the cycle's streams: {} ({} claims)",
        by_stream.join(", "),
        placed.values().sum::<u64>()
    );
    let mut problems = Vec::new();
    if taken.refused > 0 && spec.fail_on_refused {
        problems.push(format!(
            "{} of {} files refused whole (their acknowledgements in ack/ say why; `on_refused: continue` takes the others)",
            taken.refused,
            taken.files.len()
        ));
    }
    if let Some(r) = &taken.routed
        && r.not_routed() > 0
    {
        problems.push(format!(
            "{} claims could not be routed (route-errors.csv)",
            r.not_routed()
        ));
    }
    if problems.is_empty() {
        Ok(log)
    } else {
        Err(format!("{log}{}", problems.join("; ")))
    }
}

/// The run's id, from `DATA/runs/RUN`.
fn run_of(paths: &AttemptPaths) -> String {
    paths
        .run_dir
        .file_name()
        .map_or_else(|| "?".into(), |n| n.to_string_lossy().into_owned())
}

/// Writes `claims` (a claims.csv, header first) into `out/streams/STREAM/claims.csv`, one
/// file per stream of the cycle (header only where none came), each in received order.
/// Returns the claims per stream; a claim whose stream the cycle does not have is an error
/// naming it and its claim.
pub fn place(
    claims: &str,
    streams: &[String],
    out: &Path,
) -> Result<BTreeMap<String, u64>, String> {
    let mut rows: BTreeMap<&str, Vec<&str>> =
        streams.iter().map(|s| (s.as_str(), vec![])).collect();
    for row in claims.lines().skip(1).filter(|r| !r.trim().is_empty()) {
        let letter = row.split(',').nth(STREAM_COLUMN).unwrap_or("");
        let stream = match streams {
            [only] => only.as_str(),
            _ => streams.iter().find(|s| *s == letter).map(String::as_str).ok_or_else(|| {
                format!(
                    "claim {} is for stream `{letter}`, which this cycle does not have (its streams: {}): route it to one of them",
                    row.split(',').next().unwrap_or(""),
                    streams.join(", ")
                )
            })?,
        };
        if let Some(v) = rows.get_mut(stream) {
            v.push(row);
        }
    }
    let mut counts = BTreeMap::new();
    for (stream, mut list) in rows {
        // Received order, then id: the order adjudication reads claims in.
        list.sort_by_cached_key(|r| {
            let mut f = r.split(',');
            let id = f
                .next()
                .and_then(|i| i.trim().parse::<u64>().ok())
                .unwrap_or(0);
            (f.nth(RECEIVED_COLUMN - 1).unwrap_or("").to_string(), id)
        });
        let dir = out.join(STREAMS_DIR).join(stream);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut text = claims_csv::header();
        for r in &list {
            text.push_str(r);
            text.push('\n');
        }
        intake_batch::write_whole(&dir.join(claims_csv_name()), text.as_bytes())
            .map_err(|e| e.to_string())?;
        counts.insert(stream.to_string(), list.len() as u64);
    }
    Ok(counts)
}

/// Positions in the claims header.
const STREAM_COLUMN: usize = 5;
const RECEIVED_COLUMN: usize = 7;

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(rows: &[(u64, &str, &str)]) -> String {
        let mut text = claims_csv::header();
        for (id, stream, received) in rows {
            text.push_str(&format!(
                "{id},1,1,1,P1,{stream},2025-03-01,{received},99213,Z00,11,1000,,,,,GOLD-PPO\n"
            ));
        }
        text
    }

    #[test]
    fn the_columns_the_placing_reads_are_the_headers() {
        assert_eq!(claims_csv::COLUMNS[STREAM_COLUMN], "stream");
        assert_eq!(claims_csv::COLUMNS[RECEIVED_COLUMN], "received");
    }

    #[test]
    fn claims_go_to_their_streams_in_received_order_and_every_stream_gets_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = claims(&[
            (9, "E", "2025-03-01T10:00:00Z"),
            (4, "A", "2025-03-01T09:00:00Z"),
            (2, "E", "2025-03-01T08:00:00Z"),
        ]);
        let streams: Vec<String> = ["A", "B", "E"].iter().map(|s| s.to_string()).collect();
        let counts = place(&text, &streams, dir.path()).expect("placed");
        assert_eq!(counts.get("A"), Some(&1));
        assert_eq!(counts.get("B"), Some(&0));
        assert_eq!(counts.get("E"), Some(&2));
        let e = std::fs::read_to_string(claims_for(dir.path(), Some("E"))).expect("E");
        let ids: Vec<&str> = e.lines().skip(1).map(|l| &l[..1]).collect();
        assert_eq!(ids, vec!["2", "9"]);
        let b = std::fs::read_to_string(claims_for(dir.path(), Some("B"))).expect("B");
        assert_eq!(b, claims_csv::header());
    }

    #[test]
    fn a_cycle_of_one_stream_takes_every_claim_and_an_unknown_stream_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = claims(&[
            (1, "C", "2025-03-01T10:00:00Z"),
            (2, "E", "2025-03-01T11:00:00Z"),
        ]);
        let one = vec!["claims".to_string()];
        assert_eq!(
            place(&text, &one, dir.path())
                .expect("placed")
                .get("claims"),
            Some(&2)
        );
        let two: Vec<String> = ["A", "B"].iter().map(|s| s.to_string()).collect();
        let err = place(&text, &two, dir.path()).expect_err("C is not a stream");
        assert!(
            err.starts_with(
                "claim 1 is for stream `C`, which this cycle does not have (its streams: A, B)"
            ),
            "{err}"
        );
    }
}
