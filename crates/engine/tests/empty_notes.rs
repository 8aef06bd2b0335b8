//! Notes for a query that found nothing where the reason is known (review s56): a window of
//! fixed dates outside the data, now() outside the data behind `| count`, and a `Category`
//! the events cannot have. An empty table or a count of 0 reads as "nothing is wrong".
//!
//! The test cluster's events cover 2024-05-01 10:00 to 11:29.

mod common;

use engine::{Engine, Now, QueryOptions};

fn notes(engine: &Engine, q: &str, opts: &QueryOptions) -> Vec<String> {
    engine.query(q, opts).unwrap_or_else(|e| panic!("{}", e.render(q, "<query>"))).notices
}

fn engine() -> Engine {
    common::engine_for(&common::cluster_events(200))
}

/// Two published Azure queries (`let starttime = datetime("2023-02-23")`) over other days gave
/// 0 rows without a word, though the store's bounds show no event can be in the window.
#[test]
fn a_window_of_fixed_dates_outside_the_data_gave_no_rows_without_a_word() {
    let engine = engine();
    for q in [
        r#"let starttime = datetime("2023-02-23"); let endtime = datetime("2023-02-24"); AKSAudit | where TimeGenerated between (starttime .. endtime) | count"#,
        r#"AKSAudit | where TimeGenerated > datetime(2030-01-01) | summarize count() by Verb"#,
        r#"AKSAudit | where Verb == "get" and TimeGenerated < datetime(2020-01-01) | project Verb"#,
    ] {
        let n = notes(&engine, q, &common::opts());
        assert_eq!(n.len(), 1, "{q}: {n:?}");
        assert!(
            n[0].contains("time window (a `where` on fixed dates) lies wholly outside the data"),
            "{q}: {n:?}"
        );
        assert!(n[0].contains("2024-05-01T10:00:00"), "{q}: {n:?}");
        assert!(!n[0].contains("--now"), "{q}: {n:?}");
    }
    // A window on the data, or rows removed before the window by another filter: no note.
    for q in [
        r#"AKSAudit | where TimeGenerated > datetime(2024-05-01 10:30) and UserAgent == "absent" | count"#,
        r#"AKSAudit | where UserAgent == "absent" | where TimeGenerated < datetime(2020-01-01) | count"#,
        r#"AKSAudit | where TimeGenerated > datetime(2024-05-01 10:30) | count"#,
    ] {
        assert_eq!(notes(&engine, q, &common::opts()), Vec::<String>::new(), "{q}");
    }
}

/// docs/kql.md describes the note for now() outside the data, but a query ending in `| count`
/// (one row holding 0) did not get it.
#[test]
fn the_now_outside_the_data_note_was_missing_when_the_query_ends_in_count() {
    let engine = engine();
    let later =
        QueryOptions { now: Now::At(common::now() + chrono::Duration::days(400)), ..Default::default() };
    let q = "AKSAudit | extend age = now() - TimeGenerated | where age < 1h | count";
    let n = notes(&engine, q, &later);
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].starts_with("nothing counted: the query reads now() (2025-06-05T11:30:00Z)"), "{n:?}");
    // A count that is not 0 is an answer: nothing to say.
    let q = "AKSAudit | extend age = now() - TimeGenerated | where age < 1000d | count";
    assert_eq!(notes(&engine, q, &later), Vec::<String>::new());
}

/// Four published queries select `Category == "kube-apiserver"` (the API server's own logs, in
/// `AzureDiagnostics` beside the audit events) and a typo such as `"kube-audt"` gave 0 rows,
/// both without a word.
#[test]
fn a_category_the_events_cannot_have_gave_no_rows_without_a_word() {
    let engine = engine();
    let n =
        notes(&engine, r#"AzureDiagnostics | where Category == "kube-apiserver" | count"#, &common::opts());
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].contains("Category \"kube-apiserver\": AKS's kube-apiserver resource logs"), "{n:?}");
    assert!(n[0].contains("run this query in Log Analytics"), "{n:?}");
    let n = notes(
        &engine,
        r#"AzureDiagnostics | where Category in ('kube-controller-manager') | project log_s"#,
        &common::opts(),
    );
    assert!(n.iter().any(|n| n.contains("kube-controller-manager resource logs")), "{n:?}");
    let n = notes(&engine, r#"AzureDiagnostics | where Category == "kube-audt" | count"#, &common::opts());
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].starts_with("no event is under Category \"kube-audt\""), "{n:?}");
    assert!(n[0].contains("did you mean \"kube-audit\"?"), "{n:?}");
    // A category the events are under, or one of several named: no note.
    for q in [
        r#"AzureDiagnostics | where Category == "kube-audit" and log_s has "no-such-agent-anywhere" | count"#,
        r#"AzureDiagnostics | where Category in ("kube-audit", "kube-apiserver") and log_s has "no-such-agent-anywhere" | count"#,
    ] {
        assert_eq!(notes(&engine, q, &common::opts()), Vec::<String>::new(), "{q}");
    }
}
