//! One test per bug, named after it: each failed before its fix.

mod common;

use checks::engine_runner::EngineRunner;
use checks::{AuditDiagnosis, AuditRequest, diagnose_audit};
use common::{Cluster, Req, batch, latency_ms, measure, p99, reproduce, requests};
use engine::Engine;

/// The healthy cluster with the slow vault operator (about 3 s per secret GET) and a second,
/// slower client on the same verb, resource and scope: the P99 of all of them (what AUD003's
/// title states) is neither client's own.
fn two_clients_breaching_one_slo() -> Cluster {
    let mut cluster = Cluster::new().healthy().slow_client();
    for i in 0..60 {
        let latency = 8_000 + cluster.rand(2_000) as i64;
        cluster.add(Req {
            at_ms: i * 30_000 + 777,
            latency_ms: latency,
            verb: "get",
            uri: format!("/api/v1/namespaces/vault/secrets/token-{}", i % 5),
            user: "system:serviceaccount:vault:secret-syncer",
            agent: "secret-syncer/v1.0.0 (linux/amd64) kubernetes/$Format",
            resource: "secrets",
            namespace: Some("vault"),
            name: Some(format!("token-{}", i % 5)),
            ..Req::default()
        });
    }
    cluster
}

#[test]
fn aud003_reproduce_query_gave_per_client_p99s_instead_of_the_headline_p99() {
    let cluster = two_clients_breaching_one_slo();
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let span = {
        let (start, end) = engine.time_range().expect("range").expect("events have times");
        end - start
    };
    // The last two thirds of the log: the query must keep the finding's window too.
    let since = span * 2 / 3;
    let runner = EngineRunner::new(&engine, common::t0());
    let d: AuditDiagnosis =
        diagnose_audit(&runner, &AuditRequest { since: Some(since), ..AuditRequest::default() })
            .expect("diagnoses");
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD003" && f.subject.name == "get secrets (resource)")
        .unwrap_or_else(|| panic!("no AUD003 breach: {:#?}", d.outcome.findings));
    // The headline recomputed from the events: every client's secret GETs in the window.
    let latencies: Vec<i64> = requests(&cluster.events)
        .filter(|e| {
            e.verb == "get"
                && e.object_ref.as_ref().and_then(|o| o.resource.as_deref()) == Some("secrets")
                && e.stage_timestamp.is_some_and(|t| t >= d.window.start && t <= d.window.end)
        })
        .map(latency_ms)
        .collect();
    let (n, headline) = (latencies.len() as f64, p99(latencies));
    assert_eq!(measure(f, "requests"), n);
    assert_eq!(measure(f, "P99 latency"), headline);
    assert!(f.title.contains(&format!("is {:.1} s", headline / 1000.0)), "{}", f.title);
    // The query in the evidence gives exactly that: one row, the headline's numbers.
    let rows = reproduce(&cluster.events, f);
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
    let r = rows.reader();
    let row = &rows.rows[0];
    assert_eq!(r.column("Verb").expect("Verb").text(row), "get");
    assert_eq!(r.column("Resource").expect("Resource").text(row), "secrets");
    assert_eq!(r.column("Scope").expect("Scope").text(row), "resource");
    assert_eq!(r.column("Requests").expect("Requests").num(row), n);
    assert_eq!(r.column("P99Ms").expect("P99Ms").num(row), headline);
}

#[test]
fn aud009_summary_query_covered_the_whole_log_not_the_window() {
    let cluster = Cluster::new().healthy();
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let (start, end) = engine.time_range().expect("range").expect("events have times");
    // The last quarter of the log (`--since`): most events are outside the window.
    let runner = EngineRunner::new(&engine, common::t0());
    let d =
        diagnose_audit(&runner, &AuditRequest { since: Some((end - start) / 4), ..AuditRequest::default() })
            .expect("diagnoses");
    assert!(d.window.start > start && d.window.end == end, "{:?}", d.window);
    let summary = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD009" && f.title.contains("audit events"))
        .unwrap_or_else(|| panic!("no AUD009 summary: {:#?}", d.outcome.findings));
    // The window's numbers, counted from the events directly.
    let in_window =
        |e: &&audit::Event| e.stage_timestamp.is_some_and(|t| t >= d.window.start && t <= d.window.end);
    let events = cluster.events.iter().filter(in_window).count() as f64;
    let window_requests: Vec<&audit::Event> = requests(&cluster.events).filter(in_window).collect();
    let reads =
        window_requests.iter().filter(|e| ["get", "list", "watch"].contains(&e.verb.as_str())).count();
    assert!(events < cluster.events.len() as f64 / 2.0, "{events} of {}", cluster.events.len());
    // The query in its evidence gives the window's numbers, not the whole log's.
    let q = summary.evidence.query.as_deref().expect("query");
    assert!(q.contains("| where TimeGenerated between (datetime("), "{q}");
    let rows = reproduce(&cluster.events, summary);
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
    let r = rows.reader();
    let row = &rows.rows[0];
    assert_eq!(r.column("Events").expect("Events").num(row), events);
    assert_eq!(r.column("Requests").expect("Requests").num(row), window_requests.len() as f64);
    assert_eq!(r.column("Reads").expect("Reads").num(row), reads as f64);
    // And the finding states them.
    assert_eq!(measure(summary, "events in the window"), events);
    assert_eq!(measure(summary, "requests in the window"), window_requests.len() as f64);
    assert_eq!(measure(summary, "read requests in the window (get, list, watch)"), reads as f64);
    let first = r.column("First").expect("First").time(row).expect("a first event");
    let last = r.column("Last").expect("Last").time(row).expect("a last event");
    let shown = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(
        summary.title.ends_with(&format!("in the window, from {} to {}", shown(first), shown(last))),
        "{}",
        summary.title
    );
    assert!(first >= d.window.start && last <= d.window.end);
}

