//! The metrics and etcd checks over scrapes, end to end: identification, two-scrape windows,
//! findings and their rendering (insta snapshots).

use std::path::PathBuf;

use findings::{Severity, Thresholds};
use metrics::Snapshot;

fn fixture(name: &str) -> Snapshot {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("tests/fixtures")
            .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Snapshot::parse(name, &bytes, None)
}

fn rendered(report: &findings::Report, format: report::Format) -> String {
    let mut out = Vec::new();
    report::render(report, format, &mut out, &report::TextOptions::default()).expect("render");
    String::from_utf8(out).expect("utf-8")
}

fn text(report: &findings::Report) -> String {
    rendered(report, report::Format::Text)
}

#[test]
fn troubled_cluster_scrapes_give_every_expected_finding() {
    let scrapes = [
        "troubled-apiserver-1.prom",
        "troubled-apiserver-2.prom",
        "troubled-etcd-1.prom",
        "troubled-etcd-2.prom",
    ]
    .map(fixture);
    let report = etcd::report::scrapes_report(&scrapes, None, &Thresholds::default());
    let got: Vec<(String, Severity, String)> =
        report.findings.iter().map(|f| (f.code.clone(), f.severity, f.subject.name.clone())).collect();
    // The member's id from its scrape, then the file (docs review 27 §8).
    let etcd = "8e9e05c52164694d (troubled-etcd-2.prom)";
    // Worst first, then causes before offenders, state and symptoms, then by code
    // (findings::report_order).
    let want: Vec<(&str, Severity, &str)> = vec![
        ("MET009", Severity::Critical, "validate.kyverno.svc-fail"),
        ("ETC003", Severity::Warning, etcd),
        ("ETC004", Severity::Warning, etcd),
        ("MET002", Severity::Warning, "events"),
        ("MET003", Severity::Warning, "jobs.batch"),
        ("MET008", Severity::Warning, "validate.kyverno.svc-fail"),
        ("MET006", Severity::Warning, "service-accounts"),
        ("ETC002", Severity::Warning, etcd),
        // `apiserver_storage_size_bytes` may be a different member at each scrape, so the
        // growth is judged on the member's own scrapes (ETC009), and MET005 says nothing.
        ("ETC009", Severity::Warning, etcd),
        ("ETC005", Severity::Warning, etcd),
        ("ETC006", Severity::Warning, etcd),
        ("MET001", Severity::Warning, "LIST pods (cluster)"),
        ("MET007", Severity::Warning, "workload-low"),
        ("MET010", Severity::Warning, "workload-low"),
    ];
    let want: Vec<(String, Severity, String)> =
        want.into_iter().map(|(c, s, n)| (c.to_owned(), s, n.to_owned())).collect();
    assert_eq!(got, want);
    // 1.45 GB of etcd's own 2 GiB quota is 68%: no MET004; the growth to it is ETC009's.
    assert!(report.findings.iter().all(|f| f.code != "MET004"));
    // the global-default flow schema's 3 rejections happened before the window: not reported
    assert!(report.findings.iter().all(|f| f.subject.name != "global-default"));
    // the window is 15 minutes, from the samples' timestamps
    let jobs = report.findings.iter().find(|f| f.code == "MET003").expect("MET003");
    assert!(jobs.summary.contains("in 900 s"), "{}", jobs.summary);
    insta::assert_snapshot!("troubled_text", text(&report));
}

#[test]
fn real_scrapes_give_only_the_findings_their_numbers_show() {
    let scrapes =
        ["apiserver-1.35-excerpt-nri.prom", "etcd-3.6.6-nri-k8s1_35.prom", "etcd-3.3.15-nri-k8s1_16.prom"]
            .map(fixture);
    let report = etcd::report::scrapes_report(&scrapes, None, &Thresholds::default());
    // The 1.16 test cluster's etcd had a slow disk: of 1,066 WAL fsyncs, 1,059 took at most
    // 32 ms and 1,042 at most 16 ms, so the P99 (rank 1,055.3) is 16 + 16 × 13.3/17 = 28.5 ms.
    let got: Vec<(&str, Severity, &str)> =
        report.findings.iter().map(|f| (f.code.as_str(), f.severity, f.subject.name.as_str())).collect();
    assert_eq!(
        got,
        [
            ("ETC003", Severity::Warning, "90d2750d1eb135c5 (etcd-3.3.15-nri-k8s1_16.prom)"),
            ("ETC004", Severity::Warning, "90d2750d1eb135c5 (etcd-3.3.15-nri-k8s1_16.prom)"),
        ]
    );
    let measure = |label: &str| {
        report.findings[0].evidence.measures.iter().find(|m| m.label == label).map(|m| m.value).expect(label)
    };
    // The P99 lies in (16 ms, 32 ms]: certainly above the 10 ms warning.
    assert_eq!(measure("P99 WAL fsync above (its bucket's lower bound)"), 0.016);
    assert_eq!(measure("P99 WAL fsync at most (its bucket's upper bound)"), 0.032);
    let p99 = measure("P99 WAL fsync ≈ (linear interpolation, as histogram_quantile)");
    assert!((p99 - (0.016 + 0.016 * (1066.0 * 0.99 - 1042.0) / 17.0)).abs() < 1e-12, "{p99}");
    insta::assert_snapshot!("real_text", text(&report));
    insta::assert_snapshot!("real_markdown", rendered(&report, report::Format::Markdown));
}

#[test]
fn broken_scrape_keeps_good_samples_and_names_bad_lines() {
    let text = b"# TYPE etcd_server_has_leader gauge\netcd_server_has_leader 0\netcd_server_version{server_version=\"3.5.12\" 1\nnot a sample\netcd_mvcc_db_total_size_in_bytes 1e9\n";
    let s = Snapshot::parse("broken.prom", text, None);
    let lines: Vec<usize> = s.exposition.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4]);
    // etcd_server_version was on a bad line: identified as etcd from its other metrics, no version
    assert_eq!(s.target.describe(), "etcd");
    let report = etcd::report::scrapes_report(&[s], None, &Thresholds::default());
    assert_eq!(report.inputs[0].skipped, 2);
    assert!(report.findings.iter().any(|f| f.code == "ETC005" && f.severity == Severity::Critical));
}
