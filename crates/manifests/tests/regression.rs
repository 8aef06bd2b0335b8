//! One test per bug of the manifests review (s20), named after it, on the reviewer's inputs
//! (tests/fixtures/review, see its SOURCES.md).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use manifests::{Manifests, load_paths, parse_text};

fn fixture(name: &str) -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/fixtures/review")
        .join(name)
}

fn read(name: &str) -> Manifests {
    load_paths(&[fixture(name)]).expect("readable")
}

/// What was read, as `file:line kind name` lines, and each problem at its line.
fn located(m: &Manifests) -> String {
    let mut out = String::new();
    let base = |p: &str| Path::new(p).file_name().and_then(|n| n.to_str()).unwrap_or(p).to_owned();
    for c in &m.webhook_configurations {
        writeln!(out, "{}:{} {}", base(&c.file), c.line, c.display_name()).ok();
    }
    for f in &m.flow_schemas {
        writeln!(out, "{}:{} FlowSchema/{}", base(&f.file), f.line, f.name).ok();
    }
    for f in &m.files {
        for p in &f.problems {
            writeln!(out, "{}:{}: {}", base(&f.path), p.line, p.message).ok();
        }
    }
    out
}

/// Review item 8: every object of a `kind: List` was reported at the List's line 1.
#[test]
fn objects_in_a_list_are_reported_at_their_own_line() {
    let m = read("list_bad_item.yaml");
    insta::assert_snapshot!("list_bad_item_yaml", located(&m));
    insta::assert_snapshot!("list_yaml", located(&read("list.yaml")));
    insta::assert_snapshot!("list_json", located(&read("list.json")));
    // WHK001's evidence points at the item too.
    let mut m = Manifests::default();
    parse_text("list.yaml", &std::fs::read_to_string(fixture("list.yaml")).expect("fixture"), &mut m);
    let findings = manifests::checks::run(&m, &Default::default());
    let sources: Vec<&str> = findings.iter().map(|f| f.evidence.source.as_str()).collect();
    insta::assert_snapshot!("list_yaml_whk001_sources", sources.join("\n"));
}

/// Review item 8: an item whose line cannot be found (a flow-style list) is named by its
/// position in the List.
#[test]
fn an_item_of_a_flow_style_list_is_named_by_its_position() {
    let mut m = Manifests::default();
    parse_text(
        "flow.yaml",
        "apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap, apiVersion: v1}, {apiVersion: v1}]\n",
        &mut m,
    );
    insta::assert_snapshot!("flow_style_list", located(&m));
}

/// Review item 9: a misspelled kind in the webhook or APF groups was only counted among the
/// "other objects left out".
#[test]
fn a_misspelled_webhook_or_apf_kind_is_reported_with_the_nearest_kind() {
    let m = read("bad.yaml");
    insta::assert_snapshot!("bad_yaml", located(&m));
    let mut m = Manifests::default();
    parse_text(
        "kinds.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchemas\nmetadata: {name: a}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfig\n---\napiVersion: v1\nkind: MutatingWebhookConfiguration\nmetadata: {name: c}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: d}\n---\napiVersion: example.com/v1\nkind: FlowSchemaz\n",
        &mut m,
    );
    insta::assert_snapshot!("misspelled_kinds", located(&m));
    assert_eq!(
        m.files[0].other_objects, 2,
        "ValidatingAdmissionPolicy and another group's kind are left out quietly"
    );
}

/// Review item 10: two JSON objects one after the other (JSON Lines) lost the whole file.
#[test]
fn concatenated_json_values_are_all_read() {
    let m = read("concat.json");
    insta::assert_snapshot!("concat_json", located(&m));
    // A bad value is reported at its line; the good ones around it are kept.
    let mut m = Manifests::default();
    let hook = |n: &str| {
        format!(
            r#"{{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {{"name": "{n}"}}}}"#
        )
    };
    let text = format!(
        "{}\n{{\"kind\": \n{}\n\n{{\n  \"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n    {},\n    {}\n  ]\n}}\n",
        hook("a"),
        hook("c"),
        hook("d"),
        hook("e")
    );
    parse_text("lines.json", &text, &mut m);
    insta::assert_snapshot!("json_lines_with_a_bad_value", located(&m));
}

/// An AUD007 finding as the checks crate writes it: its example failures are the messages
/// after the webhook's name.
fn failing(webhook: &str, reason: Option<&str>) -> findings::Finding {
    let remedy = |title: &str, body: &str| findings::Remedy {
        title: title.into(),
        kind: findings::RemedyKind::Command,
        body: body.into(),
        safety: findings::Safety::ReviewFirst,
    };
    findings::Finding {
        code: "AUD007".into(),
        severity: findings::Severity::Critical,
        title: format!("webhook {webhook} failed 141 times (10.0 s each on average)"),
        subject: findings::Subject::new("webhook", webhook),
        time_range: None,
        summary: format!(
            "The API server could not call admission webhook {webhook} 141 times. Reason: {}.",
            reason.unwrap_or("not given")
        ),
        evidence: findings::Evidence {
            table: reason.map(|r| findings::Table {
                columns: vec!["example failure".into()],
                rows: vec![vec![r.to_owned()]],
            }),
            ..Default::default()
        },
        thresholds: Vec::new(),
        remedies: vec![remedy("Find the configuration", "kubectl get …"), remedy("patch", "CONFIGURATION")],
    }
}

