//! Window functions (`prev()`, `next()`, `row_number()`, `row_cumsum()`, `row_rank_*()`,
//! `row_window_session()`) and serialized rows: which operators give, keep and lose the rows'
//! order (Kusto's rules), the errors, and the audit uses (gaps between a client's events, its
//! sessions) against a computation in plain Rust.

mod common;

use common::{cluster_events, engine_for, opts};
use engine::format::cell_text;

/// The rows of a query's result as text, in the order they came out.
fn rows(engine: &engine::Engine, q: &str) -> Vec<Vec<String>> {
    let r = engine.query(q, &opts()).unwrap_or_else(|e| panic!("{q}\n{}", e.render(q, "<query>")));
    let mut out = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            out.push((0..b.num_columns()).map(|c| cell_text(b.column(c).as_ref(), i)).collect());
        }
    }
    out
}

/// One column of a query's result, in order.
fn column(engine: &engine::Engine, q: &str) -> Vec<String> {
    rows(engine, q).into_iter().map(|r| r.into_iter().next().unwrap_or_default()).collect()
}

fn error_of(engine: &engine::Engine, q: &str) -> String {
    match engine.query(q, &opts()) {
        Ok(_) => panic!("runs, but should not: {q}"),
        Err(e) => e.render(q, "<query>"),
    }
}

