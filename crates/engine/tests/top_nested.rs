//! `top-nested` against an independent computation in plain Rust over the same events: the
//! top user agents by requests, then each one's busiest verbs, ties going to the first key in
//! order as the engine breaks them.

mod common;

use std::collections::BTreeMap;

use common::{cluster_events, engine_for, opts};
use engine::format::cell_text;

/// The `n` largest of `counts`, largest first, ties by key.
fn top<K: Clone + Ord>(counts: &BTreeMap<K, u64>, n: usize) -> Vec<(K, u64)> {
    let mut v: Vec<(K, u64)> = counts.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[test]
fn top_nested_matches_counting_the_events() {
    let events = cluster_events(300);
    let engine = engine_for(&events);
    let q =
        "AKSAudit | top-nested 3 of UserAgent by Requests = count(), top-nested 2 of Verb by Calls = count()";
    let r = engine.query(q, &opts()).expect("runs");
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["UserAgent", "Requests", "Verb", "Calls"]);
    let mut got = Vec::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            got.push((0..4).map(|c| cell_text(b.column(c).as_ref(), i)).collect::<Vec<_>>());
        }
    }
    got.sort();

    let mut by_agent: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_agent_verb: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for e in &events {
        let ua = e.user_agent.clone().unwrap_or_default();
        *by_agent.entry(ua.clone()).or_default() += 1;
        *by_agent_verb.entry(ua).or_default().entry(e.verb.clone()).or_default() += 1;
    }
    let mut want = Vec::new();
    for (ua, requests) in top(&by_agent, 3) {
        for (verb, calls) in top(&by_agent_verb[&ua], 2) {
            want.push(vec![ua.clone(), requests.to_string(), verb, calls.to_string()]);
        }
    }
    want.sort();
    assert_eq!(want.len(), 6, "three agents with two verbs each: {want:?}");
    assert_eq!(got, want);
}

#[test]
fn the_others_row_holds_what_the_top_values_leave_out() {
    let events = cluster_events(300);
    let engine = engine_for(&events);
    let q = "AKSAudit | top-nested 2 of UserAgent with others = \"(other clients)\" by Requests = count()";
    let r = engine.query(q, &opts()).expect("runs");
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for b in &r.batches {
        for i in 0..b.num_rows() {
            let n = cell_text(b.column(1).as_ref(), i).parse().expect("a count");
            got.insert(cell_text(b.column(0).as_ref(), i), n);
        }
    }
    let mut by_agent: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        *by_agent.entry(e.user_agent.clone().unwrap_or_default()).or_default() += 1;
    }
    let mut want: BTreeMap<String, u64> = top(&by_agent, 2).into_iter().collect();
    let kept: u64 = want.values().sum();
    want.insert("(other clients)".to_owned(), events.len() as u64 - kept);
    assert_eq!(got, want);
}
