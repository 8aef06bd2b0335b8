//! A time filter that keeps every event is not run (the events' own times, from the store's
//! Parquet statistics or the in-memory batches, prove it true); one that cuts the events, or
//! that would drop events without a time, is. Either way the answer is the filter's.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{cluster_events, engine_for, engine_for_store, opts};
use engine::Engine;

fn literal(t: DateTime<Utc>) -> String {
    format!("datetime({})", t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

fn count(engine: &Engine, kql: &str) -> i64 {
    let result = engine.query(kql, &opts()).expect("runs");
    let batch = result.batches.first().expect("one row");
    engine::format::cell_text(batch.column(0).as_ref(), 0).parse().expect("a count")
}

fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("AKSAudit | where TimeGenerated between ({} .. {}) | count", literal(from), literal(to))
}

#[test]
fn a_window_around_every_event_is_not_run_and_one_that_cuts_is() {
    let events = cluster_events(400);
    let times: Vec<DateTime<Utc>> = events.iter().filter_map(|e| e.stage_timestamp).collect();
    let (first, last) = (*times.iter().min().expect("times"), *times.iter().max().expect("times"));
    let dir = tempfile::tempdir().expect("tmp");
    for (name, engine) in
        [("memory", engine_for(&events)), ("store", engine_for_store(dir.path(), "k8s-log", &events))]
    {
        let around = window(first - Duration::seconds(1), last + Duration::seconds(1));
        let plan = engine.explain(&around, &opts()).expect("plans");
        assert!(!plan.contains("kql_first_present"), "{name}: the window still filters:\n{plan}");
        assert_eq!(count(&engine, &around), events.len() as i64, "{name}");
        // Exactly the first and last event's times: still every event.
        assert!(!engine.explain(&window(first, last), &opts()).expect("plans").contains("kql_first_present"));

        let mid = first + (last - first) / 2;
        let cut = window(first, mid);
        let plan = engine.explain(&cut, &opts()).expect("plans");
        assert!(plan.contains("kql_first_present"), "{name}: a cutting window must filter:\n{plan}");
        let expected = times.iter().filter(|t| **t <= mid).count() as i64;
        assert_eq!(count(&engine, &cut), expected, "{name}");
        assert!(0 < expected && expected < events.len() as i64);
    }
}

#[test]
fn events_without_a_time_keep_the_filter_that_drops_them() {
    let mut events = cluster_events(100);
    let times: Vec<DateTime<Utc>> = events.iter().filter_map(|e| e.stage_timestamp).collect();
    let (first, last) = (*times.iter().min().expect("times"), *times.iter().max().expect("times"));
    let mut untimed = events[0].clone();
    untimed.audit_id = "no-time".into();
    untimed.stage_timestamp = None;
    untimed.request_received_timestamp = None;
    events.push(untimed);
    let dir = tempfile::tempdir().expect("tmp");
    for (name, engine) in
        [("memory", engine_for(&events)), ("store", engine_for_store(dir.path(), "k8s-log", &events))]
    {
        let around = window(first - Duration::seconds(1), last + Duration::seconds(1));
        assert!(engine.explain(&around, &opts()).expect("plans").contains("kql_first_present"), "{name}");
        assert_eq!(
            count(&engine, &around),
            events.len() as i64 - 1,
            "{name}: the untimed event is not in any window"
        );
    }
}

#[test]
fn the_time_range_read_from_the_bounds_is_that_of_the_events() {
    let mut events = cluster_events(300);
    let times: Vec<DateTime<Utc>> = events.iter().filter_map(|e| e.stage_timestamp).collect();
    let expected = (*times.iter().min().expect("times"), *times.iter().max().expect("times"));
    let dir = tempfile::tempdir().expect("tmp");
    for (name, engine) in
        [("memory", engine_for(&events)), ("store", engine_for_store(dir.path(), "k8s-log", &events))]
    {
        assert_eq!(engine.time_range().expect("runs"), Some(expected), "{name}");
    }
    // An event without a stage time: the range comes from a scan, and takes its received time.
    let mut late = events[0].clone();
    late.audit_id = "late".into();
    late.stage_timestamp = None;
    late.request_received_timestamp = Some(expected.1 + Duration::seconds(5));
    events.push(late);
    let dir = tempfile::tempdir().expect("tmp");
    for (name, engine) in
        [("memory", engine_for(&events)), ("store", engine_for_store(dir.path(), "k8s-log", &events))]
    {
        let got = engine.time_range().expect("runs");
        assert_eq!(got, Some((expected.0, expected.1 + Duration::seconds(5))), "{name}");
    }
}
