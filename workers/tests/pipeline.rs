//! The partitioned two-pass run against the serial run, on generated input.

mod common;

use warden_workers::generate::Config;
use warden_workers::pipeline::{self, NoProgress, Options, equivalence};

#[test]
fn partitioned_equals_serial_for_several_partition_counts() {
    let plans = common::plans();
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    let cfg = Config {
        members: 3_000,
        claims: 12_000,
        seed: 7,
        exception_rate: 0.03,
        bad_row_rate: 0.01,
        ..Config::default()
    };
    let stats = common::generate_into(&input, &cfg, &plans);
    assert!(
        stats.duplicates > 0
            && stats.prior_auths > 0
            && stats.cob_partners > 0
            && stats.bad_rows > 0,
        "{stats:?}"
    );
    let opts = Options {
        checkpoint_every: 1_000,
        ..Options::default()
    };
    let serial = pipeline::adjudicate_serial(
        &input,
        &plans,
        &tmp.path().join("ws"),
        &tmp.path().join("os"),
        &opts,
        &NoProgress,
    )
    .expect("serial");
    assert!(
        serial.reconciliation.ok,
        "{:?}",
        serial.reconciliation.failures
    );
    assert_eq!(serial.reconciliation.claim_rows, 12_000);
    assert_eq!(serial.reconciliation.rejected_claims, stats.bad_rows);
    assert!(serial.reconciliation.denied > 0 && serial.reconciliation.pended > 0);
    for n in [1, 2, 3, 6, 11] {
        let o = tmp.path().join(format!("o{n}"));
        let opts = Options {
            partitions: n,
            checkpoint_every: 1_000,
            ..Options::default()
        };
        let r = pipeline::adjudicate_partitioned(
            &input,
            &plans,
            &tmp.path().join(format!("w{n}")),
            &o,
            &opts,
            &NoProgress,
        )
        .expect("partitioned");
        assert!(r.reconciliation.ok, "{n}: {:?}", r.reconciliation.failures);
        assert_eq!(r.manifest.boundaries.len(), n);
        if n > 1 {
            assert!(r.merge.deferred > 0, "{n} partitions defer something");
        }
        assert_eq!(
            r.merge.changes_applied, 0,
            "pass 1 touched a deferred family's accumulators"
        );
        let diff = equivalence::compare(&tmp.path().join("os"), &o).expect("compare");
        assert!(
            diff.is_none(),
            "{n} partitions: {}",
            diff.map(|d| d.to_string()).unwrap_or_default()
        );
    }
}

#[test]
fn more_partitions_than_pcp_groups_still_gives_that_many_partitions() {
    let plans = common::plans();
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("in");
    let cfg = Config {
        members: 300,
        claims: 900,
        pcp_groups: 3,
        ..Config::default()
    };
    common::generate_into(&input, &cfg, &plans);
    let opts = Options {
        partitions: 5,
        checkpoint_every: 100,
        ..Options::default()
    };
    let r = pipeline::adjudicate_partitioned(
        &input,
        &plans,
        &tmp.path().join("w"),
        &tmp.path().join("o"),
        &opts,
        &NoProgress,
    )
    .expect("run");
    assert_eq!(r.manifest.boundaries.len(), 5);
    assert_eq!(
        r.manifest
            .partition_claims
            .iter()
            .filter(|c| **c == 0)
            .count(),
        2,
        "{:?}",
        r.manifest.partition_claims
    );
    assert!(r.reconciliation.ok, "{:?}", r.reconciliation.failures);
}
