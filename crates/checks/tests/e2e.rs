//! The audit checks end to end on the query engine: each injected problem is the top finding,
//! with the right subject and numbers that match a computation made directly from the events;
//! healthy traffic yields nothing at warning or above.

mod common;

use checks::engine_runner::EngineRunner;
use checks::{AuditDiagnosis, AuditRequest, diagnose_audit};
use common::{Cluster, batch, latency_ms, measure, p99, reproduce, requests};
use engine::Engine;
use findings::{Finding, Severity};
use serde::Deserialize;

fn diagnose(cluster: &Cluster) -> AuditDiagnosis {
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    diagnose_audit(&runner, &AuditRequest::default()).expect("diagnoses")
}

fn at_least_warning(d: &AuditDiagnosis) -> Vec<&Finding> {
    d.outcome.findings.iter().filter(|f| f.severity >= Severity::Warning).collect()
}

fn no_failed_checks(d: &AuditDiagnosis) {
    let failed: Vec<&Finding> =
        d.outcome.findings.iter().filter(|f| f.title.ends_with("could not run")).collect();
    assert!(
        failed.is_empty(),
        "checks failed: {:#?}",
        failed.iter().map(|f| (&f.title, &f.summary)).collect::<Vec<_>>()
    );
}

#[test]
fn healthy_traffic_yields_nothing_at_warning_or_above() {
    let d = diagnose(&Cluster::new().healthy());
    no_failed_checks(&d);
    assert_eq!(at_least_warning(&d), Vec::<&Finding>::new());
    assert_eq!(d.outcome.checks_run.len(), 10);
}

/// A node agent on each of 20 nodes listing its node's pods every 20 s, each LIST 600 ms: 0.6
/// LISTs in flight on average, all cluster-scope and unpaginated; `resource_version` decides
/// where they are served from.
fn node_agents_listing_their_pods(resource_version: &str) -> Cluster {
    let mut cluster = Cluster::new().healthy();
    for node in 0..20 {
        for i in 0..common::SECONDS / 20 {
            cluster.add(common::Req {
                at_ms: i * 20_000 + node * 97,
                latency_ms: 600,
                verb: "list",
                uri: format!("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-{node}{resource_version}"),
                user: "system:serviceaccount:kube-system:node-agent",
                agent: "node-agent/v1.0.0 (linux/amd64) kubernetes/$Format",
                resource: "pods",
                ..common::Req::default()
            });
        }
    }
    cluster
}

#[test]
fn node_agents_listing_their_own_pods_from_the_cache_are_not_expensive_lists() {
    // resourceVersion=0: the watch cache answers with one node's pods.
    let d = diagnose(&node_agents_listing_their_pods("&resourceVersion=0"));
    no_failed_checks(&d);
    assert_eq!(at_least_warning(&d), Vec::<&Finding>::new());
    // Without it the same LISTs are quorum reads: etcd returns every pod to filter.
    let d = diagnose(&node_agents_listing_their_pods(""));
    let worst = at_least_warning(&d);
    assert_eq!(
        worst.first().map(|f| (f.code.as_str(), f.subject.name.as_str())),
        Some(("AUD004", "node-agent"))
    );
    let in_flight = measure(worst[0], "expensive LISTs in flight");
    assert!((in_flight - 0.6).abs() < 0.01, "{in_flight}");
}

