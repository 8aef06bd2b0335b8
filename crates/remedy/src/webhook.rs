//! Patches for admission webhooks that fail or time out: fail open, and never cover kube-system.

use findings::{Remedy, RemedyKind, Safety};

use crate::{is_unsafe_in_line, one_line, shell_quote};

/// Which admission webhook configuration type holds a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    /// `MutatingWebhookConfiguration`.
    Mutating,
    /// `ValidatingWebhookConfiguration`.
    Validating,
}

impl WebhookKind {
    /// The kubectl resource name.
    pub fn resource(self) -> &'static str {
        match self {
            WebhookKind::Mutating => "mutatingwebhookconfigurations",
            WebhookKind::Validating => "validatingwebhookconfigurations",
        }
    }
}

/// A webhook as the evidence names it: the webhook's own name (as in `failed calling webhook
/// "…"`), and its configuration when known (audit annotations of recent versions carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRef {
    /// The webhook name, e.g. `mutate.kyverno.svc-fail`.
    pub webhook: String,
    /// Its configuration's kind and name, when known.
    pub configuration: Option<(WebhookKind, String)>,
}

/// The strategic merge patch of one webhook: the `webhooks` list merges by `name`, so only
/// this webhook changes; `fail_open` sets `failurePolicy: Ignore`, `namespace_selector`
/// replaces its selector (whose `matchExpressions` list is replaced as a whole).
fn webhook_patch(
    resource: &str,
    configuration: &str,
    webhook: &str,
    fail_open: bool,
    namespace_selector: Option<&serde_json::Value>,
) -> String {
    let mut hook = serde_json::Map::new();
    hook.insert("name".into(), webhook.into());
    if fail_open {
        hook.insert("failurePolicy".into(), "Ignore".into());
    }
    // `null` in a strategic merge patch deletes the selector, and the webhook would cover every
    // namespace: it stands for the selector left as it is.
    if let Some(selector) = namespace_selector.filter(|s| !s.is_null()) {
        hook.insert("namespaceSelector".into(), selector.clone());
    }
    let patch = json_ascii_safe(&serde_json::json!({ "webhooks": [hook] }).to_string());
    format!(
        "kubectl patch {resource} {} --type=strategic -p {}",
        shell_quote(configuration),
        shell_quote(&patch)
    )
}

