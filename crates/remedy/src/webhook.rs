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
