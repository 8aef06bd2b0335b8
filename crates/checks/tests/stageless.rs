//! Logs without a `stage` field (review 48 of the audit checks, item 9).

mod common;

use common::{Cluster, measure};

/// A converted log without `stage`: every request's events were counted, its RequestReceived
/// copies (one request in four has one) among them, and nothing said so.
#[test]
fn requests_logged_twice_without_a_stage_were_counted_twice_and_nothing_said_so() {
    let mut cluster = Cluster::new().healthy();
    let copies = cluster.events.iter().filter(|e| e.stage == "RequestReceived").count() as f64;
    assert!(copies > 10.0, "the healthy cluster logs some requests twice");
    for e in &mut cluster.events {
        e.stage = String::new();
    }
    let d = common::diagnose(&cluster.events);
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD009" && f.title.contains("without a stage"))
        .unwrap_or_else(|| panic!("no warning: {:#?}", d.outcome.findings));
    assert_eq!(f.severity, findings::Severity::Warning);
    assert_eq!(measure(f, "requests logged more than once without a stage"), copies);
    assert_eq!(measure(f, "their events"), 2.0 * copies);
    // With the stage, nothing to say.
    let cluster = Cluster::new().healthy();
    let d = common::diagnose(&cluster.events);
    assert!(
        !d.outcome.findings.iter().any(|f| f.title.contains("without a stage")),
        "{:#?}",
        d.outcome.findings
    );
}
