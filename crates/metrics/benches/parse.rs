//! Parsing a 25,000-sample scrape, and the whole metrics pipeline over it.
//!
//! Input: the real kube-apiserver 1.34 dump (24,311 samples) followed by the real etcd 3.6.6
//! dump (1,461 samples) from the shared data: 25,772 samples, 3.6 MB.
//! Run: `cargo bench -p metrics --bench parse`.

use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn input() -> Option<Vec<u8>> {
    let dirs = [
        std::env::var_os("APISERVER_DOCTOR_SHARED_DATA").map(PathBuf::from),
        Some(
            PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
                .join("../../../shared/data"),
        ),
        Some(PathBuf::from("/work/shared/data")),
    ];
    let dir = dirs.into_iter().flatten().find(|d| d.join("real/metrics").is_dir())?;
    let mut bytes =
        std::fs::read(dir.join("real/metrics/apiserver/nri-kubernetes_k8s1_34_apiserver.prom")).ok()?;
    bytes.extend(std::fs::read(dir.join("real/metrics/etcd/nri-kubernetes_k8s1_35_etcd.prom")).ok()?);
    Some(bytes)
}

fn bench(c: &mut Criterion) {
    let Some(bytes) = input() else {
        eprintln!("skipping: shared data (real/metrics) not found");
        return;
    };
    let samples = metrics::parse::parse(&bytes).samples.len();
    eprintln!("input: {} bytes, {samples} samples", bytes.len());
    let mut group = c.benchmark_group("metrics");
    group.throughput(Throughput::Elements(samples as u64));
    group.bench_function("parse_25k_samples", |b| b.iter(|| metrics::parse::parse(&bytes)));
    group.bench_function("parse_identify_evidence_checks_25k_samples", |b| {
        b.iter(|| {
            let s = metrics::Snapshot::parse("x", &bytes, None);
            let ev = metrics::MetricsEvidence::from_snapshots(std::slice::from_ref(&s), None);
            metrics::checks::run(&ev, &findings::Thresholds::default())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
