//! Remedies parse back as the objects they claim to be, and the throttle really catches the
//! offender's requests — and only those — ahead of the bootstrap FlowSchemas of each version.

use std::collections::BTreeSet;

use findings::{RemedyKind, Safety};
use remedy::{
    ApfSubject, ClientPattern, FlowControlApi, KubernetesVersion, ResourceRule, ThrottlePlan, WebhookKind,
    WebhookRef, cleanup_remedies, object_count_quota, throttle_manifests, throttle_remedies, tuning_advice,
    webhook_remedies,
};
use serde::Deserialize;
use yaml_serde::Value;

fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("every document parses"))
        .filter(|v| !v.is_null())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn list_storm_plan() -> ThrottlePlan {
    ThrottlePlan::new(
        "pod-inventory",
        vec![ApfSubject::from_username("system:serviceaccount:inventory:pod-inventory")],
        vec![ResourceRule {
            verbs: set(&["list"]),
            api_groups: set(&[""]),
            resources: set(&["pods"]),
            cluster_scope: true,
            namespaces: set(&["*"]),
        }],
    )
}

/// A request as APF classifies it.
struct Request<'a> {
    user: &'a str,
    groups: &'a [&'a str],
    verb: &'a str,
    api_group: &'a str,
    resource: &'a str,
    namespace: Option<&'a str>,
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|x| x == "*" || x == item)
}

fn subject_matches(subject: &Value, req: &Request) -> bool {
    match subject["kind"].as_str() {
        Some("User") => subject["user"]["name"].as_str().is_some_and(|n| n == "*" || n == req.user),
        Some("Group") => {
            subject["group"]["name"].as_str().is_some_and(|n| n == "*" || req.groups.contains(&n))
        }
        Some("ServiceAccount") => {
            let ns = subject["serviceAccount"]["namespace"].as_str().unwrap_or_default();
            let name = subject["serviceAccount"]["name"].as_str().unwrap_or_default();
            req.user
                .strip_prefix("system:serviceaccount:")
                .and_then(|r| r.split_once(':'))
                .is_some_and(|(rns, rname)| rns == ns && (name == "*" || rname == name))
        }
        other => panic!("unknown subject kind {other:?}"),
    }
}

fn resource_rule_matches(rule: &Value, req: &Request) -> bool {
    let namespace_ok = match req.namespace {
        None => rule["clusterScope"].as_bool().unwrap_or(false),
        Some(ns) => has(&str_list(&rule["namespaces"]), ns),
    };
    has(&str_list(&rule["verbs"]), req.verb)
        && has(&str_list(&rule["apiGroups"]), req.api_group)
        && has(&str_list(&rule["resources"]), req.resource)
        && namespace_ok
}

fn flow_schema_matches(fs: &Value, req: &Request) -> bool {
    fs["spec"]["rules"].as_sequence().into_iter().flatten().any(|rule| {
        rule["subjects"].as_sequence().into_iter().flatten().any(|s| subject_matches(s, req))
            && rule["resourceRules"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|r| resource_rule_matches(r, req))
    })
}

/// The FlowSchema APF picks: the matching one with the lowest precedence, ties by name.
fn classify<'a>(objects: &'a [Value], req: &Request) -> &'a str {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some("FlowSchema") && flow_schema_matches(o, req))
        .min_by_key(|o| {
            (o["spec"]["matchingPrecedence"].as_u64().unwrap_or(u64::MAX), o["metadata"]["name"].as_str())
        })
        .and_then(|o| o["metadata"]["name"].as_str())
        .expect("catch-all matches every authenticated request")
}

