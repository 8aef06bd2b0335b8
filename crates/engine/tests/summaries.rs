//! Queries that start with the same `summarize` count it once per engine, and queries whose
//! filters keep few rows run them inside the Parquet reader: either way the answers are those
//! of a fresh engine running the query as written.

mod common;

use common::{cluster_events, engine_for, engine_for_store, opts};
use engine::{Engine, QueryOptions};

fn csv_with(engine: &Engine, kql: &str, options: &QueryOptions) -> String {
    let result = engine.query(kql, options).unwrap_or_else(|e| panic!("{kql}: {e}"));
    let mut out = Vec::new();
    engine::format::write_csv(&result, &mut out).expect("csv");
    String::from_utf8(out).expect("utf-8")
}

fn csv(engine: &Engine, kql: &str) -> String {
    csv_with(engine, kql, &opts())
}

const BY_AGENT_AND_USER: &str = "AKSAudit | where Stage == \"ResponseComplete\" \
    | summarize Requests = count() by UserAgent, UserName = tostring(User.username)";

/// Queries that start from [`BY_AGENT_AND_USER`], as `diagnose` asks them.
fn sharing() -> Vec<String> {
    vec![
        format!(
            "{BY_AGENT_AND_USER} | summarize Requests = sum(Requests), Users = dcount(UserName) by UserAgent \
             | order by UserAgent asc"
        ),
        format!(
            "{BY_AGENT_AND_USER} | summarize Requests = sum(Requests) by UserName | order by UserName asc"
        ),
        format!(
            "{BY_AGENT_AND_USER} | where UserAgent startswith_cs \"kube\" | summarize Requests = sum(Requests) \
             by UserAgent | order by UserAgent asc"
        ),
        format!("{BY_AGENT_AND_USER} | order by Requests desc, UserAgent asc, UserName asc | take 3"),
    ]
}

#[test]
fn queries_that_start_with_the_same_summarize_count_it_once_and_answer_as_alone() {
    let events = cluster_events(600);
    let dir = tempfile::tempdir().expect("tmp");
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    assert_eq!(store.summaries_kept(), 0);
    for (i, q) in sharing().iter().enumerate() {
        let expected = csv(&engine_for(&events), q);
        assert!(expected.lines().count() > 2, "{q}: no rows to compare:\n{expected}");
        assert_eq!(csv(&store, q), expected, "{q}");
        assert_eq!(store.summaries_kept(), 1, "after query {i}, one summary serves all four");
    }
    // Another filter is another summary; the kept one still answers its queries.
    let other = "AKSAudit | where Verb == \"get\" | summarize Requests = count() by UserAgent | order by UserAgent asc";
    let fresh = engine_for(&events);
    assert_eq!(csv(&store, other), csv(&fresh, other));
    assert_eq!(store.summaries_kept(), 2);
    assert_eq!(csv(&store, &sharing()[1]), csv(&fresh, &sharing()[1]));
    assert_eq!(store.summaries_kept(), 2);
}

#[test]
fn queries_running_side_by_side_share_one_summary() {
    let events = cluster_events(600);
    let dir = tempfile::tempdir().expect("tmp");
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    let queries = sharing();
    let answers: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = queries.iter().map(|q| s.spawn(|| csv(&store, q))).collect();
        handles.into_iter().map(|h| h.join().expect("query thread")).collect()
    });
    let fresh = engine_for(&events);
    for (q, answer) in queries.iter().zip(&answers) {
        assert_eq!(answer, &csv(&fresh, q), "{q}");
    }
    assert_eq!(store.summaries_kept(), 1);
}

#[test]
fn filters_read_inside_the_parquet_reader_give_the_same_answers() {
    let events = cluster_events(700);
    let dir = tempfile::tempdir().expect("tmp");
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    let few = QueryOptions { few_rows: true, ..opts() };
    let queries = [
        // The slow requests, as the slow-request breakdown reads them (annotations included).
        "AKSAudit | extend latency = datetime_diff('millisecond', StageReceivedTime, RequestReceivedTime) \
         | where latency >= 40 | summarize n = count(), a = make_set(tostring(Annotations), 3) by Verb \
         | order by Verb asc",
        // One client's requests.
        "AKSAudit | where UserAgent startswith_cs \"kyverno\" | summarize n = count() by Verb, \
         Resource = tostring(ObjectRef.resource) | order by Verb asc, Resource asc",
        // Failures.
        "AKSAudit | where toint(ResponseStatus.code) >= 400 | summarize n = count() by Code = \
         toint(ResponseStatus.code), Message = tostring(ResponseStatus.message) | order by Code asc, Message asc",
        // A filter every row passes, and one none does.
        "AKSAudit | where isnotempty(AuditId) | count",
        "AKSAudit | where Verb == \"nothing\" | count",
    ];
    for q in queries {
        let expected = csv(&store, q);
        assert!(expected.lines().count() > 1, "{q}: no rows to compare:\n{expected}");
        assert_eq!(csv_with(&store, q, &few), expected, "{q}");
    }
}

#[test]
fn a_summary_grouped_by_iff_of_a_literal_and_a_stored_string_failed_utf8_against_utf8view() {
    // Review s46: `iff(c, "", tostring(ObjectRef.namespace))` is typed by its literal (Utf8) when
    // planned and computed as the Parquet column's Utf8View; keeping that summary's rows failed
    // with "column types must match schema types, expected Utf8 but found Utf8View" (AUD008
    // could not run over a store).
    let events = cluster_events(300);
    let dir = tempfile::tempdir().expect("tmp");
    let store = engine_for_store(dir.path(), "k8s-log", &events);
    for q in [
        "AKSAudit | extend Namespace = iff(Verb == \"get\", \"\", tostring(ObjectRef.namespace)) \
         | summarize Requests = count() by Namespace | order by Namespace asc",
        "AKSAudit | extend Namespace = iff(Verb == \"get\", \"\", tostring(ObjectRef.namespace)) \
         | summarize Requests = count() by Namespace, Verb | summarize Requests = sum(Requests) by Namespace \
         | order by Namespace asc",
    ] {
        let expected = csv(&engine_for(&events), q);
        assert!(expected.lines().count() > 2, "{q}: no rows to compare:\n{expected}");
        assert_eq!(csv(&store, q), expected, "{q}");
    }
}