#[test]
fn aud002_findings_of_one_severity_came_by_client_name_not_by_latency() {
    // Two slow operators polling secrets: by name alpha-sync comes first, by latency
    // zeta-sync (about 6 s against 2 s).
    let mut cluster = Cluster::new().healthy();
    for (agent, user, base) in [
        (
            "alpha-sync/v1.0.0 (linux/amd64) kubernetes/$Format",
            "system:serviceaccount:sync:alpha-sync",
            2_000,
        ),
        ("zeta-sync/v1.0.0 (linux/amd64) kubernetes/$Format", "system:serviceaccount:sync:zeta-sync", 6_000),
    ] {
        for i in 0..120 {
            let latency = base + cluster.rand(200) as i64;
            cluster.add(Req {
                at_ms: i * 15_000 + 333,
                latency_ms: latency,
                verb: "get",
                uri: format!("/api/v1/namespaces/sync/secrets/s-{}", i % 3),
                user,
                agent,
                resource: "secrets",
                namespace: Some("sync"),
                name: Some(format!("s-{}", i % 3)),
                ..Req::default()
            });
        }
    }
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let d = diagnose_audit(&EngineRunner::new(&engine, common::t0()), &AuditRequest::default())
        .expect("diagnoses");
    let slow: Vec<(&str, f64)> = d
        .outcome
        .findings
        .iter()
        .filter(|f| f.code == "AUD002")
        .map(|f| (f.subject.name.as_str(), measure(f, "average latency")))
        .collect();
    let names: Vec<&str> = slow.iter().map(|s| s.0).collect();
    assert_eq!(names, ["zeta-sync", "alpha-sync"], "{slow:?}");
    assert!(slow[0].1 > slow[1].1, "{slow:?}");
}

#[test]
fn aud001_agents_starting_with_a_slash_or_a_space_were_counted_as_no_user_agent() {
    // Review s44: three senders of about 300 requests each (one with no agent, one whose
    // agent starts with `/`, one whose agent starts with a space) were one client, "(no user
    // agent)", that outranked every real client with their sum.
    let mut cluster = Cluster::new().healthy();
    let senders = [("", 300), ("/leading-slash", 310), (" space-first/1.0", 320)];
    for (agent, n) in senders {
        for i in 0..n {
            cluster.add(Req {
                at_ms: i * 5_000 + 17,
                verb: "get",
                uri: "/api/v1/namespaces/default/configmaps/c".to_owned(),
                user: "system:serviceaccount:default:odd",
                agent,
                resource: "configmaps",
                namespace: Some("default"),
                name: Some("c".to_owned()),
                ..Req::default()
            });
        }
    }
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let d = diagnose_audit(&EngineRunner::new(&engine, common::t0()), &AuditRequest::default())
        .expect("diagnoses");
    let top = d.outcome.findings.iter().find(|f| f.code == "AUD001").expect("top clients");
    let table = top.evidence.table.as_ref().expect("table");
    let requests_of = |client: &str| -> Option<f64> {
        let row = table.rows.iter().find(|r| r[0] == client)?;
        row[1].replace(',', "").parse::<f64>().ok()
    };
    let no_agent =
        requests(&cluster.events).filter(|e| e.user_agent.as_deref().unwrap_or("").is_empty()).count();
    assert_eq!(requests_of("(no user agent)"), Some(no_agent as f64), "{table:#?}");
    assert_eq!(requests_of("/leading-slash"), Some(310.0), "{table:#?}");
    assert_eq!(requests_of(" space-first"), Some(320.0), "{table:#?}");
    assert_ne!(top.subject.name, "(no user agent)", "{}", top.title);
}

