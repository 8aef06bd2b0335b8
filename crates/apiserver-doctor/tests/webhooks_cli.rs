//! `apiserver-doctor diagnose --manifests`: webhook configurations judged beside the audit log,
//! a failing webhook made critical, broken documents reported and skipped.

mod common;

use common::{doctor, simulate, stderr, stdout};

fn findings(out: &std::process::Output) -> Vec<serde_json::Value> {
    let report: serde_json::Value = serde_json::from_str(&stdout(out)).expect("json report");
    report["findings"].as_array().expect("findings").clone()
}

#[test]
fn a_failing_webhook_that_covers_kube_system_is_critical_with_the_exact_patch() {
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = simulate("webhook-outage", cache.path());
    let audit = sim.path().join("audit");
    let manifests = sim.path().join("manifests");
    let out = doctor(
        &[
            "diagnose",
            audit.to_str().expect("utf-8"),
            "--manifests",
            manifests.to_str().expect("utf-8"),
            "-o",
            "json",
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1), "critical findings: {}", stderr(&out));
    let all = findings(&out);
    let whk: Vec<&serde_json::Value> = all.iter().filter(|f| f["code"] == "WHK001").collect();
    assert_eq!(whk.len(), 1, "only the Kyverno-like webhook: {whk:?}");
    let f = whk[0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["subject"]["name"], "mutate.kyverno.svc-fail");
    assert!(f["summary"].as_str().expect("summary").contains("It is failing now (AUD007)"));
    let bodies: Vec<&str> =
        f["remedies"].as_array().expect("remedies").iter().filter_map(|r| r["body"].as_str()).collect();
    // Each patch after its server-side dry run (reviewer item 8); failing open says the policy
    // is off while it stands, and the next remedy makes it fail closed again (item 9).
    let patch = "\nkubectl patch mutatingwebhookconfigurations kyverno-resource-mutating-webhook-cfg --type=strategic -p ";
    assert!(
        bodies[0].starts_with("# While this patch stands, mutate.kyverno.svc-fail is skipped"),
        "{}",
        bodies[0]
    );
    assert!(bodies[0].contains(patch), "{}", bodies[0]);
    assert!(
        bodies[0]
            .contains(r#""failurePolicy":"Ignore","name":"mutate.kyverno.svc-fail"}]}' --dry-run=server"#),
        "{}",
        bodies[0]
    );
    assert!(
        bodies[1].contains(r#""failurePolicy":"Fail","name":"mutate.kyverno.svc-fail"}]}'"#),
        "{}",
        bodies[1]
    );
    assert!(bodies[2].contains(r#""values":["kube-system","kyverno"]"#), "{}", bodies[2]);
    // AUD007 still comes first: the audit log is what shows it failing.
    assert_eq!(all[0]["code"], "AUD007");
    let kinds: Vec<&str> = serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("json")["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["kind"].as_str().map(str::to_owned))
        .map(|k| if k == "manifests" { "manifests" } else { "other" })
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "manifests").count(), 2, "webhooks.yaml and apf.yaml");
}

#[test]
fn a_healthy_clusters_webhooks_give_no_finding() {
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = simulate("healthy", cache.path());
    let manifests = sim.path().join("manifests");
    let out =
        doctor(&["diagnose", "--manifests", manifests.to_str().expect("utf-8"), "-o", "json"], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(findings(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).is_empty(), "no warning: {}", stderr(&out));
}

#[test]
fn broken_manifest_documents_are_named_by_file_and_line_and_the_rest_judged() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hooks.yaml");
    std::fs::write(
        &path,
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: broken\nwebhooks:\n- name: a.example.com\n  failurePolicy: Maybe\n---\nkind: [unclosed\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: all\nwebhooks:\n- name: all.example.com\n  clientConfig:\n    service: {namespace: guard, name: guard}\n  rules:\n  - apiGroups: ['*']\n    apiVersions: ['*']\n    operations: ['*']\n    resources: ['*']\n",
    )
    .expect("write");
    let p = path.to_str().expect("utf-8");
    let out = doctor(&["diagnose", "--manifests", p, "--fail-on", "warning"], cache.path());
    assert_eq!(out.status.code(), Some(1), "a warning with --fail-on warning");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: {p}:1: ValidatingWebhookConfiguration broken: webhooks[0].failurePolicy: expected Fail or Ignore, got \"Maybe\" (skipped)"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("warning: {p}:9: invalid YAML")), "{err}");
    let text = stdout(&out);
    assert!(text.contains("WHK001  Webhook all.example.com fails closed on kube-system"), "{text}");
    assert!(text.contains("2 skipped"), "the input line counts what was skipped: {text}");
}

/// Review s41: past ten problems in a file, the rest were only counted, with no way to find
/// them; their lines are listed.
#[test]
fn problems_past_the_tenth_are_found_by_their_lines() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hooks.yaml");
    let doc = |i: usize| {
        format!(
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: \
             broken-{i}\nwebhooks:\n- name: a{i}.example.com\n  failurePolicy: Maybe\n"
        )
    };
    // 33 broken documents of 7 lines each, separated by `---`: document i starts at line 8i + 1.
    std::fs::write(&path, (0..33).map(doc).collect::<Vec<_>>().join("---\n")).expect("write");
    let p = path.to_str().expect("utf-8");
    let out = doctor(&["diagnose", "--manifests", p], cache.path());
    let err = stderr(&out);
    assert_eq!(err.matches("(skipped)").count(), 10, "{err}");
    assert!(err.contains(&format!("warning: {p}:73: ValidatingWebhookConfiguration broken-9")), "{err}");
    let lines: Vec<String> = (10..30).map(|i| (8 * i + 1).to_string()).collect();
    assert!(
        err.contains(&format!(
            "warning: {p}: 23 more problems, skipped and not shown, on lines {} and 3 more",
            lines.join(", ")
        )),
        "{err}"
    );
}

#[test]
fn a_manifests_path_that_does_not_exist_is_a_usage_error() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = doctor(&["diagnose", "--manifests", "no/such/webhooks.yaml"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/webhooks.yaml"), "{}", stderr(&out));
}

#[test]
fn webhook_manifests_given_as_audit_logs_are_pointed_to_manifests() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = dir.path().join("hooks.yaml");
    std::fs::write(
        &yaml,
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: x\nwebhooks: []\n",
    )
    .expect("write");
    let list = dir.path().join("list.json");
    std::fs::write(&list, r#"{"apiVersion":"v1","kind":"List","items":[]}"#).expect("write");
    let store = dir.path().join("store");
    let out = doctor(
        &[
            "ingest",
            yaml.to_str().expect("utf-8"),
            list.to_str().expect("utf-8"),
            "--store",
            store.to_str().expect("utf-8"),
        ],
        cache.path(),
    );
    let err = stderr(&out);
    assert!(
        err.contains(r#"kind "ValidatingWebhookConfiguration" (expected "Event" or "EventList"); give manifests to `diagnose --manifests`"#),
        "{err}"
    );
    assert!(
        err.contains("a List of webhook configurations or APF objects goes to `diagnose --manifests`"),
        "{err}"
    );
}

/// UX review: an audit log given as `--manifests` was warned about as "37 objects of other
/// kinds; export them with `kubectl get …`", the wrong advice: its events are called audit
/// events and the file is to be passed as an audit log.
#[test]
fn an_audit_log_given_as_manifests_was_told_to_be_exported_with_kubectl() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let event = |id: &str| {
        format!(
            "{{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"{id}\",\
             \"stage\":\"ResponseComplete\",\"requestURI\":\"/api/v1/pods\",\"verb\":\"list\",\
             \"user\":{{\"username\":\"u\"}},\"responseStatus\":{{\"code\":200}},\
             \"requestReceivedTimestamp\":\"2024-01-01T00:00:00.000000Z\",\
             \"stageTimestamp\":\"2024-01-01T00:00:00.100000Z\"}}"
        )
    };
    let log = dir.path().join("audit.log");
    std::fs::write(&log, format!("{}\n{}\n", event("a"), event("b"))).expect("write");
    let list = dir.path().join("events.json");
    std::fs::write(
        &list,
        "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{\"auditID\":\"a\"}]}",
    )
    .expect("write");
    for (path, events) in [(&log, "2 audit events"), (&list, "1 audit event")] {
        let path = path.to_str().expect("utf-8");
        let out = doctor(&["diagnose", "--manifests", path], cache.path());
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("warning: --manifests: {path} is an audit log, not manifests ({events};")),
            "{err}"
        );
        assert!(
            err.contains(&format!("`apiserver-doctor diagnose {path}` or `apiserver-doctor ingest {path}`")),
            "{err}"
        );
        assert!(!err.contains("kubectl get"), "{err}");
        assert!(!err.contains("objects of other kinds") && !err.contains("no `kind`"), "{err}");
    }
}

