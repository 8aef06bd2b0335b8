//! The note for a query whose time filter (on now()) kept nothing: it is decided from the
//! `where`'s terms that read now() alone, never from the result being empty, so a filter
//! joined to the time filter by `and` that removed the rows does not get it.
//!
//! The test cluster's events cover 2024-05-01 10:00 to 11:29; now() is pinned to 11:30.

mod common;

use engine::{Engine, Now, QueryOptions};

fn notes(engine: &Engine, q: &str, opts: &QueryOptions) -> Vec<String> {
    engine.query(q, opts).unwrap_or_else(|e| panic!("{}", e.render(q, "<query>"))).notices
}

fn engine() -> Engine {
    common::engine_for(&common::cluster_events(200))
}

/// Bug (review s21 item 1): `where UserAgent == "nope" and TimeGenerated > ago(1000d)` was
/// told "no event passed the time filter … pass --now latest" when the user agent removed the
/// rows; with two `where`s there was rightly no note.
#[test]
fn a_time_filter_joined_by_and_to_an_absent_user_agent_gives_no_note() {
    let engine = engine();
    for q in [
        r#"AKSAudit | where UserAgent == "absent" and TimeGenerated > ago(1d) | count"#,
        r#"AKSAudit | where TimeGenerated > ago(1d) and UserAgent == "absent" | count"#,
        r#"AKSAudit | where UserAgent == "absent" and TimeGenerated > ago(1d) | summarize count() by Verb"#,
        r#"AKSAudit | where TimeGenerated > ago(1d) and UserAgent == "absent" | summarize count() by Verb"#,
        r#"AKSAudit | where Verb == "get" and UserAgent == "absent" and TimeGenerated between (ago(1d) .. now()) | count"#,
        // A filter before the time filter removed every row: nothing reached the window.
        r#"AKSAudit | where UserAgent == "absent" | where TimeGenerated > ago(1d) | count"#,
        // The window through a `let`.
        r#"let since = ago(1d); AKSAudit | where UserAgent == "absent" and TimeGenerated > since | count"#,
    ] {
        assert_eq!(notes(&engine, q, &common::opts()), Vec::<String>::new(), "{q}");
    }
}

#[test]
fn a_window_outside_the_data_still_gets_the_note_beside_another_filter() {
    let engine = engine();
    for (q, what) in [
        (
            r#"AKSAudit | where UserAgent == "absent" and TimeGenerated > now() + 1h | count"#,
            "no event passed the time filter",
        ),
        (
            r#"AKSAudit | where TimeGenerated > now() + 1h and UserAgent == "absent" | count"#,
            "no event passed the time filter",
        ),
        (
            r#"AKSAudit | where UserAgent startswith "kube" and TimeGenerated > now() + 1h | count"#,
            "no event passed the time filter",
        ),
        (
            r#"AKSAudit | where UserAgent == "absent" and TimeGenerated > now() + 1h | summarize count() by Verb"#,
            "no rows",
        ),
        (
            r#"AKSAudit | where TimeGenerated > now() + 1h and UserAgent == "absent" | summarize count() by Verb"#,
            "no rows",
        ),
        (
            r#"let since = now() + 1h; AKSAudit | where TimeGenerated > since | count"#,
            "no event passed the time filter",
        ),
    ] {
        let n = notes(&engine, q, &common::opts());
        assert_eq!(n.len(), 1, "{q}: {n:?}");
        assert!(
            n[0].starts_with(&format!("{what}: the query filters on now() (2024-05-01T11:30:00Z)")),
            "{q}: {n:?}"
        );
        assert!(n[0].contains("pass --now latest"), "{q}: {n:?}");
    }
}