fn diagnosed(cluster: &Cluster) -> AuditDiagnosis {
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    diagnose_audit(&EngineRunner::new(&engine, common::t0()), &AuditRequest::default()).expect("diagnoses")
}

#[test]
fn throttle_named_the_impersonating_user_that_apf_never_sees() {
    // Review s46, item 1: `ci-bot` (in system:masters) sent cluster-wide LISTs impersonating a
    // service account. API Priority and Fairness classifies them as the service account, but
    // the finding named ci-bot and no throttle was proposed ("system:masters"); without the
    // masters group, the FlowSchema named ci-bot and matched none of the requests.
    let mut cluster = Cluster::new().healthy();
    for i in 0..common::SECONDS / 3 {
        cluster.add(Req {
            at_ms: i * 3_000 + 11,
            latency_ms: 3_000,
            verb: "list",
            uri: "/api/v1/pods".to_owned(),
            user: "ci-bot",
            groups: &["system:masters", "system:authenticated"],
            as_user: Some((
                "system:serviceaccount:team:app",
                &["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"],
            )),
            agent: "storm-tool/v1.0",
            resource: "pods",
            ..Req::default()
        });
    }
    let d = diagnosed(&cluster);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD004").expect("expensive LISTs");
    assert!(f.summary.starts_with("storm-tool (system:serviceaccount:team:app) sent"), "{}", f.summary);
    assert!(f.summary.contains("impersonating system:serviceaccount:team:app by ci-bot"), "{}", f.summary);
    assert!(!f.summary.contains("No throttle is proposed"), "{}", f.summary);
    let yaml = f.remedies.iter().find(|r| r.body.contains("kind: FlowSchema")).expect("throttle");
    assert!(yaml.body.contains("kind: ServiceAccount"), "{}", yaml.body);
    assert!(yaml.body.contains("namespace: team") && yaml.body.contains("name: app"), "{}", yaml.body);
    assert!(!yaml.body.contains("ci-bot"), "{}", yaml.body);
    // The identity ranking charges the requests to the impersonated user too.
    let users = d.outcome.findings.iter().find(|f| f.code == "AUD001" && f.subject.kind == "user");
    let table = users.and_then(|f| f.evidence.table.as_ref()).expect("identity table");
    assert!(table.rows.iter().any(|r| r[0] == "system:serviceaccount:team:app"), "{table:#?}");
    assert!(!table.rows.iter().any(|r| r[0] == "ci-bot"), "{table:#?}");
}

/// `n` successful creates of ConfigMaps in `namespace`, one every `every_ms`.
fn configmap_creates(cluster: &mut Cluster, namespace: &'static str, uri_query: &str, n: i64, every_ms: i64) {
    for i in 0..n {
        cluster.add(Req {
            at_ms: i * every_ms + 5,
            verb: "create",
            uri: format!("/api/v1/namespaces/{namespace}/configmaps{uri_query}"),
            user: "system:serviceaccount:argocd:argocd-server",
            agent: "argocd-server/v2.10.0",
            resource: "configmaps",
            namespace: Some(namespace),
            name: Some(format!("cm-{i}")),
            code: 201,
            ..Req::default()
        });
    }
}

#[test]
fn aud008_counted_dry_run_creates_as_objects_piling_up() {
    // Review s46, item 2: 300 `?dryRun=All` creates (server-side dry runs store nothing) were
    // "1,800 more created than deleted per hour", with a delete command and a quota.
    let mut cluster = Cluster::new().healthy();
    configmap_creates(&mut cluster, "dry", "?dryRun=All&fieldManager=argocd-controller", 900, 2_000);
    configmap_creates(&mut cluster, "real", "?fieldManager=argocd-controller", 900, 2_000);
    let d = diagnosed(&cluster);
    let churn: Vec<&str> =
        d.outcome.findings.iter().filter(|f| f.code == "AUD008").map(|f| f.subject.name.as_str()).collect();
    assert_eq!(churn, ["configmaps in namespace real"], "{:#?}", d.outcome.findings);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD008").expect("churn");
    assert_eq!(measure(f, "created"), 900.0);
}