/// Review of issue 5: AUD004 ranked a client first as CRITICAL for LISTs that spent their time
/// queued by API Priority and Fairness or were rejected with 429, and counted the HPA
/// controller's LISTs of `metrics.k8s.io` pods (answered by metrics-server) as LISTs from etcd.
#[test]
fn lists_queued_or_rejected_by_apf_or_of_the_metrics_api_are_not_expensive() {
    let mut cluster = Cluster::new().healthy();
    // A poller: every 2 s a LIST from etcd of 2.5 s, of which 2.45 s queued; one in three 429.
    for i in 0..common::SECONDS / 2 {
        let rejected = i % 3 == 0;
        cluster.add(common::Req {
            at_ms: i * 2000 + 13,
            latency_ms: if rejected { 1 } else { 2500 },
            verb: "list",
            uri: "/api/v1/namespaces/ci/pods?labelSelector=app%3Dbuild&limit=500".to_owned(),
            user: "system:serviceaccount:ci:poller",
            agent: "poller/v1.0.0",
            resource: "pods",
            namespace: Some("ci"),
            code: if rejected { 429 } else { 200 },
            annotations: if rejected {
                vec![]
            } else {
                vec![("apiserver.latency.k8s.io/apf-queue-wait", "2.45s".to_owned())]
            },
            ..common::Req::default()
        });
    }
    // The HPA controller: a LIST of metrics.k8s.io pods every second, 1.5 s each.
    for i in 0..common::SECONDS {
        cluster.add(common::Req {
            at_ms: i * 1000 + 29,
            latency_ms: 1500,
            verb: "list",
            uri: "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?labelSelector=app%3Dweb".to_owned(),
            user: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            agent: "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33/system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            group: "metrics.k8s.io",
            resource: "pods",
            namespace: Some("shop"),
            ..common::Req::default()
        });
    }
    // A heavy lister: every 2 s a LIST from etcd of 3 s, 1 s of it queued: 2 s ran, 1.0 in flight.
    for i in 0..common::SECONDS / 2 {
        cluster.add(common::Req {
            at_ms: i * 2000 + 7,
            latency_ms: 3000,
            verb: "list",
            uri: "/api/v1/secrets".to_owned(),
            user: "system:serviceaccount:ops:heavy",
            agent: "heavy/v2.0.0",
            resource: "secrets",
            annotations: vec![("apiserver.latency.k8s.io/apf-queue-wait", "1s".to_owned())],
            ..common::Req::default()
        });
    }
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let aud004: Vec<_> = d.outcome.findings.iter().filter(|f| f.code == "AUD004").collect();
    assert_eq!(
        aud004.iter().map(|f| f.subject.name.as_str()).collect::<Vec<_>>(),
        ["heavy"],
        "{:#?}",
        aud004.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let ran = (common::SECONDS / 2) as f64 * 2.0;
    assert!((measure(aud004[0], "time in expensive LISTs") - ran).abs() < 1e-6);
    // The reproduce query shows why: 2/3 of the poller's LISTs ran, 50 ms each; 1/3 rejected.
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    let ctx = checks::audit::AuditContext::new(d.window);
    let rows = checks::audit::QueryRunner::run(&runner, &checks::aud004_expensive_lists::query(&ctx))
        .expect("query");
    let clients = checks::aud004_expensive_lists::read(&rows).expect("rows");
    assert!(!clients.iter().any(|c| c.client.contains("horizontal-pod-autoscaler")), "{clients:#?}");
    // And the P99 table keeps `pods.metrics.k8s.io` apart from the poller's `pods`.
    let table = d.outcome.overview.p99_table.as_ref().expect("p99 table");
    let row = |resource: &str| {
        table
            .rows
            .iter()
            .find(|r| r[0] == "list" && r[1] == resource && r[2] == "namespace")
            .map(|r| r[3].clone())
    };
    // One LIST a second and one every 2 s over the 1,800 s (requests as the table writes them).
    assert_eq!(common::SECONDS, 1800);
    assert_eq!(row("pods.metrics.k8s.io").as_deref(), Some("1,800"));
    let core_pod_lists = requests(&cluster.events)
        .filter(|e| {
            e.verb == "list"
                && e.object_ref.as_ref().is_some_and(|o| {
                    o.resource.as_deref() == Some("pods") && o.api_group.is_none() && o.namespace.is_some()
                })
        })
        .count();
    assert!(core_pod_lists >= 900, "{core_pod_lists}");
    assert_eq!(row("pods"), Some(core_pod_lists.to_string()));
    // The query the finding shows gives the numbers the check found.
    let heavy = clients.iter().find(|c| c.client == "heavy").expect("heavy");
    assert!((heavy.expensive_seconds - ran).abs() < 1e-6, "{}", heavy.expensive_seconds);
    let poller = clients.iter().find(|c| c.client == "poller").expect("poller");
    let sent = (common::SECONDS / 2) as f64;
    let rejected = (0..common::SECONDS / 2).filter(|i| i % 3 == 0).count() as f64;
    assert_eq!((poller.lists, poller.rejected, poller.expensive), (sent, rejected, sent - rejected));
    assert!(
        (poller.expensive_seconds - (sent - rejected) * 0.05).abs() < 1e-6,
        "{}",
        poller.expensive_seconds
    );
}

#[test]
fn kubelet_versions_fold_into_one_client_counted_once_per_request() {
    let cluster = Cluster::new().healthy();
    let d = diagnose(&cluster);
    let expected = requests(&cluster.events)
        .filter(|e| e.user_agent.as_deref().is_some_and(|ua| ua.starts_with("kubelet/")))
        .count() as f64;
    let top = d.outcome.findings.iter().find(|f| f.code == "AUD001").expect("top clients");
    assert_eq!(top.subject.name, "kubelet");
    assert_eq!(measure(top, "requests"), expected);
    let table = top.evidence.table.as_ref().expect("table");
    let raw = &table.rows[0][4];
    assert!(raw.contains("kubelet/v1.29.4") && raw.contains("kubelet/v1.29.2"), "{raw}");
    // The time chart has a series per busy client, and no watch minutes in it.
    let chart = d.outcome.overview.latency_over_time.as_ref().expect("latency chart");
    let kubelet = chart.series.iter().find(|s| s.name == "kubelet").expect("kubelet series");
    assert!(kubelet.points.iter().all(|p| p.y < 100.0), "watches leaked into latency: {:?}", kubelet.points);
}

#[test]
fn p99_table_matches_an_exact_percentile_within_one_percent() {
    let cluster = Cluster::new().healthy();
    let d = diagnose(&cluster);
    let lease: Vec<i64> = requests(&cluster.events)
        .filter(|e| {
            e.verb == "update" && e.object_ref.as_ref().and_then(|o| o.resource.as_deref()) == Some("leases")
        })
        .map(latency_ms)
        .collect();
    let exact = p99(lease);
    let table = d.outcome.overview.p99_table.as_ref().expect("p99 table");
    let row = table
        .rows
        .iter()
        .find(|r| r[0] == "update" && r[1] == "leases.coordination.k8s.io")
        .expect("leases row");
    assert_eq!(row[2], "resource");
    let shown: f64 = row[4].trim_end_matches(" ms").parse().expect("ms");
    assert!((shown - exact).abs() <= exact * 0.01 + 1.0, "P99 {shown} vs exact {exact}");
}

#[test]
fn list_storm_is_the_top_finding_with_its_numbers_and_throttle() {
    let cluster = Cluster::new().healthy().list_storm();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let top = &d.outcome.findings[0];
    assert_eq!(
        (top.code.as_str(), top.severity),
        ("AUD004", Severity::Critical),
        "{:#?}",
        at_least_warning(&d)
    );
    assert_eq!(top.subject.name, "pod-inventory");
    let storm: Vec<_> = requests(&cluster.events)
        .filter(|e| e.user.username == "system:serviceaccount:inventory:pod-inventory")
        .collect();
    let seconds: f64 = storm.iter().map(|e| latency_ms(e) as f64).sum::<f64>() / 1000.0;
    assert_eq!(measure(top, "LISTs"), storm.len() as f64);
    assert_eq!(measure(top, "LISTs from etcd (no resourceVersion)"), storm.len() as f64);
    assert!((measure(top, "time in expensive LISTs") - seconds).abs() < 1e-6);
    let window = (d.window.end - d.window.start).num_milliseconds() as f64 / 1000.0;
    assert!((measure(top, "expensive LISTs in flight") - seconds / window).abs() < 1e-6);

    // The top offender carries the throttle for its identity, verbs and resources.
    let yaml = top.remedies.iter().find(|r| r.body.contains("kind: FlowSchema")).expect("throttle");
    let docs: Vec<yaml_serde::Value> = yaml_serde::Deserializer::from_str(&yaml.body)
        .map(|d| yaml_serde::Value::deserialize(d).expect("yaml"))
        .collect();
    let fs = &docs[1];
    assert_eq!(
        fs["apiVersion"].as_str(),
        Some("flowcontrol.apiserver.k8s.io/v1"),
        "1.29 is seen in the data"
    );
    let subject = &fs["spec"]["rules"][0]["subjects"][0];
    assert_eq!(subject["serviceAccount"]["namespace"].as_str(), Some("inventory"));
    assert_eq!(subject["serviceAccount"]["name"].as_str(), Some("pod-inventory"));
    let rule = &fs["spec"]["rules"][0]["resourceRules"][0];
    assert_eq!(rule["resources"][0].as_str(), Some("pods"));
    assert_eq!(rule["verbs"][0].as_str(), Some("list"));
    assert_eq!(rule["clusterScope"].as_bool(), Some(true));
    let advice = top.remedies.iter().find(|r| r.title.starts_with("Tune")).expect("advice");
    assert!(advice.body.contains("resourceVersion=0") && advice.body.contains("`limit`"));

    // Where the time went: etcd.
    let why = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD005" && f.subject.name == "pod-inventory")
        .expect("AUD005");
    assert!(why.title.contains("in etcd"), "{}", why.title);
}

#[test]
fn webhook_outage_is_the_top_finding_naming_the_webhook() {
    let cluster = Cluster::new().healthy().webhook_outage();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let top = &d.outcome.findings[0];
    assert_eq!(
        (top.code.as_str(), top.severity),
        ("AUD007", Severity::Critical),
        "{:#?}",
        at_least_warning(&d)
    );
    assert_eq!(top.subject.name, "mutate.kyverno.svc-fail");
    let failed: Vec<_> = requests(&cluster.events)
        .filter(|e| {
            e.response_status
                .as_ref()
                .and_then(|s| s.message.as_deref())
                .is_some_and(|m| m.contains("failed calling webhook"))
        })
        .collect();
    let kube_system = failed
        .iter()
        .filter(|e| e.object_ref.as_ref().and_then(|o| o.namespace.as_deref()) == Some("kube-system"))
        .count();
    assert_eq!(measure(top, "failed calls"), failed.len() as f64);
    assert_eq!(measure(top, "failed calls in kube-system"), kube_system as f64);
    let avg = failed.iter().map(|e| latency_ms(e) as f64).sum::<f64>() / failed.len() as f64;
    assert!((measure(top, "average latency of failed requests") - avg).abs() < 1e-6);
    assert!(top.remedies.iter().any(|r| r.body.contains("failurePolicy")));
    // Review of issue 5: the query's first row holds the finding's numbers (the total had to
    // be summed by hand over a row per namespace, the maximum was not there at all), and the
    // summary says how many namespaces it did not name.
    let rows = reproduce(&cluster.events, top);
    let r = rows.reader();
    let (rows_col, failures, max, in_ks, namespaces) = (
        r.column("Rows").expect("Rows"),
        r.column("Failures").expect("Failures"),
        r.column("MaxLatencyMs").expect("MaxLatencyMs"),
        r.column("InKubeSystem").expect("InKubeSystem"),
        r.column("Namespaces").expect("Namespaces"),
    );
    let first = &rows.rows[0];
    assert_eq!(rows_col.text(first), "all failures");
    assert_eq!(failures.num(first), measure(top, "failed calls"));
    assert_eq!(max.num(first), measure(top, "maximum latency of failed requests"));
    assert_eq!(in_ks.num(first), kube_system as f64);
    let by_client: f64 = rows.rows[1..].iter().map(|row| failures.num(row)).sum();
    assert_eq!(by_client, failed.len() as f64);
    let distinct: std::collections::BTreeSet<_> = failed
        .iter()
        .map(|e| e.object_ref.as_ref().and_then(|o| o.namespace.clone()).unwrap_or_default())
        .collect();
    assert_eq!(namespaces.num(first), distinct.len() as f64);
    if distinct.len() > 10 {
        let more = format!(" and {} more", distinct.len() - 10);
        assert!(top.summary.contains(&more), "{}", top.summary);
    }
    // Its 500s are not blamed on the client that suffered them.
    assert!(!d.outcome.findings.iter().any(|f| f.code == "AUD006" && f.severity >= Severity::Warning));
}

#[test]
fn object_leak_is_the_top_finding_with_its_rate() {
    let cluster = Cluster::new().healthy().object_leak();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let top = &d.outcome.findings[0];
    assert_eq!(top.code, "AUD008", "{:#?}", at_least_warning(&d));
    assert_eq!(top.subject.name, "jobs.batch in namespace batch-jobs");
    let created = requests(&cluster.events)
        .filter(|e| {
            e.verb == "create" && e.object_ref.as_ref().and_then(|o| o.resource.as_deref()) == Some("jobs")
        })
        .count() as f64;
    assert_eq!(measure(top, "created"), created);
    let hours = (d.window.end - d.window.start).num_milliseconds() as f64 / 3_600_000.0;
    assert!((measure(top, "net created per hour") - created / hours).abs() < 1e-6);
    assert!(top.remedies.iter().any(|r| r.body.contains("{{if .status.completionTime}}")));
    assert!(top.remedies.iter().any(|r| r.body.contains("count/jobs.batch")));
    // Pods created and deleted in balance are not a leak.
    assert!(!d.outcome.findings.iter().any(|f| f.code == "AUD008" && f.subject.name.starts_with("pods")));
}

#[test]
fn throttled_client_is_the_top_finding_with_its_429_share() {
    let cluster = Cluster::new().healthy().apf_throttled();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let top = &d.outcome.findings[0];
    assert_eq!(
        (top.code.as_str(), top.severity),
        ("AUD006", Severity::Critical),
        "{:#?}",
        at_least_warning(&d)
    );
    assert_eq!(top.subject.name, "batch-runner");
    let mine: Vec<_> = requests(&cluster.events)
        .filter(|e| e.user_agent.as_deref() == Some("batch-runner/v2.0.0"))
        .collect();
    let throttled =
        mine.iter().filter(|e| e.response_status.as_ref().and_then(|s| s.code) == Some(429)).count();
    assert_eq!(measure(top, "throttled (429)"), throttled as f64);
    assert_eq!(measure(top, "requests"), mine.len() as f64);
    // The summary names the resources of its errors, and only those.
    let resource = |e: &&audit::Event| e.object_ref.as_ref().and_then(|o| o.resource.clone());
    let failed = |e: &&&audit::Event| {
        let code = e.response_status.as_ref().and_then(|s| s.code).unwrap_or(0);
        code == 429 || code >= 500 || (code == 409 && ["update", "patch"].contains(&e.verb.as_str()))
    };
    let erring: std::collections::BTreeSet<String> =
        mine.iter().filter(failed).filter_map(resource).collect();
    let fine: std::collections::BTreeSet<String> =
        mine.iter().filter(|e| !failed(e)).filter_map(resource).collect();
    assert!(fine.contains("jobs"), "{fine:?}");
    assert!(!erring.is_empty() && erring.len() <= 5, "{erring:?}");
    let named = top.summary.split_once("Its errors were on ").map(|(_, rest)| rest).unwrap_or("");
    for r in &erring {
        assert!(named.contains(r.as_str()), "{r} missing from: {}", top.summary);
    }
    for r in fine.difference(&erring) {
        assert!(!named.contains(r.as_str()), "{r}, which had no error, named in: {}", top.summary);
    }
}

#[test]
fn a_client_sending_most_requests_is_named_by_the_top_clients_check() {
    let cluster = Cluster::new().healthy().chatty_client();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let top = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD001" && f.severity >= Severity::Warning)
        .expect("AUD001 warns");
    // The warning names the identity (the thing a FlowSchema matches); the overview names the
    // client by its user agent, versions folded.
    assert_eq!(
        (top.subject.kind.as_str(), top.subject.name.as_str()),
        ("user", "system:serviceaccount:monitoring:dashboard")
    );
    let overview = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD001" && f.severity == Severity::Info)
        .expect("AUD001 overview");
    assert_eq!((overview.subject.kind.as_str(), overview.subject.name.as_str()), ("client", "dashboard"));
    let all = requests(&cluster.events).count() as f64;
    let mine = requests(&cluster.events)
        .filter(|e| e.user_agent.as_deref().is_some_and(|a| a.starts_with("dashboard/")))
        .count() as f64;
    assert_eq!(measure(top, "requests"), mine);
    assert!(mine / all > 0.5, "the fixture makes it most of the traffic");
    // Review of issue 5: the share and the rate had to be worked out by hand from the
    // reproduce queries; both queries now give them as the findings state them.
    for f in [top, overview] {
        let rows = reproduce(&cluster.events, f);
        let r = rows.reader();
        let (share, rate) = (r.column("SharePercent").expect("share"), r.column("PerSecond").expect("rate"));
        let first = &rows.rows[0];
        assert!((share.num(first) - measure(f, "share of all requests")).abs() <= 0.05, "{}", f.code);
        assert!((rate.num(first) - measure(f, "request rate")).abs() <= 0.005, "{}", f.code);
    }
    // Cheap requests: no latency, SLO or error finding about it.
    assert!(!d.outcome.findings.iter().any(
        |f| ["AUD002", "AUD003", "AUD006"].contains(&f.code.as_str()) && f.severity >= Severity::Warning
    ));
}

#[test]
fn a_slow_client_is_named_by_the_latency_slo_and_breakdown_checks() {
    let cluster = Cluster::new().healthy().slow_client();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let warned =
        |code: &str| d.outcome.findings.iter().find(|f| f.code == code && f.severity >= Severity::Warning);
    let latency = warned("AUD002").unwrap_or_else(|| panic!("AUD002: {:#?}", at_least_warning(&d)));
    assert_eq!(latency.subject.name, "vault-operator");
    // Review of issue 5: the query gave 5-minute bins, from which neither the average nor the
    // median client could be read; it now gives both, as the finding states them.
    let rows = reproduce(&cluster.events, latency);
    let r = rows.reader();
    let (avg, median) = (r.column("AvgLatencyMs").expect("avg"), r.column("MedianClientMs").expect("median"));
    assert_eq!(rows.rows.len(), 1);
    assert!((avg.num(&rows.rows[0]) - measure(latency, "average latency")).abs() < 1e-6);
    assert!((median.num(&rows.rows[0]) - measure(latency, "median client's average latency")).abs() < 1e-6);
    let slo = warned("AUD003").unwrap_or_else(|| panic!("AUD003: {:#?}", at_least_warning(&d)));
    assert!(slo.title.contains("get") && slo.title.contains("secrets"), "{}", slo.title);
    // 45% of their time is the API server's own: about 1.3 s, still above the 1 s SLO.
    let sli = measure(slo, "P99 latency without webhook and APF queue time");
    assert!((1_200.0..1_450.0).contains(&sli), "{sli}");
    let why = warned("AUD005").unwrap_or_else(|| panic!("AUD005: {:#?}", at_least_warning(&d)));
    assert!(why.title.contains("APF queue wait"), "{}", why.title);
}

/// On-call review 52, item 5: the pod creates a timing-out webhook held for 10 s were "above
/// the 1 s SLO", a warning naming the replicaset controller; the SLO leaves webhook time out,
/// and without it their P99 (the events' latency less their `mutating-webhook` annotation,
/// computed here from the events) is within it: an informational finding that says so.
#[test]
fn aud003_called_webhook_time_an_slo_breach_of_the_controllers() {
    let cluster = Cluster::new().healthy().webhook_outage();
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let f = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD003" && f.subject.name == "create pods (resource)")
        .unwrap_or_else(|| panic!("no AUD003 for create pods: {:#?}", d.outcome.findings));
    assert_eq!(f.severity, Severity::Info, "{}", f.title);
    assert!(f.title.contains("without admission webhook and APF queue time"), "{}", f.title);
    let sli: Vec<i64> = requests(&cluster.events)
        .filter(|e| {
            e.verb == "create" && e.object_ref.as_ref().and_then(|o| o.resource.as_deref()) == Some("pods")
        })
        .map(|e| {
            let webhook = e
                .annotations
                .get("apiserver.latency.k8s.io/mutating-webhook")
                .and_then(|t| checks::kql::parse_go_duration_ms(t))
                .unwrap_or(0.0);
            (latency_ms(e) as f64 - webhook).max(0.0).round() as i64
        })
        .collect();
    let expected = p99(sli);
    let got = measure(f, "P99 latency without webhook and APF queue time");
    assert!((got - expected).abs() <= 1.0, "{got} against {expected}");
    assert!(got < 1_000.0, "{got}");
    assert!(
        !at_least_warning(&d)
            .iter()
            .any(|f| f.code == "AUD003" && f.subject.name == "create pods (resource)"),
        "still a warning"
    );
}

#[test]
fn a_hole_in_the_log_is_reported_by_the_evidence_check() {
    let d = diagnose(&Cluster::new().healthy().gap(600, 1200));
    no_failed_checks(&d);
    let gap = d.outcome.findings.iter().find(|f| f.code == "AUD009" && f.severity >= Severity::Warning);
    let gap = gap.unwrap_or_else(|| panic!("AUD009: {:#?}", d.outcome.findings));
    assert_eq!(gap.title, "1 gap in the audit log (10m without events)");
    // Without the hole, the evidence check only informs.
    let whole = diagnose(&Cluster::new().healthy());
    assert!(whole.outcome.findings.iter().all(|f| f.code != "AUD009" || f.severity == Severity::Info));
}

/// Review s40, item 3: a request stamped received in 1700 (or answered before it was received)
/// made AUD003's P99 10,262,019,649 s and AUD004's expensive LIST time millions of hours; an
/// event stamped in 2262 stretched the window to 89,331 days. Such times are left out of every
/// latency, and AUD009 counts them and says why.
#[test]
fn impossible_times_are_left_out_of_latencies_and_reported_by_the_evidence_check() {
    let mut cluster = Cluster::new().healthy();
    for (i, latency_ms) in [(0, 40), (1, -600_000)] {
        cluster.add(common::Req {
            at_ms: 1_000_000 + i,
            latency_ms,
            verb: "list",
            uri: "/api/v1/pods".to_owned(),
            user: "u",
            agent: "broken-clock/v1",
            resource: "pods",
            ..common::Req::default()
        });
    }
    // The first: received in 1700, answered now.
    let old = chrono::DateTime::parse_from_rfc3339("1700-01-01T00:00:00Z").expect("time").to_utc();
    let first = cluster
        .events
        .iter_mut()
        .rev()
        .find(|e| {
            e.user_agent.as_deref() == Some("broken-clock/v1")
                && e.stage == "ResponseComplete"
                && e.request_received_timestamp.zip(e.stage_timestamp).is_some_and(|(a, b)| a < b)
        })
        .expect("the first broken request");
    first.request_received_timestamp = Some(old);
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let warning = |start: &str| {
        d.outcome
            .findings
            .iter()
            .find(|f| f.code == "AUD009" && f.severity == Severity::Warning && f.title.starts_with(start))
            .unwrap_or_else(|| panic!("no AUD009 {start:?}: {:#?}", d.outcome.findings))
    };
    let impossible = warning("2 requests with impossible times");
    assert_eq!(measure(impossible, "requests with impossible times"), 2.0);
    // No latency anywhere reaches the broken ones: the longest the healthy cluster has is
    // under a minute, and the broken client has no latency at all.
    for f in &d.outcome.findings {
        for m in f.evidence.measures.iter().filter(|m| m.unit == "ms" || m.unit == "s") {
            let seconds = if m.unit == "ms" { m.value / 1000.0 } else { m.value };
            assert!((0.0..3600.0).contains(&seconds), "{}: {} = {} {}", f.code, m.label, m.value, m.unit);
        }
    }
    assert!(
        !d.outcome.findings.iter().any(|f| f.severity >= Severity::Warning && f.code != "AUD009"),
        "{:#?}",
        d.outcome.findings.iter().map(|f| (&f.code, &f.title)).collect::<Vec<_>>()
    );
    // An event stamped in 2262: counted, and the window's reach explained.
    let mut cluster = Cluster::new().healthy();
    let mut late = cluster.events.last().expect("an event").clone();
    let t = chrono::DateTime::parse_from_rfc3339("2262-01-01T00:00:00Z").expect("time").to_utc();
    (late.request_received_timestamp, late.stage_timestamp) = (Some(t), Some(t));
    late.audit_id = "late".to_owned();
    cluster.events.push(late);
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let late_warning = |d: &AuditDiagnosis| {
        d.outcome
            .findings
            .iter()
            .find(|f| {
                f.code == "AUD009"
                    && f.severity == Severity::Warning
                    && f.title == "1 event stamped before 2014 or after today: impossible times"
                    && f.summary.contains("2262-01-01 00:00")
            })
            .cloned()
            .unwrap_or_else(|| {
                panic!("{:#?}", d.outcome.findings.iter().map(|f| (&f.code, &f.title)).collect::<Vec<_>>())
            })
    };
    assert_eq!(measure(&late_warning(&d), "events at impossible times"), 1.0);
    assert!(late_warning(&d).summary.contains("left out of the window analysed"));
    // The default window ends at the last event at a possible time, not in 2262: the healthy
    // cluster's hour is analysed as if the late event were not there.
    let healthy = diagnose(&Cluster::new().healthy());
    assert_eq!(d.window, healthy.window);
    assert!(
        !d.outcome.findings.iter().any(|f| f.title.starts_with("the log covers")),
        "{:#?}",
        d.outcome.findings
    );
    // A window the user sets to hold it says so.
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    let request = AuditRequest { now: checks::WindowEnd::At(t), ..AuditRequest::default() };
    let held = diagnose_audit(&runner, &request).expect("diagnoses");
    assert_eq!(held.window.end, t);
    assert!(late_warning(&held).summary.contains("holds some of them"), "{}", late_warning(&held).summary);
    // Review s44: the advice no longer takes --now and --since as given whenever the window
    // holds such events (with every event at an impossible time, the default window does).
    assert!(
        late_warning(&held).summary.contains("If --now or --since was given, leave them out"),
        "{}",
        late_warning(&held).summary
    );
}

/// An event stamped in 1970 (a clock never set) moved the default window's start to 1970; it
/// now starts at the first event at a possible time, and `--since` counts back from the last.
#[test]
fn an_event_stamped_in_1970_does_not_stretch_the_default_window() {
    let mut cluster = Cluster::new().healthy();
    let mut early = cluster.events[0].clone();
    let t = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
    (early.request_received_timestamp, early.stage_timestamp) = (Some(t), Some(t));
    early.audit_id = "epoch".to_owned();
    cluster.events.push(early);
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let healthy = diagnose(&Cluster::new().healthy());
    assert_eq!(d.window, healthy.window);
    assert!(d.outcome.findings.iter().any(|f| f.code == "AUD009"
        && f.title == "1 event stamped before 2014 or after today: impossible times"
        && f.summary.contains("1970-01-01 00:00")));
    // The whole log still holds it: the summary finding counts every event.
    assert_eq!(d.profile.events, healthy.profile.events + 1.0);
}

/// Events of the real fixtures that parse as log-backend events (the malformed Falco case is
/// skipped, as ingest skips it).
fn real_events() -> Vec<audit::Event> {
    let dir = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures");
    let mut texts = vec![std::fs::read_to_string(dir.join("audit2rbac_demo.log")).expect("fixture")];
    let mut falco: Vec<_> =
        std::fs::read_dir(dir.join("falco")).expect("fixtures").flatten().map(|e| e.path()).collect();
    falco.sort();
    texts.extend(falco.iter().map(|p| std::fs::read_to_string(p).expect("fixture")));
    texts
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|line| serde_json::from_str::<audit::Event>(line).ok())
        .filter(|e| !e.verb.is_empty())
        .collect()
}

