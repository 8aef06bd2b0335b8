//! The six queries of Microsoft's AKS troubleshooting guide, verbatim (with DUMMYUSERAGENT
//! replaced), on the same events written in every input format: each result equals an
//! independent computation in plain Rust over the events, and every format gives the same
//! table, pinned in `tests/golden/guide/`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use audit::Event;
use common::{CLIENTS, FORMATS, cluster_events, engine_for_format, now, opts};
use engine::QueryResult;
use engine::format::{OutputFormat, cell_text};

fn query_file(name: &str) -> String {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("../kql/tests/queries");
    let text =
        std::fs::read_to_string(dir.join(format!("supportdocs__troubleshoot-apiserver-etcd-{name}.kql")))
            .expect("the guide's queries are in crates/kql/tests/queries");
    // Drop the `// source:` line; the rest is the query as published.
    text.lines().skip_while(|l| l.starts_with("// source:")).collect::<Vec<_>>().join("\n")
}

/// The user agent and user the p99 queries filter on.
const UA: usize = 2;

fn guide_queries() -> Vec<(&'static str, String)> {
    vec![
        ("top-useragents-aksaudit", query_file("top-useragents-aksaudit")),
        ("top-users-azurediagnostics", query_file("top-users-azurediagnostics")),
        ("latency-by-useragent-timechart-aksaudit", query_file("latency-by-useragent-timechart-aksaudit")),
        (
            "latency-by-user-timechart-azurediagnostics",
            query_file("latency-by-user-timechart-azurediagnostics"),
        ),
        (
            "p99-latency-by-resource-aksaudit",
            query_file("p99-latency-by-resource-aksaudit").replace("DUMMYUSERAGENT", CLIENTS[UA].0),
        ),
        (
            "p99-latency-by-resource-azurediagnostics",
            query_file("p99-latency-by-resource-azurediagnostics").replace("DUMMYUSERAGENT", CLIENTS[UA].1),
        ),
    ]
}

fn rows(r: &QueryResult) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            out.push((0..b.num_columns()).map(|c| cell_text(b.column(c).as_ref(), i)).collect());
        }
    }
    out
}

fn ns(t: &Option<chrono::DateTime<chrono::Utc>>) -> i64 {
    t.and_then(|t| t.timestamp_nanos_opt()).expect("test events have timestamps")
}

fn in_window(e: &Event) -> bool {
    let t = ns(&e.stage_timestamp);
    let n = now().timestamp_nanos_opt().expect("valid");
    t >= n - 3_600_000_000_000 && t <= n
}

/// `datetime_diff('millisecond', stage, received)`: millisecond boundaries crossed.
fn latency_ms(e: &Event) -> i64 {
    ns(&e.stage_timestamp).div_euclid(1_000_000) - ns(&e.request_received_timestamp).div_euclid(1_000_000)
}

fn bin_5m(e: &Event) -> String {
    let t = ns(&e.request_received_timestamp);
    engine::kvalue::format_datetime(t - t.rem_euclid(300_000_000_000))
}

fn key_of(e: &Event, by_user: bool) -> String {
    if by_user { e.user.username.clone() } else { e.user_agent.clone().unwrap_or_default() }
}

/// Top 10 by count, as rows sorted by count then name (ties in Kusto's top are unordered).
fn expected_top(events: &[Event], by_user: bool) -> Vec<Vec<String>> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for e in events.iter().filter(|e| in_window(e)) {
        *counts.entry(key_of(e, by_user)).or_default() += 1;
    }
    let mut v: Vec<(String, i64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(10);
    v.into_iter().map(|(k, c)| vec![k, c.to_string()]).collect()
}

fn expected_avg(events: &[Event], by_user: bool) -> BTreeMap<(String, String), f64> {
    let mut acc: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for e in events.iter().filter(|e| in_window(e)) {
        let a = acc.entry((key_of(e, by_user), bin_5m(e))).or_default();
        a.0 += latency_ms(e);
        a.1 += 1;
    }
    acc.into_iter().map(|(k, (s, n))| (k, s as f64 / n as f64)).collect()
}

/// Nearest-rank P99 of latency per (verb, resource) for one client.
fn expected_p99(events: &[Event], by_user: bool) -> BTreeMap<(String, String), i64> {
    let who = if by_user { CLIENTS[UA].1 } else { CLIENTS[UA].0 };
    let mut groups: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
    for e in events.iter().filter(|e| in_window(e) && key_of(e, by_user) == who) {
        let resource = e.object_ref.as_ref().and_then(|o| o.resource.clone()).unwrap_or_default();
        if resource.is_empty() {
            continue;
        }
        groups.entry((e.verb.clone(), resource)).or_default().push(latency_ms(e));
    }
    groups
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            let rank = ((0.99 * v.len() as f64).ceil() as usize).max(1);
            (k, v[rank - 1])
        })
        .collect()
}