#[test]
fn aud008_said_namespaces_deleted_in_the_window_were_never_deleted() {
    // Review s46, item 3: the API server names a namespace as its own namespace in the DELETE
    // (`/api/v1/namespaces/NAME`), not in the create; grouped by that, 200 namespaces created
    // and 180 deleted were "200 created and 0 deleted".
    let mut cluster = Cluster::new().healthy();
    let (every_ms, lifetime_ms) = (3_000, 60_000);
    let end_ms = common::SECONDS * 1000;
    let mut deleted = 0;
    for i in 0..common::SECONDS * 1000 / every_ms {
        let name = format!("ci-run-{i}");
        cluster.add(Req {
            at_ms: i * every_ms,
            verb: "create",
            uri: "/api/v1/namespaces".to_owned(),
            user: "system:serviceaccount:ci:runner",
            agent: "ci-runner/v1",
            resource: "namespaces",
            name: Some(name.clone()),
            code: 201,
            ..Req::default()
        });
        if i * every_ms + lifetime_ms < end_ms {
            deleted += 1;
            cluster.add(Req {
                at_ms: i * every_ms + lifetime_ms,
                verb: "delete",
                uri: format!("/api/v1/namespaces/{name}"),
                user: "system:serviceaccount:ci:runner",
                agent: "ci-runner/v1",
                resource: "namespaces",
                namespace: Some(&name),
                name: Some(name.clone()),
                ..Req::default()
            });
        }
    }
    let d = diagnosed(&cluster);
    assert!(!d.outcome.findings.iter().any(|f| f.code == "AUD008"), "{:#?}", d.outcome.findings);
    // The check's query counts them as one cluster-wide row: every create, every delete.
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let ctx = checks::AuditContext::new(d.window);
    let rows = checks::QueryRunner::run(
        &EngineRunner::new(&engine, common::t0()),
        &checks::aud008_object_churn::query(&ctx),
    )
    .expect("query");
    let r = rows.reader();
    let ns = rows.rows.iter().find(|row| r.column("Resource").expect("Resource").text(row) == "namespaces");
    let ns = ns.unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(r.column("Namespace").expect("Namespace").text(ns), "");
    assert_eq!(r.column("Creates").expect("Creates").num(ns), 600.0);
    assert_eq!(r.column("Deletes").expect("Deletes").num(ns), deleted as f64);
}

#[test]
fn aud008_counted_each_pod_deletion_twice_and_hid_a_pod_leak() {
    // Review s46, item 5: a pod is deleted by a graceful DELETE, then its node's kubelet's final
    // DELETE; counting calls, 600 pods created and 290 deleted were 580 deletes, and the 310
    // left behind went unreported.
    let mut cluster = Cluster::new().healthy();
    let rs = "system:serviceaccount:kube-system:replicaset-controller";
    let rs_agent = "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/system:serviceaccount:kube-system:replicaset-controller";
    let (created, deleted) = (1_200_i64, 580_i64);
    for i in 0..created {
        cluster.add(Req {
            at_ms: i * 1_500,
            verb: "create",
            uri: "/api/v1/namespaces/work/pods".to_owned(),
            user: rs,
            agent: rs_agent,
            resource: "pods",
            namespace: Some("work"),
            name: Some(format!("web-{i}")),
            code: 201,
            ..Req::default()
        });
    }
    for i in 0..deleted {
        let uri = format!("/api/v1/namespaces/work/pods/web-{i}");
        let graceful = Req {
            at_ms: i * 1_500 + 60_000,
            verb: "delete",
            uri: uri.clone(),
            user: rs,
            agent: rs_agent,
            resource: "pods",
            namespace: Some("work"),
            name: Some(format!("web-{i}")),
            ..Req::default()
        };
        let last = Req {
            at_ms: graceful.at_ms + 5_000,
            user: "system:node:node-3",
            groups: &["system:nodes", "system:authenticated"],
            agent: "kubelet/v1.29.4 (linux/amd64) kubernetes/55b6b33",
            ..graceful.clone()
        };
        cluster.add(graceful);
        cluster.add(last);
    }
    let d = diagnosed(&cluster);
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD008" && f.subject.name == "pods in namespace work")
        .unwrap_or_else(|| panic!("no pod leak: {:#?}", d.outcome.findings));
    assert_eq!(measure(f, "created"), created as f64);
    assert_eq!(measure(f, "deleted"), deleted as f64);
    assert_eq!(measure(f, "net created"), (created - deleted) as f64);
}