/// The manifests of `files` (fixtures), each named by its file name.
fn fixtures(files: &[&str]) -> Manifests {
    let mut m = Manifests::default();
    for f in files {
        parse_text(f, &std::fs::read_to_string(fixture(f)).expect("fixture"), &mut m);
    }
    m
}

/// A failing-webhook finding's summary and remedies, as a report shows them.
fn shown(f: &findings::Finding) -> String {
    let mut out = format!("{}\n", f.summary);
    for (i, r) in f.remedies.iter().enumerate() {
        writeln!(out, "{}. {} [{:?}]\n{}", i + 1, r.title, r.safety, r.body).ok();
    }
    out
}

const KYVERNO_TIMEOUT: &str = r#"failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=10s": context deadline exceeded"#;

/// Review item 5: AUD007's fail-open patch and "check the service" placeholder were written
/// for another team's configuration whose webhook has the same name but fails open.
#[test]
fn a_same_named_webhook_that_fails_open_gets_no_patch_from_a_failing_webhook() {
    let m = fixtures(&["sim_wh_webhooks.yaml", "samename.yaml"]);
    let mut found = vec![failing("mutate.kyverno.svc-fail", Some(KYVERNO_TIMEOUT))];
    manifests::refine_remedies(&mut found, &m);
    let text = shown(&found[0]);
    assert!(!text.contains("validatingwebhookconfigurations other-team-vwc"), "{text}");
    insta::assert_snapshot!("same_name_fail_open", text);
    // WHK001: only kyverno's is failing; the other fails open and is not judged.
    let mut ctx = manifests::checks::Context::default();
    ctx.add_failing(&found[0]);
    let titles: Vec<String> = manifests::checks::run(&m, &ctx)
        .iter()
        .map(|f| format!("{:?} {} ({})", f.severity, f.title, f.evidence.source))
        .collect();
    insta::assert_snapshot!("same_name_fail_open_whk001", titles.join("\n"));
}

/// Review item 5: two fail-closed configurations with a webhook of the failing name were both
/// patched; the failure's URL tells which one it is, and without it the name is ambiguous.
#[test]
fn a_failing_webhook_name_held_by_two_fail_closed_configurations_is_told_apart_by_its_url_or_said_ambiguous()
{
    let other = std::fs::read_to_string(fixture("samename.yaml"))
        .expect("fixture")
        .replace("failurePolicy: Ignore", "failurePolicy: Fail");
    let mut m = fixtures(&["sim_wh_webhooks.yaml"]);
    parse_text("samename-fail.yaml", &other, &mut m);
    // The URL is kyverno's service: kyverno's configuration alone.
    let mut found = vec![failing("mutate.kyverno.svc-fail", Some(KYVERNO_TIMEOUT))];
    manifests::refine_remedies(&mut found, &m);
    let text = shown(&found[0]);
    assert!(!text.contains("patch validatingwebhookconfigurations other-team-vwc"), "{text}");
    insta::assert_snapshot!("same_name_told_by_url", text);
    // No URL in the messages: ambiguous, every candidate named.
    let mut found = vec![failing("mutate.kyverno.svc-fail", None)];
    manifests::refine_remedies(&mut found, &m);
    insta::assert_snapshot!("same_name_ambiguous", shown(&found[0]));
    let mut ctx = manifests::checks::Context::default();
    ctx.add_failing(&found[0]);
    let whk: Vec<String> = manifests::checks::run(&m, &ctx)
        .iter()
        .filter(|f| f.subject.name == "mutate.kyverno.svc-fail")
        .map(|f| format!("{:?} {}\n{}\n{}", f.severity, f.title, f.summary, f.remedies[0].title))
        .collect();
    insta::assert_snapshot!("same_name_ambiguous_whk001", whk.join("\n\n"));
}

/// Review item 5: cert-manager names its mutating and validating webhooks alike; both are
/// called at the same service, so a failure there is both of theirs.
#[test]
fn cert_managers_two_webhooks_of_one_name_and_one_service_are_both_failing() {
    let m = load_paths(&[Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("tests/fixtures/webhooks/cert-manager_v1.5.4_webhooks_extracted.yaml")])
    .expect("fixture");
    let mut found = vec![failing(
        "webhook.cert-manager.io",
        Some(
            r#"failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s": x509: certificate signed by unknown authority"#,
        ),
    )];
    manifests::refine_remedies(&mut found, &m);
    let titles: Vec<&str> = found[0].remedies.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
    assert!(!found[0].summary.contains("ambiguous"), "{}", found[0].summary);
}

/// Like audit YAML (ingest review s38, item 4): a manifest whose brackets nest absurdly deep
/// kept the YAML parser busy for tens of seconds; it is skipped unparsed at its line, and the
/// documents beside it are read.
#[test]
fn a_manifest_nested_absurdly_deep_is_skipped_without_parsing_it() {
    let deep = format!("kind: ConfigMap\ndata:\n  a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let text = format!(
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: a\nspec:\n  priorityLevelConfiguration:\n    name: global-default\n  matchingPrecedence: 1000\n---\n{deep}"
    );
    let mut m = Manifests::default();
    parse_text("deep.yaml", &text, &mut m);
    assert_eq!(m.flow_schemas.len(), 1);
    assert_eq!(
        located(&m).lines().last(),
        Some("deep.yaml:12: invalid YAML: brackets nested deeper than 128 levels, not parsed")
    );
}