/// JSON text with every control, format, line-break and separator character (which serde_json
/// leaves raw above U+001F) written as a `\uXXXX` escape: the same value, but kubectl reads a
/// patch as YAML 1.1, which folds U+0085, U+2028 and U+2029 inside a quoted string like a line
/// break, and a reviewer sees the hidden characters. Outside strings JSON holds none of them.
fn json_ascii_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe_in_line(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The advice to repair a webhook's backend, naming its service when known.
fn backend_advice(webhook: &str, service: Option<(&str, &str)>) -> Remedy {
    let check = match service {
        Some((namespace, name)) => format!(
            "Check its service {namespace}/{name} (`kubectl get endpoints -n {} {}`)",
            shell_quote(namespace),
            shell_quote(name)
        ),
        None => format!(
            "Check the service named in the configuration of {webhook} (`kubectl get endpoints -n NAMESPACE SERVICE`)"
        ),
    };
    Remedy {
        title: "Check the webhook's service and endpoints".to_owned(),
        kind: RemedyKind::Advice,
        body: format!(
            "A webhook with failurePolicy: Fail that cannot be reached blocks every request it covers. {check}, its \
             pods' readiness and logs, and keep its timeoutSeconds short (the default is 10 s)."
        ),
        safety: Safety::Safe,
    }
}

/// Remedies for a failing webhook whose configuration (or at least its selector) is not known:
/// find it, make the webhook fail open (a patch of `failurePolicy` alone), check the webhook's
/// backend, and, apart and review-first, stop it covering kube-system: that patch replaces the
/// webhook's whole `namespaceSelector`, so it comes after the command that reads the current one.
/// Review 50, item 2: the two were one patch, and an opt-in selector (`istio-injection In
/// [enabled]`) pasted unread was lost, so the webhook covered every namespace but kube-system.
pub fn webhook_remedies(target: &WebhookRef) -> Vec<Remedy> {
    let mut out = Vec::new();
    let webhook = &target.webhook;
    let (resource, configuration, fill_in) = match &target.configuration {
        Some((kind, name)) => (kind.resource(), name.as_str(), ""),
        None => {
            out.push(Remedy {
                title: format!("Find the configuration that holds webhook {webhook}"),
                kind: RemedyKind::Command,
                body: format!(
                    "kubectl get mutatingwebhookconfigurations,validatingwebhookconfigurations \
                     -o custom-columns=KIND:.kind,NAME:.metadata.name,WEBHOOKS:.webhooks[*].name | grep -F {}",
                    shell_quote(webhook)
                ),
                safety: Safety::Safe,
            });
            (
                "mutatingwebhookconfigurations",
                "CONFIGURATION",
                "# Replace CONFIGURATION with the name found above (use validatingwebhookconfigurations if it is one).\n",
            )
        }
    };
    out.push(Remedy {
        title: format!("Make webhook {webhook} fail open (failurePolicy: Ignore)"),
        kind: RemedyKind::Command,
        body: format!(
            "{fill_in}{}\n# Its namespaceSelector is left as it is.",
            webhook_patch(resource, configuration, webhook, true, None)
        ),
        safety: Safety::ReviewFirst,
    });
    out.push(backend_advice(webhook, None));
    let selector = serde_json::json!({
        "matchExpressions": [{
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["kube-system"],
        }]
    });
    // The jsonpath names no webhook: a name from the audit log could break its quoting.
    out.push(Remedy {
        title: format!(
            "Stop webhook {webhook} covering kube-system (replaces its whole namespaceSelector: read it first)"
        ),
        kind: RemedyKind::Command,
        body: format!(
            "{fill_in}# This patch replaces the webhook's whole namespaceSelector, matchExpressions included. Read the \
             current selectors first:\nkubectl get {resource} {} -o jsonpath='{{range .webhooks[*]}}{{.name}}{{\"\\t\"}}{{.namespaceSelector}}{{\"\\n\"}}{{end}}'\n\
             # Add the expressions printed for {} to the patch below, with the webhook's own namespace next to \
             kube-system: a selector that opts namespaces in (such as istio-injection In [enabled]) would otherwise \
             be lost, and the webhook would cover every namespace but kube-system. Pass the manifests (--manifests \
             or --cluster) to get the patch written from its selector.\n{}",
            shell_quote(configuration),
            one_line(webhook),
            webhook_patch(resource, configuration, webhook, false, Some(&selector))
        ),
        safety: Safety::ReviewFirst,
    });
    out
}

/// Remedies for a failing webhook of a known configuration: one patch that makes it fail open
/// and adds `excluded` (kube-system and its own namespace) to its current `namespaceSelector`
/// (`target.namespace_selector`, the other expressions kept), then check its backend.
/// `managed_by` names the controller that manages the configuration and would revert a patch.
/// A `target.namespace_selector` of `null` leaves the selector as it is: the patch only makes
/// the webhook fail open (for a selector that leaving `excluded` out would empty; the caller
/// says why).
pub fn known_webhook_remedies(
    target: &KnownWebhook<'_>,
    excluded: &[&str],
    service: Option<(&str, &str)>,
    managed_by: Option<&str>,
) -> Vec<Remedy> {
    let fail_open_only = target.namespace_selector.is_null();
    let patch = webhook_patch(
        target.kind.resource(),
        target.configuration,
        target.webhook,
        true,
        Some(&target.namespace_selector),
    );
    let mut body = if fail_open_only {
        format!("{patch}\n# Its namespaceSelector is left as it is.")
    } else {
        format!(
            "{patch}\n# The selector above is the webhook's current one with {} added to a NotIn on kubernetes.io/metadata.name.",
            one_line(&excluded.join(", "))
        )
    };
    if let Some(by) = managed_by {
        let by = one_line(by);
        body.push_str(&format!(
            "\n# {} is managed by {by}, which will put its own settings back: make the same change in {by}'s \
             settings too, or this patch only holds until it does.",
            one_line(target.configuration)
        ));
    }
    vec![
        Remedy {
            title: if fail_open_only {
                format!("Make webhook {} fail open (failurePolicy: Ignore)", target.webhook)
            } else {
                format!(
                    "Make webhook {} fail open (failurePolicy: Ignore) and stop it covering {}",
                    target.webhook,
                    excluded.join(" and ")
                )
            },
            kind: RemedyKind::Command,
            body,
            safety: Safety::ReviewFirst,
        },
        backend_advice(target.webhook, service),
    ]
}

/// One webhook of a known configuration, for patches computed from the configuration itself.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownWebhook<'a> {
    /// Mutating or validating.
    pub kind: WebhookKind,
    /// The configuration's name.
    pub configuration: &'a str,
    /// The webhook's name within it.
    pub webhook: &'a str,
    /// Its whole `namespaceSelector` as it should be after the patch (the current expressions
    /// kept, the new ones added): a strategic merge patch replaces `matchExpressions` as a
    /// whole, so the patch must carry every expression. `null`: left as it is (never deleted).
    pub namespace_selector: serde_json::Value,
}

