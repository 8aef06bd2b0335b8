//! AUD010: admission webhooks that fail open, named from the `failed-open.*` audit annotations
//! (review 48 of the audit checks, item 6: they were never named, although every event names
//! them, and the latency they caused was blamed on the clients).

mod common;

use checks::QueryRunner;
use checks::engine_runner::EngineRunner;
use checks::table::ResultTable;
use common::{Cluster, Req, batch, measure, reproduce};
use engine::Engine;
use findings::Severity;

const VALIDATING: &str = "failed-open.validating.webhook.admission.k8s.io/round_0_index_1";
const MUTATING: &str = "failed-open.mutating.webhook.admission.k8s.io/round_0_index_0";

/// The healthy cluster, plus a deployer whose ConfigMap creates each wait `latency_ms` for
/// `slow-policy.example.com` (validating) to fail open; `both` of them also for a mutating
/// webhook, `inject.example.com`.
fn failing_open(creates: i64, latency_ms: i64, both: i64) -> Cluster {
    let mut cluster = Cluster::new().healthy();
    for i in 0..creates {
        let mut annotations = vec![
            ("authorization.k8s.io/decision", "allow".to_owned()),
            (VALIDATING, "slow-policy.example.com".to_owned()),
        ];
        if i < both {
            annotations.push((MUTATING, "inject.example.com".to_owned()));
        }
        cluster.add(Req {
            at_ms: i * 5_000 + 123,
            latency_ms,
            verb: "create",
            uri: "/api/v1/namespaces/app/configmaps".to_owned(),
            user: "system:serviceaccount:ci:deployer",
            agent: "deployer/v2.1 (linux/amd64) kubernetes/abcdef",
            resource: "configmaps",
            namespace: Some("app"),
            code: 201,
            annotations,
            ..Req::default()
        });
    }
    cluster
}

