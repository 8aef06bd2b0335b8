//! `apiserver-doctor throttle`: the FlowSchema and PriorityLevelConfiguration for a client named
//! on the command line, read back as the manifests crate reads a cluster's objects, and judged
//! against the real bootstrap objects of Kubernetes 1.34.

mod common;

use common::{assert_usage_error, doctor_alone, stderr, stdout};

/// The bootstrap FlowSchemas and priority levels of Kubernetes 1.34 and later (see the file's
/// source line in crates/manifests/tests/fixtures).
const BOOTSTRAP: &str = "crates/manifests/tests/fixtures/apf/k8s-bootstrap-apf-objects_v1.34plus.yaml";

/// The bootstrap objects of Kubernetes 1.28 to 1.33, with `endpoint-controller` and
/// `workload-leader-election`.
const BOOTSTRAP_1_28: &str = "crates/manifests/tests/fixtures/apf/k8s-bootstrap-apf-objects_v1.28-v1.33.yaml";

/// OpenShift's FlowSchemas for its aggregated API server, `openshift-apiserver-sar` among them
/// (see the file's source line in crates/manifests/tests/fixtures).
const OPENSHIFT: &str = "crates/manifests/tests/fixtures/apf/openshift-apiserver-operator_09_flowschema.yaml";

fn throttle(args: &[&str]) -> std::process::Output {
    doctor_alone("throttle", args)
}

