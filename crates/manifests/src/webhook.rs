//! Admission webhook configurations: the fields the checks read, with the API's defaults.

use std::collections::BTreeMap;

use remedy::WebhookKind;
use serde_json::Value;

use crate::selector::{LabelSelector, kind_of, metadata_name, string_entries};

/// What the API server does when it cannot call the webhook or the call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// The request is rejected: the webhook fails closed.
    Fail,
    /// The request goes on as if the webhook had allowed it.
    Ignore,
}

/// The service a webhook is called through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// Its namespace: where the webhook's own pods run.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// One rule of a webhook: the operations, groups and resources it intercepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// `CREATE`, `UPDATE`, `DELETE`, `CONNECT` or `*`.
    pub operations: Vec<String>,
    /// API groups (`""` is the core group) or `*`.
    pub api_groups: Vec<String>,
    /// Resources, `resource/subresource`, `*` or `*/*`.
    pub resources: Vec<String>,
    /// `Cluster`, `Namespaced` or `*` (the default).
    pub scope: String,
}

/// One webhook of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its name, as `failed calling webhook "…"` names it.
    pub name: String,
    /// Its position in the configuration's `webhooks` list.
    pub index: usize,
    /// The policy in force (the API version's default when the field is absent).
    pub failure_policy: FailurePolicy,
    /// Seconds the API server waits for it (the API version's default when absent).
    pub timeout_seconds: u32,
    /// Which namespaces' objects it sees.
    pub namespace_selector: LabelSelector,
    /// Which objects it sees, by their labels.
    pub object_selector: LabelSelector,
    /// What it intercepts.
    pub rules: Vec<Rule>,
    /// Names of its CEL `matchConditions` (which can leave out requests the rules select).
    pub match_conditions: Vec<String>,
    /// The in-cluster service it is called through, if not a URL.
    pub service: Option<ServiceRef>,
    /// The URL it is called at (`clientConfig.url`), if not a service.
    pub url: Option<String>,
}

impl Webhook {
    /// The host the API server calls it at: `NAME.NAMESPACE.svc` for a service (how the API
    /// server writes the URL of a service), the URL's host otherwise.
    pub fn call_host(&self) -> Option<String> {
        match (&self.service, &self.url) {
            (Some(s), _) => Some(format!("{}.{}.svc", s.name, s.namespace)),
            (None, Some(url)) => url_host(url),
            (None, None) => None,
        }
    }
}