#[test]
fn throttle_catches_the_offender_and_nothing_else_on_every_bootstrap_version() {
    let plan = list_storm_plan();
    for (fixture, minor) in [
        (include_str!("fixtures/k8s-bootstrap-apf-objects_v1.28-v1.33.yaml"), 29),
        (include_str!("fixtures/k8s-bootstrap-apf-objects_v1.34plus.yaml"), 34),
    ] {
        let api = KubernetesVersion::new(1, minor).flow_control_api();
        let mut objects = documents(fixture);
        let before = objects.len();
        objects.extend(documents(&throttle_manifests(&plan, api).expect("yaml")));
        assert_eq!(objects.len(), before + 2, "a priority level and a flow schema");

        let sa_groups =
            ["system:serviceaccounts", "system:serviceaccounts:inventory", "system:authenticated"];
        let offender = Request {
            user: "system:serviceaccount:inventory:pod-inventory",
            groups: &sa_groups,
            verb: "list",
            api_group: "",
            resource: "pods",
            namespace: None,
        };
        // Without the throttle, the bootstrap `service-accounts` schema serves it.
        let bootstrap_only: Vec<Value> = objects[..before].to_vec();
        assert_eq!(classify(&bootstrap_only, &offender), "service-accounts");
        assert_eq!(classify(&objects, &offender), plan.name);
        assert_eq!(classify(&objects, &Request { namespace: Some("team-a"), ..offender }), plan.name);
        // Its other requests, and other clients, keep their schemas.
        assert_eq!(classify(&objects, &Request { verb: "watch", ..offender }), "service-accounts");
        assert_eq!(classify(&objects, &Request { resource: "configmaps", ..offender }), "service-accounts");
        let other = Request { user: "system:serviceaccount:inventory:other", ..offender };
        assert_eq!(classify(&objects, &other), "service-accounts");
        let node_groups = ["system:nodes", "system:authenticated"];
        let kubelet = Request { user: "system:node:aks-1", groups: &node_groups, ..offender };
        assert_eq!(classify(&objects, &kubelet), "system-nodes");
    }
}

#[test]
fn manifests_use_the_api_and_share_field_of_each_version() {
    let plan = list_storm_plan();
    for (minor, api_version, shares_field, absent_field) in [
        (30, "flowcontrol.apiserver.k8s.io/v1", "nominalConcurrencyShares", "assuredConcurrencyShares"),
        (29, "flowcontrol.apiserver.k8s.io/v1", "nominalConcurrencyShares", "assuredConcurrencyShares"),
        (27, "flowcontrol.apiserver.k8s.io/v1beta3", "nominalConcurrencyShares", "assuredConcurrencyShares"),
        (24, "flowcontrol.apiserver.k8s.io/v1beta2", "assuredConcurrencyShares", "nominalConcurrencyShares"),
        (21, "flowcontrol.apiserver.k8s.io/v1beta1", "assuredConcurrencyShares", "nominalConcurrencyShares"),
    ] {
        let yaml =
            throttle_manifests(&plan, KubernetesVersion::new(1, minor).flow_control_api()).expect("yaml");
        let docs = documents(&yaml);
        assert_eq!(docs.len(), 2, "{yaml}");
        let (plc, fs) = (&docs[0], &docs[1]);
        assert_eq!(plc["apiVersion"].as_str(), Some(api_version));
        assert_eq!(plc["kind"].as_str(), Some("PriorityLevelConfiguration"));
        assert_eq!(plc["spec"]["type"].as_str(), Some("Limited"));
        assert_eq!(
            plc["spec"]["limited"][shares_field].as_u64(),
            Some(u64::from(ThrottlePlan::DEFAULT_SHARES))
        );
        assert!(plc["spec"]["limited"].get(absent_field).is_none(), "{yaml}");
        let queuing = &plc["spec"]["limited"]["limitResponse"]["queuing"];
        assert!(
            queuing["handSize"].as_u64() <= queuing["queues"].as_u64(),
            "handSize must not exceed queues"
        );
        assert_eq!(fs["apiVersion"].as_str(), Some(api_version));
        assert_eq!(fs["kind"].as_str(), Some("FlowSchema"));
        assert_eq!(fs["spec"]["priorityLevelConfiguration"]["name"], plc["metadata"]["name"]);
        assert_eq!(fs["metadata"]["name"].as_str(), Some("throttle-sa-inventory.pod-inventory"));
        let subject = &fs["spec"]["rules"][0]["subjects"][0];
        assert_eq!(subject["kind"].as_str(), Some("ServiceAccount"));
        assert_eq!(subject["serviceAccount"]["namespace"].as_str(), Some("inventory"));
        assert_eq!(subject["serviceAccount"]["name"].as_str(), Some("pod-inventory"));
    }
}

