//! A partition killed at any point restarts from its last checkpoint, redoes fewer than K
//! claims and ends with exactly the bytes (results, deferrals, exceptions, accumulator
//! changes) of a run that was never interrupted.

mod common;

use std::path::{Path, PathBuf};

use warden_workers::generate::Config;
use warden_workers::pipeline::checkpoint;
use warden_workers::pipeline::driver::{Options, partitioned_sources, pass1_spec, pass2_spec};
use warden_workers::pipeline::layout::{self, Layout};
use warden_workers::pipeline::runner::{self, Spec};
use warden_workers::pipeline::setup::{self, Split};
use warden_workers::pipeline::{NoProgress, PipelineError, equivalence, finish, merge};

const K: u64 = 400;
const FILES: [&str; 5] = [
    layout::RESULTS,
    layout::DEFERRED,
    layout::EXCEPTIONS,
    layout::CHANGES,
    layout::EVENTS,
];

fn set_up(tmp: &Path) -> (Layout, warden_workers::plans::Plans, PathBuf) {
    let plans = common::plans();
    let input = tmp.join("in");
    let cfg = Config {
        members: 1_500,
        claims: 5_000,
        seed: 11,
        exception_rate: 0.08,
        ..Config::default()
    };
    common::generate_into(&input, &cfg, &plans);
    let l = Layout::new(&tmp.join("work"));
    setup::run(&input, &plans, &Split::Balanced(2), &l, None, &NoProgress).expect("setup");
    (l, plans, input)
}

fn opts() -> Options {
    Options {
        checkpoint_every: K,
        monitor_every: 1_000,
        ..Options::default()
    }
}

fn with_dir(spec: &Spec, dir: PathBuf) -> Spec {
    Spec {
        dir,
        ..spec.clone()
    }
}

/// Runs `spec` to the end, killing it after each of `kills` claims of progress; returns
/// the largest number of claims redone after a kill.
fn run_with_kills(spec: &Spec, plans: &warden_workers::plans::Plans, kills: &[u64]) -> u64 {
    let mut worst = 0;
    for &k in kills {
        let before = checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
            .expect("checkpoint")
            .map_or(0, |c| c.position);
        let s = Spec {
            stop_after: Some(k),
            ..spec.clone()
        };
        match runner::run(&s, plans, &NoProgress) {
            Err(PipelineError::Interrupted(n)) => assert_eq!(n, k),
            Ok(_) => continue, // fewer than k claims were left: it finished
            Err(e) => panic!("{e}"),
        }
        let reached = before + k;
        let committed = checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
            .expect("checkpoint")
            .map_or(0, |c| c.position);
        assert!(committed <= reached, "a checkpoint past the kill");
        assert!(
            reached - committed < K,
            "killed at {reached}, last checkpoint {committed}: {} claims to redo",
            reached - committed
        );
        worst = worst.max(reached - committed);
        // A kill between writing the temporary checkpoint and renaming it.
        std::fs::write(spec.dir.join("checkpoint.tmp"), b"{ torn").expect("tmp");
    }
    let done = runner::run(spec, plans, &NoProgress).expect("resume to the end");
    assert!(
        checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
            .expect("ck")
            .is_some_and(|c| c.done && c.position == done.position)
    );
    worst
}

fn assert_same_files(a: &Path, b: &Path, what: &str) {
    for f in FILES {
        let (x, y) = (
            std::fs::read(a.join(f)).expect("a"),
            std::fs::read(b.join(f)).expect("b"),
        );
        assert!(
            x == y,
            "{what}: {f} differs ({} vs {} bytes)",
            x.len(),
            y.len()
        );
    }
}