/// now() read through a computed column: which filter removed the rows is not known, so the
/// note blames no filter; it says where now() lies, and only when that is outside the data.
#[test]
fn now_read_through_a_column_says_where_now_lies_without_blaming_a_filter() {
    let engine = engine();
    let q = "AKSAudit | extend age = now() - TimeGenerated | where age < 1h | summarize count() by Verb";
    let later =
        QueryOptions { now: Now::At(common::now() + chrono::Duration::days(400)), ..Default::default() };
    let n = notes(&engine, q, &later);
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(
        n[0].starts_with("no rows: the query reads now() (2025-06-05T11:30:00Z), which is outside the data"),
        "{n:?}"
    );
    assert!(!n[0].contains("time filter"), "{n:?}");
    // now() inside the data: the rows were removed by something else.
    let q = r#"AKSAudit | extend age = now() - TimeGenerated | where age < 1h and UserAgent == "absent" | summarize count() by Verb"#;
    let inside =
        QueryOptions { now: Now::At(common::t0() + chrono::Duration::minutes(60)), ..Default::default() };
    assert_eq!(notes(&engine, q, &inside), Vec::<String>::new());
}

/// Review s42: `--now latest` over events without any time (or none at all) pinned now() to
/// the wall clock without a word; it is said, with the time used. With times, no such note.
#[test]
fn now_latest_without_any_event_time_says_now_is_the_wall_clock() {
    let latest = QueryOptions { now: Now::Latest, ..QueryOptions::default() };
    let empty = Engine::from_batches(vec![]).expect("engine");
    let got = notes(&empty, "print t = now()", &latest);
    assert!(
        got.iter().any(|n| n.starts_with("--now latest: no event has a time, so now() is the wall clock (")),
        "{got:?}"
    );
    // Without now() in the query, nothing to say.
    assert!(notes(&empty, "print x = 1", &latest).is_empty());
    let got = notes(&engine(), "print t = now()", &latest);
    assert!(!got.iter().any(|n| n.starts_with("--now latest")), "{got:?}");
}

/// Review s42: `--now latest` pinned now() to the newest event even when a clock set wrong
/// stamped it 2099, so `ago(10m)` looked at 2099 and missed every real event. It is the newest
/// event at a possible time, as `diagnose`'s window, and a notice says what was passed over.
#[test]
fn now_latest_passes_over_events_stamped_in_2099() {
    let latest = QueryOptions { now: Now::Latest, ..QueryOptions::default() };
    let real = common::cluster_events(200);
    let newest_real = real.iter().filter_map(|e| e.stage_timestamp).max().expect("times");
    let mut events = real.clone();
    let future =
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2099, 1, 1, 0, 0, 0).single().expect("time");
    for e in events.iter_mut().take(2) {
        e.request_received_timestamp = Some(future);
        e.stage_timestamp = Some(future);
    }
    let with_2099 = common::engine_for(&events);
    let q = "AKSAudit | where TimeGenerated > ago(10m) | count";
    let count = |opts: &QueryOptions| {
        let r = with_2099.query(q, opts).unwrap_or_else(|e| panic!("{}", e.render(q, "<query>")));
        let n = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(r.batches[0].column(0))
            .value(0);
        (n, r)
    };
    let (n, got) = count(&latest);
    assert_eq!(got.now, newest_real, "now() is the newest real event");
    let (expected, _) = count(&QueryOptions { now: Now::At(newest_real), ..QueryOptions::default() });
    assert_eq!(n, expected);
    assert!(n > 0, "the last ten minutes of real events");
    let notice = got.notices.iter().find(|n| n.starts_with("--now latest")).expect("a notice");
    assert!(
        notice.contains(
            "2 events are stamped more than a day after the wall clock (the newest 2099-01-01T00:00:00"
        ),
        "{notice}"
    );
    assert!(notice.contains("now() is the newest event at a possible time, "), "{notice}");
    // Every event in 2099: the newest of them, said.
    let mut all_future = real;
    for e in all_future.iter_mut() {
        e.request_received_timestamp = Some(future);
        e.stage_timestamp = Some(future);
    }
    let got = notes(&common::engine_for(&all_future), "print t = now()", &latest);
    assert!(got.iter().any(|n| n.starts_with("--now latest: no event has a possible time")), "{got:?}");
    // Nothing passed over: no notice.
    assert!(!notes(&engine(), "print t = now()", &latest).iter().any(|n| n.starts_with("--now latest")));
}