#[test]
fn v1_manifest_snapshot() {
    let plan = list_storm_plan();
    insta::assert_snapshot!(throttle_manifests(&plan, FlowControlApi::V1).expect("yaml"));
}

#[test]
fn v1beta2_manifest_snapshot() {
    let mut plan = list_storm_plan();
    plan.subjects =
        vec![ApfSubject::User("ci-bot@example.com".into()), ApfSubject::Group("ci:runners".into())];
    insta::assert_snapshot!(throttle_manifests(&plan, FlowControlApi::V1beta2).expect("yaml"));
}

#[test]
fn throttle_remedies_are_marked_and_name_the_version() {
    let remedies = throttle_remedies(&list_storm_plan(), KubernetesVersion::new(1, 27)).expect("remedies");
    assert_eq!(remedies.len(), 2);
    assert_eq!(remedies[0].kind, RemedyKind::Yaml);
    assert_eq!(remedies[0].safety, Safety::ReviewFirst);
    assert!(
        remedies[0].title.contains("v1beta3") && remedies[0].title.contains("1.27"),
        "{}",
        remedies[0].title
    );
    assert!(remedies[0].title.contains("service account inventory/pod-inventory"));
    assert_eq!(remedies[1].safety, Safety::Safe);
    assert!(
        remedies[1].body.contains("flow_schema=\"throttle-sa-inventory.pod-inventory\""),
        "{}",
        remedies[1].body
    );
}

#[test]
fn clusters_before_1_20_get_no_flow_schema_but_say_why() {
    // The sysdig sample's cluster is 1.15: v1beta1 FlowSchemas do not exist there.
    for (minor, yaml) in [(15, false), (19, false), (20, true)] {
        let remedies =
            throttle_remedies(&list_storm_plan(), KubernetesVersion::new(1, minor)).expect("remedies");
        assert_eq!(remedies.iter().any(|r| r.kind == RemedyKind::Yaml), yaml, "1.{minor}");
        if !yaml {
            assert_eq!(remedies.len(), 1);
            assert_eq!(remedies[0].kind, RemedyKind::Advice);
            assert!(
                remedies[0].title.contains("API Priority and Fairness came with 1.20"),
                "{}",
                remedies[0].title
            );
            assert!(remedies[0].body.contains("--max-requests-inflight"), "{}", remedies[0].body);
        }
    }
}

#[test]
fn quota_parses_back_with_the_object_count_key() {
    let remedy = object_count_quota("jobs.batch-count", "batch-jobs", "jobs", "batch", 500).expect("quota");
    let docs = documents(&remedy.body);
    assert_eq!(docs.len(), 1);
    let quota = &docs[0];
    assert_eq!(quota["apiVersion"].as_str(), Some("v1"));
    assert_eq!(quota["kind"].as_str(), Some("ResourceQuota"));
    assert_eq!(quota["metadata"]["namespace"].as_str(), Some("batch-jobs"));
    assert_eq!(quota["metadata"]["name"].as_str(), Some("jobs.batch-count"));
    assert_eq!(quota["spec"]["hard"]["count/jobs.batch"].as_str(), Some("500"));
    let core = object_count_quota("configmaps-count", "default", "configmaps", "", 2000).expect("quota");
    assert_eq!(documents(&core.body)[0]["spec"]["hard"]["count/configmaps"].as_str(), Some("2000"));
    assert_eq!(remedy.safety, Safety::ReviewFirst);
    // The title is for people (the demo's said "at 17400 objects"); the quantity stays bare.
    assert_eq!(
        core.title,
        "Cap configmaps in namespace default at 2,000 objects with a ResourceQuota (count/configmaps)"
    );
}

