//! Render time of every format on the sample report with 50 findings, and of the charts
//! the HTML report embeds: `cargo bench -p report`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use report::{Format, TextOptions};

fn formats(c: &mut Criterion) {
    let model = common::report_with(50);
    let options = TextOptions { color: false, width: 100 };
    let mut group = c.benchmark_group("report_50_findings");
    for format in [Format::Html, Format::Text, Format::Markdown, Format::Json] {
        group.bench_function(format.as_str(), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(1 << 20);
                let _ = report::render(black_box(&model), format, &mut out, &options);
                out.len()
            })
        });
    }
    group.finish();
}

fn charts_bench(c: &mut Criterion) {
    let chart = common::latency_chart();
    let mut group = c.benchmark_group("latency_timechart");
    group.bench_function("svg_1000x400", |b| b.iter(|| charts::svg(black_box(&chart), 1000, 400).len()));
    group.bench_function("png_1000x400", |b| {
        b.iter(|| charts::png(black_box(&chart), 1000, 400).map(|p| p.len()))
    });
    group.bench_function("text_100x20", |b| b.iter(|| charts::text(black_box(&chart), 100, 20).len()));
    group.finish();
}

criterion_group!(benches, formats, charts_bench);
criterion_main!(benches);