fn check(name: &str, r: &QueryResult, events: &[Event], fmt: &str) {
    let by_user = name.contains("azurediagnostics");
    let got = rows(r);
    if name.starts_with("top-") {
        let mut got = got;
        got.sort_by(|a, b| {
            b[1].parse::<i64>().unwrap_or(0).cmp(&a[1].parse::<i64>().unwrap_or(0)).then(a[0].cmp(&b[0]))
        });
        assert_eq!(got, expected_top(events, by_user), "{name} on {fmt}");
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec![if by_user { "User" } else { "UserAgent" }, "count_"], "{name} on {fmt}");
    } else if name.starts_with("latency-") {
        let want = expected_avg(events, by_user);
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![if by_user { "User" } else { "UserAgent" }, "start_time", "avg_latency"],
            "{name} on {fmt}"
        );
        let got: BTreeMap<(String, String), f64> = got
            .into_iter()
            .map(|row| ((row[0].clone(), row[1].clone()), row[2].parse::<f64>().expect("a number")))
            .collect();
        assert_eq!(got.len(), want.len(), "{name} on {fmt}: groups");
        for (k, v) in &want {
            let g = got.get(k).unwrap_or_else(|| panic!("{name} on {fmt}: missing group {k:?}"));
            assert!((g - v).abs() < 1e-9, "{name} on {fmt}: {k:?}: {g} != {v}");
        }
        let spec = r.render.as_ref().expect("render timechart");
        assert_eq!(spec.kind, "timechart");
        let chart = engine::chart::chart(r, spec).expect("a timechart");
        let series: std::collections::BTreeSet<&str> = want.keys().map(|(k, _)| k.as_str()).collect();
        assert_eq!(chart.series.len(), series.len(), "{name} on {fmt}: one series per client");
    } else {
        let want = expected_p99(events, by_user);
        assert!(!want.is_empty(), "the test data must exercise the p99 query");
        let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["HttpMethod", "Resource", "p99latency"], "{name} on {fmt}");
        let got: BTreeMap<(String, String), i64> = got
            .into_iter()
            .map(|row| ((row[0].clone(), row[1].clone()), row[2].parse::<i64>().expect("a long")))
            .collect();
        assert_eq!(got, want, "{name} on {fmt}");
    }
}

/// The table text with rows sorted (summarize output has no order), for golden comparison.
fn sorted_table(r: &QueryResult) -> String {
    let mut buf = Vec::new();
    engine::format::write(r, OutputFormat::Table, &mut buf).expect("writes");
    let text = String::from_utf8(buf).expect("utf-8");
    let mut lines: Vec<&str> = text.lines().collect();
    let body = lines.split_off(2.min(lines.len()));
    let mut body = body;
    body.sort_unstable();
    lines.extend(body);
    lines.join("\n") + "\n"
}

fn golden(name: &str, actual: &str) {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("tests/golden/guide")
            .join(format!("{name}.out"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{}: missing; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, want, "{name}: output differs from {}", path.display());
}

#[test]
fn guide_queries_match_an_independent_computation_on_every_format() {
    let events = cluster_events(3000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    let mut sources: Vec<(String, engine::Engine)> =
        FORMATS.iter().map(|f| ((*f).to_owned(), engine_for_format(dir.path(), f, &events))).collect();
    for f in ["k8s-log", "azure-diagnostics", "aks-audit"] {
        sources.push((format!("store from {f}"), common::engine_for_store(dir.path(), f, &events)));
    }
    for (fmt, engine) in &sources {
        let fmt = fmt.as_str();
        for (name, q) in guide_queries() {
            let r = engine
                .query(&q, &opts())
                .unwrap_or_else(|e| panic!("{name} on {fmt}: {}", e.render(&q, name)));
            check(name, &r, &events, fmt);
            let table = sorted_table(&r);
            match tables.get(name) {
                Some(first) => assert_eq!(&table, first, "{name}: {fmt} differs from {}", FORMATS[0]),
                None => {
                    tables.insert(name.to_owned(), table);
                }
            }
        }
    }
    for (name, table) in &tables {
        golden(name, table);
    }
}

#[test]
fn guide_queries_without_now_pinned_say_why_they_are_empty() {
    let events = cluster_events(100);
    let engine = common::engine_for(&events);
    let (_, q) = &guide_queries()[0];
    let r = engine.query(q, &engine::QueryOptions::default()).expect("runs");
    assert_eq!(r.num_rows(), 0, "the data is from 2024, the wall clock is later");
    let notice = r.notices.first().expect("a notice");
    assert!(notice.contains("--now latest") && notice.contains("2024-05-01T10:"), "{notice}");
}