/// Review s40: numbers the API server refuses were read as if absent or taken as written:
/// `nominalConcurrencyShares: -1` (read as 30), `lendablePercent: 500` (read as 0), and
/// `matchingPrecedence: -5` said to be "not a whole number". Each is named with its field.
#[test]
fn apf_numbers_out_of_the_api_servers_ranges_are_named_with_their_field() {
    let level = |limited: &str| {
        format!(
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata:\n  name: p\nspec:\n  type: Limited\n  limited:\n{limited}"
        )
    };
    for (limited, says) in [
        (
            "    nominalConcurrencyShares: -1\n",
            "PriorityLevelConfiguration p: spec.limited.nominalConcurrencyShares: expected a whole number of 0 or more, got -1",
        ),
        (
            "    lendablePercent: 500\n",
            "PriorityLevelConfiguration p: spec.limited.lendablePercent: expected a percentage from 0 to 100, got 500",
        ),
        (
            "    nominalConcurrencyShares: 2.5\n",
            "spec.limited.nominalConcurrencyShares: expected a whole number of 0 or more, got 2.5",
        ),
        (
            "    limitResponse:\n      type: Queue\n      queuing:\n        queues: -4\n",
            "spec.limited.limitResponse.queuing.queues: expected a whole number",
        ),
    ] {
        let mut m = Manifests::default();
        parse_text("plc.yaml", &level(limited), &mut m);
        assert!(m.priority_levels.is_empty(), "{limited}");
        assert!(located(&m).contains(says), "{limited}: {}", located(&m));
    }
    // In range, and null (absent), it is read.
    let mut m = Manifests::default();
    parse_text(
        "plc.yaml",
        &level(
            "    nominalConcurrencyShares: 5\n    lendablePercent: 100\n    borrowingLimitPercent: null\n",
        ),
        &mut m,
    );
    assert_eq!(m.priority_levels.len(), 1, "{}", located(&m));
    let schema = "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: a\nspec:\n  priorityLevelConfiguration:\n    name: global-default\n  matchingPrecedence: PREC\n";
    for prec in ["-5", "10001"] {
        let mut m = Manifests::default();
        parse_text("fs.yaml", &schema.replace("PREC", prec), &mut m);
        assert!(m.flow_schemas.is_empty(), "{prec}");
        assert!(
            located(&m).contains(&format!(
                "FlowSchema a: spec.matchingPrecedence: expected a whole number from 1 to 10000, got {prec}"
            )),
            "{prec}: {}",
            located(&m)
        );
    }
}

/// Review s44 item 2: a webhook written `<<: *hook` plus `failurePolicy: Fail` was read
/// without the rules it merges in (the `<<` key ignored), and its deadlock was missed.
#[test]
fn yaml_merge_keys_are_resolved_as_kubectl_does() {
    let mut m = Manifests::default();
    parse_text(
        "anchors.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: \
         anchors\nwebhooks:\n- &hook\n  name: a.example.com\n  admissionReviewVersions: [\"v1\"]\n  sideEffects: \
         None\n  failurePolicy: Ignore\n  clientConfig:\n    service: {namespace: hooks, name: svc}\n  rules:\n  - \
         apiGroups: [\"\"]\n    apiVersions: [\"v1\"]\n    operations: [\"CREATE\"]\n    resources: [\"pods\"]\n- <<: \
         *hook\n  name: b.example.com\n  failurePolicy: Fail\n",
        &mut m,
    );
    let hooks = &m.webhook_configurations[0].webhooks;
    let seen: Vec<(&str, String, usize)> =
        hooks.iter().map(|w| (w.name.as_str(), format!("{:?}", w.failure_policy), w.rules.len())).collect();
    assert_eq!(seen, [("a.example.com", "Ignore".to_owned(), 1), ("b.example.com", "Fail".to_owned(), 1)]);
    assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
    // A merge key whose value is no mapping is named, not ignored.
    let mut bad = Manifests::default();
    parse_text("bad.yaml", "apiVersion: v1\nkind: List\n<<: 3\nitems: []\n", &mut bad);
    assert!(
        bad.files[0]
            .problems
            .iter()
            .any(|p| p.line == 1 && p.message.starts_with("invalid YAML merge key (`<<`)")),
        "{:?}",
        bad.files[0].problems
    );
}