#[test]
fn job_cleanup_uses_the_guides_field_selector_and_ttl() {
    let remedies = cleanup_remedies("jobs", "batch", Some("batch-jobs"));
    let bodies: Vec<&str> = remedies.iter().map(|r| r.body.as_str()).collect();
    assert!(remedies[0].title.starts_with("Count the"), "the first remedy counts");
    // Review s44: only the Jobs that completed (`status.completionTime` set), not those with one
    // succeeded pod (`status.successful=1`), which takes running Jobs of several completions.
    assert!(bodies.contains(
        &"# Jobs that completed (status.completionTime is set only when a Job succeeds; running and failed ones stay):\n\
          kubectl get jobs.batch -n batch-jobs -o go-template='{{range .items}}{{if .status.completionTime}}{{.metadata.name}}{{\"\\n\"}}{{end}}{{end}}' \\\n  \
          | xargs -r -n 100 kubectl delete jobs.batch -n batch-jobs"
    ), "{bodies:#?}");
    assert!(!bodies.iter().any(|b| b.contains("status.successful")));
    assert!(bodies.iter().any(|b| b.contains("ttlSecondsAfterFinished")));
    // Deleting commands are never marked safe.
    for r in &remedies {
        if r.body.contains("kubectl delete") {
            assert_eq!(r.safety, Safety::ReviewFirst, "{}", r.title);
        }
    }
    let all = cleanup_remedies("widgets", "example.com", None);
    assert!(all[0].body.contains("kubectl get widgets.example.com --all-namespaces"));
    assert!(!all.iter().any(|r| r.body.contains("ttlSecondsAfterFinished")));
}

/// Docs review 51, item 1.2: `kubectl get jobs.batch -n NS --no-headers | wc -l` lists every
/// one of the leaked objects through the API server, yet was marked safe here (AUD008, `quota`)
/// and review first in MET002, whose note says to run it once, off-peak; and the TTL advice
/// was review first here, safe in MET002.
#[test]
fn counting_a_leaking_resource_is_review_first_with_met002s_off_peak_note() {
    for namespace in [Some("reporting"), None] {
        let remedies = cleanup_remedies("jobs", "batch", namespace);
        let count = &remedies[0];
        assert_eq!(count.safety, Safety::ReviewFirst, "{}", count.title);
        assert!(count.body.starts_with(findings::text::FULL_LIST_NOTE), "{}", count.body);
        assert!(count.body.contains("run it once, off-peak"), "{}", count.body);
        assert!(count.body.ends_with("--no-headers | wc -l"), "{}", count.body);
        // Every command that lists the objects is review first.
        for r in remedies.iter().filter(|r| r.body.contains("kubectl get")) {
            assert_eq!(r.safety, Safety::ReviewFirst, "{}", r.title);
        }
    }
    // The TTL advice has the TTL controller delete Jobs and their Pods: review first, as in
    // MET002 and ETC008 (the checks crate's test compares them).
    let ours = cleanup_remedies("jobs", "batch", Some("reporting"));
    let ttl = ours.iter().find(|r| r.body.contains("ttlSecondsAfterFinished")).expect("TTL advice");
    assert_eq!(ttl.safety, Safety::ReviewFirst);
}

#[test]
fn cleanup_quotes_hostile_namespaces() {
    let remedies = cleanup_remedies("jobs", "batch", Some("x; rm -rf /"));
    assert!(remedies[0].body.contains("-n 'x; rm -rf /'"), "{}", remedies[0].body);
}

/// The JSON of the one `kubectl patch` line of `body`.
fn patch_json(body: &str) -> serde_json::Value {
    let line = body.lines().find(|l| l.starts_with("kubectl patch")).expect("a patch");
    let json = line.split('\'').nth(1).expect("quoted patch");
    serde_json::from_str(json).expect("patch is JSON")
}

