//! The store keeps a request's first stages, watches, lists and other events in files of their
//! own; a `where` on the stage or the verb reads only the files where a row can pass and does
//! not run the terms every row of those files passes. The answers are those of the same events
//! held in memory, where every filter runs.

mod common;

use common::{cluster_events, engine_for, engine_for_store, opts};
use engine::Engine;

/// The test cluster's events with a tenth each in `ResponseStarted`, in `RequestReceived` and
/// without a stage.
fn events() -> Vec<audit::Event> {
    let mut events = cluster_events(700);
    for (i, e) in events.iter_mut().enumerate() {
        match i % 10 {
            0 => e.stage = "ResponseStarted".into(),
            1 => e.stage = "RequestReceived".into(),
            2 => e.stage = String::new(),
            _ => {}
        }
    }
    events
}

fn csv(engine: &Engine, kql: &str) -> String {
    let result = engine.query(kql, &opts()).unwrap_or_else(|e| panic!("{kql}: {e}"));
    let mut out = Vec::new();
    engine::format::write_csv(&result, &mut out).expect("csv");
    String::from_utf8(out).expect("utf-8")
}

const NOT_FIRST: &str = r#"where Stage !in ("RequestReceived", "ResponseStarted")"#;

#[test]
fn filters_on_stage_and_verb_answer_as_over_every_event() {
    let events = events();
    let dir = tempfile::tempdir().expect("tmp");
    let memory = engine_for(&events);
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    let by = "summarize n = count() by Verb, Stage | order by Verb asc, Stage asc";
    let queries = [
        format!("AKSAudit | {NOT_FIRST} | {by}"),
        format!(r#"AKSAudit | {NOT_FIRST} | where Verb == "list" | {by}"#),
        format!(r#"AKSAudit | {NOT_FIRST} | where Verb != "watch" | {by}"#),
        format!(r#"AKSAudit | {NOT_FIRST} | where Verb in ("create", "delete", "list") | {by}"#),
        format!(r#"AKSAudit | where Verb !in ("get", "list") | {by}"#),
        format!(r#"AKSAudit | where Stage == "ResponseStarted" | {by}"#),
        format!(r#"AKSAudit | where Stage == "" | {by}"#),
        format!(r#"AKSAudit | where isempty(Stage) or Verb == "watch" | {by}"#),
        format!(r#"AKSAudit | where Stage != "ResponseComplete" and Verb == "get" | {by}"#),
        format!(r#"AKSAuditAdmin | {NOT_FIRST} | where Verb == "watch" | {by}"#),
        format!(r#"AKSAuditAdmin | {NOT_FIRST} | {by}"#),
        r#"KubeAudit | where stage == "ResponseComplete" and verb == "list" | summarize n = count()"#
            .to_owned(),
        r#"AzureDiagnostics | where Category == "kube-audit-admin" | count"#.to_owned(),
        // A filter no file can pass.
        r#"AKSAudit | where Verb == "list" | where Verb == "watch" | count"#.to_owned(),
    ];
    for q in &queries {
        let expected = csv(&memory, q);
        assert!(expected.lines().count() > 1, "{q}: no rows to compare:\n{expected}");
        assert_eq!(csv(&store, q), expected, "{q}");
    }
}

#[test]
fn a_filter_on_stage_or_verb_reads_fewer_files_and_runs_no_proven_term() {
    let events = events();
    let dir = tempfile::tempdir().expect("tmp");
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    let files = |kql: &str| -> usize {
        let plan = store.explain(kql, &opts()).expect("plans");
        let line = plan.lines().find(|l| l.starts_with("Store files read: ")).expect("files read");
        line["Store files read: ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("a number")
    };
    let all = files("AKSAudit | count");
    assert!(all >= 4, "one file per class at least: {all}");

    let q = format!("AKSAudit | {NOT_FIRST} | count");
    let plan = store.explain(&q, &opts()).expect("plans");
    assert!(!plan.contains("kql_str_ne(__events"), "the stage filter still runs:\n{plan}");
    assert!(files(&q) < all, "the first stages' files are still read:\n{plan}");

    let q = format!(r#"AKSAudit | {NOT_FIRST} | where Verb == "list" | count"#);
    let plan = store.explain(&q, &opts()).expect("plans");
    assert!(
        !plan.contains("kql_str_eq") && !plan.contains("kql_str_ne"),
        "a proven term still runs:\n{plan}"
    );
    // The events span two hours: one file of lists each.
    assert_eq!(files(&q), 2, "only the lists' files are read:\n{plan}");

    // A term that depends on the row stays: the "other" files hold gets and creates.
    let q = format!(r#"AKSAudit | {NOT_FIRST} | where Verb == "get" | count"#);
    assert!(store.explain(&q, &opts()).expect("plans").contains("kql_str_eq"));
}