/// Review s45 item 7: names from the manifests reached shell commands unquoted: WHK001's
/// `kubectl label namespace x;id …` (the webhook's service namespace, and the selector's
/// label), APF001's and APF002's `kubectl … flowschema a;id`, and the throttle verdict's
/// `kubectl get prioritylevelconfiguration x;id -o yaml`. Each is quoted for the shell now.
#[test]
fn names_from_the_manifests_are_shell_quoted_in_commands() {
    let mut m = Manifests::default();
    parse_text(
        "hostile.yaml",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: cfg\nwebhooks:\n\
         - name: w.example.com\n  clientConfig:\n    service:\n      namespace: 'x;id'\n      name: svc\n  rules:\n  - \
         apiGroups: ['']\n    apiVersions: [v1]\n    operations: [CREATE, UPDATE]\n    resources: [pods]\n  \
         namespaceSelector:\n    matchExpressions:\n    - {key: example.com/hooks, operator: NotIn, values: ['$(id)']}\n\
         ---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata: {name: mine}\n\
         spec: {type: Limited}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: \
         'a;id'}\nspec:\n  priorityLevelConfiguration: {name: missing}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\n\
         kind: FlowSchema\nmetadata: {name: 'b;id'}\nspec:\n  matchingPrecedence: 50\n  priorityLevelConfiguration: {name: \
         exempt}\n  rules:\n  - subjects: [{kind: Group, group: {name: 'system:serviceaccounts:ci'}}]\n    resourceRules: \
         [{verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}]\n",
        &mut m,
    );
    assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
    let findings = manifests::checks::run(&m, &Default::default());
    let commands: Vec<&str> = findings
        .iter()
        .flat_map(|f| &f.remedies)
        .filter(|r| r.kind == findings::RemedyKind::Command || r.body.contains("kubectl patch"))
        .flat_map(|r| r.body.lines())
        .filter(|l| l.contains("kubectl"))
        .collect();
    for says in [
        "kubectl label namespace 'x;id' 'example.com/hooks=$(id)' --overwrite",
        "kubectl label namespace kube-system 'example.com/hooks=$(id)' --overwrite",
        "kubectl get flowschema 'a;id' -o jsonpath=",
        "kubectl patch flowschema 'a;id' --type=merge",
        "kubectl patch flowschema 'b;id' --type=merge",
    ] {
        assert!(commands.iter().any(|c| c.contains(says)), "{says}:\n{}", commands.join("\n"));
    }
    for bare in ["namespace x;id", "flowschema a;id", "flowschema b;id", "=$(id) "] {
        assert!(!commands.iter().any(|c| c.contains(bare)), "{bare}:\n{}", commands.join("\n"));
    }
    // The throttle verdict: the client's requests go to a level not among the manifests.
    let mut cluster = Manifests::default();
    parse_text(
        "cluster.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: ci}\nspec:\n  matchingPrecedence: \
         500\n  priorityLevelConfiguration: {name: 'x;id'}\n  rules:\n  - subjects: [{kind: ServiceAccount, \
         serviceAccount: {namespace: ci, name: runner}}]\n    resourceRules: [{verbs: ['*'], apiGroups: ['*'], \
         resources: ['*'], namespaces: ['*'], clusterScope: true}]\n",
        &mut cluster,
    );
    let plan = remedy::ThrottlePlan::new(
        "runner",
        vec![remedy::ApfSubject::from_username("system:serviceaccount:ci:runner")],
        vec![remedy::ResourceRule {
            verbs: ["list".to_owned()].into(),
            api_groups: ["".to_owned()].into(),
            resources: ["pods".to_owned()].into(),
            cluster_scope: true,
            namespaces: ["*".to_owned()].into(),
        }],
    );
    let yaml = remedy::throttle_manifests(&plan, remedy::FlowControlApi::V1).expect("yaml");
    let v = manifests::throttle::judge(&yaml, &cluster).expect("a FlowSchema");
    let body = manifests::throttle::verdict_remedy(&v).body;
    assert!(body.contains("`kubectl get prioritylevelconfiguration 'x;id' -o yaml`"), "{body}");
    assert!(!body.contains("prioritylevelconfiguration x;id"), "{body}");
}

/// Review s45 item 8: a PriorityLevelConfiguration of `type: Exempt` under another name than
/// `exempt` was read, and the FlowSchemas sending to it reported by APF002, though the API server
/// refuses it ("type must be 'Exempt' if and only if name is 'exempt'"). It is a problem of its
/// file now, named with the rule, and left out; so is an `exempt` of type Limited.
#[test]
fn an_exempt_priority_level_not_named_exempt_is_refused_as_the_api_server_does() {
    let mut m = Manifests::default();
    parse_text(
        "levels.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\nmetadata: {name: my-exempt}\n\
         spec: {type: Exempt}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: PriorityLevelConfiguration\n\
         metadata: {name: exempt}\nspec: {type: Limited, limited: {nominalConcurrencyShares: 5}}\n---\napiVersion: \
         flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: custom-exempt-level}\nspec:\n  \
         matchingPrecedence: 50\n  priorityLevelConfiguration: {name: my-exempt}\n  rules:\n  - subjects: [{kind: Group, \
         group: {name: 'system:serviceaccounts:monitoring'}}]\n    resourceRules: [{verbs: ['*'], apiGroups: ['*'], \
         resources: [pods], namespaces: ['*']}]\n",
        &mut m,
    );
    assert!(m.priority_levels.is_empty(), "{:?}", m.priority_levels);
    assert_eq!(
        located(&m),
        "levels.yaml:11 FlowSchema/custom-exempt-level\n\
         levels.yaml:1: PriorityLevelConfiguration my-exempt: spec.type: Exempt, but only the priority level named \
         `exempt` may be of type Exempt (the API server refuses it: \"type must be 'Exempt' if and only if name is \
         'exempt'\"); make it Limited, or send its FlowSchemas to `exempt`\n\
         levels.yaml:6: PriorityLevelConfiguration exempt: spec.type: Limited, but the priority level named `exempt` \
         must be of type Exempt (the API server refuses it: \"type must be 'Exempt' if and only if name is 'exempt'\")\n"
    );
    let codes: Vec<String> =
        manifests::checks::run(&m, &Default::default()).into_iter().map(|f| f.code).collect();
    assert!(!codes.iter().any(|c| c == "APF002"), "{codes:?}");
}