#[test]
fn a_service_account_listing_pods_and_jobs_gets_one_rule_per_api_group() {
    let out = throttle(&[
        "--service-account",
        "observability/inventory-exporter",
        "--verbs",
        "list,watch",
        "--resources",
        "pods,jobs.batch,cronjobs.batch",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("throttle_service_account_yaml", stdout(&out));
    // Read back as a cluster's objects are: one FlowSchema whose two rules keep the core group's
    // pods apart from batch's jobs and cronjobs.
    let mut read = manifests::Manifests::default();
    manifests::parse_text("throttle.yaml", &stdout(&out), &mut read);
    assert_eq!((read.flow_schemas.len(), read.priority_levels.len()), (1, 1));
    let fs = &read.flow_schemas[0];
    assert_eq!(
        (fs.name.as_str(), fs.matching_precedence, fs.priority_level.as_str()),
        ("throttle-sa-observability.inventory-exporter", 90, "throttle-sa-observability.inventory-exporter")
    );
    let rules: Vec<(Vec<String>, Vec<String>)> =
        fs.rules[0].resource_rules.iter().map(|r| (r.api_groups.clone(), r.resources.clone())).collect();
    assert_eq!(
        rules,
        [
            (vec!["".to_owned()], vec!["pods".to_owned()]),
            (vec!["batch".to_owned()], vec!["cronjobs".to_owned(), "jobs".to_owned()])
        ]
    );
    // How to check it, watch it and undo it go to stderr, not into the YAML.
    let err = stderr(&out);
    assert!(err.contains("kubectl apply --dry-run=server"), "{err}");
    assert!(
        err.contains(
            "kubectl delete flowschema,prioritylevelconfiguration throttle-sa-observability.inventory-exporter"
        ),
        "{err}"
    );
}

#[test]
fn checked_against_the_bootstrap_objects_a_throttle_after_their_schema_is_said_to_never_apply() {
    // matchingPrecedence 90 comes before the bootstrap `service-accounts` schema (9000): it
    // takes effect; 9500 comes after it: the YAML is still written, and the exit code is 1.
    let before = throttle(&["--service-account", "ci/runner", "--manifests", BOOTSTRAP]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    assert!(stderr(&before).contains("the throttle takes effect"), "{}", stderr(&before));
    assert!(
        stderr(&before).contains("FlowSchema `service-accounts` (matchingPrecedence 9000)"),
        "{}",
        stderr(&before)
    );
    let after =
        throttle(&["--service-account", "ci/runner", "--precedence", "9500", "--manifests", BOOTSTRAP]);
    assert_eq!(after.status.code(), Some(1), "{}", stderr(&after));
    assert!(stderr(&after).contains("so the throttle would not apply"), "{}", stderr(&after));
    assert!(stdout(&after).contains("matchingPrecedence: 9500"), "{}", stdout(&after));
}

/// Review s43: a cluster FlowSchema consulted first that takes in only the client's `get`
/// requests was said to catch all of them ("would not apply").
#[test]
fn a_cluster_schema_that_catches_only_get_requests_first_is_said_to_catch_that_part() {
    let dir = tempfile::tempdir().expect("tmp");
    let only_get = dir.path().join("only-get.yaml");
    std::fs::write(
        &only_get,
        "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata: {name: only-get}\nspec:\n  \
         matchingPrecedence: 50\n  priorityLevelConfiguration: {name: workload-low}\n  rules:\n  - subjects: \
         [{kind: ServiceAccount, serviceAccount: {namespace: ci, name: runner}}]\n    resourceRules: [{verbs: \
         [get], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true}]\n",
    )
    .expect("write");
    let path = only_get.to_str().expect("utf-8");
    let all = throttle(&["--service-account", "ci/runner", "--manifests", BOOTSTRAP, "--manifests", path]);
    let err = stderr(&all);
    assert_eq!(all.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "The cluster's FlowSchema only-get would catch part of these requests before the throttle: requests \
             with verb `get`"
        ),
        "{err}"
    );
    assert!(err.contains("the throttle holds only the rest"), "{err}");
    assert!(!err.contains("would not apply"), "{err}");
    // A throttle of lists only has no request that schema takes in: it takes effect.
    let lists = throttle(&[
        "--service-account",
        "ci/runner",
        "--verbs",
        "list",
        "--manifests",
        BOOTSTRAP,
        "--manifests",
        path,
    ]);
    assert_eq!(lists.status.code(), Some(0), "{}", stderr(&lists));
    assert!(stderr(&lists).contains("the throttle takes effect"), "{}", stderr(&lists));
}

/// Ops review s38 item 8: `--manifests` of a broken file (no FlowSchema read) said "the
/// throttle takes effect", having checked nothing.
#[test]
fn manifests_without_a_flowschema_give_no_verdict() {
    let dir = tempfile::tempdir().expect("tmp");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "foo: [\n").expect("write");
    let out = throttle(&["--user", "alice", "--manifests", broken.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--manifests holds no FlowSchema: the throttle was not checked"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("takes effect"), "{}", stderr(&out));
}

#[test]
fn the_control_plane_and_groups_of_every_client_are_refused_without_force() {
    for who in [
        ["--user", "system:kube-controller-manager"],
        ["--user", "system:node:aks-nodepool1-0"],
        ["--group", "system:authenticated"],
        ["--service-account", "kube-system/replicaset-controller"],
        // Ops review s38 item 1: every kube-system service account, not only `-controller`s.
        ["--service-account", "kube-system/*"],
        ["--service-account", "kube-system/kube-proxy"],
        ["--service-account", "kube-system/generic-garbage-collector"],
    ] {
        let out = throttle(&who);
        assert_eq!(out.status.code(), Some(2), "{who:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--force writes the throttle anyway"), "{who:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{who:?}");
        let forced = throttle(&[who[0], who[1], "--force"]);
        assert_eq!(forced.status.code(), Some(0), "{who:?}: {}", stderr(&forced));
        assert!(stdout(&forced).contains("kind: FlowSchema"), "{who:?}");
    }
}

#[test]
fn older_clusters_get_their_flowcontrol_version_and_1_19_is_refused() {
    let old = throttle(&["--user", "alice", "--kubernetes-version", "v1.25.4"]);
    assert_eq!(old.status.code(), Some(0), "{}", stderr(&old));
    assert!(stdout(&old).contains("apiVersion: flowcontrol.apiserver.k8s.io/v1beta2"), "{}", stdout(&old));
    assert!(stdout(&old).contains("assuredConcurrencyShares: 5"), "{}", stdout(&old));
    let none = throttle(&["--user", "alice", "--kubernetes-version", "1.19"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        stderr(&none).contains("API Priority and Fairness is on by default from Kubernetes 1.20"),
        "{}",
        stderr(&none)
    );
}

#[test]
fn bad_arguments_name_the_option_and_the_value() {
    for (args, says) in [
        (vec![], "say whom to throttle"),
        (vec!["--service-account", "runner"], "--service-account \"runner\": expected NAMESPACE/NAME"),
        (vec!["--user", "a", "--resources", "Pods"], "--resources \"Pods\""),
        (vec!["--user", "a", "--resources", "pods,,jobs.batch"], "--resources: an empty item"),
        // Ops review s38 item 5: rules that match nothing.
        (vec!["--user", "a", "--resources", "jobs"], "jobs are in API group batch: write `jobs.batch`"),
        (vec!["--user", "a", "--resources", "pods.core"], "`pods`, not `pods.core`"),
        (vec!["--user", "a", "--name", "Throttle_A"], "--name \"Throttle_A\": not a Kubernetes object name"),
        (vec!["--user", "a", "--shares", "0"], "--shares"),
        (vec!["--user", "a", "--namespaces", "ci,Prod"], "--namespaces \"Prod\": not a namespace name"),
        // Review s42: each part between dots of the name, the version taken for a group, and
        // names with spaces around them.
        (vec!["--user", "a", "--name", "a..b"], "--name \"a..b\": not a Kubernetes object name"),
        (vec!["--user", "a", "--name", "a.-b"], "--name \"a.-b\""),
        (vec!["--user", "a", "--resources", "pods.v1"], "`v1` is an API version, not a group: write `pods`"),
        (
            vec!["--user", "a", "--resources", "deployments.v1.apps"],
            "write `deployments.apps`, without the version",
        ),
        (
            vec!["--user", " system:kube-scheduler"],
            "--user \" system:kube-scheduler\": spaces before or after",
        ),
        (vec!["--group", "ops "], "did you mean \"ops\"?"),
        (vec!["--service-account", "ci/runner\t"], "--service-account \"ci/runner\\t\""),
    ] {
        assert_usage_error(&throttle(&args), says, &args);
    }
    // Review s41: a resource longer than 63 characters was said to be "not in lower case".
    let long = format!("{}/log", "a".repeat(300));
    let long_sub = format!("pods/{}", "l".repeat(64));
    for (args, says) in [
        (vec!["--user", "a", "--resources", long.as_str()], "`aaaaaaaaaaaaaaaa…` is 300 characters long"),
        (vec!["--user", "a", "--resources", long_sub.as_str()], "`llllllllllllllll…` is 64 characters long"),
    ] {
        assert_usage_error(&throttle(&args), says, &args);
    }
    // `*` among the resources covers every group: one rule (leases kept out by no second
    // FlowSchema here).
    let all = throttle(&["--user", "a", "--resources", "*,pods", "--throttle-leases"]);
    assert_eq!(stdout(&all).matches("apiGroups:").count(), 1, "{}", stdout(&all));
}

/// Review s42: `--verbs LIST,bogus` wrote a FlowSchema that never matches, with a warning, and
/// exited 0: applied at 3 a.m., the throttle looked in place and did nothing.
#[test]
fn a_verb_no_request_has_is_refused_with_the_nearest_verb() {
    for (args, says) in [
        (vec!["--user", "a", "--verbs", "lsit"], "--verbs \"lsit\": not a verb of resource requests"),
        (vec!["--user", "a", "--verbs", "lsit"], "did you mean `list`?"),
        (vec!["--user", "a", "--verbs", "list,LIST"], "--verbs \"LIST\""),
        (vec!["--user", "a", "--verbs", "list,LIST"], "did you mean `list`?"),
        (vec!["--user", "a", "--verbs", "list,bogus"], "or * for all"),
    ] {
        assert_usage_error(&throttle(&args), says, &args);
    }
    // Review s42: `proxy` is a verb FlowSchemas may name; `*` beside others is `*` alone, as
    // the API server refuses `[list, "*"]`.
    let proxy = throttle(&["--user", "a", "--verbs", "proxy"]);
    assert_eq!(proxy.status.code(), Some(0), "{}", stderr(&proxy));
    assert!(stdout(&proxy).contains("- proxy\n"), "{}", stdout(&proxy));
    for verbs in ["list,*", "*,list,watch"] {
        let star = throttle(&["--user", "a", "--verbs", verbs]);
        assert_eq!(star.status.code(), Some(0), "{}", stderr(&star));
        assert!(
            stdout(&star).contains("- verbs:\n      - \"*\"\n      apiGroups:"),
            "{verbs}: {}",
            stdout(&star)
        );
        assert!(!stdout(&star).contains("- list"), "{verbs}: {}", stdout(&star));
    }
    let far = throttle(&["--user", "a", "--verbs", "bogus"]);
    assert!(!stderr(&far).contains("did you mean"), "{}", stderr(&far));
    assert_eq!(stdout(&far), "", "nothing is written");
    // Every verb of resource requests, spaces around them trimmed, is taken.
    let all =
        throttle(&["--user", "a", "--verbs", "get, list,watch,create,update,patch,delete,deletecollection"]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    assert!(stdout(&all).contains("- deletecollection\n"), "{}", stdout(&all));
}

/// Review 26 §3: `--precedence 1` wrote a FlowSchema the API server rejects (only the `exempt`
/// schema may have matchingPrecedence 1), and exited 0.
#[test]
fn precedence_1_is_refused_as_only_the_exempt_flowschema_may_use_it() {
    for args in [
        vec!["--user", "alice", "--precedence", "1"],
        vec!["--user", "alice", "--precedence", "0"],
        vec!["--user", "alice", "--precedence", "10001"],
    ] {
        assert_usage_error(&throttle(&args), "--precedence", &args);
    }
    let one = throttle(&["--user", "alice", "--precedence", "1"]);
    assert!(stderr(&one).contains("only the FlowSchema named exempt may use 1"), "{}", stderr(&one));
    assert!(stderr(&one).contains("2 to 10000"), "{}", stderr(&one));
    let two = throttle(&["--user", "alice", "--precedence", "2"]);
    assert_eq!(two.status.code(), Some(0), "{}", stderr(&two));
    assert!(stdout(&two).contains("matchingPrecedence: 2\n"), "{}", stdout(&two));
    // 10000 is a precedence the API server takes; after the built-in `global-default` (9900),
    // it is written only with --force (see
    // a_precedence_after_the_built_in_schemas_was_accepted_without_a_word).
    let max = throttle(&["--user", "alice", "--precedence", "10000", "--force"]);
    assert_eq!(max.status.code(), Some(0), "{}", stderr(&max));
}

/// Review 26 §4: `--service-account Observability/Inventory` was written as it was, a subject
/// the API server refuses (the namespace must be a DNS label, the name a DNS subdomain), while
/// `--namespaces Team_A` was refused.
#[test]
fn service_account_namespace_and_name_are_validated_like_namespaces() {
    for (sa, says) in [
        (
            "Observability/inventory",
            "--service-account \"Observability/inventory\": \"Observability\" is not a namespace name",
        ),
        (
            "observability/Inventory",
            "--service-account \"observability/Inventory\": \"Inventory\" is not a service account name",
        ),
        ("team_a/runner", "\"team_a\" is not a namespace name"),
        ("ci/run_ner", "\"run_ner\" is not a service account name"),
        ("ci/a..b", "\"a..b\" is not a service account name"),
        ("ci/-a", "\"-a\" is not a service account name"),
        ("system:serviceaccount:CI:runner", "\"CI\" is not a namespace name"),
        ("system:serviceaccount:ci:Runner", "\"Runner\" is not a service account name"),
        ("*/runner", "\"*\" is not a namespace name"),
    ] {
        let args = ["--service-account", sa];
        assert_usage_error(&throttle(&args), says, &args);
    }
    // Valid names, the user-name form, and NS/* (every service account of NS) are written.
    for sa in ["observability/inventory-exporter", "ci/runner.v2", "system:serviceaccount:ci:runner", "obs/*"]
    {
        let ok = throttle(&["--service-account", sa]);
        assert_eq!(ok.status.code(), Some(0), "{sa}: {}", stderr(&ok));
    }
    let all = throttle(&["--service-account", "obs/*"]);
    assert!(stdout(&all).contains("namespace: obs\n"), "{}", stdout(&all));
    assert!(stdout(&all).contains("name: \"*\"\n"), "{}", stdout(&all));
}

/// Review 26 §9: every identity outside ASCII and every `NS/*` was named `throttle-client`, so
/// applying the second throttle replaced the first one's rules. A name the label cannot render
/// as it is now ends in a hash of it; a name that is a label already keeps its name.
#[test]
fn throttle_names_of_identities_that_sanitise_alike_do_not_collide() {
    let name = throttle_name;
    let names = [
        name(&["--user", "管理者"]),
        name(&["--user", "ユーザー"]),
        name(&["--service-account", "obs/*"]),
        name(&["--service-account", "ci/*"]),
        name(&["--user", "Alice"]),
        name(&["--user", "alice"]),
        name(&["--user", "alice@example.com"]),
        name(&["--user", "alice.example.com"]),
    ];
    let distinct: std::collections::BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
    for n in &names {
        assert!(n.len() <= 63 && remedy::is_dns_subdomain(n), "{n}");
    }
    // Run after run, the same name; and a name that is an object name already is kept as it is.
    assert_eq!(name(&["--user", "管理者"]), names[0]);
    assert_eq!(names[5], "throttle-user-alice");
    assert_eq!(names[7], "throttle-user-alice.example.com");
    assert!(names[2].starts_with("throttle-sa-obs-"), "{}", names[2]);
    assert_eq!(
        name(&["--service-account", "observability/inventory-exporter"]),
        "throttle-sa-observability.inventory-exporter"
    );
}

/// Review 50, item 1: `--service-account ci/runner`, `--service-account staging/runner` and
/// `--user runner` were all `throttle-runner`: applying the second replaced the first one's
/// FlowSchema, and the "To undo" printed for it deleted both.
#[test]
fn throttle_names_of_one_service_account_name_in_two_namespaces_differ() {
    let name = throttle_name;
    assert_eq!(
        [
            name(&["--service-account", "ci/runner"]),
            name(&["--service-account", "staging/runner"]),
            name(&["--service-account", "system:serviceaccount:ci:runner"]),
            name(&["--user", "runner"]),
            name(&["--group", "runner"]),
        ],
        [
            "throttle-sa-ci.runner",
            "throttle-sa-staging.runner",
            "throttle-sa-ci.runner",
            "throttle-user-runner",
            "throttle-group-runner"
        ]
    );
}

/// Re-review s26 (diagnose, items 2 and 4): `--user '*'` and `--group '*'` wrote a FlowSchema
/// that throttles every request of the cluster, exit 0; `--user
/// system:serviceaccount:Observability:Inventory` wrote the ServiceAccount subject that
/// `--service-account` refuses.
#[test]
fn a_throttle_of_every_user_or_group_is_refused_and_a_service_account_user_name_is_checked() {
    for args in [["--user", "*"], ["--group", "*"]] {
        let o = throttle(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains("is every"), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: nothing written");
    }
    let forced = throttle(&["--user", "*", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    let args = ["--user", "system:serviceaccount:Observability:Inventory"];
    assert_usage_error(
        &throttle(&args),
        "--user \"system:serviceaccount:Observability:Inventory\": \"Observability\" is not a namespace name",
        &args,
    );
    let ok = throttle(&["--user", "system:serviceaccount:observability:inventory"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}

/// The object name `throttle ARGS` gives its FlowSchema and priority level (it must succeed).
fn throttle_name(args: &[&str]) -> String {
    let out = throttle(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    let yaml = stdout(&out);
    let line = yaml.lines().find(|l| l.trim_start().starts_with("name: throttle-")).map(str::trim);
    line.unwrap_or_else(|| panic!("{args:?}: no name in {yaml}")).trim_start_matches("name: ").to_owned()
}

/// Review: `--shares -1` and `--precedence -1` were clap's "unexpected argument '-1' found",
/// naming neither the option nor its range (and `--shares 0` clap's `0 is not in
/// 1..=4294967295`). Each is now refused with exit 2 in the tool's words.
#[test]
fn a_negative_shares_or_precedence_was_taken_for_an_unexpected_argument() {
    for (args, says) in [
        (
            ["--user", "alice", "--shares", "-1"],
            "`-1` is negative: give a whole number of shares, from 1 to 100",
        ),
        (
            ["--user", "alice", "--shares", "0"],
            "`0` must be at least 1: give a whole number of shares, from 1 to 100",
        ),
        (["--user", "alice", "--shares", "4294967296"], "must be at most 100"),
        (
            ["--user", "alice", "--precedence", "-1"],
            "\"-1\" is not a matchingPrecedence: give a whole number from 2 to 10000",
        ),
    ] {
        let out = throttle(&args);
        assert_usage_error(&out, says, &args);
        assert!(stderr(&out).contains(&format!("for '{} <N>'", args[2])), "{}", stderr(&out));
        assert!(!stderr(&out).contains("unexpected argument"), "{}", stderr(&out));
    }
}

/// The names of `kind` objects in the YAML file at `path` (relative to the workspace).
fn names_in(path: &str, kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::workspace().join(path)).expect("fixture");
    let mut read = manifests::Manifests::default();
    manifests::parse_text(path, &text, &mut read);
    match kind {
        "FlowSchema" => read.flow_schemas.iter().map(|f| f.name.clone()).collect(),
        _ => read.priority_levels.iter().map(|l| l.name.clone()).collect(),
    }
}

/// Review of the remedies, item 1: `--name workload-low` (or global-default, service-accounts,
/// exempt, …) was written with exit 0: applied, it replaced the cluster's own object (every
/// service account squeezed into 5 shares), and its "To undo" deleted it. Every name of the real
/// bootstrap objects (both sets) and of OpenShift's FlowSchemas is refused, naming the built-in.
#[test]
fn throttle_name_of_a_builtin_apf_object_was_accepted() {
    let mut built_in = Vec::new();
    for path in [BOOTSTRAP, BOOTSTRAP_1_28] {
        built_in.extend(names_in(path, "FlowSchema"));
        built_in.extend(names_in(path, "PriorityLevelConfiguration"));
    }
    let openshift = names_in(OPENSHIFT, "FlowSchema");
    assert!(built_in.len() >= 29 && openshift.len() == 3, "{built_in:?} {openshift:?}");
    for name in built_in.iter().chain(&openshift) {
        let args = ["--user", "bob", "--name", name.as_str()];
        let out = throttle(&args);
        assert_usage_error(&out, &format!("--name {name:?}: is the name of "), &args);
        let err = stderr(&out);
        assert!(err.contains(&format!(" {name}, which the cluster keeps for itself")), "{err}");
        assert!(err.contains("Leave --name out for the default name"), "{err}");
    }
    let err = stderr(&throttle(&["--user", "bob", "--name", "workload-low"]));
    assert!(
        err.contains("Kubernetes' built-in (suggested) PriorityLevelConfiguration workload-low"),
        "{err}"
    );
    let err = stderr(&throttle(&["--user", "bob", "--name", "exempt"]));
    assert!(err.contains("built-in (mandatory) FlowSchema and PriorityLevelConfiguration exempt"), "{err}");
    // A name of the tool's own kind is taken.
    let ok = throttle(&["--user", "bob", "--name", "throttle-workload-low"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("flowschema/throttle-workload-low "), "{}", stderr(&ok));
}

/// Review of the remedies, item 1: a name that `--manifests` shows the cluster has already, on
/// an object apiserver-doctor did not write, was replaced (and deleted by "To undo"). An earlier
/// throttle of the tool's, with its label, may be replaced.
#[test]
fn throttle_name_the_manifests_show_the_cluster_made_was_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let schema = |name: &str, labels: &str| {
        format!(
            "apiVersion: flowcontrol.apiserver.k8s.io/v1\nkind: FlowSchema\nmetadata:\n  name: {name}\n{labels}spec:\n  \
             matchingPrecedence: 500\n  priorityLevelConfiguration: {{name: workload-low}}\n  rules: []\n"
        )
    };
    let theirs = dir.path().join("theirs.yaml");
    std::fs::write(&theirs, schema("team-throttle", "")).expect("write");
    let args = ["--user", "bob", "--name", "team-throttle", "--manifests", theirs.to_str().expect("utf-8")];
    assert_usage_error(
        &throttle(&args),
        "the cluster already has a FlowSchema named \"team-throttle\"",
        &args,
    );
    // The default name too.
    let default = dir.path().join("default.yaml");
    std::fs::write(&default, schema("throttle-user-bob", "")).expect("write");
    let args = ["--user", "bob", "--manifests", default.to_str().expect("utf-8")];
    assert_usage_error(&throttle(&args), "give --name another name", &args);
    // An earlier throttle of ours: the verdict says it replaces it.
    let ours = dir.path().join("ours.yaml");
    std::fs::write(
        &ours,
        schema("throttle-user-bob", "  labels:\n    app.kubernetes.io/managed-by: apiserver-doctor\n"),
    )
    .expect("write");
    let out = throttle(&["--user", "bob", "--manifests", ours.to_str().expect("utf-8")]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("A FlowSchema named `throttle-user-bob` exists already"),
        "{}",
        stderr(&out)
    );
}

/// Review of the remedies, item 4a: `--resources nodes,persistentvolumes --namespaces default`
/// wrote `clusterScope: false` rules that never match a request for a cluster-scoped object.
/// Refused, unless --cluster-scope asks for the requests that name no namespace.
#[test]
fn cluster_scoped_resources_with_namespaces_wrote_a_rule_that_never_matched() {
    for resources in [
        "nodes,persistentvolumes",
        "pods,namespaces",
        "clusterroles.rbac.authorization.k8s.io",
        "nodes/status",
    ] {
        let args = ["--user", "bob", "--resources", resources, "--namespaces", "default"];
        let out = throttle(&args);
        assert_usage_error(&out, "is cluster-scoped (no namespace holds it)", &args);
        assert!(stderr(&out).contains("add --cluster-scope"), "{}", stderr(&out));
    }
    let scoped = throttle(&[
        "--user",
        "bob",
        "--resources",
        "pods,nodes",
        "--namespaces",
        "default",
        "--cluster-scope",
    ]);
    assert_eq!(scoped.status.code(), Some(0), "{}", stderr(&scoped));
    assert!(stdout(&scoped).contains("clusterScope: true"), "{}", stdout(&scoped));
    assert!(!stdout(&scoped).contains("clusterScope: false"), "{}", stdout(&scoped));
    // Every namespace (the default) takes cluster-wide requests already.
    let all = throttle(&["--user", "bob", "--resources", "nodes"]);
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
}

/// Review of the remedies, item 4b: a matchingPrecedence after the built-in schemas every
/// cluster has (`service-accounts` 9000 for service accounts, `global-default` 9900 for every
/// authenticated user, `catch-all` 10000) exited 0 with nothing said, without --manifests.
#[test]
fn a_precedence_after_the_built_in_schemas_was_accepted_without_a_word() {
    for (args, says) in [
        (
            vec!["--user", "bob", "--precedence", "9950"],
            "the built-in FlowSchema global-default (matchingPrecedence 9900)",
        ),
        (vec!["--user", "bob", "--precedence", "10000"], "global-default (matchingPrecedence 9900)"),
        (
            vec!["--service-account", "ci/runner", "--precedence", "9500"],
            "FlowSchema service-accounts (matchingPrecedence 9000)",
        ),
        (
            vec!["--group", "system:unauthenticated", "--precedence", "10000", "--force"],
            "catch-all (matchingPrecedence 10000)",
        ),
    ] {
        let out = throttle(&args);
        if args.contains(&"--force") {
            // --force writes it anyway, with the warning.
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            continue;
        }
        assert_usage_error(&out, says, &args);
        assert!(stderr(&out).contains("would never apply"), "{}", stderr(&out));
    }
    let forced = throttle(&["--user", "bob", "--precedence", "9950", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(stderr(&forced).contains("warning: --precedence 9950"), "{}", stderr(&forced));
    // Just before them: written, nothing said.
    for args in [
        ["--user", "bob", "--precedence", "9899"],
        ["--service-account", "ci/runner", "--precedence", "8999"],
    ] {
        let out = throttle(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }
    // One identity of two caught: a warning, and the YAML.
    let some = throttle(&["--user", "bob", "--service-account", "ci/runner", "--precedence", "9500"]);
    assert_eq!(some.status.code(), Some(0), "{}", stderr(&some));
    assert!(
        stderr(&some).contains("warning: --precedence 9500: the built-in FlowSchema service-accounts"),
        "{}",
        stderr(&some)
    );
}

/// Review of the remedies, item 4c: `--force --group system:masters` was written (exit 0), and
/// without --force refused as "would slow every workload"; the mandatory `exempt` FlowSchema
/// (matchingPrecedence 1) takes that group first, so no throttle can work.
#[test]
fn system_masters_was_refused_for_the_wrong_reason_and_written_with_force() {
    for args in [vec!["--group", "system:masters"], vec!["--group", "system:masters", "--force"]] {
        let out = throttle(&args);
        assert_usage_error(&out, "the throttle cannot work, with or without --force", &args);
        assert!(
            stderr(&out).contains("mandatory FlowSchema exempt (matchingPrecedence 1"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("would slow every workload"), "{}", stderr(&out));
    }
}

/// Review of the remedies, item 5: the default throttle (every verb and resource) also held the
/// client's lease renewals at precedence 90, ahead of the leader-election schemas: a throttled
/// controller loses leadership, restarts and relists. A second FlowSchema, one precedence
/// before, now sends the identities' get/create/update of leases to `leader-election`.
#[test]
fn the_default_throttle_held_the_clients_own_leader_election() {
    let out = throttle(&["--service-account", "observability/inventory-exporter"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut read = manifests::Manifests::default();
    manifests::parse_text("throttle.yaml", &stdout(&out), &mut read);
    assert_eq!((read.flow_schemas.len(), read.priority_levels.len()), (2, 1), "{}", stdout(&out));
    let leases = &read.flow_schemas[1];
    assert_eq!(
        (leases.name.as_str(), leases.matching_precedence, leases.priority_level.as_str()),
        ("throttle-sa-observability.inventory-exporter-leases", 89, "leader-election")
    );
    let rule = &leases.rules[0].resource_rules[0];
    assert_eq!(
        (rule.api_groups.as_slice(), rule.resources.as_slice()),
        (&["coordination.k8s.io".to_owned()][..], &["leases".to_owned()][..])
    );
    assert_eq!(rule.verbs, ["create", "get", "update"]);
    assert!(stdout(&out).contains("# Leader election stays out of the throttle"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("flowschema/throttle-sa-observability.inventory-exporter-leases"),
        "the undo deletes it too: {}",
        stderr(&out)
    );
    // The cluster's objects judge the throttle, not the lease schema.
    let judged = throttle(&["--service-account", "ci/runner", "--manifests", BOOTSTRAP]);
    assert_eq!(judged.status.code(), Some(0), "{}", stderr(&judged));
    assert!(stderr(&judged).contains("the throttle takes effect"), "{}", stderr(&judged));
    // Asked for, or not taking in leases: no lease schema.
    for args in [
        vec!["--service-account", "ci/runner", "--throttle-leases"],
        vec!["--service-account", "ci/runner", "--resources", "pods"],
        vec!["--service-account", "ci/runner", "--resources", "leases.coordination.k8s.io"],
        vec!["--service-account", "ci/runner", "--verbs", "list,watch"],
    ] {
        let o = throttle(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o).matches("kind: FlowSchema").count(), 1, "{args:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("To undo: kubectl delete flowschema,prioritylevelconfiguration"),
            "{}",
            stderr(&o)
        );
    }
    // At precedence 2 nothing can come before the throttle: the YAML says so.
    let two = throttle(&["--service-account", "ci/runner", "--precedence", "2"]);
    assert!(stdout(&two).contains("their lease renewals wait in its queues too"), "{}", stdout(&two));
}

/// Review of the remedies, item 6: checked against OpenShift's FlowSchemas, the verdict told how
/// to get ahead of `openshift-apiserver-sar`, which sends the aggregated API server's
/// SubjectAccessReviews and TokenReviews to `exempt` on purpose.
#[test]
fn the_verdict_advised_getting_ahead_of_a_flowschema_that_exempts_on_purpose() {
    let out = throttle(&[
        "--service-account",
        "openshift-apiserver/openshift-apiserver-sa",
        "--manifests",
        OPENSHIFT,
        "--manifests",
        BOOTSTRAP,
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("to the priority level `exempt` on purpose"), "{err}");
    assert!(err.contains("should not be forced"), "{err}");
    assert!(err.contains("(exempted on purpose: do not force the throttle ahead of it)"), "{err}");
    assert!(!err.contains("a name that sorts before"), "{err}");
    assert!(!err.contains("To hold all of them"), "{err}");
}

/// Review of the remedies, item 7: `--shares 2147483648` wrote a value the int32 field refuses,
/// and `--shares 1000000` gave one client about 99.98% of the seats (the level lends none).
#[test]
fn shares_had_no_upper_bound() {
    for n in ["101", "1000000", "2147483648", "99999999999999999999999"] {
        let args = ["--user", "alice", "--shares", n];
        let out = throttle(&args);
        assert_usage_error(&out, "--shares", &args);
        assert!(
            stderr(&out).contains("from 1 to 100") || stderr(&out).contains("too large"),
            "{n}: {}",
            stderr(&out)
        );
    }
    let err = stderr(&throttle(&["--user", "alice", "--shares", "101"]));
    assert!(err.contains("workload-low, the largest built-in level, has 100"), "{err}");
    let max = throttle(&["--user", "alice", "--shares", "100"]);
    assert_eq!(max.status.code(), Some(0), "{}", stderr(&max));
    assert!(stdout(&max).contains("nominalConcurrencyShares: 100\n"), "{}", stdout(&max));
}

/// Review of the remedies, item 11: with several identities the objects were named after the
/// client; they are named after the identities, whatever order they are given in, and the header
/// names them.
#[test]
fn several_identities_were_named_after_their_client() {
    let ab = throttle_name(&["--user", "alice@example.com", "--service-account", "obs/exporter"]);
    let ba = throttle_name(&["--service-account", "obs/exporter", "--user", "alice@example.com"]);
    assert_eq!(ab, ba);
    assert!(ab.starts_with("throttle-ids-sa-obs-exporter-user-alice-example-com-"), "{ab}");
    let out = throttle(&["--user", "alice@example.com", "--user", "bob"]);
    assert!(
        stdout(&out)
            .starts_with("# Throttle user alice@example.com, user bob with API Priority and Fairness"),
        "{}",
        stdout(&out)
    );
}