/// The host of the first `http://` or `https://` URL in `text`, lowercased: in a failure
/// message (`failed calling webhook "NAME": failed to call webhook: Post
/// "https://SERVICE.NAMESPACE.svc:443/PATH?timeout=10s": …`), the webhook's backend.
pub fn url_host(text: &str) -> Option<String> {
    let at = text.find("https://").map(|i| i + 8).or_else(|| text.find("http://").map(|i| i + 7))?;
    let rest = &text[at..];
    // Past any user information.
    let authority = rest.split(['/', '?', '#', '"', ' ', '\'']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// A `MutatingWebhookConfiguration` or `ValidatingWebhookConfiguration`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfiguration {
    /// Mutating or validating.
    pub kind: WebhookKind,
    /// `metadata.name`.
    pub name: String,
    /// `apiVersion`, e.g. `admissionregistration.k8s.io/v1`.
    pub api_version: String,
    /// `metadata.labels` and `metadata.annotations` together, to tell who manages it.
    pub labels: BTreeMap<String, String>,
    /// Its webhooks (the readable ones).
    pub webhooks: Vec<Webhook>,
    /// The file it came from.
    pub file: String,
    /// The line its document starts at.
    pub line: usize,
}

impl WebhookConfiguration {
    /// `MutatingWebhookConfiguration/NAME`.
    pub fn display_name(&self) -> String {
        let kind = match self.kind {
            WebhookKind::Mutating => "MutatingWebhookConfiguration",
            WebhookKind::Validating => "ValidatingWebhookConfiguration",
        };
        format!("{kind}/{}", self.name)
    }
}

/// Reads a configuration object. Webhooks that cannot be read are left out and described in
/// the second value (`webhooks[2].failurePolicy: …`); an `Err` means the object itself is
/// unusable (no name, `webhooks` not a list).
pub fn parse_configuration(
    kind: WebhookKind,
    v: &Value,
    file: &str,
    line: usize,
) -> Result<(WebhookConfiguration, Vec<String>), String> {
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_owned();
    // A version the API server does not serve for this kind was read as v1 without a word
    // (review s53, item 12: `admissionregistration.k8s.io/v9`); its defaults are unknown.
    let version = api_version.rsplit('/').next().unwrap_or_default();
    if !api_version.is_empty() && !matches!(version, "v1" | "v1beta1") {
        return Err(format!(
            "apiVersion: `{api_version}` is no version the API server serves for it (admissionregistration.k8s.io/v1, \
             and v1beta1 before Kubernetes 1.22), so its defaults are unknown; not judged"
        ));
    }
    // admissionregistration.k8s.io/v1beta1 defaulted to failing open and waiting 30 s; v1
    // fails closed and waits 10 s.
    let beta = api_version.ends_with("/v1beta1");
    let name = metadata_name(v).map_err(|e| format!("{e} (a configuration needs a name)"))?;
    let mut labels = BTreeMap::new();
    for key in ["/metadata/labels", "/metadata/annotations"] {
        string_entries(v, key, &mut labels);
    }
    let items = match v.get("webhooks") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(format!("webhooks: expected a list, got {}", kind_of(other))),
    };
    let mut webhooks = Vec::new();
    let mut problems = Vec::new();
    for (i, w) in items.iter().enumerate() {
        match parse_webhook(w, i, beta) {
            // Names are unique within a configuration: the API server refuses one that repeats a
            // name, so the second is not a webhook the cluster can have.
            Ok(w) if let Some(first) = webhooks.iter().find(|o: &&Webhook| o.name == w.name) => problems.push(format!(
                "webhooks[{i}].name: {:?} is the name of webhooks[{}] too; the API server refuses a configuration \
                 whose webhooks share a name",
                w.name, first.index
            )),
            Ok(w) => webhooks.push(w),
            Err(e) => problems.push(format!("webhooks[{i}]{e}")),
        }
    }
    Ok((
        WebhookConfiguration { kind, name, api_version, labels, webhooks, file: file.to_owned(), line },
        problems,
    ))
}

fn parse_webhook(w: &Value, index: usize, beta: bool) -> Result<Webhook, String> {
    if !w.is_object() {
        return Err(format!(": expected an object, got {}", kind_of(w)));
    }
    let name = w
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(".name: missing (a webhook needs a name)")?
        .to_owned();
    let failure_policy = match w.get("failurePolicy") {
        None | Some(Value::Null) => {
            if beta {
                FailurePolicy::Ignore
            } else {
                FailurePolicy::Fail
            }
        }
        Some(Value::String(s)) if s == "Fail" => FailurePolicy::Fail,
        Some(Value::String(s)) if s == "Ignore" => FailurePolicy::Ignore,
        Some(other) => return Err(format!(".failurePolicy: expected Fail or Ignore, got {other}")),
    };
    let timeout_seconds = match w.get("timeoutSeconds") {
        None | Some(Value::Null) => {
            if beta {
                30
            } else {
                10
            }
        }
        // The API server refuses a timeout outside 1–30 s (review s42, item 8: 0 was read as a
        // wait of 0 s, 31 without a word, and -4 called not a whole number).
        Some(v) => match v.as_i64().or_else(|| v.as_u64().map(|_| i64::MAX)) {
            Some(n) if (1..=30).contains(&n) => n as u32,
            Some(_) => {
                return Err(format!(
                    ".timeoutSeconds: {v} is outside 1 to 30 seconds, which the API server refuses to store"
                ));
            }
            None => return Err(format!(".timeoutSeconds: expected a whole number of seconds, got {v}")),
        },
    };
    let selector = |field: &str| {
        LabelSelector::from_value(w.get(field).unwrap_or(&Value::Null)).map_err(|e| format!(".{field}.{e}"))
    };
    let namespace_selector = selector("namespaceSelector")?;
    let object_selector = selector("objectSelector")?;
    let mut rules = Vec::new();
    match w.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Array(rs)) => {
            for (j, r) in rs.iter().enumerate() {
                rules.push(parse_rule(r).map_err(|e| format!(".rules[{j}].{e}"))?);
            }
        }
        Some(other) => return Err(format!(".rules: expected a list, got {}", kind_of(other))),
    }
    let match_conditions = match w.get("matchConditions") {
        Some(Value::Array(cs)) => cs
            .iter()
            .enumerate()
            .map(|(j, c)| {
                c.get("name").and_then(Value::as_str).map_or_else(|| format!("#{j}"), str::to_owned)
            })
            .collect(),
        _ => Vec::new(),
    };
    let service = w.pointer("/clientConfig/service").and_then(|s| {
        Some(ServiceRef {
            namespace: s.get("namespace")?.as_str()?.to_owned(),
            name: s.get("name")?.as_str()?.to_owned(),
        })
    });
    let url = w.pointer("/clientConfig/url").and_then(Value::as_str).map(str::to_owned);
    Ok(Webhook {
        name,
        index,
        failure_policy,
        timeout_seconds,
        namespace_selector,
        object_selector,
        rules,
        match_conditions,
        service,
        url,
    })
}