#[test]
fn kql_scope_and_client_folding_agree_with_the_rust_parsers_on_real_and_synthetic_events() {
    let mut events = real_events();
    assert!(events.len() > 60, "fixtures: {}", events.len());
    events.extend(Cluster::new().healthy().list_storm().object_leak().events);
    let engine = Engine::from_batches(vec![batch(&events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    let kql = format!(
        "AKSAudit\n| extend Scope = {}, Client = {}\n| summarize Requests = count() by RequestUri, Verb, UserAgent, Scope, Client",
        checks::kql::SCOPE,
        checks::kql::CLIENT_KQL
    );
    let rows = checks::QueryRunner::run(&runner, &kql).expect("query runs");
    let r = rows.reader();
    let (uri, verb, ua, scope, client) = (
        r.column("RequestUri").expect("col"),
        r.column("Verb").expect("col"),
        r.column("UserAgent").expect("col"),
        r.column("Scope").expect("col"),
        r.column("Client").expect("col"),
    );
    assert!(rows.rows.len() > 50);
    for row in &rows.rows {
        let expected = checks::scope::request_scope(verb.text(row), uri.text(row));
        assert_eq!(scope.text(row), expected.as_str(), "{} {}", verb.text(row), uri.text(row));
        assert_eq!(client.text(row), checks::client::fold_user_agent(ua.text(row)), "{}", ua.text(row));
    }
}

/// An [`EngineRunner`] that records what the diagnosis says of its window.
struct Recording<'e> {
    inner: EngineRunner<'e>,
    fractions: std::sync::Mutex<Vec<f64>>,
}

impl checks::audit::QueryRunner for Recording<'_> {
    fn run(&self, kql: &str) -> Result<checks::table::ResultTable, String> {
        self.inner.run(kql)
    }
    fn expect_window_fraction(&self, fraction: f64) {
        self.fractions.lock().expect("not poisoned").push(fraction);
        self.inner.expect_window_fraction(fraction);
    }
}

#[test]
fn a_narrow_window_is_announced_and_changes_no_finding() {
    let cluster = Cluster::new().healthy();
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let range = engine.time_range().expect("range").expect("events have times");
    let span = range.1 - range.0;
    let run = |since: Option<chrono::Duration>| {
        let runner =
            Recording { inner: EngineRunner::new(&engine, common::t0()), fractions: Default::default() };
        let d =
            diagnose_audit(&runner, &AuditRequest { since, ..AuditRequest::default() }).expect("diagnoses");
        (d, runner.fractions.into_inner().expect("not poisoned"))
    };
    // The whole log: all of it in the window.
    let (whole, fractions) = run(None);
    assert_eq!(fractions, [1.0]);
    // A fifth of it, from the end: a fifth announced (the engine then filters in the reader).
    let (narrow, fractions) = run(Some(span / 5));
    assert_eq!(fractions.len(), 1);
    assert!((fractions[0] - 0.2).abs() < 1e-3, "{fractions:?}");
    assert_eq!(narrow.window.end, whole.window.end);
    // The same narrow window with filters in the reader and without gives the same findings.
    engine.set_filter_pushdown(false);
    let runner = EngineRunner::new(&engine, common::t0());
    let plain = diagnose_audit(&runner, &AuditRequest { since: Some(span / 5), ..AuditRequest::default() })
        .expect("diagnoses");
    let shape = |d: &AuditDiagnosis| -> Vec<(String, String, String)> {
        d.outcome
            .findings
            .iter()
            .map(|f| (f.code.clone(), f.subject.name.clone(), f.summary.clone()))
            .collect()
    };
    assert_eq!(shape(&narrow), shape(&plain));
}

#[test]
fn the_client_identity_version_and_error_queries_count_their_common_summary_once() {
    use checks::QueryRunner;
    use checks::aud001_top_clients::{by_client_query, by_user_query};
    let cluster = Cluster::new().healthy().apf_throttled();
    let events = batch(&cluster.events);
    let engine = Engine::from_batches(vec![events.clone()]).expect("engine");
    let (start, end) = engine.time_range().expect("range").expect("events have times");
    let ctx = checks::AuditContext::new(findings::TimeRange { start, end });
    let runner = EngineRunner::new(&engine, common::t0());
    let queries = [
        by_client_query(&ctx),
        by_user_query(&ctx),
        checks::version_query(&ctx),
        checks::aud006_errors::query(&ctx),
    ];
    for q in queries {
        let fresh = Engine::from_batches(vec![events.clone()]).expect("engine");
        let expected = EngineRunner::new(&fresh, common::t0()).run(&q).expect("runs alone");
        assert!(!expected.rows.is_empty(), "{q}: no rows");
        assert_eq!(runner.run(&q).expect("runs"), expected, "{q}");
    }
    assert_eq!(engine.summaries_kept(), 1, "the four start from one summary");
}

#[test]
fn go_durations_read_in_kql_as_the_rust_reference_reads_them() {
    use checks::QueryRunner;
    let texts = [
        "850ms", "850.25ms", "1.5s", "12µs", "12us", "250ns", "1m2.5s", "0s", "", "s", "ms", "-1s", "1h",
        "abc", "1.5", "1.2.3ms", "1m", "2m0.5s",
    ];
    let rows: Vec<String> = texts.iter().map(|t| format!("\"{t}\"")).collect();
    let kql = format!(
        "{}datatable(t: string) [{}]\n| extend ms = go_ms(t)\n| project t, ms",
        checks::kql::GO_MS_FUNCTION,
        rows.join(", ")
    );
    let engine = Engine::from_batches(vec![batch(&Cluster::new().healthy().events)]).expect("engine");
    let table = EngineRunner::new(&engine, common::t0()).run(&kql).expect("runs");
    let r = table.reader();
    let (c_text, c_ms) = (r.column("t").expect("t"), r.column("ms").expect("ms"));
    assert_eq!(table.rows.len(), texts.len());
    for row in &table.rows {
        let text = c_text.text(row);
        let got = match &row[1] {
            checks::table::Cell::Null => None,
            _ => Some(c_ms.num(row)),
        };
        assert_eq!(got, checks::kql::parse_go_duration_ms(text), "{text:?}");
    }
}

#[test]
fn a_window_without_events_is_counted_so_diagnose_does_not_call_it_all_well() {
    // `diagnose --now 2020-01-01T00:00:00Z` over a 2024 log: the window holds nothing, and
    // diagnose must be able to tell (ux review item 6).
    let cluster = Cluster::new().healthy();
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    let whole = diagnose_audit(&runner, &AuditRequest::default()).expect("diagnoses");
    assert_eq!(whole.window_events, Some(whole.profile.events));
    assert!(whole.profile.events > 0.0);
    let at = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").expect("time").to_utc();
    let request = AuditRequest { now: checks::WindowEnd::At(at), ..AuditRequest::default() };
    let empty = diagnose_audit(&runner, &request).expect("diagnoses");
    assert_eq!(empty.window_events, Some(0.0));
}

#[test]
fn a_window_ending_inside_a_silence_of_the_log_is_warned_and_rates_are_over_its_events() {
    // The log is silent from 600 s to 1,200 s; the window ends at 1,100 s, inside the silence
    // (`--now` at a time the log holds nothing). Real data review item 1: the log's whole range
    // hid the 500 s of silence, and rates were divided by it.
    let cluster = Cluster::new().healthy().gap(600, 1200);
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = EngineRunner::new(&engine, common::t0());
    let at = common::t0() + chrono::Duration::seconds(1100);
    let request = AuditRequest { now: checks::WindowEnd::At(at), ..AuditRequest::default() };
    let d = diagnose_audit(&runner, &request).expect("diagnoses");
    no_failed_checks(&d);
    let covered =
        d.outcome.findings.iter().find(|f| f.code == "AUD009" && f.title.starts_with("the log covers"));
    let covered = covered.unwrap_or_else(|| panic!("no coverage warning: {:#?}", d.outcome.findings));
    assert_eq!(covered.severity, Severity::Warning);
    assert!(covered.summary.contains("after the last"), "{}", covered.summary);
    // The top client's rate is over the ten minutes of events, not the 18 of the window.
    let top = d.outcome.findings.iter().find(|f| f.code == "AUD001").expect("AUD001");
    let rate = top
        .evidence
        .measures
        .iter()
        .find(|m| m.unit == "per-second")
        .unwrap_or_else(|| panic!("a rate: {:?}", top.evidence.measures));
    let requests = top.evidence.measures.iter().find(|m| m.unit == "count").expect("a count").value;
    let first = cluster.events.iter().filter_map(|e| e.stage_timestamp).min().expect("times");
    let last =
        cluster.events.iter().filter_map(|e| e.stage_timestamp).filter(|t| *t < at).max().expect("times");
    let seconds = (last - first).num_milliseconds() as f64 / 1000.0;
    assert!(
        (rate.value - requests / seconds).abs() < 1e-6 * rate.value.max(1.0),
        "{rate:?}, {requests} / {seconds}"
    );
}

#[test]
fn a_log_without_request_received_timestamps_says_latency_cannot_be_measured() {
    // Real data review item 2: a log whose events carry only one timestamp (audit2rbac's demo)
    // left every latency check silent, as if latency were fine.
    let mut cluster = Cluster::new().healthy();
    for e in &mut cluster.events {
        e.request_received_timestamp = None;
    }
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let titles: Vec<&str> = d.outcome.findings.iter().map(|f| f.title.as_str()).collect();
    let warning = d
        .outcome
        .findings
        .iter()
        .find(|f| f.code == "AUD009" && f.title.starts_with("no latency can be measured"))
        .unwrap_or_else(|| panic!("{titles:#?}"));
    assert_eq!(warning.severity, Severity::Warning);
    // Half of them without: the share is told; all with both: nothing.
    let mut cluster = Cluster::new().healthy();
    for e in cluster.events.iter_mut().step_by(2) {
        e.request_received_timestamp = None;
    }
    let d = diagnose(&cluster);
    assert!(
        d.outcome
            .findings
            .iter()
            .any(|f| f.code == "AUD009" && f.title.contains("(50%) have both timestamps")),
        "{:#?}",
        d.outcome.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let d = diagnose(&Cluster::new().healthy());
    assert!(d.outcome.findings.iter().all(|f| !f.title.contains("both timestamps")));
}

/// Cuts an event's two times to the whole second, as some exports and converters write them.
fn whole_seconds(e: &mut audit::Event) {
    use chrono::DurationRound;
    for t in [&mut e.request_received_timestamp, &mut e.stage_timestamp] {
        *t = t.and_then(|t| t.duration_trunc(chrono::Duration::seconds(1)).ok());
    }
}

/// The AUD009 warning about whole-second timestamps, if any.
fn whole_second_warning(d: &AuditDiagnosis) -> Option<&Finding> {
    d.outcome.findings.iter().find(|f| f.code == "AUD009" && f.title.contains("whole-second"))
}

/// Review 50, item 2: in a log whose times were all cut to the whole second every latency is a
/// multiple of 1 s (a 30 ms request reads as 0 s or 1 s); AUD009 says so, and its query counts
/// what it says.
#[test]
fn aud009_warns_when_timestamps_are_whole_seconds() {
    let mut cluster = Cluster::new().healthy();
    cluster.events.iter_mut().for_each(whole_seconds);
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    let titles: Vec<&str> = d.outcome.findings.iter().map(|f| f.title.as_str()).collect();
    let warning = whole_second_warning(&d).unwrap_or_else(|| panic!("{titles:#?}"));
    assert_eq!(warning.severity, Severity::Warning);
    // Requests with a latency, as AUD002 counts them: watches and other long-running ones left out.
    let long_running = ["exec", "attach", "portforward", "proxy", "log"];
    let timed = requests(&cluster.events)
        .filter(|e| {
            e.verb != "watch"
                && !e
                    .object_ref
                    .as_ref()
                    .and_then(|o| o.subresource.as_deref())
                    .is_some_and(|s| long_running.contains(&s))
        })
        .count() as f64;
    assert_eq!(
        warning.title,
        format!(
            "timestamps have whole-second resolution: all {} latencies are multiples of 1 s",
            findings::thousands(timed as i128)
        )
    );
    assert_eq!(measure(warning, "requests with both timestamps (long-running left out)"), timed);
    assert_eq!(measure(warning, "events with a sub-second time"), 0.0);
    assert!(warning.summary.contains("multiples of 1 s"), "{}", warning.summary);
    let rows = reproduce(&cluster.events, warning);
    let r = rows.reader();
    let row = rows.rows.first().expect("a row");
    let col = |name: &str| r.column(name).expect(name).num(row);
    assert_eq!((col("SubSecond"), col("Timed"), col("WholeSeconds")), (0.0, timed, timed));
    // 97 in 100 requests whole seconds (the rest of their events keep their fractions): at
    // least as many latencies as the times with no fraction are told.
    let mut cluster = Cluster::new().healthy();
    let n = cluster.events.len();
    cluster.events.iter_mut().take(n - n * 3 / 100).for_each(whole_seconds);
    let sub_second = cluster
        .events
        .iter()
        .filter(|e| {
            [e.request_received_timestamp, e.stage_timestamp]
                .iter()
                .flatten()
                .any(|t| t.timestamp_subsec_nanos() != 0)
        })
        .count() as f64;
    let d = diagnose(&cluster);
    let warning = whole_second_warning(&d).unwrap_or_else(|| panic!("{:#?}", d.outcome.findings));
    assert_eq!(measure(warning, "events with a sub-second time"), sub_second);
    assert!(
        warning.title.contains(&format!("at least {} of", findings::thousands((timed - sub_second) as i128))),
        "{}",
        warning.title
    );
}

/// Review 50, item 2, the other way: times with fractions, or a log mixing in some whole-second
/// ones, give no such warning.
#[test]
fn aud009_does_not_warn_when_timestamps_have_fractions() {
    let d = diagnose(&Cluster::new().healthy());
    assert!(whole_second_warning(&d).is_none(), "{:#?}", d.outcome.findings);
    // Half of the events cut to the whole second: most latencies still have their fraction.
    let mut cluster = Cluster::new().healthy();
    cluster.events.iter_mut().step_by(2).for_each(whole_seconds);
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    assert!(whole_second_warning(&d).is_none(), "{:#?}", d.outcome.findings);
}

#[test]
fn an_admin_only_export_with_watches_still_warns_that_reads_are_missing() {
    // Compliance review item 1: kube-audit-admin leaves out get and list but keeps watches, so
    // "no get, list or watch" never fired on a real admin-only export.
    let mut cluster = Cluster::new().healthy();
    cluster.events.retain(|e| e.verb != "get" && e.verb != "list");
    assert!(cluster.events.iter().any(|e| e.verb == "watch"), "the fixture keeps watches");
    let d = diagnose(&cluster);
    no_failed_checks(&d);
    assert!(
        d.outcome.findings.iter().any(|f| f.code == "AUD009"
            && f.severity == Severity::Warning
            && f.title == "no get or list requests in the log: reads are missing (kube-audit-admin only?)"),
        "{:#?}",
        d.outcome.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
}

/// Session 24: AUD005's sums of annotated time differed in their last digits between two runs
/// over the same 8.8 M events (`diagnose DIR` after one more file arrived, and again from the
/// cache): the engine adds each group's values in whatever order its partitions finish, and
/// floating-point addition is not associative. Each request's times are now summed as whole
/// nanoseconds, what the annotations are written in.
#[test]
fn slow_request_time_sums_do_not_depend_on_the_order_events_are_added_in() {
    let cluster = Cluster::new().healthy().list_storm();
    let aud005 = |batches: Vec<arrow::array::RecordBatch>| -> Vec<(String, Vec<(String, f64)>)> {
        let engine = Engine::from_batches(batches).expect("engine");
        let d = diagnose_audit(&EngineRunner::new(&engine, common::t0()), &AuditRequest::default())
            .expect("diagnoses");
        d.outcome
            .findings
            .iter()
            .filter(|f| f.code == "AUD005")
            .map(|f| {
                (f.title.clone(), f.evidence.measures.iter().map(|m| (m.label.clone(), m.value)).collect())
            })
            .collect()
    };
    let whole = aud005(vec![batch(&cluster.events)]);
    assert!(whole.iter().any(|(_, m)| m.iter().any(|(l, v)| l == "time in etcd" && *v > 0.0)), "{whole:#?}");
    let mut events = cluster.events.clone();
    events.reverse();
    for size in [97, 1000, 4096] {
        let parts: Vec<_> = events.chunks(size).map(batch).collect();
        assert_eq!(aud005(parts), whole, "in batches of {size}, reversed");
    }
}