#[test]
fn aud001_and_aud004_named_the_alphabetically_first_identities_not_the_busiest() {
    // Review s46, item 4: kubectl used by zed@example.com for 900 GETs (and 300 expensive LISTs)
    // and by nine users aaa0… for 10 GETs (and one short LIST) each; the findings named
    // aaa0…aaa4, who sent almost nothing.
    let mut cluster = Cluster::new();
    let users: Vec<String> = (0..9).map(|i| format!("aaa{i}@example.com")).collect();
    let add = |cluster: &mut Cluster, user: &str, at_ms: i64, verb: &str, latency_ms: i64| {
        let list = verb == "list";
        cluster.add(Req {
            at_ms,
            latency_ms,
            verb,
            uri: if list {
                "/api/v1/pods".to_owned()
            } else {
                "/api/v1/namespaces/default/pods/p".to_owned()
            },
            user,
            agent: "kubectl/v1.29.4 (linux/amd64) kubernetes/55b6b33",
            resource: "pods",
            namespace: (!list).then_some("default"),
            name: (!list).then(|| "p".to_owned()),
            ..Req::default()
        });
    };
    for i in 0..900 {
        add(&mut cluster, "zed@example.com", i * 2_000 + 3, "get", 10);
    }
    for i in 0..300 {
        add(&mut cluster, "zed@example.com", i * 6_000 + 7, "list", 4_000);
    }
    for (k, u) in users.iter().enumerate() {
        for i in 0..10 {
            add(&mut cluster, u, i * 60_000 + k as i64 * 100 + 1, "get", 10);
        }
        add(&mut cluster, u, k as i64 * 1_000 + 9, "list", 100);
    }
    let d = diagnosed(&cluster);
    let top = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD001" && f.subject.kind == "client")
        .expect("top client");
    assert_eq!(top.subject.name, "kubectl");
    assert!(top.summary.contains("(busiest first: zed@example.com, aaa"), "{}", top.summary);
    let lists = d.outcome.findings.iter().find(|f| f.code == "AUD004").expect("expensive LISTs");
    assert!(lists.summary.starts_with("kubectl (zed@example.com, aaa"), "{}", lists.summary);
    assert!(lists.summary.contains(" and 5 more) sent 309 LISTs"), "{}", lists.summary);
}

#[test]
fn aud006_named_the_alphabetically_first_identities_not_those_throttled() {
    // Review s47: one client used by six users aaa0…aaa5 with no error and by zed@example.com,
    // whose 200 requests were all throttled; the 429 finding named aaa0…aaa4, who never were.
    let mut cluster = Cluster::new();
    let add = |cluster: &mut Cluster, user: &str, at_ms: i64, code: i32| {
        cluster.add(Req {
            at_ms,
            verb: "get",
            uri: "/api/v1/namespaces/default/pods/p".to_owned(),
            user,
            agent: "batch-runner/1.0",
            resource: "pods",
            namespace: Some("default"),
            name: Some("p".to_owned()),
            code,
            ..Req::default()
        });
    };
    for k in 0..6 {
        for i in 0..50 {
            add(&mut cluster, &format!("aaa{k}@example.com"), i * 10_000 + k * 100 + 1, 200);
        }
    }
    for i in 0..200 {
        add(&mut cluster, "zed@example.com", i * 3_000 + 7, 429);
    }
    let d = diagnosed(&cluster);
    let throttled = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD006" && f.subject.name == "batch-runner")
        .expect("the throttled client");
    assert!(throttled.summary.contains("(zed@example.com) were throttled (429)"), "{}", throttled.summary);
    assert!(!throttled.summary.contains("batch-runner (aaa0"), "{}", throttled.summary);
}

/// A cluster of `seconds` (at most `common::SECONDS`) in which `n` clients other than the ones a
/// test adds send one 50 ms GET of a ConfigMap every `every_ms` each.
fn quiet_clients(cluster: &mut Cluster, n: usize, every_ms: i64, seconds: i64) {
    const AGENTS: [&str; 5] =
        ["alpha/v1.0.0", "bravo/v1.0.0", "charlie/v1.0.0", "delta/v1.0.0", "echo/v1.0.0"];
    const USERS: [&str; 5] = [
        "system:serviceaccount:apps:alpha",
        "system:serviceaccount:apps:bravo",
        "system:serviceaccount:apps:charlie",
        "system:serviceaccount:apps:delta",
        "system:serviceaccount:apps:echo",
    ];
    for (k, (agent, user)) in AGENTS.iter().zip(USERS).take(n).enumerate() {
        for i in 0..seconds * 1000 / every_ms {
            cluster.add(Req {
                at_ms: i * every_ms + k as i64 * 13,
                latency_ms: 50,
                verb: "get",
                uri: "/api/v1/namespaces/apps/configmaps/settings".to_owned(),
                user,
                agent,
                resource: "configmaps",
                namespace: Some("apps"),
                name: Some("settings".to_owned()),
                ..Req::default()
            });
        }
    }
}