#[test]
fn a_webhook_failing_open_was_never_named_and_its_latency_blamed_on_the_client() {
    let cluster = failing_open(300, 10_050, 4);
    let d = common::diagnose(&cluster.events);
    assert!(d.outcome.checks_run.iter().any(|c| c == "AUD010"), "{:?}", d.outcome.checks_run);
    let open: Vec<_> = d.outcome.findings.iter().filter(|f| f.code == "AUD010").collect();
    let names: Vec<(&str, Severity)> = open.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
    // 300 failures at 10 s each: critical; 4 failures of the mutating one: a warning.
    assert_eq!(
        names,
        vec![("slow-policy.example.com", Severity::Critical), ("inject.example.com", Severity::Warning)]
    );
    let f = open[0];
    assert_eq!(f.title, "webhook slow-policy.example.com failed open 300 times (10.1 s each on average)");
    assert_eq!(measure(f, "calls failed open"), 300.0);
    assert_eq!(measure(f, "average latency of those requests"), 10_050.0);
    assert!(
        f.summary.contains("validating admission webhook slow-policy.example.com 300 times"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("configmaps in namespaces app, sent by deployer"), "{}", f.summary);
    assert!(f.summary.contains("no error to show for it"), "{}", f.summary);
    assert!(
        f.remedies[0].body.starts_with("kubectl get validatingwebhookconfigurations "),
        "{}",
        f.remedies[0].body
    );
    assert!(
        f.remedies[2]
            .body
            .contains(r#"{"webhooks":[{"name":"slow-policy.example.com","timeoutSeconds":3}]}"#)
    );
    assert!(
        open[1].summary.contains("mutating admission webhook inject.example.com 4 times"),
        "{}",
        open[1].summary
    );
    assert!(open[1].remedies[0].body.starts_with("kubectl get mutatingwebhookconfigurations "));
    // AUD007 reads rejections: these requests succeeded.
    assert!(!d.outcome.findings.iter().any(|f| f.code == "AUD007"), "{:#?}", d.outcome.findings);
    // The evidence query gives the finding's numbers.
    let rows = reproduce(&cluster.events, f);
    let r = rows.reader();
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
    assert_eq!(r.column("Failures").expect("Failures").num(&rows.rows[0]), 300.0);
    assert_eq!(r.column("Kind").expect("Kind").text(&rows.rows[0]), "validating");
    assert_eq!(r.column("Resource").expect("Resource").text(&rows.rows[0]), "configmaps");
}

#[test]
fn a_webhook_failing_open_fast_is_a_warning_without_the_latency_threshold() {
    let cluster = failing_open(50, 12, 0);
    let d = common::diagnose(&cluster.events);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD010").expect("an AUD010 finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.summary.contains("the calls failed fast"), "{}", f.summary);
    assert!(!f.thresholds.iter().any(|t| t.name == "webhook_latency_warning_seconds"));
    // Failures of 12 ms: no shorter timeout to propose.
    assert!(f.remedies[2].title.contains("its failures are already short"), "{:?}", f.remedies[2]);
}

/// On-call review 52, item 9: "a 3 s timeout" was proposed for a webhook whose failures
/// already took 3.0 s each (its timeout was about 3 s): a patch that changes nothing. It is
/// proposed only for failures at least a second longer.
#[test]
fn a_webhook_whose_failures_already_take_3_s_is_not_given_a_3_s_timeout() {
    let cluster = failing_open(300, 3_020, 0);
    let d = common::diagnose(&cluster.events);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD010").expect("an AUD010 finding");
    assert!(!f.remedies.iter().any(|r| r.body.contains("\"timeoutSeconds\":")), "{:#?}", f.remedies);
    let advice = &f.remedies[2];
    assert_eq!(
        advice.title,
        "Leave webhook slow-policy.example.com's timeout: its failures are already short"
    );
    assert!(advice.body.starts_with("Its failed calls took at most 3.0 s,"), "{}", advice.body);
    let slower = failing_open(300, 4_100, 0);
    let d = common::diagnose(&slower.events);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD010").expect("an AUD010 finding");
    assert!(f.remedies[2].body.contains(r#""timeoutSeconds":3"#), "{:#?}", f.remedies);
}

/// A runner over a store whose manifest counts no `failed-open.` key: AUD010 must not query.
struct NoFailedOpen<'a> {
    inner: EngineRunner<'a>,
    asked: std::sync::Mutex<Vec<String>>,
}

impl QueryRunner for NoFailedOpen<'_> {
    fn run(&self, kql: &str) -> Result<ResultTable, String> {
        self.asked.lock().expect("lock").push(kql.to_owned());
        self.inner.run(kql)
    }

    fn store_totals(&self) -> Option<audit::store::Counts> {
        Some(audit::store::Counts { failed_open_keys: Some(0), ..audit::store::Counts::default() })
    }
}

#[test]
fn a_store_counting_no_failed_open_annotation_is_not_searched_for_them() {
    let cluster = failing_open(20, 10_050, 0);
    let engine = Engine::from_batches(vec![batch(&cluster.events)]).expect("engine");
    let runner = NoFailedOpen { inner: EngineRunner::new(&engine, common::t0()), asked: Default::default() };
    let ctx = checks::audit::AuditContext::new(findings::TimeRange {
        start: common::t0(),
        end: common::t0() + chrono::Duration::hours(1),
    });
    let out = checks::aud010_webhooks_failing_open::run_check(&ctx, &runner).expect("runs");
    assert!(out.findings.is_empty());
    assert!(runner.asked.lock().expect("lock").is_empty());
    // The same events with the count unknown are searched, and found.
    let plain = EngineRunner::new(&engine, common::t0());
    let out = checks::aud010_webhooks_failing_open::run_check(&ctx, &plain).expect("runs");
    assert_eq!(out.findings.len(), 1);
}

/// Review s54 item 4: "If the webhook is no longer used, delete its configuration" was a
/// sentence of the repair advice, which is marked safe to apply.
#[test]
fn the_advice_to_delete_a_webhook_configuration_was_marked_safe() {
    let cluster = failing_open(50, 12, 0);
    let d = common::diagnose(&cluster.events);
    let f = d.outcome.findings.iter().find(|f| f.code == "AUD010").expect("an AUD010 finding");
    let repair = f.remedies.iter().find(|r| r.title.starts_with("Repair the service")).expect("repair");
    assert_eq!(repair.safety, findings::Safety::Safe);
    assert!(!repair.body.contains("delete"), "{}", repair.body);
    let delete = f.remedies.iter().find(|r| r.body.contains("kubectl delete")).expect("the delete advice");
    assert_eq!(delete.safety, findings::Safety::ReviewFirst, "{delete:?}");
    assert!(delete.title.contains("no longer used"), "{}", delete.title);
}