fn numbers(range: std::ops::RangeInclusive<i64>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

#[test]
fn operators_that_keep_the_rows_serialized() {
    let engine = engine_for(&cluster_events(20));
    let source = "datatable(x:long, s:string, xs:dynamic)[3, 'a=1', dynamic([1]), 1, 'a=2', dynamic([2]), 2, 'a=3', dynamic([3])] | order by x asc";
    for op in [
        "extend y = x",
        "project x, s, xs",
        "project-away s",
        "project-keep x",
        "project-rename z = s",
        "project-reorder s",
        "where x > 0",
        "take 10",
        "parse s with 'a=' n:long",
        "mv-expand xs",
        "as T",
        "search *",
        "render table",
        "serialize",
    ] {
        let q = format!("{source} | {op} | extend p = prev(x) | project x, p");
        assert_eq!(
            rows(&engine, &q),
            [["1", ""], ["2", "1"], ["3", "2"]].map(|r| r.map(str::to_owned).to_vec()),
            "{op}"
        );
    }
}

#[test]
fn operators_that_give_serialized_rows() {
    let engine = engine_for(&cluster_events(20));
    for (q, want) in [
        ("range x from 1 to 4 step 1 | extend n = prev(x, 1, 0)", vec!["0", "1", "2", "3"]),
        (
            "range x from 1 to 4 step 1 | summarize by x | sort by x desc | extend n = prev(x)",
            vec!["", "4", "3", "2"],
        ),
        ("range x from 1 to 4 step 1 | summarize by x | top 2 by x asc | extend n = next(x)", vec!["2", ""]),
        (
            "range x from 1 to 4 step 1 | summarize by x | serialize | extend n = row_number()",
            vec!["1", "2", "3", "4"],
        ),
        ("range x from 1 to 9 step 1 | top-hitters 2 of x % 2 | extend n = row_number()", vec!["1", "2"]),
        ("datatable(b:string, a:long)[] | getschema | extend n = prev(ColumnName)", vec!["", "b"]),
    ] {
        let got: Vec<String> = rows(&engine, q).into_iter().filter_map(|r| r.last().cloned()).collect();
        assert_eq!(got, want, "{q}");
    }
}

#[test]
fn operators_that_lose_the_order_make_window_functions_an_error() {
    let engine = engine_for(&cluster_events(20));
    let serialized = "range x from 1 to 3 step 1";
    for op in [
        "summarize by x",
        "count",
        "distinct x",
        "join (range x from 1 to 3 step 1) on x",
        "lookup (range x from 1 to 3 step 1) on x",
        "union (range x from 1 to 3 step 1)",
        "top-nested 2 of x by count()",
    ] {
        let q = format!("{serialized} | {op} | extend p = prev(x)");
        let e = error_of(&engine, &q.replace("prev(x)", "row_number()"));
        assert!(e.starts_with("error: row_number() needs serialized rows"), "{op}:\n{e}");
        let e = error_of(&engine, &q);
        assert!(e.starts_with("error: prev() needs serialized rows"), "{op}:\n{e}");
    }
    // Tables and datatables are not serialized.
    for q in ["AKSAudit | extend p = prev(Verb)", "datatable(a:long)[1, 2] | extend s = row_cumsum(a)"] {
        assert!(error_of(&engine, q).contains("needs serialized rows"), "{q}");
    }
}

#[test]
fn the_error_points_at_the_call_and_says_how_to_serialize() {
    let engine = engine_for(&cluster_events(20));
    let q = "AKSAudit | summarize n = count() by Verb | extend before = next(n, 2)";
    let e = error_of(&engine, q);
    assert!(e.contains("next() needs serialized rows"), "{e}");
    assert!(e.contains("`| serialize`") && e.contains("`| order by …`"), "{e}");
    let caret = e.lines().find(|l| l.contains('^')).unwrap_or_default();
    let line = e.lines().find(|l| l.contains("extend before")).unwrap_or_default();
    let at = line.find("next(").expect("the query line");
    assert_eq!(caret.find('^'), Some(at), "{e}");
    assert_eq!(caret.matches('^').count(), "next(n, 2)".len(), "{e}");
}

#[test]
fn window_functions_only_in_extend_project_serialize_and_where() {
    let engine = engine_for(&cluster_events(20));
    for q in [
        "range x from 1 to 3 step 1 | summarize max(prev(x))",
        "range x from 1 to 3 step 1 | summarize count() by prev(x)",
        "range x from 1 to 3 step 1 | sort by prev(x)",
        "range x from 1 to 3 step 1 | distinct prev(x)",
        "let p = prev(1); range x from 1 to 3 step 1",
    ] {
        let e = error_of(&engine, q);
        assert!(
            e.contains("is a window function: it can be used in extend, project, serialize or where"),
            "{q}:\n{e}"
        );
    }
    // In a `where`, over the rows before the filter.
    assert_eq!(column(&engine, "range x from 1 to 6 step 1 | where prev(x, 1, 0) % 2 == 1"), ["2", "4", "6"]);
    assert_eq!(column(&engine, "range x from 1 to 3 step 1 | project n = row_number(5)"), ["5", "6", "7"]);
    // A `where` term that reads now() is also run alone, to tell whether the time filter
    // removed every row: that run computes the window function too.
    let q = "range t from datetime(2024-05-01 11:00) to datetime(2024-05-01 11:02) step 1m | where prev(t) > ago(1s) | count";
    assert_eq!(column(&engine, q), ["0"]);
}

#[test]
fn arguments_are_checked() {
    let engine = engine_for(&cluster_events(20));
    for (q, want) in [
        ("range x from 1 to 3 step 1 | extend p = prev(x, x)", "prev()'s offset must be a constant integer"),
        (
            "range x from 1 to 3 step 1 | extend p = next(x, 1.5)",
            "next()'s offset must be a constant integer",
        ),
        ("range x from 1 to 3 step 1 | extend p = prev()", "prev() takes 1 to 3 argument(s), got 0"),
        (
            "range x from 1 to 3 step 1 | extend p = prev(x, 1, 'none')",
            "prev()'s default value is a string, and the column a long",
        ),
        (
            "range x from 1 to 3 step 1 | extend n = row_number(x)",
            "row_number()'s starting index must be a constant integer",
        ),
        ("range x from 1 to 3 step 1 | extend n = row_number(1, x)", "expected a bool, got a long"),
        (
            "range x from 1 to 3 step 1 | extend n = row_number(1, true, 3)",
            "row_number() takes 0 to 2 argument(s), got 3",
        ),
        (
            "range x from 1 to 3 step 1 | extend s = row_cumsum(tostring(x))",
            "row_cumsum() sums an int, long, real or timespan, not a string",
        ),
        ("range x from 1 to 3 step 1 | extend s = row_cumsum(x, 'yes')", "expected a bool, got a string"),
    ] {
        let e = error_of(&engine, q);
        assert!(e.contains(want), "{q}:\n{e}");
    }
}

#[test]
fn window_functions_nest_and_mix() {
    let engine = engine_for(&cluster_events(20));
    let q = "range x from 1 to 5 step 1
        | extend c = prev(row_cumsum(x)), d = next(x) - prev(x), r = row_number(0, prev(x) % 2 == 0)
        | project c, d, r";
    assert_eq!(
        rows(&engine, q),
        [["", "", "0"], ["1", "2", "1"], ["3", "2", "0"], ["6", "2", "1"], ["10", "", "0"]]
            .map(|r| r.map(str::to_owned).to_vec())
    );
    // Through a user-defined function, and as a timespan running sum.
    let q = "let gap = (t: datetime) { t - prev(t) };
        range t from datetime(2024-01-01) to datetime(2024-01-01 00:03) step 1m
        | extend g = gap(t) | extend total = row_cumsum(g) | project total";
    assert_eq!(column(&engine, q), ["", "00:01:00", "00:02:00", "00:03:00"]);
}

#[test]
fn serialized_rows_come_out_and_are_taken_in_their_order() {
    // A store of several files: the scan has several partitions.
    let dir = tempfile::tempdir().expect("temp dir");
    let events = cluster_events(300);
    let engine = common::engine_for_store(dir.path(), "k8s-log", &events);
    let n = events.len() as i64;
    // Every row numbered once, and prev() reads the same order as row_number().
    let q = "AKSAudit | serialize n = row_number() | extend p = prev(n) | project n, p";
    let got = rows(&engine, q);
    assert_eq!(got.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), numbers(1..=n));
    assert!(got.iter().skip(1).all(|r| r[1].parse::<i64>().ok() == r[0].parse::<i64>().ok().map(|x| x - 1)));
    // `take` keeps the first rows, in order, after a filter.
    let q = "AKSAudit | order by TimeGenerated asc | extend n = row_number() | where Verb != 'get' | take 5 | project n";
    let kept = column(&engine, q);
    assert_eq!(kept.len(), 5);
    let all = column(
        &engine,
        "AKSAudit | order by TimeGenerated asc | extend n = row_number() | where Verb != 'get' | project n",
    );
    assert_eq!(kept, all[..5]);
    let mut sorted = all.clone();
    sorted.sort_by_key(|s| s.parse::<i64>().unwrap_or(0));
    assert_eq!(all, sorted);
}