#[test]
fn manifests_with_nothing_the_checks_read_are_warned_about_and_apf_objects_alone_are_not() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("deploy.yaml");
    std::fs::write(&other, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").expect("write");
    let out = doctor(&["diagnose", "--manifests", other.to_str().expect("utf-8")], cache.path());
    // Nothing else was given: nothing to diagnose, exit 2, not "every number was within its
    // threshold" (ux review item 6).
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("warning: --manifests: no webhook configuration, FlowSchema, PriorityLevelConfiguration or Namespace in 1 file (1 object of other kinds)"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("nothing to diagnose"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let apf = dir.path().join("apf.yaml");
    std::fs::write(
        &apf,
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  name: mine\nspec:\n  type: Limited\n",
    )
    .expect("write");
    let out = doctor(&["diagnose", "--manifests", apf.to_str().expect("utf-8")], cache.path());
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 priority level"), "{}", stdout(&out));
}

#[test]
fn a_proposed_throttle_is_checked_against_the_clusters_flow_schemas() {
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = simulate("list-storm", cache.path());
    let audit = sim.path().join("audit");
    let manifests = sim.path().join("manifests");
    let exempt = sim.path().join("exempt.yaml");
    std::fs::write(
        &exempt,
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: observability-exempt\nspec:\n  matchingPrecedence: 50\n  priorityLevelConfiguration:\n    name: exempt\n  rules:\n  - subjects:\n    - kind: Group\n      group:\n        name: system:serviceaccounts:observability\n    resourceRules:\n    - verbs: ['*']\n      apiGroups: ['*']\n      resources: ['*']\n      clusterScope: true\n      namespaces: ['*']\n",
    )
    .expect("write");
    let remedies = |extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec!["diagnose", audit.to_str().expect("utf-8"), "-o", "json"];
        for m in extra {
            args.extend(["--manifests", m]);
        }
        let out = doctor(&args, cache.path());
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
        let f = findings(&out)
            .into_iter()
            .find(|f| f["code"] == "AUD004")
            .expect("the list storm's AUD004 finding");
        f["remedies"].as_array().expect("remedies").clone()
    };
    let remedy_titles = |extra: &[&str]| -> Vec<String> {
        remedies(extra).iter().filter_map(|r| r["title"].as_str().map(str::to_owned)).collect()
    };
    let m = manifests.to_str().expect("utf-8");
    // It takes effect: the throttle's YAML says so (title and first comment), and no remedy of
    // its own, marked safe to apply with nothing to apply, does.
    let all = remedies(&[m]);
    let titles: Vec<&str> = all.iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(!titles.iter().any(|t| t.starts_with("Checked against")), "{titles:?}");
    let throttle = all
        .iter()
        .find(|r| r["kind"] == "yaml" && r["body"].as_str().is_some_and(|b| b.contains("kind: FlowSchema")))
        .expect("the throttle");
    assert!(
        throttle["title"]
            .as_str()
            .is_some_and(|t| t.ends_with(" (checked against the cluster's FlowSchemas: it takes effect)")),
        "{titles:?}"
    );
    assert_eq!(throttle["safety"], "review-first");
    assert!(
        // After the server-side dry run every YAML remedy starts with (reviewer item 8).
        throttle["body"].as_str().is_some_and(|b| b.starts_with(
            "# Review first (a server-side dry run: `kubectl apply --dry-run=server -f throttle-sa-observability.inventory-exporter.yaml`), then apply.\n\
             # Checked against the cluster's FlowSchemas: FlowSchema throttle-sa-observability.inventory-exporter\n"
        )),
        "{}",
        throttle["body"]
    );
    let titles = remedy_titles(&[m, exempt.to_str().expect("utf-8")]);
    assert!(
        // Review of the remedies, item 6: a schema sending to `exempt` exempts on purpose.
        titles.iter().any(|t| t
            == "The cluster's FlowSchema observability-exempt would catch these requests before the throttle \
                (exempted on purpose: do not force the throttle ahead of it)"),
        "{titles:?}"
    );
    // The exempt schema is also a finding of its own.
    let out =
        doctor(&["diagnose", "--manifests", exempt.to_str().expect("utf-8"), "-o", "json"], cache.path());
    let codes: Vec<String> =
        findings(&out).iter().filter_map(|f| f["code"].as_str().map(str::to_owned)).collect();
    assert_eq!(codes, vec!["APF002"]);
}

/// `apiserver-doctor ARGS` with `KUBECTL` set to `kubectl`.
fn doctor_with_kubectl(
    args: &[&str],
    cache: &std::path::Path,
    kubectl: &std::path::Path,
) -> std::process::Output {
    common::doctor_env(args, cache, &[("KUBECTL", kubectl.as_os_str())])
}

#[test]
fn cluster_objects_are_read_with_kubectl_and_a_kind_it_cannot_read_is_a_warning() {
    // No cluster here: a stand-in for kubectl that answers as one whose API has no flowcontrol
    // group, and whose webhook is the simulated Kyverno-like one. It records its arguments.
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = simulate("webhook-outage", cache.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let webhooks = sim.path().join("manifests/webhooks.yaml");
    let scrape = sim.path().join("metrics/apiserver-1.prom");
    let log = dir.path().join("calls.log");
    let script = dir.path().join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{log}'\ncase \"$2\" in\n  --raw) cat '{scrape}' ;;\n  mutatingwebhookconfigurations*) cat '{hooks}' ;;\n  validatingwebhookconfigurations*) echo '{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}}' ;;\n  namespaces) echo '{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"kube-system\"}}}}]}}' ;;\n  *) echo \"error: the server doesn't have a resource type \\\"$2\\\"\" >&2; exit 1 ;;\nesac\n",
            log = log.display(),
            hooks = webhooks.display(),
            scrape = scrape.display()
        ),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = doctor_with_kubectl(
        &["diagnose", "--cluster", "--context", "prod", "-o", "json"],
        cache.path(),
        &script,
    );
    assert_eq!(out.status.code(), Some(1), "critical findings: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: --cluster: `kubectl get flowschemas.flowcontrol.apiserver.k8s.io -o json --context prod` failed: error: the server doesn't have a resource type"),
        "{err}"
    );
    // The API server's /metrics came through kubectl too: its webhook rejections (MET009) make
    // the webhook's WHK001 critical.
    let all = findings(&out);
    let whk = all.iter().find(|f| f["code"] == "WHK001").expect("WHK001");
    assert_eq!(
        whk["title"],
        "Webhook mutate.kyverno.svc-fail is failing and fails closed on kube-system and its own pods in kyverno"
    );
    assert!(whk["summary"].as_str().unwrap_or("").contains("(MET009)"), "{}", whk["summary"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let sources: Vec<&str> =
        report["inputs"].as_array().expect("inputs").iter().filter_map(|i| i["source"].as_str()).collect();
    assert!(sources.contains(&"kubectl get --raw /metrics --context prod"), "{sources:?}");
    let calls = std::fs::read_to_string(&log).expect("kubectl was called");
    // First the sign-in check (`get --raw /version`), then /metrics and the five kinds.
    assert_eq!(calls.lines().count(), 7, "{calls}");
    assert_eq!(
        calls.lines().next(),
        Some("get --raw /version --request-timeout=20s --context prod"),
        "{calls}"
    );
    assert!(
        calls.lines().all(|l| l.starts_with("get ") && l.ends_with("--request-timeout=20s --context prod")),
        "{calls}"
    );
    assert_eq!(calls.lines().filter(|l| l.contains(" -o json ")).count(), 5, "{calls}");
    // kubectl missing: a warning, and the webhook checks do not claim anything; with nothing
    // else given there is nothing to diagnose (exit 2, ux review item 6).
    let out = doctor_with_kubectl(
        &["diagnose", "--cluster", "-o", "json"],
        cache.path(),
        &dir.path().join("no-kubectl"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning: --cluster: cannot run kubectl"), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to diagnose"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

/// Review s47 (probe H3): a credential plugin's sign-in prompt (kubelogin's device code) was
/// captured with kubectl's standard error, so the user never saw it while it was valid, and each
/// of the six kubectl calls waited for it in turn. Now the first call shows it, and a failed
/// sign-in stops the reading of the cluster there.
#[test]
fn a_sign_in_prompt_was_hidden_and_every_kubectl_call_waited_for_it() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("calls.log");
    let script = dir.path().join("kubectl");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh
echo \"$@\" >> '{log}'
echo 'To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FAKE1234 to authenticate.' >&2
echo 'error: You must be logged in to the server (Unauthorized)' >&2
exit 1
",
            log = log.display()
        ),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = doctor_with_kubectl(&["diagnose", "--cluster", "-o", "json"], cache.path(), &script);
    assert_eq!(out.status.code(), Some(2), "nothing to diagnose: {}", stderr(&out));
    let err = stderr(&out);
    let prompt = err.find("enter the code FAKE1234").unwrap_or_else(|| panic!("the prompt: {err}"));
    let warning = err
        .find("warning: --cluster: `kubectl get --raw /version` failed (kubectl's message is above); the cluster is not read.")
        .unwrap_or_else(|| panic!("the warning: {err}"));
    assert!(prompt < warning, "the prompt comes first, as kubectl wrote it: {err}");
    let calls = std::fs::read_to_string(&log).expect("kubectl was called");
    assert_eq!(
        calls.lines().collect::<Vec<_>>(),
        ["get --raw /version --request-timeout=20s"],
        "one call only"
    );
}

/// Review 26 §8: a webhook with `operations: [DELETE]` on configmaps was said to reject
/// "Writes of configmaps in kube-system" so that "system components cannot be written", at
/// the severity of one on pod creation; creates and updates are not covered at all.
#[test]
fn whk001_names_the_operations_and_a_delete_only_webhook_does_not_block_writes() {
    let cache = tempfile::tempdir().expect("tempdir");
    let hooks = |name: &str, ops: &str| {
        format!(
            "- name: {name}\n  clientConfig: {{service: {{name: s, namespace: hooks}}}}\n  sideEffects: None\n  \
             admissionReviewVersions: [v1]\n  failurePolicy: Fail\n  rules:\n  - {{apiGroups: [\"\"], \
             apiVersions: [\"v1\"], operations: [{ops}], resources: [\"configmaps\"]}}\n"
        )
    };
    let yaml = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {{name: h}}\n\
         webhooks:\n{}{}",
        hooks("deleteonly.example.com", "\"DELETE\""),
        hooks("createupdate.example.com", "\"CREATE\", \"UPDATE\"")
    );
    let file = cache.path().join("hooks.yaml");
    std::fs::write(&file, yaml).expect("write");
    let out = doctor(&["diagnose", "--manifests", file.to_str().expect("utf-8"), "-o", "json"], cache.path());
    let all = findings(&out);
    let of = |name: &str| {
        all.iter()
            .find(|f| f["code"] == "WHK001" && f["subject"]["name"] == name)
            .unwrap_or_else(|| panic!("no WHK001 for {name}: {all:?}"))
            .clone()
    };
    let delete = of("deleteonly.example.com");
    assert_eq!(delete["severity"], "info", "{delete}");
    assert_eq!(delete["title"], "Webhook deleteonly.example.com fails closed on deletes in kube-system");
    let summary = delete["summary"].as_str().expect("summary");
    assert!(summary.contains("Deletes of configmaps in kube-system are rejected"), "{summary}");
    assert!(summary.contains("can still be created and updated"), "{summary}");
    assert!(!summary.contains("Writes of"), "{summary}");
    let write = of("createupdate.example.com");
    assert_eq!(write["severity"], "warning", "{write}");
    let summary = write["summary"].as_str().expect("summary");
    assert!(summary.contains("Creates and updates of configmaps in kube-system are rejected"), "{summary}");
}

/// Review 26 §12: a `/metrics` scrape given to `--manifests` was called "invalid YAML:
/// deserializing from YAML containing more than one document is not supported".
#[test]
fn a_metrics_scrape_given_as_manifests_is_pointed_to_metrics() {
    let cache = tempfile::tempdir().expect("tempdir");
    let scrape = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../etcd/tests/fixtures/etcd-3.6.6-nri-k8s1_35.prom");
    let out = doctor(&["diagnose", "--manifests", scrape.to_str().expect("utf-8")], cache.path());
    assert_eq!(out.status.code(), Some(2), "nothing to diagnose: {}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("invalid YAML"), "{err}");
    assert!(err.contains("etcd-3.6.6-nri-k8s1_35.prom:"), "{err}");
    assert!(err.contains("not YAML or JSON manifests: it looks like a Prometheus /metrics scrape"), "{err}");
    assert!(err.contains("`apiserver-doctor metrics`, or to `diagnose --metrics`"), "{err}");
}

#[test]
fn one_failing_webhook_seen_by_audit_metrics_and_manifests_offers_its_patches_once() {
    // Review s51, item 7: AUD007, MET009 and WHK001 each offered a `kubectl patch` of the same
    // webhook. With the manifests read, WHK001's (written from the configuration) is the one.
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = simulate("webhook-outage", cache.path());
    let path = |p: &str| sim.path().join(p).to_string_lossy().into_owned();
    let (audit, metrics, manifests) = (path("audit"), path("metrics"), path("manifests"));
    let out = doctor(
        &["diagnose", &audit, "--metrics", &metrics, "--manifests", &manifests, "-o", "json"],
        cache.path(),
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let findings = report["findings"].as_array().expect("findings");
    let patches = |f: &serde_json::Value| {
        f["remedies"]
            .as_array()
            .map(|r| {
                r.iter().filter(|r| r["body"].as_str().is_some_and(|b| b.contains("kubectl patch"))).count()
            })
            .unwrap_or_default()
    };
    let whk: Vec<&serde_json::Value> = findings.iter().filter(|f| f["code"] == "WHK001").collect();
    assert!(!whk.is_empty() && whk.iter().all(|f| patches(f) > 0), "{findings:?}");
    let others: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| ["AUD007", "MET008", "MET009"].contains(&f["code"].as_str().unwrap_or("")))
        .collect();
    assert!(!others.is_empty(), "the outage is seen in the audit log and the scrapes too");
    for f in others {
        assert_eq!(patches(f), 0, "{f}");
    }
    assert!(stdout(&out).contains("the patches are with WHK001"));
}
