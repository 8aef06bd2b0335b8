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
    for prec in ["-5", "0", "10001"] {
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
