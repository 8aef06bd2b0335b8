//! Patches for admission webhooks that fail or time out: fail open, and never cover kube-system.

use findings::{Remedy, RemedyKind, Safety};

use crate::shell_quote;

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

/// Remedies for a failing webhook: find its configuration (when unknown), make it fail open and
/// exclude kube-system, then check the webhook's backend.
pub fn webhook_remedies(target: &WebhookRef) -> Vec<Remedy> {
    let mut out = Vec::new();
    let webhook = &target.webhook;
    let patch = serde_json::json!({
        "webhooks": [{
            "name": webhook,
            "failurePolicy": "Ignore",
            "namespaceSelector": {
                "matchExpressions": [{
                    "key": "kubernetes.io/metadata.name",
                    "operator": "NotIn",
                    "values": ["kube-system"],
                }]
            }
        }]
    })
    .to_string();
    let patch_cmd = |resource: &str, name: &str| {
        // The `webhooks` list merges by `name` under a strategic merge patch, so only this
        // webhook changes.
        format!("kubectl patch {resource} {} --type=strategic -p {}", shell_quote(name), shell_quote(&patch))
    };
    let body = match &target.configuration {
        Some((kind, name)) => patch_cmd(kind.resource(), name),
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
            format!(
                "# Replace CONFIGURATION with the name found above (use validatingwebhookconfigurations if it is one).\n{}",
                patch_cmd("mutatingwebhookconfigurations", "CONFIGURATION")
            )
        }
    };
    out.push(Remedy {
        title: format!(
            "Make webhook {webhook} fail open (failurePolicy: Ignore) and stop it covering kube-system"
        ),
        kind: RemedyKind::Command,
        body: format!(
            "{body}\n# This replaces the webhook's namespaceSelector: merge in any expressions it already has."
        ),
        safety: Safety::ReviewFirst,
    });
    out.push(Remedy {
        title: "Check the webhook's service and endpoints".to_owned(),
        kind: RemedyKind::Advice,
        body: format!(
            "A webhook with failurePolicy: Fail that cannot be reached blocks every request it covers. Check the \
             service named in the configuration of {webhook} (`kubectl get endpoints -n NAMESPACE SERVICE`), its \
             pods' readiness and logs, and keep its timeoutSeconds short (the default is 10 s)."
        ),
        safety: Safety::Safe,
    });
    out
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
    /// whole, so the patch must carry every expression.
    pub namespace_selector: serde_json::Value,
}

/// `kubectl patch` setting a webhook's `namespaceSelector` to `target.namespace_selector`; the
/// `webhooks` list merges by name, so the other webhooks of the configuration are untouched.
pub fn namespace_selector_patch(target: &KnownWebhook<'_>) -> String {
    let patch = serde_json::json!({
        "webhooks": [{ "name": target.webhook, "namespaceSelector": target.namespace_selector }]
    })
    .to_string();
    format!(
        "kubectl patch {} {} --type=strategic -p {}",
        target.kind.resource(),
        shell_quote(target.configuration),
        shell_quote(&patch)
    )
}

/// `kubectl patch` making one webhook of a known configuration fail open.
pub fn fail_open_patch(kind: WebhookKind, configuration: &str, webhook: &str) -> String {
    let patch =
        serde_json::json!({ "webhooks": [{ "name": webhook, "failurePolicy": "Ignore" }] }).to_string();
    format!(
        "kubectl patch {} {} --type=strategic -p {}",
        kind.resource(),
        shell_quote(configuration),
        shell_quote(&patch)
    )
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
        let open = fail_open_patch(WebhookKind::Mutating, "kyverno", "m.kyverno.svc");
        assert_eq!(
            open,
            r#"kubectl patch mutatingwebhookconfigurations kyverno --type=strategic -p '{"webhooks":[{"failurePolicy":"Ignore","name":"m.kyverno.svc"}]}'"#
        );
    }
}