/// Review s45 item 9: values the API server defaults were read as written. A FlowSchema of
/// `matchingPrecedence: 0` (defaulted to 1000 by `SetDefaults_FlowSchemaSpec`) was refused, and
/// a level's `queues`, `handSize` or `queueLengthLimit` of 0 (defaulted to 64, 8 and 50 by
/// `SetDefaults_QueuingConfiguration`) was read as 0, so the level had no queue places and was
/// taken to hold any client as tightly as a throttle.
#[test]
fn zero_precedence_and_zero_queuing_are_read_as_the_api_servers_defaults() {
    let mut m = Manifests::default();
    parse_text(
        "zero.yaml",
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: a}\nspec:\n  matchingPrecedence: \
         0\n  priorityLevelConfiguration: {name: zero}\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: \
         PriorityLevelConfiguration\nmetadata: {name: zero}\nspec:\n  type: Limited\n  limited:\n    \
         nominalConcurrencyShares: 5\n    borrowingLimitPercent: 0\n    limitResponse:\n      type: Queue\n      \
         queuing: {queues: 0, handSize: 0, queueLengthLimit: 0}\n",
        &mut m,
    );
    assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
    assert_eq!(m.flow_schemas.iter().map(|f| f.matching_precedence).collect::<Vec<_>>(), [1000]);
    let limits = m.priority_levels[0].limits.expect("limited");
    assert_eq!(limits.queuing, Some((64, 8, 50)));
    assert_eq!(limits.flow_queue_capacity(), 400);
    // Not as tight as 5 shares and 16 queues of 50 with handSize 4 (200 of one client's).
    let proposed = manifests::apf::Limits { queuing: Some((16, 4, 50)), ..limits };
    assert!(!limits.holds_as_tightly_as(&proposed));
}

const POLICY_WEBHOOK: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: policy
webhooks:
- name: policy.example.com
  failurePolicy: Fail
  sideEffects: None
  admissionReviewVersions: [v1]
  clientConfig:
    service:
      namespace: policy
      name: svc
  rules:
  - apiGroups: ['*']
    apiVersions: ['*']
    operations: [CREATE, UPDATE]
    resources: ['*']
";

/// A validating webhook called at `policy/svc`, failing closed on everything, with `selectors`
/// (YAML lines at the webhook's indentation).
fn policy_webhook(selectors: &str) -> Manifests {
    let mut m = Manifests::default();
    parse_text("policy.yaml", &format!("{POLICY_WEBHOOK}{selectors}"), &mut m);
    assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
    m
}

const POLICY_TIMEOUT: &str = r#"failed to call webhook: Post "https://svc.policy.svc:443/validate?timeout=10s": context deadline exceeded"#;

