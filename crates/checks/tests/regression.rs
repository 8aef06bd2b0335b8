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