#[test]
fn a_partition_killed_anywhere_ends_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (l, plans, _) = set_up(tmp.path());
    let base = pass1_spec(&l, 0, &opts());
    let reference = with_dir(&base, tmp.path().join("reference"));
    let summary = runner::run(&reference, &plans, &NoProgress).expect("uninterrupted");
    assert!(
        summary.position > 2 * K,
        "enough claims for several checkpoints: {summary:?}"
    );
    assert!(summary.deferred > 0 && summary.exceptions > 0);
    assert!(
        std::fs::metadata(reference.dir.join(layout::CHANGES))
            .expect("changes")
            .len()
            > 0
    );

    // Kill points: around checkpoint boundaries, the first and last claims, and a spread.
    let n = summary.position;
    let mut trials: Vec<Vec<u64>> = vec![
        vec![1],
        vec![K - 1],
        vec![K],
        vec![K + 1],
        vec![n - 1],
        vec![2 * K - 1, 1, K],
    ];
    let mut x = 12_345u64;
    for _ in 0..24 {
        let mut kills = Vec::new();
        for _ in 0..(1 + x % 3) {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            kills.push(1 + (x >> 33) % (n / 2));
        }
        trials.push(kills);
    }
    let mut redone = 0;
    for (i, kills) in trials.iter().enumerate() {
        let spec = with_dir(&base, tmp.path().join(format!("trial{i}")));
        redone = redone.max(run_with_kills(&spec, &plans, kills));
        assert_same_files(&reference.dir, &spec.dir, &format!("kills {kills:?}"));
    }
    assert!(redone > 0, "some kill lost uncommitted work");
}

/// A checkpoint copied while its stage ran (another host's save to the object store reads
/// the files one by one) can name more accumulator changes than the copied log holds. The
/// stage must not pad the log with zeros: it starts over, and still ends byte-identical.
#[test]
fn a_checkpoint_ahead_of_its_files_is_not_trusted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (l, plans, _) = set_up(tmp.path());
    let base = pass1_spec(&l, 0, &opts());
    let reference = with_dir(&base, tmp.path().join("reference"));
    runner::run(&reference, &plans, &NoProgress).expect("uninterrupted");
    let spec = with_dir(&base, tmp.path().join("copied"));
    let killed = Spec {
        stop_after: Some(3 * K + 7),
        ..spec.clone()
    };
    assert!(matches!(
        runner::run(&killed, &plans, &NoProgress),
        Err(PipelineError::Interrupted(_))
    ));
    let ck = checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
        .expect("checkpoint")
        .expect("one was written");
    assert!(ck.change_records > 2, "{ck:?}");
    assert!(runner::holds_checkpoint(&spec.dir, &ck));
    // The copy of the change log was read before the checkpoint was last written.
    let changes = spec.dir.join(layout::CHANGES);
    let short = (ck.change_records - 2) * warden_workers::io::binary::CHANGE_SIZE as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&changes)
        .expect("open")
        .set_len(short)
        .expect("cut");
    assert!(!runner::holds_checkpoint(&spec.dir, &ck));
    let done = runner::run(&spec, &plans, &NoProgress).expect("runs to the end");
    assert_eq!(done.resumed_from, 0, "it started over");
    assert_same_files(&reference.dir, &spec.dir, "a checkpoint ahead of its files");
}