fn parse_rule(r: &Value) -> Result<Rule, String> {
    let list = |field: &str| -> Result<Vec<String>, String> {
        match r.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{field}[{k}]: expected a string, got {}", kind_of(v)))
                })
                .collect(),
            Some(other) => Err(format!("{field}: expected a list, got {}", kind_of(other))),
        }
    };
    let scope = match r.get("scope") {
        None | Some(Value::Null) => "*".to_owned(),
        Some(Value::String(s)) if ["*", "Cluster", "Namespaced"].contains(&s.as_str()) => s.clone(),
        Some(other) => return Err(format!("scope: expected Cluster, Namespaced or *, got {other}")),
    };
    Ok(Rule {
        operations: list("operations")?,
        api_groups: list("apiGroups")?,
        resources: list("resources")?,
        scope,
    })
}

impl Rule {
    /// Whether it intercepts writes (`CREATE`, `UPDATE` or `DELETE`) of `resource` (a main
    /// resource, or `resource/subresource`) in `group`, at namespace scope when `namespaced`.
    pub fn covers(&self, group: &str, resource: &str, namespaced: bool, operation: Option<&str>) -> bool {
        let scope_ok = match self.scope.as_str() {
            "Cluster" => !namespaced,
            "Namespaced" => namespaced,
            _ => true,
        };
        let op_ok = self.operations.iter().any(|o| match operation {
            Some(op) => o == "*" || o == op,
            None => o == "*" || o == "CREATE" || o == "UPDATE" || o == "DELETE",
        });
        let group_ok = self.api_groups.iter().any(|g| g == "*" || g == group);
        let (main, sub) = resource.split_once('/').map_or((resource, None), |(m, s)| (m, Some(s)));
        let resource_ok = self.resources.iter().any(|r| {
            // `*/*` is every resource and every subresource.
            if r == "*/*" {
                return true;
            }
            let (rm, rs) = r.split_once('/').map_or((r.as_str(), None), |(m, s)| (m, Some(s)));
            let main_ok = rm == "*" || rm == main;
            let sub_ok = match (rs, sub) {
                (None, None) => true,
                (Some("*"), Some(_)) => true,
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            main_ok && sub_ok
        });
        scope_ok && op_ok && group_ok && resource_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: serde_json::Value) -> Rule {
        parse_rule(&v).expect("valid rule")
    }

    #[test]
    fn rules_cover_resources_as_the_api_server_matches_them() {
        let pods = rule(
            json!({"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}),
        );
        assert!(pods.covers("", "pods", true, Some("CREATE")));
        assert!(pods.covers("", "pods", true, None));
        assert!(!pods.covers("", "pods", true, Some("UPDATE")));
        assert!(!pods.covers("", "pods/status", true, None), "a main resource does not cover subresources");
        assert!(!pods.covers("apps", "pods", true, None));
        let all = rule(json!({"apiGroups": ["*"], "operations": ["*"], "resources": ["*/*"], "scope": "*"}));
        assert!(all.covers("coordination.k8s.io", "leases", true, None));
        assert!(all.covers("", "nodes/status", false, None));
        let star = rule(json!({"apiGroups": ["*"], "operations": ["UPDATE"], "resources": ["*"]}));
        assert!(star.covers("", "nodes", false, None));
        assert!(!star.covers("", "nodes/status", false, None), "* leaves out subresources");
        let cluster =
            rule(json!({"apiGroups": ["*"], "operations": ["*"], "resources": ["*"], "scope": "Cluster"}));
        assert!(!cluster.covers("", "pods", true, None));
        let connect = rule(json!({"apiGroups": [""], "operations": ["CONNECT"], "resources": ["pods/exec"]}));
        assert!(!connect.covers("", "pods/exec", true, None), "CONNECT is not a write");
        assert!(parse_rule(&json!({"scope": "Everywhere"})).is_err());
    }

    #[test]
    fn the_host_of_a_failure_message_is_the_backend_called() {
        let msg = r#"Internal error occurred: failed calling webhook "w": failed to call webhook: Post "https://kyverno-svc.kyverno.svc:443/mutate?timeout=10s": context deadline exceeded"#;
        assert_eq!(url_host(msg).as_deref(), Some("kyverno-svc.kyverno.svc"));
        assert_eq!(url_host("Post https://Other.Example.com./x: EOF").as_deref(), Some("other.example.com"));
        assert_eq!(url_host("Post \"https://[::1]:8443/x\"").as_deref(), Some("[::1]"));
        assert_eq!(url_host("no endpoints available"), None);
    }

    #[test]
    fn defaults_follow_the_api_version() {
        let v1 = json!({"apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": "c"},
            "webhooks": [{"name": "w.example.com", "clientConfig": {"service": {"namespace": "ns", "name": "svc"}}}]});
        let (c, problems) = parse_configuration(WebhookKind::Validating, &v1, "f.yaml", 3).expect("valid");
        assert!(problems.is_empty());
        assert_eq!(c.webhooks[0].failure_policy, FailurePolicy::Fail);
        assert_eq!(c.webhooks[0].timeout_seconds, 10);
        assert_eq!(c.webhooks[0].service, Some(ServiceRef { namespace: "ns".into(), name: "svc".into() }));
        let mut beta = v1.clone();
        beta["apiVersion"] = json!("admissionregistration.k8s.io/v1beta1");
        let (c, _) = parse_configuration(WebhookKind::Validating, &beta, "f.yaml", 3).expect("valid");
        assert_eq!(c.webhooks[0].failure_policy, FailurePolicy::Ignore);
        assert_eq!(c.webhooks[0].timeout_seconds, 30);
    }

    #[test]
    fn a_bad_webhook_is_left_out_with_its_field_and_the_others_kept() {
        let v = json!({"apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"name": "c"}, "webhooks": [
            {"name": "a", "failurePolicy": "Sometimes"},
            {"name": "b", "namespaceSelector": {"matchExpressions": [{"key": "k", "operator": "Near"}]}},
            {"name": "c", "timeoutSeconds": -1},
            {"name": "d"},
            {"name": "e", "timeoutSeconds": 0},
            {"name": "f", "timeoutSeconds": 31},
            {"name": "g", "timeoutSeconds": "ten"},
            {"name": "d", "timeoutSeconds": 5}
        ]});
        let (c, problems) = parse_configuration(WebhookKind::Mutating, &v, "f.yaml", 1).expect("valid");
        assert_eq!(c.webhooks.len(), 1);
        assert_eq!(c.webhooks[0].name, "d");
        assert_eq!(c.webhooks[0].index, 3);
        assert_eq!(
            problems,
            vec![
                "webhooks[0].failurePolicy: expected Fail or Ignore, got \"Sometimes\"",
                "webhooks[1].namespaceSelector.matchExpressions[0].operator: \"Near\" is not In, NotIn, Exists or DoesNotExist",
                "webhooks[2].timeoutSeconds: -1 is outside 1 to 30 seconds, which the API server refuses to store",
                "webhooks[4].timeoutSeconds: 0 is outside 1 to 30 seconds, which the API server refuses to store",
                "webhooks[5].timeoutSeconds: 31 is outside 1 to 30 seconds, which the API server refuses to store",
                "webhooks[6].timeoutSeconds: expected a whole number of seconds, got \"ten\"",
                "webhooks[7].name: \"d\" is the name of webhooks[3] too; the API server refuses a configuration whose \
                 webhooks share a name",
            ]
        );
        assert!(parse_configuration(WebhookKind::Mutating, &json!({"webhooks": []}), "f", 1).is_err());
        assert_eq!(
            parse_configuration(
                WebhookKind::Mutating,
                &json!({"metadata": {"name": "x"}, "webhooks": 3}),
                "f",
                1
            )
            .expect_err("bad"),
            "webhooks: expected a list, got a number"
        );
    }
}