/// `kubectl patch` setting a webhook's `namespaceSelector` to `target.namespace_selector`; the
/// `webhooks` list merges by name, so the other webhooks of the configuration are untouched.
pub fn namespace_selector_patch(target: &KnownWebhook<'_>) -> String {
    webhook_patch(
        target.kind.resource(),
        target.configuration,
        target.webhook,
        false,
        Some(&target.namespace_selector),
    )
}

/// `kubectl patch` making one webhook of a known configuration fail open.
pub fn fail_open_patch(kind: WebhookKind, configuration: &str, webhook: &str) -> String {
    webhook_patch(kind.resource(), configuration, webhook, true, None)
}

#[cfg(test)]
mod known_tests {
    use super::*;

    #[test]
    fn patches_name_the_configuration_and_carry_the_whole_selector_quoted() {
        let selector = serde_json::json!({
            "matchLabels": {"team": "a"},
            "matchExpressions": [
                {"key": "x", "operator": "Exists"},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "it's"]},
            ]
        });
        let cmd = namespace_selector_patch(&KnownWebhook {
            kind: WebhookKind::Validating,
            configuration: "my config",
            webhook: "v.example.com",
            namespace_selector: selector.clone(),
        });
        assert!(
            cmd.starts_with(
                "kubectl patch validatingwebhookconfigurations 'my config' --type=strategic -p '"
            )
        );
        // The JSON survives the shell: undo the quoting and parse it back.
        let quoted = cmd.split_once(" -p ").map(|(_, q)| q).unwrap_or_default();
        let json = quoted.trim_matches('\'').replace(r"'\''", "'");
        let back: serde_json::Value = serde_json::from_str(&json).expect("patch is JSON");
        assert_eq!(back["webhooks"][0]["name"], "v.example.com");
        assert_eq!(back["webhooks"][0]["namespaceSelector"], selector);
        // A null selector is left out of the patch: written, it would delete the selector.
        let keep = KnownWebhook {
            kind: WebhookKind::Validating,
            configuration: "my config",
            webhook: "v.example.com",
            namespace_selector: serde_json::Value::Null,
        };
        assert!(!namespace_selector_patch(&keep).contains("namespaceSelector"));
        let known = known_webhook_remedies(&keep, &["kube-system"], None, Some("kyverno"));
        assert_eq!(known[0].title, "Make webhook v.example.com fail open (failurePolicy: Ignore)");
        assert!(
            known[0].body.contains(r#"{"failurePolicy":"Ignore","name":"v.example.com"}"#),
            "{}",
            known[0].body
        );
        assert!(!known[0].body.contains("\"namespaceSelector\""), "{}", known[0].body);
        assert!(known[0].body.contains("# Its namespaceSelector is left as it is."), "{}", known[0].body);
        let open = fail_open_patch(WebhookKind::Mutating, "kyverno", "m.kyverno.svc");
        assert_eq!(
            open,
            r#"kubectl patch mutatingwebhookconfigurations kyverno --type=strategic -p '{"webhooks":[{"failurePolicy":"Ignore","name":"m.kyverno.svc"}]}'"#
        );
    }
}
