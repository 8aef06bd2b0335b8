//! What a webhook patch needs around it to be safe to paste, whichever check wrote it
//! (reviewer item 9): the way back from failing open, and the namespace label a `NotIn` on
//! `kubernetes.io/metadata.name` relies on, which clusters before 1.21 do not set.

use findings::text::shell_quote;
use findings::{Finding, Remedy, RemedyKind, Safety};
use remedy::KubernetesVersion;

use crate::selector::NAME_LABEL;

/// The first release that labels every namespace `kubernetes.io/metadata.name=NAME` (the
/// `NamespaceDefaultLabelName` feature, beta and on by default in 1.21).
const NAME_LABEL_SINCE: KubernetesVersion = KubernetesVersion::new(1, 21);

/// The start of the warning a fail-open patch carries; a body holding it has had its
/// follow-ups (so a second pass changes nothing).
const FAIL_OPEN_WARNING: &str = "# While this patch stands,";

/// The start of the label step written before a `NotIn` on the name label (before 1.21).
const LABEL_FIRST: &str = "# Kubernetes";

/// One `kubectl patch` of a webhook configuration, read back from the line the remedies write
/// (`kubectl patch RESOURCE CONFIGURATION --type=strategic -p 'JSON'`).
struct WebhookPatch {
    /// The line up to ` -p `: `kubectl patch RESOURCE CONFIGURATION --type=strategic`.
    command: String,
    /// The webhook's name.
    webhook: String,
    /// Whether it sets `failurePolicy: Ignore`.
    fails_open: bool,
    /// The namespaces a `NotIn` on [`NAME_LABEL`] of its `namespaceSelector` leaves out.
    excluded_by_name: Vec<String>,
}

/// `line` as a webhook patch, `None` for any other line: the JSON is the last shell word,
/// single-quoted (`'\''` for a quote inside).
fn webhook_patch(line: &str) -> Option<WebhookPatch> {
    let line = line.trim();
    if !line.starts_with("kubectl patch ") || !line.contains("webhookconfigurations") {
        return None;
    }
    let (command, quoted) = line.split_once(" -p ")?;
    let json = quoted.strip_prefix('\'')?.strip_suffix('\'')?.replace(r"'\''", "'");
    let patch: serde_json::Value = serde_json::from_str(&json).ok()?;
    let hook = patch.get("webhooks")?.get(0)?;
    let webhook = hook.get("name")?.as_str()?.to_owned();
    let fails_open = hook.get("failurePolicy").and_then(|p| p.as_str()) == Some("Ignore");
    let expressions = hook.pointer("/namespaceSelector/matchExpressions").and_then(|e| e.as_array());
    let excluded_by_name = expressions
        .into_iter()
        .flatten()
        .filter(|e| {
            e.get("key").and_then(|k| k.as_str()) == Some(NAME_LABEL)
                && e.get("operator").and_then(|o| o.as_str()) == Some("NotIn")
        })
        .flat_map(|e| e.get("values").and_then(|v| v.as_array()).into_iter().flatten())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Some(WebhookPatch { command: command.to_owned(), webhook, fails_open, excluded_by_name })
}

