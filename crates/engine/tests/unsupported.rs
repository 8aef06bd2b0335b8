//! Valid KQL this engine does not run says `not supported yet: …`, never a misleading error
//! ("summarize needs an aggregate function here", "unknown function"). The common ones are
//! named in docs/kql.md's "Not supported yet".

mod common;

fn error_of(engine: &engine::Engine, q: &str) -> String {
    match engine.query(q, &common::opts()) {
        Ok(_) => panic!("runs, but is documented as not supported: {q}"),
        Err(e) => e.render(q, "<query>"),
    }
}

/// Bug (review s21 item 3): `summarize percentile_tdigest(x, 50)` said "summarize needs an
/// aggregate function here (count(), avg(…), …)", as if it were not an aggregate's use. The
/// t-digest functions now run (exactly), but for `percentrank_tdigest`.
#[test]
fn known_tdigest_functions_in_summarize_run_or_say_not_supported_yet() {
    let engine = common::engine_for(&common::cluster_events(50));
    for q in [
        "AKSAudit | summarize percentile_tdigest(tdigest(1), 50)",
        "AKSAudit | summarize tdigest(1)",
        "AKSAudit | summarize d = tdigest(1) by Verb | summarize tdigest_merge(d)",
        "AKSAudit | summarize d = tdigest(1) by Verb | summarize merge_tdigest(d)",
    ] {
        if let Err(e) = engine.query(q, &common::opts()) {
            panic!("{q}:\n{}", e.render(q, "<query>"));
        }
    }
    let q = "AKSAudit | summarize percentrank_tdigest(1, 50) by Verb";
    let e = error_of(&engine, q);
    assert!(e.starts_with("error: not supported yet: "), "{q}:\n{e}");
    // Not an aggregate at all: that message stays.
    let e = error_of(&engine, "AKSAudit | summarize Verb");
    assert!(e.starts_with("error: summarize needs an aggregate function here"), "{e}");
    // An unknown function says so, with its hint.
    let e = error_of(&engine, "AKSAudit | summarize percentile_tdigestt(1, 50)");
    assert!(e.starts_with("error: unknown function `percentile_tdigestt`"), "{e}");
}

/// The operators and functions docs/kql.md names under "Not supported yet".
#[test]
fn what_the_docs_name_as_not_supported_says_so() {
    let engine = common::engine_for(&common::cluster_events(50));
    for q in [
        "AKSAudit | fork (take 1)",
        "AKSAudit | facet by Verb",
        "AKSAudit | partition by Verb { take 1 }",
        "AKSAudit | reduce by UserAgent",
        "AKSAudit | evaluate autocluster()",
        "AKSAudit | evaluate narrow()",
        "AKSAudit | mv-apply SourceIps on (join (AKSAudit) on Verb)",
        "AKSAudit | extend a = array_sort_asc(SourceIps, SourceIps)",
        "AKSAudit | extend r = extract_all(@\"(?P<x>a)\", dynamic([\"x\"]), Verb)",
        "AKSAudit | scan with (step s: true;)",
        "AKSAudit | consume",
        "AKSAudit | parse-kv RequestUri as (a: string) with (pair_delimiter='&', kv_delimiter='=', escape='\\\\')",
        "AKSAudit | parse-kv RequestUri as (a: string) with (pair_delimiter='&', kv_delimiter='=', greedy=true)",
        "AKSAudit | parse-kv RequestUri as (a: string) with (quote='\"')",
        "AKSAudit | evaluate pivot(Verb, percentile(Verb, 50))",
        "AKSAudit | extend h = hash_combine(1, 2)",
        "AKSAudit | extend h = hash_many(Verb, UserAgent)",
    ] {
        let e = error_of(&engine, q);
        assert!(e.starts_with("error: not supported yet: "), "{q}:\n{e}");
    }
}