#[test]
fn gaps_between_a_clients_events_match_the_events() {
    let events = cluster_events(300);
    let engine = engine_for(&events);
    let q = "AKSAudit
        | where UserAgent startswith 'kubectl'
        | order by TimeGenerated asc
        | extend gap = TimeGenerated - prev(TimeGenerated)
        | project TimeGenerated, gap_us = datetime_diff('microsecond', TimeGenerated, prev(TimeGenerated)), n = row_number()";
    let got = rows(&engine, q);
    let mut times: Vec<_> = events
        .iter()
        .filter(|e| e.user_agent.as_deref().is_some_and(|u| u.starts_with("kubectl")))
        .filter_map(|e| e.stage_timestamp)
        .collect();
    times.sort();
    assert!(times.len() > 50, "the test cluster has kubectl events");
    assert_eq!(got.len(), times.len());
    for (i, row) in got.iter().enumerate() {
        let want_gap = match i {
            0 => String::new(),
            _ => (times[i] - times[i - 1]).num_microseconds().map(|u| u.to_string()).unwrap_or_default(),
        };
        assert_eq!(row[1], want_gap, "row {i}: {row:?}");
        assert_eq!(row[2], (i + 1).to_string());
    }
}

#[test]
fn queries_without_window_functions_plan_as_before() {
    let engine = engine_for(&cluster_events(20));
    for q in ["AKSAudit | order by TimeGenerated asc | take 5", "range x from 1 to 3 step 1 | top 2 by x"] {
        let plan = engine.explain(q, &opts()).expect("explains");
        assert!(!plan.contains("__serial_index") && !plan.contains("row_number"), "{q}:\n{plan}");
    }
    let plan =
        engine.explain("AKSAudit | order by TimeGenerated asc | extend p = prev(Verb) | take 5", &opts());
    assert!(plan.expect("explains").contains("__serial_index"));
}

/// `row_window_session()` sessions of each client (a new one after a minute's silence or ten
/// minutes after it began, and for each new user agent) against the same rule in plain Rust.
#[test]
fn sessions_of_each_client_match_the_events() {
    let events = cluster_events(300);
    let engine = engine_for(&events);
    let q = "AKSAudit
        | where Stage == 'ResponseComplete'
        | order by UserAgent asc, TimeGenerated asc
        | extend Session = row_window_session(TimeGenerated, 10m, 1m, UserAgent != prev(UserAgent))
        | summarize Requests = count() by UserAgent, Session
        | summarize Sessions = count(), Requests = sum(Requests) by UserAgent
        | order by UserAgent asc";
    let got = rows(&engine, q);
    let mut by_agent: std::collections::BTreeMap<String, Vec<chrono::DateTime<chrono::Utc>>> =
        std::collections::BTreeMap::new();
    for e in events.iter().filter(|e| e.stage == "ResponseComplete") {
        if let Some(t) = e.stage_timestamp {
            by_agent.entry(e.user_agent.clone().unwrap_or_default()).or_default().push(t);
        }
    }
    let mut want = Vec::new();
    for (agent, mut times) in by_agent {
        times.sort();
        let mut sessions = 0;
        let mut open: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = None;
        for t in &times {
            let new = match open {
                None => true,
                Some((start, prev)) => {
                    *t >= start + chrono::Duration::minutes(10) || *t >= prev + chrono::Duration::minutes(1)
                }
            };
            if new {
                sessions += 1;
                open = Some((*t, *t));
            } else if let Some((start, _)) = open {
                open = Some((start, *t));
            }
        }
        want.push(vec![agent, sessions.to_string(), times.len().to_string()]);
    }
    assert!(want.len() >= 4, "the test cluster has several clients");
    assert!(
        want.iter().any(|r| r[1] != "1" && r[1] != r[2]),
        "some sessions hold several requests: {want:?}"
    );
    assert_eq!(got, want);
}