/// JSON text with every character outside printable ASCII written as a `\uXXXX` escape: the
/// same value, with nothing a terminal or kubectl's YAML reader could fold or hide.
fn json_ascii(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The patch that makes `p`'s webhook fail closed again (`failurePolicy: Fail`), on the same
/// configuration; its namespaceSelector is left as the first patch made it.
fn fail_closed(p: &WebhookPatch) -> String {
    let patch = serde_json::json!({ "webhooks": [{ "name": p.webhook, "failurePolicy": "Fail" }] });
    format!("{} -p {}", p.command, shell_quote(&json_ascii(&patch)))
}

/// Reviewer item 9, on every webhook patch of `findings`:
/// - A patch that makes a webhook fail open says that its policy is not enforced while it
///   stands, and is followed by the remedy that sets `failurePolicy: Fail` again once the
///   backend is back ("until its backend is back" had no way back).
/// - A patch that leaves namespaces out by `kubernetes.io/metadata.name`, on a cluster older
///   than 1.21 (`version`), which sets no such label: a `NotIn` on a missing label matches, so
///   the patch alone excluded nothing. The label step comes first, and the remedy is review first.
///
/// Running it twice changes nothing.
pub fn webhook_patch_followups(findings: &mut [Finding], version: Option<KubernetesVersion>) {
    let unlabelled = version.filter(|v| *v < NAME_LABEL_SINCE);
    for f in findings.iter_mut() {
        let mut i = 0;
        while i < f.remedies.len() {
            let r = &f.remedies[i];
            if r.kind != RemedyKind::Command {
                i += 1;
                continue;
            }
            let patches: Vec<WebhookPatch> = r.body.lines().filter_map(webhook_patch).collect();
            let mut after = None;
            if let Some(v) = unlabelled
                && !r.body.starts_with(LABEL_FIRST)
            {
                let mut namespaces: Vec<&str> = Vec::new();
                for ns in patches.iter().flat_map(|p| &p.excluded_by_name) {
                    if !namespaces.contains(&ns.as_str()) {
                        namespaces.push(ns);
                    }
                }
                if !namespaces.is_empty() {
                    let labels: Vec<String> = namespaces
                        .iter()
                        .map(|ns| {
                            format!(
                                "kubectl label namespace {} {}",
                                shell_quote(ns),
                                shell_quote(&format!("{NAME_LABEL}={ns}"))
                            )
                        })
                        .collect();
                    let r = &mut f.remedies[i];
                    r.body = format!(
                        "{LABEL_FIRST} {v} sets no {NAME_LABEL} label on namespaces (it does from 1.21): a NotIn on it \
                         matches a namespace without it,\n# so the patch below alone leaves {} covered. Label them \
                         first:\n{}\n{}",
                        namespaces.join(", "),
                        labels.join("\n"),
                        r.body
                    );
                    r.safety = Safety::ReviewFirst;
                }
            }
            let open: Vec<&WebhookPatch> = patches.iter().filter(|p| p.fails_open).collect();
            if !open.is_empty() && !f.remedies[i].body.contains(FAIL_OPEN_WARNING) {
                let names: Vec<&str> = open.iter().map(|p| p.webhook.as_str()).collect();
                let names = names.join(", ");
                let r = &mut f.remedies[i];
                r.body = format!(
                    "{FAIL_OPEN_WARNING} {names} is skipped whenever its backend cannot be reached: the requests it\n\
                     # would check or change are admitted as they are, its policy not enforced. Set failurePolicy back \
                     to Fail\n# once the backend answers (the next remedy).\n{}",
                    r.body
                );
                let placeholder = if open.iter().any(|p| p.command.contains(" CONFIGURATION ")) {
                    "# Replace CONFIGURATION with the name found above, as for the patch that made it fail open.\n"
                } else {
                    ""
                };
                after = Some(Remedy {
                    title: format!(
                        "When its backend is back: make {names} fail closed again (failurePolicy: Fail)"
                    ),
                    kind: RemedyKind::Command,
                    body: format!(
                        "# Once the webhook's pods are Ready and its service has endpoints (a webhook that fails \
                         closed and cannot be\n# reached blocks every request it covers again):\n{placeholder}{}",
                        open.iter().map(|p| fail_closed(p)).collect::<Vec<_>>().join("\n")
                    ),
                    safety: Safety::ReviewFirst,
                });
            }
            i += 1;
            if let Some(revert) = after {
                f.remedies.insert(i, revert);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use findings::{Evidence, Severity, Subject};

    fn finding(remedies: Vec<Remedy>) -> Finding {
        Finding {
            code: "WHK001".into(),
            severity: Severity::Critical,
            title: "t".into(),
            subject: Subject::new("webhook", "mutate.kyverno.svc-fail"),
            summary: String::new(),
            time_range: None,
            evidence: Evidence::default(),
            thresholds: Vec::new(),
            remedies,
        }
    }

    fn command(title: &str, body: String) -> Remedy {
        Remedy { title: title.into(), kind: RemedyKind::Command, body, safety: Safety::ReviewFirst }
    }

    fn fail_open() -> Remedy {
        command(
            "Unblock the cluster now: make mutate.kyverno.svc-fail fail open until its backend is back",
            remedy::fail_open_patch(
                remedy::WebhookKind::Mutating,
                "kyverno-resource-mutating-webhook-cfg",
                "mutate.kyverno.svc-fail",
            ),
        )
    }

    fn exclude() -> Remedy {
        command(
            "Stop mutate.kyverno.svc-fail covering kube-system",
            remedy::namespace_selector_patch(&remedy::KnownWebhook {
                kind: remedy::WebhookKind::Mutating,
                configuration: "kyverno-resource-mutating-webhook-cfg",
                webhook: "mutate.kyverno.svc-fail",
                namespace_selector: serde_json::json!({"matchExpressions": [
                    {"key": NAME_LABEL, "operator": "NotIn", "values": ["kube-system", "kyverno"]}
                ]}),
            }),
        )
    }

    /// Reviewer item 9a: "fail open until its backend is back" gave no command to make it fail
    /// closed again, and did not say that the policy is off while the patch stands.
    #[test]
    fn fail_open_patch_had_no_way_back_and_no_warning() {
        let mut findings = vec![finding(vec![fail_open()])];
        webhook_patch_followups(&mut findings, None);
        let r = &findings[0].remedies;
        assert_eq!(r.len(), 2, "{r:#?}");
        assert!(
            r[0].body.starts_with("# While this patch stands, mutate.kyverno.svc-fail is skipped"),
            "{}",
            r[0].body
        );
        assert!(r[0].body.contains("policy not enforced"), "{}", r[0].body);
        assert_eq!(
            r[1].title,
            "When its backend is back: make mutate.kyverno.svc-fail fail closed again (failurePolicy: Fail)"
        );
        assert_eq!(r[1].safety, Safety::ReviewFirst);
        let revert = r[1].body.lines().last().unwrap_or_default();
        assert_eq!(
            revert,
            r#"kubectl patch mutatingwebhookconfigurations kyverno-resource-mutating-webhook-cfg --type=strategic -p '{"webhooks":[{"failurePolicy":"Fail","name":"mutate.kyverno.svc-fail"}]}'"#
        );
        // Once.
        let again = findings.clone();
        webhook_patch_followups(&mut findings, None);
        assert_eq!(findings, again);
    }

    /// Reviewer item 9b: with `--kubernetes-version 1.20` the "stop covering kube-system" patch
    /// relied on `kubernetes.io/metadata.name`, which 1.20 does not set: a NotIn on a missing
    /// label matches, so kube-system stayed covered.
    #[test]
    fn kube_system_exclusion_relied_on_a_label_kubernetes_1_20_does_not_set() {
        for (version, labelled) in [("1.20", true), ("1.19", true), ("1.21", false), ("1.33", false)] {
            let v: KubernetesVersion = version.parse().expect("version");
            let mut findings = vec![finding(vec![exclude()])];
            webhook_patch_followups(&mut findings, Some(v));
            let body = &findings[0].remedies[0].body;
            assert_eq!(
                body.contains(
                    "kubectl label namespace kube-system kubernetes.io/metadata.name=kube-system\n"
                ),
                labelled,
                "{version}: {body}"
            );
            if labelled {
                assert!(
                    body.starts_with(&format!("# Kubernetes {v} sets no kubernetes.io/metadata.name label")),
                    "{body}"
                );
                assert!(
                    body.contains(
                        "kubectl label namespace kyverno kubernetes.io/metadata.name=kyverno\nkubectl patch"
                    ),
                    "{body}"
                );
                let again = findings.clone();
                webhook_patch_followups(&mut findings, Some(v));
                assert_eq!(findings, again);
            }
        }
        // Version unknown: left as it is.
        let mut findings = vec![finding(vec![exclude()])];
        webhook_patch_followups(&mut findings, None);
        assert_eq!(findings[0].remedies, vec![exclude()]);
    }
}