/// Review 47 #3: a failing webhook whose namespaceSelector picks kube-system alone by name got
/// a patch adding kube-system to a NotIn: a selector that matches no namespace, which turned the
/// webhook off without a word. Now the patch only makes it fail open, with WHK001's caution;
/// so too when some of the names it picks would be left.
#[test]
fn a_failing_webhooks_patch_left_a_selector_that_picks_no_namespace_and_turned_the_webhook_off() {
    let patched = |selector: &str| {
        let m = policy_webhook(selector);
        let mut found = vec![failing("policy.example.com", Some(POLICY_TIMEOUT))];
        manifests::refine_remedies(&mut found, &m);
        found.remove(0).remedies.remove(0)
    };
    let only_kube_system =
        patched("  namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: kube-system\n");
    assert_eq!(only_kube_system.title, "Make webhook policy.example.com fail open (failurePolicy: Ignore)");
    let body = &only_kube_system.body;
    assert!(
        body.starts_with(
            r#"kubectl patch validatingwebhookconfigurations policy --type=strategic -p '{"webhooks":[{"failurePolicy":"Ignore","name":"policy.example.com"}]}'"#
        ),
        "{body}"
    );
    assert!(!body.contains("NotIn"), "{body}");
    assert!(
        body.contains(
            "# CAUTION: its namespaceSelector picks only kube-system by name: leaving it out would make it cover no \
             namespace at all, which turns the webhook off."
        ),
        "{body}"
    );
    // WHK001 gives the same caution for its own patch.
    let m = policy_webhook(
        "  namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: kube-system\n",
    );
    let whk = manifests::checks::run(&m, &Default::default());
    let whk_patch =
        whk.iter().flat_map(|f| &f.remedies).find(|r| r.title.starts_with("Stop ")).expect("patch");
    assert!(
        whk_patch.body.contains("covers no namespace at all, which turns the webhook off"),
        "{}",
        whk_patch.body
    );

    // Fewer names left: the selector is kept as it is, and what would be left is named.
    let fewer = patched(
        "  namespaceSelector:\n    matchExpressions:\n    - key: kubernetes.io/metadata.name\n      operator: In\n      values: [kube-system, apps]\n",
    );
    assert_eq!(fewer.title, "Make webhook policy.example.com fail open (failurePolicy: Ignore)");
    assert!(!fewer.body.contains("\"namespaceSelector\""), "{}", fewer.body);
    assert!(
        fewer.body.contains("leaving kube-system out of it would make it cover only apps, taking away namespaces it exists for"),
        "{}",
        fewer.body
    );

    // Names that leave kube-system and its own namespace out already: the patch is as before.
    let elsewhere =
        patched("  namespaceSelector:\n    matchLabels:\n      kubernetes.io/metadata.name: apps\n");
    assert_eq!(
        elsewhere.title,
        "Make webhook policy.example.com fail open (failurePolicy: Ignore) and stop it covering kube-system and policy"
    );
    assert!(
        elsewhere.body.contains(r#""operator":"NotIn","values":["kube-system","policy"]"#),
        "{}",
        elsewhere.body
    );
    assert!(!elsewhere.body.contains("CAUTION"), "{}", elsewhere.body);
}

/// Review 47 #5: WHK001 took any objectSelector to leave Node objects out, though one that
/// leaves out objects by a label nodes do not carry (`DoesNotExist`, `NotIn`) takes in every
/// Node. It is matched against the labels every Node carries; when it compares their values,
/// the finding says so rather than saying nothing.
#[test]
fn whk001_took_any_object_selector_to_leave_node_objects_out() {
    let judged = |selector: &str| {
        let m = policy_webhook(selector);
        manifests::checks::run(&m, &Default::default())
            .into_iter()
            .filter(|f| f.code == "WHK001")
            .collect::<Vec<_>>()
    };
    // The reviewer's input.
    let out = judged(
        "  objectSelector:\n    matchExpressions:\n    - key: policy.example.com/skip\n      operator: DoesNotExist\n",
    );
    assert_eq!(out.len(), 1, "{out:#?}");
    let f = &out[0];
    assert!(f.title.contains("Node objects"), "{}", f.title);
    assert!(
        f.summary.contains(
            "New nodes cannot register and Node objects cannot be updated (labels, taints, the kubelet's own \
             updates of them); their status (`nodes/status`, which its rules do not cover) is still reported: a \
             namespaceSelector cannot leave those out, and its objectSelector takes in every Node (it was matched \
             against the labels every Node carries: kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch)."
        ),
        "{}",
        f.summary
    );
    assert!(f.remedies.iter().any(|r| r.title.starts_with("Narrow the rules")), "{:#?}", f.remedies);

    // Its outcome depends on the values of a node label: named, not checked.
    let out = judged(
        "  objectSelector:\n    matchExpressions:\n    - key: kubernetes.io/os\n      operator: In\n      values: [linux]\n",
    );
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].title, "Webhook policy.example.com fails closed on Node objects");
    assert!(
        out[0].summary.contains(
            "is still reported, unless its objectSelector leaves them out: it was not checked, as that depends \
             on the values of their kubernetes.io/os label"
        ),
        "{}",
        out[0].summary
    );

    // A selector on a label nodes do not carry leaves them out, as before.
    let out = judged("  objectSelector:\n    matchLabels:\n      app: web\n");
    assert!(out.iter().all(|f| !f.title.contains("Node objects")), "{out:#?}");
}

/// On-call review 52, item 11: a rule of `resources: ["*"]` was said to stop kubelets updating
/// their Node objects, read as nodes going NotReady; `*` matches no subresource, so
/// `nodes/status` is not covered. `*/*` covers it.
#[test]
fn a_webhook_on_every_resource_but_no_subresource_leaves_node_status_out() {
    let text = POLICY_WEBHOOK.replace("resources: ['*']", "resources: ['*/*']");
    let mut m = Manifests::default();
    parse_text("policy.yaml", &text, &mut m);
    let out: Vec<_> =
        manifests::checks::run(&m, &Default::default()).into_iter().filter(|f| f.code == "WHK001").collect();
    let f = out.iter().find(|f| f.title.contains("Node objects")).expect("Node objects");
    assert!(
        f.summary.contains("Kubelets cannot update their Node objects or report their status"),
        "{}",
        f.summary
    );
    let m = policy_webhook("");
    let out: Vec<_> =
        manifests::checks::run(&m, &Default::default()).into_iter().filter(|f| f.code == "WHK001").collect();
    let f = out.iter().find(|f| f.title.contains("Node objects")).expect("Node objects");
    assert!(
        f.summary.contains("their status (`nodes/status`, which its rules do not cover) is still reported"),
        "{}",
        f.summary
    );
    assert!(!f.summary.contains("report their status"), "{}", f.summary);
}

