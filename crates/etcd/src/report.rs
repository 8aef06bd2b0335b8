//! [`findings::Report`]s of the metrics and etcd checks, as `apiserver-doctor metrics` and
//! `apiserver-doctor etcd` print them (and `diagnose` can merge them).

use findings::{Finding, InputSummary, REPORT_SCHEMA_VERSION, Report, Thresholds};
use metrics::{MetricsEvidence, Snapshot, TargetKind};

use crate::EtcdEvidence;

/// The input kind of a scrape, as in [`InputSummary::kind`].
pub fn input_kind(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::KubeApiserver => "apiserver-metrics",
        TargetKind::Etcd => "etcd-metrics",
        TargetKind::Unknown => "metrics",
    }
}

/// One input line per scrape: source, samples, bad lines, and what it was identified as.
pub fn scrape_inputs(snapshots: &[Snapshot]) -> Vec<InputSummary> {
    snapshots
        .iter()
        .map(|s| InputSummary {
            kind: input_kind(s.target.kind).to_owned(),
            source: s.source.clone(),
            records: s.exposition.samples.len() as u64,
            skipped: s.exposition.error_count as u64,
            detected: Some(s.target.describe()),
        })
        .collect()
}

/// The metrics (`MET…`) and etcd (`ETC…`) findings of a set of scrapes, unsorted.
pub fn scrape_findings(
    snapshots: &[Snapshot],
    interval_seconds: Option<f64>,
    t: &Thresholds,
) -> Vec<Finding> {
    let evidence = MetricsEvidence::from_snapshots(snapshots, interval_seconds);
    let mut findings = metrics::checks::run(&evidence, t);
    findings.extend(crate::checks::run(&EtcdEvidence::from_metrics(&evidence.etcd), t));
    findings
}

fn report(inputs: Vec<InputSummary>, mut findings: Vec<Finding>, checks_run: Vec<String>) -> Report {
    findings::sort_findings(&mut findings);
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        window: None,
        inputs,
        overview: Default::default(),
        findings,
        checks_run,
    }
}

/// The report of `apiserver-doctor metrics` over `snapshots`.
pub fn scrapes_report(snapshots: &[Snapshot], interval_seconds: Option<f64>, t: &Thresholds) -> Report {
    let checks =
        metrics::checks::infos().iter().chain(crate::checks::infos()).map(|i| i.code.to_owned()).collect();
    report(scrape_inputs(snapshots), scrape_findings(snapshots, interval_seconds, t), checks)
}

/// The report of `apiserver-doctor etcd` over evidence read from a live cluster.
pub fn live_report(evidence: &EtcdEvidence, t: &Thresholds) -> Report {
    let mut inputs: Vec<InputSummary> = evidence
        .members
        .iter()
        .map(|m| InputSummary {
            kind: "etcd".into(),
            source: m.name.clone(),
            records: 0,
            skipped: 0,
            detected: m.status.as_ref().map(|s| format!("etcd {}", s.version)),
        })
        .collect();
    if let (Some(keys), Some(first)) = (&evidence.keys, inputs.first_mut()) {
        first.records = keys.keys;
    }
    let checks = crate::checks::infos().iter().map(|i| i.code.to_owned()).collect();
    report(inputs, crate::checks::run(evidence, t), checks)
}