#[test]
fn webhook_patch_is_a_valid_strategic_merge_patch_excluding_kube_system() {
    let target = WebhookRef {
        webhook: "mutate.kyverno.svc-fail".into(),
        configuration: Some((WebhookKind::Mutating, "kyverno-resource-mutating-webhook-cfg".into())),
    };
    let remedies = webhook_remedies(&target);
    let patch = remedies.iter().find(|r| r.body.contains("kubectl patch")).expect("a patch");
    assert_eq!(patch.safety, Safety::ReviewFirst);
    assert!(patch.body.starts_with("kubectl patch mutatingwebhookconfigurations kyverno-resource-mutating-webhook-cfg --type=strategic -p '"));
    let hook = &patch_json(&patch.body)["webhooks"][0];
    assert_eq!(hook["name"], "mutate.kyverno.svc-fail");
    assert_eq!(hook["failurePolicy"], "Ignore");
    let selector =
        remedies.iter().find(|r| r.body.contains("namespaceSelector\":")).expect("a selector patch");
    let hook = &patch_json(&selector.body)["webhooks"][0];
    assert_eq!(hook["name"], "mutate.kyverno.svc-fail");
    let expr = &hook["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(expr["key"], "kubernetes.io/metadata.name");
    assert_eq!(expr["operator"], "NotIn");
    assert_eq!(expr["values"][0], "kube-system");
}

#[test]
fn webhook_without_known_configuration_first_finds_it() {
    let remedies =
        webhook_remedies(&WebhookRef { webhook: "validate.example.com".into(), configuration: None });
    assert_eq!(remedies[0].safety, Safety::Safe);
    assert!(remedies[0].body.contains("grep -F validate.example.com"));
    assert!(remedies[1].body.contains("CONFIGURATION"));
    assert!(
        remedies
            .iter()
            .filter(|r| r.body.contains("kubectl patch"))
            .all(|r| r.body.contains("CONFIGURATION"))
    );
}

/// Review 50, item 2: with the selector unknown, the fail-open patch also replaced the webhook's
/// whole namespaceSelector, so an opt-in selector (`istio-injection In [enabled]`) pasted unread
/// was lost and the webhook covered every namespace but kube-system; the warning came after the
/// command. Now the fail-open patch sets failurePolicy alone, and the kube-system exclusion is a
/// remedy of its own, review-first, that reads the current selector before its patch.
#[test]
fn the_fail_open_patch_of_a_webhook_whose_selector_is_unknown_leaves_the_selector_alone() {
    for configuration in [None, Some((WebhookKind::Validating, "policy".to_owned()))] {
        let remedies =
            webhook_remedies(&WebhookRef { webhook: "validate.example.com".into(), configuration });
        let open = remedies.iter().find(|r| r.title.contains("fail open")).expect("fail open");
        assert_eq!(open.title, "Make webhook validate.example.com fail open (failurePolicy: Ignore)");
        assert_eq!(
            patch_json(&open.body),
            serde_json::json!({"webhooks": [{"name": "validate.example.com", "failurePolicy": "Ignore"}]})
        );
        let exclude = remedies.iter().find(|r| r.title.contains("kube-system")).expect("exclusion");
        assert_eq!(exclude.safety, Safety::ReviewFirst);
        assert!(exclude.title.contains("replaces its whole namespaceSelector"), "{}", exclude.title);
        assert!(patch_json(&exclude.body)["webhooks"][0].get("failurePolicy").is_none(), "{}", exclude.body);
        // The warning and the command that reads the selector come before the patch.
        let (before, _) = exclude.body.split_once("\nkubectl patch").expect("patch");
        assert!(before.contains("replaces the webhook's whole namespaceSelector"), "{}", exclude.body);
        assert!(before.contains("-o jsonpath='{range .webhooks[*]}{.name}"), "{}", exclude.body);
    }
}

#[test]
fn tuning_advice_covers_what_the_client_does() {
    let storm = ClientPattern {
        lists_without_limit: true,
        lists_without_resource_version: true,
        cluster_scope_lists: true,
        ..ClientPattern::default()
    };
    let advice = tuning_advice("pod-inventory", &storm);
    assert_eq!(advice.kind, RemedyKind::Advice);
    assert!(advice.body.contains("resourceVersion=0"));
    assert!(advice.body.contains("`limit`"));
    assert!(advice.body.contains("informer"));
    let quiet = tuning_advice("x", &ClientPattern::default());
    assert!(!quiet.body.contains("resourceVersion=0"));
    assert!(quiet.body.contains("informer"));
}

/// Diagnose review item 8: on Kubernetes 1.31+ the advice still said a LIST without
/// resourceVersion is a quorum read served from etcd, and to set `resourceVersion=0`.
#[test]
fn tuning_advice_on_1_31_and_later_does_not_call_a_list_without_resource_version_an_etcd_read() {
    let storm = ClientPattern {
        lists_without_limit: true,
        lists_without_resource_version: true,
        consistent_lists_from_cache: true,
        ..ClientPattern::default()
    };
    let advice = tuning_advice("pod-inventory", &storm);
    assert!(!advice.body.contains("quorum read"), "{}", advice.body);
    assert!(!advice.body.contains("Set `resourceVersion=0`"), "{}", advice.body);
    assert!(advice.body.contains("served from the API server's watch cache"), "{}", advice.body);
    assert!(advice.body.contains("`resourceVersion=0` no longer saves an etcd read"), "{}", advice.body);
    assert!(advice.body.contains("serialise each object"), "{}", advice.body);
    // Pagination and informers are still advised.
    assert!(advice.body.contains("`limit`") && advice.body.contains("informer"), "{}", advice.body);
    assert!(advice.body.contains("Paginate LISTs"), "{}", advice.body);
}

/// On-call review 52, item 2: on Kubernetes 1.31 and 1.32 the watch cache serves a consistent
/// LIST only unpaginated, and the advice said to paginate and that `resourceVersion=0` saves
/// no etcd read: followed, it moved those LISTs to etcd.
#[test]
fn tuning_advice_on_1_31_and_1_32_does_not_advise_paginating_consistent_lists() {
    let storm = ClientPattern {
        lists_without_limit: true,
        lists_without_resource_version: true,
        consistent_lists_from_cache: true,
        paginated_consistent_lists_from_etcd: true,
        ..ClientPattern::default()
    };
    let advice = tuning_advice("pod-inventory", &storm);
    assert!(!advice.body.contains("Paginate LISTs"), "{}", advice.body);
    assert!(advice.body.contains("a paginated one is still a quorum read of etcd"), "{}", advice.body);
    assert!(
        advice.body.contains("do not add `limit` to these LISTs: it moves them to etcd"),
        "{}",
        advice.body
    );
    // A client that sets resourceVersion is still told to paginate.
    let with_rv = ClientPattern { lists_without_resource_version: false, ..storm };
    assert!(tuning_advice("x", &with_rv).body.contains("Paginate LISTs"));
}

/// Remedy review item 1: the throttle's level had `lendablePercent: 0` but no
/// `borrowingLimitPercent`, so it could borrow without limit the idle seats the bootstrap levels
/// lend (29 times its nominal seats in list-storm) and did not hold the client to a small slice.
#[test]
fn the_throttle_level_cannot_borrow_seats_from_other_levels() {
    let plan = list_storm_plan();
    for (minor, borrowing) in [(34, Some(0)), (29, Some(0)), (26, Some(0)), (25, None), (22, None)] {
        let yaml =
            throttle_manifests(&plan, KubernetesVersion::new(1, minor).flow_control_api()).expect("yaml");
        let limited = &documents(&yaml)[0]["spec"]["limited"];
        assert_eq!(limited["borrowingLimitPercent"].as_u64(), borrowing, "1.{minor}: {yaml}");
        assert_eq!(limited["lendablePercent"].as_u64(), borrowing, "1.{minor}: {yaml}");
        if borrowing.is_some() {
            assert!(yaml.contains("borrowingLimitPercent: 0 stops it borrowing"), "{yaml}");
        } else {
            assert!(yaml.contains("has no borrowing between levels"), "{yaml}");
        }
    }
}

/// Remedy review item 4: the groups a user was seen with travel with the YAML, so the
/// cluster's Group-subject FlowSchemas can be judged against them.
#[test]
fn the_groups_seen_for_a_user_are_written_and_read_back() {
    let mut plan = list_storm_plan();
    plan.subjects = vec![ApfSubject::User("ci-bot@example.com".into())];
    plan.groups_seen.insert("ci-bot@example.com".into(), set(&["ci:runners", "system:authenticated"]));
    let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("yaml");
    assert!(
        yaml.contains(
            "# Groups seen in the audit log for ci-bot@example.com: ci:runners, system:authenticated\n"
        ),
        "{yaml}"
    );
    assert_eq!(documents(&yaml).len(), 2, "comments only");
    let back = remedy::groups_seen(&yaml);
    assert_eq!(back["ci-bot@example.com"], vec!["ci:runners".to_owned(), "system:authenticated".to_owned()]);
}