#[test]
fn aud002_weighted_bin_averages_by_requests_that_had_no_latency() {
    // Review 48, item 1: one 20 s request and 60 requests stamped as answered before they were
    // received (no latency) in the first 5-minute bin, then 300 requests of 50 ms. The bin's
    // average (20 s, over its one timed request) was weighted by all 61 requests: a 3.4 s
    // "outlier", where its own evidence query gives 116 ms.
    let mut cluster = Cluster::new();
    quiet_clients(&mut cluster, 5, 40_000, common::SECONDS);
    let slowpoke = |at_ms: i64, latency_ms: i64| Req {
        at_ms,
        latency_ms,
        verb: "get",
        uri: "/api/v1/namespaces/apps/secrets/token".to_owned(),
        user: "system:serviceaccount:apps:slowpoke",
        agent: "slowpoke/v1.0.0",
        resource: "secrets",
        namespace: Some("apps"),
        name: Some("token".to_owned()),
        ..Req::default()
    };
    cluster.add(slowpoke(1_000, 20_000));
    for i in 0..60 {
        cluster.add(slowpoke(30_000 + i * 1_000, -10));
    }
    for i in 0..300 {
        cluster.add(slowpoke(300_000 + i * 5_000, 50));
    }
    let d = diagnosed(&cluster);
    let flagged: Vec<&str> =
        d.outcome.findings.iter().filter(|f| f.code == "AUD002").map(|f| f.title.as_str()).collect();
    assert!(flagged.is_empty(), "{flagged:#?}");
    // The check's query says how many of its requests had a latency, and their average.
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let ctx = checks::AuditContext::new(d.window);
    let rows = checks::QueryRunner::run(
        &EngineRunner::new(&engine, common::t0()),
        &checks::aud002_client_latency::query(&ctx),
    )
    .expect("query");
    let r = rows.reader();
    let (client, requests, timed, avg) = (
        r.column("Client").expect("Client"),
        r.column("Requests").expect("Requests"),
        r.column("Timed").expect("Timed"),
        r.column("AvgLatencyMs").expect("AvgLatencyMs"),
    );
    let mine: Vec<&Vec<checks::Cell>> =
        rows.rows.iter().filter(|row| client.text(row) == "slowpoke").collect();
    let sum = |f: &dyn Fn(&Vec<checks::Cell>) -> f64| mine.iter().map(|row| f(row)).sum::<f64>();
    assert_eq!(sum(&|row| requests.num(row)), 361.0);
    assert_eq!(sum(&|row| timed.num(row)), 301.0);
    let weighted = sum(&|row| timed.num(row) * avg.opt_num(row).unwrap_or(0.0)) / 301.0;
    assert!((weighted - (20_000.0 + 300.0 * 50.0) / 301.0).abs() < 1e-6, "{weighted}");
}

/// `n` cluster-wide LISTs of pods without `resourceVersion` (from etcd) by the lister, one every
/// `every_ms` from `from_ms`, each taking `latency_ms`.
fn lister_lists(cluster: &mut Cluster, from_ms: i64, n: i64, every_ms: i64, latency_ms: i64, code: i32) {
    for i in 0..n {
        cluster.add(Req {
            at_ms: from_ms + i * every_ms,
            latency_ms,
            verb: "list",
            uri: "/api/v1/pods".to_owned(),
            user: "system:serviceaccount:tools:lister",
            groups: &["system:serviceaccounts", "system:serviceaccounts:tools", "system:authenticated"],
            agent: "lister/v1.0.0",
            resource: "pods",
            code,
            ..Req::default()
        });
    }
}

#[test]
fn aud004_one_list_received_in_1970_spread_the_lists_in_flight_over_55_years_and_hid_the_offender() {
    // Review 48, item 2: 0.75 expensive LISTs in flight, and one more LIST whose
    // requestReceivedTimestamp says 1970 (a latency already refused as impossible): the LISTs
    // in flight were averaged from 1970, about 0, and the finding disappeared.
    let mut cluster = Cluster::new();
    lister_lists(&mut cluster, 500, 40, 1_500, 1_125, 200);
    lister_lists(&mut cluster, 20_000, 1, 1, 300, 200);
    let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    let bad = cluster.events.last_mut().expect("the LIST just added");
    bad.request_received_timestamp = Some(epoch);
    let d = diagnosed(&cluster);
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD004")
        .unwrap_or_else(|| panic!("no AUD004: {:#?}", d.outcome.findings));
    // 40 LISTs of 1.125 s, averaged over the time since the first was received (just before
    // the window, which starts at the first answer).
    let ran = (d.window.end - (common::t0() + chrono::Duration::milliseconds(500))).num_milliseconds();
    let in_flight = measure(f, "expensive LISTs in flight");
    assert!((in_flight - 45.0 / (ran as f64 / 1000.0)).abs() < 1e-6, "{in_flight} over {ran} ms");
    assert!(
        f.title.starts_with("lister keeps 0.8 expensive LISTs in flight: 41 LISTs of pods"),
        "{}",
        f.title
    );
}