#[test]
fn kills_in_pass_1_and_pass_2_still_equal_the_serial_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (l, plans, input) = set_up(tmp.path());
    let o = opts();
    let manifest = setup::read_manifest(&l.setup()).expect("manifest");
    for p in 0..manifest.boundaries.len() {
        run_with_kills(&pass1_spec(&l, p, &o), &plans, &[K + 7, 3 * K - 1]);
    }
    // A finished partition run again is a no-op.
    let again = runner::run(&pass1_spec(&l, 0, &o), &plans, &NoProgress).expect("rerun");
    assert_eq!(again.resumed_from, again.position);
    let m = merge::run(&l, manifest.boundaries.len()).expect("merge");
    let small = Options {
        checkpoint_every: 40,
        ..opts()
    };
    assert!(
        m.deferred > 3 * 40,
        "pass 2 has checkpoints to cross: {m:?}"
    );
    let p2 = pass2_spec(&l, &small);
    for kills in [[20u64, 41], [39, 40]] {
        let before = checkpoint::load(&p2.dir.join(layout::CHECKPOINT))
            .expect("ck")
            .map_or(0, |c| c.position);
        for k in kills {
            let s = Spec {
                stop_after: Some(k),
                ..p2.clone()
            };
            assert!(matches!(
                runner::run(&s, &plans, &NoProgress),
                Err(PipelineError::Interrupted(_))
            ));
        }
        let after = checkpoint::load(&p2.dir.join(layout::CHECKPOINT))
            .expect("ck")
            .map_or(0, |c| c.position);
        assert!(after >= before && after.is_multiple_of(40));
    }
    runner::run(&p2, &plans, &NoProgress).expect("pass 2 to the end");
    let out = tmp.path().join("out");
    let rec = finish::run(&partitioned_sources(&l, &manifest), &out).expect("finish");
    assert!(rec.ok, "{:?}", rec.failures);
    let serial_out = tmp.path().join("serial");
    warden_workers::pipeline::adjudicate_serial(
        &input,
        &plans,
        &tmp.path().join("sw"),
        &serial_out,
        &o,
        &NoProgress,
    )
    .expect("serial");
    let diff = equivalence::compare(&serial_out, &out).expect("compare");
    assert!(
        diff.is_none(),
        "{}",
        diff.map(|d| d.to_string()).unwrap_or_default()
    );
}

#[test]
fn high_exception_mode_raises_an_event_and_changes_nothing_in_the_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (l, plans, _) = set_up(tmp.path());
    let spec = pass1_spec(&l, 0, &opts());
    let s = runner::run(&spec, &plans, &NoProgress).expect("run");
    assert!(
        s.high_exception_mode,
        "8% exceptions checked every 1,000 claims: {s:?}"
    );
    let events = common::read(&spec.dir.join(layout::EVENTS));
    let first = events.lines().next().expect("an event");
    let v: serde_json::Value = serde_json::from_str(first).expect("json");
    assert_eq!(v["event"], "exception-rate-high");
    assert_eq!(v["at_claim"].as_u64().map(|a| a % 1_000), Some(0));
    assert!(v["rate"].as_f64().is_some_and(|r| r > 0.05));
    assert!(
        !events.contains("member"),
        "events carry counts, not member data"
    );
    // The exceptions file holds exactly the pended results, in order.
    let pended: Vec<&str> = Vec::new();
    let results = common::read(&spec.dir.join(layout::RESULTS));
    let mut pended = pended;
    pended.extend(results.lines().filter(|l| l.contains(",pended,")));
    let exceptions = common::read(&spec.dir.join(layout::EXCEPTIONS));
    assert_eq!(exceptions.lines().collect::<Vec<_>>(), pended);
    assert_eq!(pended.len() as u64, s.exceptions);
}

#[test]
fn a_new_setup_clears_the_checkpoints_an_earlier_run_left() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (l, plans, input) = set_up(tmp.path());
    let spec = pass1_spec(&l, 0, &opts());
    let first = runner::run(&spec, &plans, &NoProgress).expect("run");
    assert!(
        checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
            .expect("ck")
            .is_some_and(|c| c.done)
    );
    // Setup again (new input, same work directories): the partition must run again, not
    // report the old run as done.
    setup::run(&input, &plans, &Split::Balanced(2), &l, None, &NoProgress).expect("setup again");
    assert!(
        checkpoint::load(&spec.dir.join(layout::CHECKPOINT))
            .expect("ck")
            .is_none()
    );
    let again = runner::run(&spec, &plans, &NoProgress).expect("rerun");
    assert_eq!(
        (again.resumed_from, again.adjudicated),
        (0, first.adjudicated)
    );
}