/// A fail-closed ValidatingWebhookConfiguration on every resource, as the review s53 made it.
const DEADLY: &str = "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: deadly
webhooks:
  - name: deadly.example.com
    failurePolicy: Fail
    sideEffects: None
    clientConfig:
      service: {name: deadly, namespace: deadly-system, path: /validate}
    rules:
      - {operations: [\"*\"], apiGroups: [\"*\"], apiVersions: [\"*\"], resources: [\"*/*\"], scope: \"*\"}
    admissionReviewVersions: [v1]
";

/// Review s53, item 4: one Latin-1 byte in a ConfigMap dropped the whole file, both
/// fail-closed webhooks with it, and the summary said "1 document unreadable".
#[test]
fn one_non_utf8_byte_dropped_every_document_of_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = DEADLY.as_bytes().to_vec();
    bytes.extend_from_slice(b"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xe9\n---\n");
    bytes.extend_from_slice(DEADLY.replace("deadly", "second").as_bytes());
    let path = dir.path().join("latin1multi.yaml");
    std::fs::write(&path, bytes).expect("write");
    let m = load_paths(&[path]).expect("readable");
    let names: Vec<String> = m.webhook_configurations.iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["deadly", "second"]);
    let problems = &m.files[0].problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let line = DEADLY.lines().count() + 5;
    assert_eq!(problems[0].line, line);
    assert!(
        problems[0].message.starts_with(&format!("not UTF-8 text (byte 0xE9 on line {line}")),
        "{}",
        problems[0].message
    );
    assert!(problems[0].message.contains("the others are read"), "{}", problems[0].message);
}

/// Review s53, item 5: UTF-16 (Windows PowerShell's `kubectl get … > file`) was "not UTF-8
/// text: not a manifest".
#[test]
fn utf16_manifests_were_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, little) in [("le.yaml", true), ("be.yaml", false)] {
        let bytes = findings::text::encode_utf16(DEADLY, little, true);
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let m = load_paths(&[path]).expect("readable");
        assert_eq!(m.webhook_configurations.len(), 1, "{:?}", m.files);
        let note = "text with a byte order mark, decoded and read (as Windows PowerShell 5 writes `>`)";
        assert!(m.notes.iter().any(|n| n.contains(note)), "{:?}", m.notes);
    }
}

/// UTF-16 without a byte order mark (what some Windows tools write; Windows PowerShell 5 writes
/// one) was read as UTF-8, its NUL bytes and all: "invalid YAML", the fail-closed webhook lost.
/// Its zero bytes tell it now, in YAML and JSON, either byte order; the note says how it was told.
#[test]
fn utf16_without_a_byte_order_mark_was_read_as_utf8() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The same configuration as one line of JSON.
    let value: serde_json::Value = yaml_serde::from_str(DEADLY).expect("YAML");
    let json = value.to_string();
    for (name, text, little, order) in [
        ("le.yaml", DEADLY, true, "UTF-16LE"),
        ("be.yaml", DEADLY, false, "UTF-16BE"),
        ("le.json", json.as_str(), true, "UTF-16LE"),
    ] {
        let bytes = findings::text::encode_utf16(text, little, false);
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let m = load_paths(std::slice::from_ref(&path)).expect("readable");
        assert_eq!(m.webhook_configurations.len(), 1, "{name}: {:?}", m.files);
        assert_eq!(m.webhook_configurations[0].display_name(), "ValidatingWebhookConfiguration/deadly");
        assert_eq!(
            m.notes,
            [format!(
                "{}: {order} text without a byte order mark (told from its zero bytes), decoded and read",
                path.display()
            )],
            "{name}"
        );
    }
    // UTF-8 is read as UTF-8, without a note.
    let path = dir.path().join("utf8.yaml");
    std::fs::write(&path, DEADLY).expect("write");
    let m = load_paths(&[path]).expect("readable");
    assert_eq!((m.webhook_configurations.len(), m.notes.len()), (1, 0), "{:?}", m.notes);
}

/// Review s53, item 12: a Helm template was "invalid JSON: key must be a string" (`{{- if …`
/// first) or "invalid YAML: metadata.name: invalid type: map" (`name: {{ include … }}`).
#[test]
fn a_helm_template_was_reported_as_bad_json_or_yaml() {
    for (text, line) in [
        (format!("{{{{- if .Values.webhook.enabled }}}}\n{DEADLY}{{{{- end }}}}\n"), 1),
        (DEADLY.replace("name: deadly\n", "name: {{ include \"x.fullname\" . }}\n"), 4),
    ] {
        let mut m = Manifests::default();
        parse_text("helm.yaml", &text, &mut m);
        let problems = &m.files[0].problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, line);
        assert!(
            problems[0].message.starts_with("a Helm template, not a manifest: render it with `helm template")
        );
    }
    // `{{ … }}` inside a quoted string of a manifest that reads is no template.
    let mut m = Manifests::default();
    parse_text("ok.yaml", &DEADLY.replace("path: /validate", "path: \"/{{ x }}\""), &mut m);
    assert_eq!(m.webhook_configurations.len(), 1, "{:?}", m.files);
}

/// Review s53, item 12: `admissionregistration.k8s.io/v9` was read as v1 without a word.
#[test]
fn an_unknown_admissionregistration_version_was_read_as_v1() {
    let mut m = Manifests::default();
    parse_text("v9.yaml", &DEADLY.replace("/v1\n", "/v9\n"), &mut m);
    assert!(m.webhook_configurations.is_empty());
    let message = &m.files[0].problems[0].message;
    assert!(
        message.starts_with(
            "ValidatingWebhookConfiguration: apiVersion: `admissionregistration.k8s.io/v9` is no version"
        ),
        "{message}"
    );
    let mut m = Manifests::default();
    parse_text("beta.yaml", &DEADLY.replace("/v1\n", "/v1beta1\n"), &mut m);
    assert_eq!(m.webhook_configurations.len(), 1);
}

