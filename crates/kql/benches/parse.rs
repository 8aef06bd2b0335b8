//! Parsing speed: the published queries copied in `tests/queries/`, and a long synthetic
//! pipeline to show the cost grows linearly with the text.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/queries");
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/queries") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "kql") {
            let text = std::fs::read_to_string(&path).expect("query");
            texts.push(kql::substitute_parameters(&text, &kql::sentinel_workbook_defaults()));
        }
    }
    texts.sort();
    texts
}

fn long_pipeline(stages: usize) -> String {
    let mut text = String::from("AKSAudit");
    for i in 0..stages {
        text.push_str(&format!(
            "\n| where Verb in ('get', 'list') and tostring(ObjectRef.resource) startswith 'pod{i}'\n| extend l{i} = datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime)"
        ));
    }
    text
}

fn bench(c: &mut Criterion) {
    let queries = corpus();
    let bytes: usize = queries.iter().map(String::len).sum();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function(format!("published_{}_queries", queries.len()), |b| {
        b.iter(|| {
            for q in &queries {
                let parsed = kql::parse(black_box(q));
                black_box(parsed.is_ok());
            }
        })
    });
    for stages in [10, 1000] {
        let text = long_pipeline(stages);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("pipeline_{stages}_stages"), |b| {
            b.iter(|| black_box(kql::parse(black_box(&text)).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
