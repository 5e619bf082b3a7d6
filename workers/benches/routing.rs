//! Batch routing speed (issue #15 target: at least 500,000 claims/s on one core with a
//! realistic 20-rule set): the shipped `workflows/routing/claims.yaml` over 200,000
//! generated claims, on one thread. `cargo bench -p warden-workers --bench routing`.
//! (`warden bench route` measures the same beside the online router, in one run.)

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden_workers::generate::{Config, generate};
use warden_workers::io::claims_csv;
use warden_workers::pipeline::NoProgress;
use warden_workers::plans::load_dir;
use warden_workers::routing;

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let plans = load_dir(&root.join("workflows/plans")).expect("shipped plans");
    let set = routing::load(&root.join("workflows/routing/claims.yaml")).expect("shipped set");
    let cfg = Config {
        members: 40_000,
        claims: 200_000,
        ..Config::default()
    };
    let (mut members, mut claims) = (Vec::new(), Vec::new());
    generate(&cfg, &plans, &mut members, &mut claims, &NoProgress).expect("generated");
    let claims = claims_csv::well_formed(&String::from_utf8(claims).expect("utf-8"), &plans);
    let ids: Vec<String> = plans.ids().map(str::to_string).collect();
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(claims.len() as u64));
    group.sample_size(10);
    group.bench_function("shipped 20-rule set, 200k claims", |b| {
        b.iter(|| {
            let tally = routing::route_all(&set, black_box(&claims), &ids, "", |_, _| {});
            assert!(tally.reconciles());
            tally.routed
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