/// Review s53, items 3 and 12: a FIFO in a directory hung the walk (opened, waiting for a
/// writer), and a symbolic link back up the tree gave each file again under loop/loop/….
#[cfg(unix)]
#[test]
fn a_fifo_in_a_directory_hung_and_a_link_loop_was_walked_forty_deep() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("base.yaml"), DEADLY).expect("write");
    let fifo = dir.path().join("p.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink(".", dir.path().join("loop")).expect("symlink");
    let m = load_paths(&[dir.path().to_path_buf()]).expect("readable");
    assert_eq!(m.webhook_configurations.len(), 1);
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(
        m.notes[0].ends_with("p.yaml: a named pipe (FIFO), not read in a directory walk"),
        "{:?}",
        m.notes
    );
}

/// The WHK001 findings of `yaml`.
fn whk001(yaml: &str) -> Vec<findings::Finding> {
    let mut m = Manifests::default();
    parse_text("merge.yaml", yaml, &mut m);
    assert!(m.files[0].problems.is_empty(), "{:?}", m.files[0].problems);
    manifests::checks::run(&m, &Default::default()).into_iter().filter(|f| f.code == "WHK001").collect()
}

/// A fail-closed validating webhook, served from `hooks`, with `rules` (YAML lines at the
/// rules' indentation).
fn fail_closed_with_rules(rules: &str) -> String {
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: merge\n\
         webhooks:\n- name: merge.example.com\n  failurePolicy: Fail\n  sideEffects: None\n  \
         admissionReviewVersions: [v1]\n  clientConfig:\n    service: {{namespace: hooks, name: svc}}\n  rules:\n{rules}"
    )
}

/// Reviewer's defect: WHK001 joined the kube-system resources a webhook covers into one list
/// with one set of operations: "Creates, updates and deletes of pods, configmaps, leases in
/// kube-system are rejected" for rules of every write of pods, configmaps and leases in the core
/// group (which serves no leases: that entry matches none) and of updates of
/// coordination.k8s.io leases. Leases are covered for updates only.
#[test]
fn whk001_merged_the_operations_of_every_kube_system_resource_into_one() {
    let out = whk001(&fail_closed_with_rules(
        "  - {apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE, DELETE], resources: [pods, configmaps, leases]}\n\
         \x20 - {apiGroups: [coordination.k8s.io], apiVersions: [v1], operations: [UPDATE], resources: [leases]}\n",
    ));
    assert_eq!(out.len(), 1, "{out:#?}");
    let f = &out[0];
    assert_eq!(
        f.title,
        "Webhook merge.example.com fails closed on kube-system, node heartbeats (leases in kube-node-lease) and its own pods in hooks"
    );
    let sentence = " In kube-system, creates, updates and deletes of pods and configmaps are rejected, as are \
                    updates of leases (coordination.k8s.io). Its rules list leases under the core API group (\"\"), \
                    which serves none: leases are served by coordination.k8s.io, so that entry matches nothing.";
    assert!(f.summary.contains(sentence), "{}", f.summary);
    assert!(!f.summary.contains("pods, configmaps, leases"), "{}", f.summary);
    let table = f.evidence.table.as_ref().expect("table");
    let kube_system: Vec<&Vec<String>> = table.rows.iter().filter(|r| r[0] == "kube-system").collect();
    assert_eq!(
        kube_system,
        [
            &vec![
                "kube-system".to_owned(),
                "pods, configmaps".to_owned(),
                "system components cannot be written".to_owned()
            ],
            &vec![
                "kube-system".to_owned(),
                "leases (coordination.k8s.io)".to_owned(),
                "updates are refused".to_owned()
            ],
        ]
    );
}

/// The same merge for Node objects: a webhook on `nodes/status` alone was said to stop Node
/// objects being updated, and one on creates of nodes alone to stop their updates too.
#[test]
fn whk001_merged_the_writes_of_node_objects_and_their_status_into_one() {
    let only_status = whk001(&fail_closed_with_rules(
        "  - {apiGroups: [''], apiVersions: [v1], operations: [UPDATE], resources: [nodes/status]}\n",
    ));
    assert_eq!(only_status.len(), 1, "{only_status:#?}");
    assert!(
        only_status[0].summary.contains(
            " Kubelets cannot report their nodes' status (`nodes/status`); new nodes can still register (its rules \
             do not cover creates of nodes) and Node objects can still be updated (its rules do not cover updates \
             of nodes), and a namespaceSelector cannot leave those out."
        ),
        "{}",
        only_status[0].summary
    );
    let only_create = whk001(&fail_closed_with_rules(
        "  - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [nodes]}\n",
    ));
    assert_eq!(only_create.len(), 1, "{only_create:#?}");
    assert!(
        only_create[0].summary.contains(
            " New nodes cannot register; Node objects can still be updated (its rules do not cover updates of \
             nodes) and their status (`nodes/status`, which its rules do not cover) is still reported, and a \
             namespaceSelector cannot leave those out."
        ),
        "{}",
        only_create[0].summary
    );
    let table = only_create[0].evidence.table.as_ref().expect("table");
    assert_eq!(table.rows[0][2], "nodes cannot register (their status is still reported)");
}