#[test]
fn aud004_counted_lists_rejected_with_429_as_reads_from_etcd() {
    // Review 48, item 8: 50 LISTs rejected with 429 (answered before any storage read) were
    // counted among the LISTs "from etcd".
    let mut cluster = Cluster::new();
    lister_lists(&mut cluster, 500, 40, 1_500, 1_125, 200);
    lister_lists(&mut cluster, 700, 10, 6_000, 2, 429);
    let d = diagnosed(&cluster);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD004").expect("expensive LISTs");
    assert_eq!(measure(f, "LISTs"), 50.0);
    assert_eq!(measure(f, "LISTs rejected (429)"), 10.0);
    assert_eq!(measure(f, "LISTs from etcd (no resourceVersion)"), 40.0);
    assert!(f.title.contains("(80% from etcd, "), "{}", f.title);
}

#[test]
fn throttle_for_expensive_lists_also_held_the_clients_deletes_that_carried_no_load() {
    // Review 48, item 4: the FlowSchema written for an expensive-LIST finding named `delete`
    // with `list` on pods, because the client also sent fast DELETEs of pods.
    let mut cluster = Cluster::new();
    lister_lists(&mut cluster, 500, 40, 1_500, 1_125, 200);
    for i in 0..100 {
        cluster.add(Req {
            at_ms: 300 + i * 590,
            latency_ms: 8,
            verb: "delete",
            uri: format!("/api/v1/namespaces/tools/pods/job-{i}"),
            user: "system:serviceaccount:tools:lister",
            groups: &["system:serviceaccounts", "system:serviceaccounts:tools", "system:authenticated"],
            agent: "lister/v1.0.0",
            resource: "pods",
            namespace: Some("tools"),
            name: Some(format!("job-{i}")),
            ..Req::default()
        });
    }
    let d = diagnosed(&cluster);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD004").expect("expensive LISTs");
    let yaml = f.remedies.iter().find(|r| r.body.contains("kind: FlowSchema")).expect("throttle");
    let verbs: Vec<&str> = yaml
        .body
        .lines()
        .skip_while(|l| l.trim().trim_start_matches("- ") != "verbs:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start().trim_start_matches("- "))
        .collect();
    assert_eq!(verbs, ["list"], "{}", yaml.body);
    // The LISTs were cluster-wide: no namespaces for the DELETEs either.
    assert!(yaml.body.contains("clusterScope: true"), "{}", yaml.body);
    assert!(!yaml.body.contains("namespaces:"), "{}", yaml.body);
}

#[test]
fn throttle_was_proposed_for_kube_proxy_and_coredns_that_every_node_and_pod_depend_on() {
    // Review 48, item 3: kube-proxy and CoreDNS, each most of a quiet cluster's requests, got a
    // FlowSchema at matchingPrecedence 90 (ahead of the default kube-system-service-accounts
    // schema at 900) moving them to a level of 5 shares.
    let coredns_groups: &[&str] =
        &["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"];
    for (user, groups, agent) in [
        (
            "system:kube-proxy",
            &["system:authenticated"][..],
            "kube-proxy/v1.29.4 (linux/amd64) kubernetes/55b6b33",
        ),
        (
            "system:serviceaccount:kube-system:coredns",
            coredns_groups,
            "coredns/v1.11.1 (linux/amd64) kubernetes/$Format",
        ),
    ] {
        let mut cluster = Cluster::new();
        quiet_clients(&mut cluster, 1, 1_000, 60);
        for i in 0..600 {
            cluster.add(Req {
                at_ms: i * 100 + 7,
                latency_ms: 5,
                verb: "list",
                uri: "/apis/discovery.k8s.io/v1/endpointslices?labelSelector=%21service.kubernetes.io%2Fheadless&resourceVersion=0".to_owned(),
                user,
                groups,
                agent,
                group: "discovery.k8s.io",
                resource: "endpointslices",
                ..Req::default()
            });
        }
        let d = diagnosed(&cluster);
        let f = d
            .outcome
            .findings
            .iter()
            .find(|f| f.code == "AUD001" && f.subject.kind == "user" && f.subject.name == user)
            .unwrap_or_else(|| panic!("{user} not flagged: {:#?}", d.outcome.findings));
        assert!(!f.remedies.iter().any(|r| r.body.contains("kind: FlowSchema")), "{user}: {:#?}", f.remedies);
        assert!(
            f.summary.contains(&format!(
                " No throttle is proposed: {user} is a cluster add-on in kube-system, which nodes and pods may depend on (it is "
            )),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("find what keeps it busy instead"), "{}", f.summary);
    }
}

#[test]
fn aud005_added_slow_gets_of_pods_metrics_k8s_io_into_those_of_core_pods() {
    // Review 48, item 7: AUD005 grouped by resource without its API group, so metrics-server's
    // pods.metrics.k8s.io were "pods".
    let mut cluster = Cluster::new();
    for (group, uri, n, latency_ms) in [
        ("metrics.k8s.io", "/apis/metrics.k8s.io/v1beta1/namespaces/apps/pods/web", 30, 3_000),
        ("", "/api/v1/namespaces/apps/pods/web", 20, 700),
    ] {
        for i in 0..n {
            cluster.add(Req {
                at_ms: i * 2_000 + 11,
                latency_ms,
                verb: "get",
                uri: uri.to_owned(),
                user: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
                agent: "pod-scaler/v1.0.0",
                group,
                resource: "pods",
                namespace: Some("apps"),
                name: Some("web".to_owned()),
                ..Req::default()
            });
        }
    }
    let d = diagnosed(&cluster);
    let slow: Vec<(&str, f64)> = d
        .outcome
        .findings
        .iter()
        .filter(|f| f.code == "AUD005")
        .map(|f| (f.title.as_str(), measure(f, "slow requests")))
        .collect();
    assert_eq!(
        slow,
        [
            ("get pods.metrics.k8s.io by pod-scaler: 30 slow requests without latency annotations", 30.0),
            ("get pods by pod-scaler: 20 slow requests without latency annotations", 20.0),
        ],
        "{slow:#?}"
    );
}

#[test]
fn aud003_called_slow_metrics_server_and_custom_resources_breaches_of_the_api_server_slo() {
    // Review 48, item 5: GETs of pods.metrics.k8s.io (metrics-server's) and of a custom
    // resource were "above the 1 s SLO", which excludes aggregated resources and CRDs.
    let mut cluster = Cluster::new();
    for (group, resource, uri) in [
        ("metrics.k8s.io", "pods", "/apis/metrics.k8s.io/v1beta1/namespaces/apps/pods/web"),
        ("example.com", "widgets", "/apis/example.com/v1/namespaces/apps/widgets/web"),
        ("", "configmaps", "/api/v1/namespaces/apps/configmaps/web"),
    ] {
        for i in 0..30 {
            cluster.add(Req {
                at_ms: i * 2_000 + 11,
                latency_ms: 2_000,
                verb: "get",
                uri: uri.to_owned(),
                user: "system:serviceaccount:apps:poller",
                agent: "poller/v1.0.0",
                group,
                resource,
                namespace: Some("apps"),
                name: Some("web".to_owned()),
                ..Req::default()
            });
        }
    }
    let d = diagnosed(&cluster);
    let mut slow: Vec<(&str, findings::Severity)> = d
        .outcome
        .findings
        .iter()
        .filter(|f| f.code == "AUD003")
        .map(|f| (f.title.as_str(), f.severity))
        .collect();
    slow.sort();
    assert_eq!(
        slow,
        [
            ("P99 of get configmaps (resource) is 2.0 s, above the 1 s SLO", findings::Severity::Warning),
            (
                "P99 of get pods.metrics.k8s.io (resource) is 2.0 s, above 1 s (not covered by the SLO: aggregated resource)",
                findings::Severity::Warning
            ),
            (
                "P99 of get widgets.example.com (resource) is 2.0 s, above 1 s (not covered by the SLO: custom resource)",
                findings::Severity::Warning
            ),
        ],
        "{slow:#?}"
    );
}

/// Review 48 of the audit checks, item 10: a client sending 0.28 requests a second, a tenth of
/// them answered 429, was the top offender and got a throttle: at that rate it is the victim
/// of a saturated priority level it shares, not the cause.
#[test]
fn a_client_throttled_at_a_fraction_of_a_request_a_second_was_throttled_further() {
    let mut cluster = Cluster::new().healthy();
    for i in 0..500 {
        let throttled = i % 10 == 0;
        cluster.add(Req {
            at_ms: i * 3_600 + 17,
            latency_ms: if throttled { 2 } else { 30 },
            verb: "get",
            uri: format!("/api/v1/namespaces/batch/configmaps/state-{}", i % 7),
            user: "system:serviceaccount:batch:batch-runner",
            groups: &["system:serviceaccounts", "system:authenticated"],
            agent: "batch-runner/v2.0.0",
            resource: "configmaps",
            namespace: Some("batch"),
            name: Some(format!("state-{}", i % 7)),
            code: if throttled { 429 } else { 200 },
            message: throttled.then(|| "Too many requests, please try again later.".to_owned()),
            ..Req::default()
        });
    }
    let d = common::diagnose(&cluster.events);
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD006" && f.title.contains("(429)"))
        .unwrap_or_else(|| panic!("no 429 finding: {:#?}", d.outcome.findings));
    assert!(f.title.starts_with("batch-runner"), "{}", f.title);
    assert!(!f.remedies.iter().any(|r| r.title.starts_with("Throttle ")), "{:#?}", f.remedies);
    assert!(
        !d.outcome
            .findings
            .iter()
            .flat_map(|f| &f.remedies)
            .any(|r| r.title.starts_with("Throttle batch-runner")),
        "a throttle for the victim"
    );
}
