//! MET009 webhook-failures: admission webhooks that cannot be called, and ones that fail open.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, remedy, watch, window_phrase};
use crate::MetricsEvidence;

/// MET009.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET009",
    name: "webhook-failures",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::WEBHOOK_FAILURES_CRITICAL],
    doc: r#"## What it detects
Admission webhooks that the API server could not call, or that failed, so that the request
was rejected (`apiserver_admission_webhook_rejection_count` with `error_type`
`calling_webhook_error` or `apiserver_internal_error`): a warning, critical from
`webhook_failures_critical` (10) such requests: the webhook is down and its
`failurePolicy: Fail` blocks writes. Webhooks that failed and were let through because of
`failurePolicy: Ignore` (`apiserver_admission_webhook_fail_open_count`): warning, the policy
is silently not enforced. Denials by the webhook's own policy (`error_type="no_error"`) are
counted in the evidence but are not a finding.

## Why it matters
A webhook outage with `failurePolicy: Fail` that covers pods or kube-system stops the
control plane: no pod can be created, not even the webhook's own.

## Example
`validate.kyverno.svc-fail`: 3,400 requests rejected because the webhook could not be called.

## Remedy
Restore the webhook's backend (its pods, service and endpoints). To unblock the cluster now,
set the webhook's `failurePolicy` to `Ignore` or delete the webhook configuration, and put it
back once the backend is healthy; exclude `kube-system` with a `namespaceSelector` so it
cannot deadlock the control plane again.

## References
- AKS: troubleshoot API server and etcd problems (admission webhooks): https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- Kubernetes: admission webhook good practices: https://kubernetes.io/docs/concepts/cluster-administration/admission-webhooks-good-practices/
"#,
};

/// Runs MET009.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for api in &ev.apiservers {
        for w in &api.webhooks {
            let failing = w.call_failures > 0.0;
            if !failing && w.fail_open <= 0.0 {
                continue;
            }
            let kind = if w.webhook_type == "admit" {
                "mutatingwebhookconfigurations"
            } else {
                "validatingwebhookconfigurations"
            };
            let (severity, title, summary) = if failing {
                (
                    if w.call_failures >= t.value(n::WEBHOOK_FAILURES_CRITICAL) {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    format!(
                        "Admission webhook {} cannot be called: {} requests rejected",
                        w.name,
                        format_count(w.call_failures)
                    ),
                    format!(
                        "The API server rejected {} requests {} because it could not call the webhook `{}` or the call failed. With `failurePolicy: Fail` every write the webhook covers is blocked until it answers again.",
                        format_count(w.call_failures),
                        window_phrase(api.window_seconds),
                        findings::text::literal_backticks(&w.name)
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "Admission webhook {} fails open: {} calls let through",
                        w.name,
                        format_count(w.fail_open)
                    ),
                    format!(
                        "{} calls to the webhook `{}` failed {} and were let through because of `failurePolicy: Ignore`: its policy was not enforced for them.",
                        format_count(w.fail_open),
                        findings::text::literal_backticks(&w.name),
                        window_phrase(api.window_seconds)
                    ),
                )
            };
            out.push(
                Draft {
                    severity,
                    title,
                    subject: Subject::new("webhook", w.name.clone()),
                    summary,
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("requests rejected by call failures", w.call_failures, "count"),
                        Measure::new("calls failed open", w.fail_open, "count"),
                        Measure::new("requests denied by policy", w.denials, "count"),
                    ],
                    table: None,
                    thresholds: vec![n::WEBHOOK_FAILURES_CRITICAL],
                    remedies: {
                        let mut remedies = vec![remedy(
                            "Check the webhook's backend",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("kubectl get {kind} -o json | jq -r --arg name {} '.items[] | select(any(.webhooks[]?; .name == $name)) | .metadata.name, (.webhooks[] | select(.name == $name) | .clientConfig.service // .clientConfig.url)'\n# The service's namespace is in the output above:\nkubectl get pods,endpoints -n NAMESPACE", findings::text::shell_quote(&w.name)),
                        )];
                        // Only a webhook that rejects requests is unblocked by `Ignore`: one that
                        // fails open has it already, and the patch's "put Fail back" would make it
                        // block writes (ops review s38, item 3).
                        if failing {
                            remedies.push(remedy(
                            "Unblock writes now: let requests through while the webhook is down",
                            RemedyKind::Command,
                            Safety::ReviewFirst,
                            format!("# Find the configuration that holds the webhook (CONFIGURATION) and the webhook's index in it (INDEX, from 0), then:\nkubectl patch {kind} CONFIGURATION --type=json -p '[{{\"op\":\"replace\",\"path\":\"/webhooks/INDEX/failurePolicy\",\"value\":\"Ignore\"}}]'\n# Put Fail back once the backend is healthy."),
                            ));
                            remedies.push(watch(&format!(
                                "sum by (name, error_type) (rate(apiserver_admission_webhook_rejection_count{{name={}}}[5m]))",
                                findings::text::double_quoted_literal(&w.name)
                            )));
                        } else {
                            remedies.push(watch(&format!(
                                "sum by (name) (rate(apiserver_admission_webhook_fail_open_count{{name={}}}[5m]))",
                                findings::text::double_quoted_literal(&w.name)
                            )));
                        }
                        remedies
                    },
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::WebhookStats;
    use crate::test_support::apiserver;

    #[test]
    fn call_failures_are_critical_fail_open_warns_denials_are_not_findings() {
        let mut api = apiserver();
        let base = WebhookStats {
            name: String::new(),
            webhook_type: "validating".into(),
            calls: 10.0,
            p99: None,
            call_failures: 0.0,
            denials: 0.0,
            fail_open: 0.0,
        };
        api.webhooks = vec![
            WebhookStats { name: "down".into(), call_failures: 3400.0, ..base.clone() },
            WebhookStats { name: "flaky".into(), call_failures: 3.0, ..base.clone() },
            WebhookStats { name: "ignored".into(), fail_open: 12.0, ..base.clone() },
            WebhookStats { name: "strict".into(), denials: 50.0, ..base },
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [("down", Severity::Critical), ("flaky", Severity::Warning), ("ignored", Severity::Warning)]
        );
        assert!(out[0].remedies.iter().any(|r| r.body.contains("Ignore")));
        // Ops review s38 item 3: the webhook that fails open already has `Ignore`; told to patch
        // it to `Ignore` and "put Fail back", it would block writes. Its watch is its own count.
        let ignored = &out[2];
        assert!(ignored.remedies.iter().all(|r| !r.body.contains("failurePolicy")), "{:?}", ignored.remedies);
        assert!(
            ignored.remedies.iter().any(|r| r.body.contains("apiserver_admission_webhook_fail_open_count"))
        );
    }

    #[test]
    fn a_webhook_name_from_a_metrics_label_cannot_add_shell_commands() {
        // Regression review item 1: the name was pasted inside the jq program's double quotes
        // in a single-quoted shell word; a `'` in a label ended it and ran what followed.
        let hostile = "w'; touch /tmp/pwned; echo '\"x";
        let mut api = apiserver();
        api.webhooks = vec![WebhookStats {
            name: hostile.into(),
            webhook_type: "validating".into(),
            calls: 10.0,
            p99: None,
            call_failures: 3400.0,
            denials: 0.0,
            fail_open: 0.0,
        }];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let command = &out[0].remedies[0].body;
        assert!(command.contains(r#"--arg name 'w'\''; touch /tmp/pwned; echo '\''"x'"#), "{command}");
        // bash reads it as a pipeline of two simple commands, the name one argument.
        let parsed = std::process::Command::new("bash").arg("-n").arg("-c").arg(command).status();
        if let Ok(status) = parsed {
            assert!(status.success(), "{command}");
        }
        let promql = &out[0].remedies.last().expect("watch").body;
        assert!(promql.contains(r#"name="w'; touch /tmp/pwned; echo '\"x""#), "{promql}");
    }

    /// On-call review 52, item 8: `select(.webhooks[].name == $name)` stopped with "Cannot
    /// iterate over null" at the first configuration without webhooks (valid: the field is
    /// optional), so the one command that shows the failing webhook printed only an error. Each
    /// jq program MET008 and MET009 print, run by jq over a list that holds such a
    /// configuration, prints the named webhook alone.
    #[test]
    fn the_jq_programs_read_past_a_configuration_without_webhooks() {
        if std::process::Command::new("jq").arg("--version").output().is_err() {
            assert!(std::env::var_os("CI").is_none(), "jq is required under CI (scripts/test installs it)");
            return;
        }
        let name = "mutate.kyverno.svc-fail";
        let mut api = apiserver();
        api.webhooks = vec![WebhookStats {
            name: name.into(),
            webhook_type: "mutating".into(),
            calls: 1_000.0,
            p99: Some(crate::quantile::QuantileBucket { lower: 10.0, upper: 25.0, interpolated: 24.0 }),
            call_failures: 300.0,
            denials: 0.0,
            fail_open: 0.0,
        }];
        let ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        super::super::met008_webhook_latency::run(&ev, &Thresholds::default(), &mut out);
        let list = r#"{"items":[{"metadata":{"name":"empty"}},{"metadata":{"name":"kyverno"},"webhooks":[
            {"name":"other","clientConfig":{"url":"https://other"}},
            {"name":"mutate.kyverno.svc-fail","failurePolicy":"Fail","clientConfig":{"service":{"name":"svc","namespace":"kyverno"}}}]}]}"#;
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("list.json");
        std::fs::write(&input, list).expect("write");
        let mut ran = 0;
        for r in out.iter().flat_map(|f| &f.remedies) {
            let Some(line) = r.body.lines().find(|l| l.contains("| jq ")) else { continue };
            let (_, jq) = line.split_once(" | ").expect("a pipe");
            let run = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("jq {} < {}", jq.trim_start_matches("jq "), input.display()))
                .output()
                .expect("sh");
            let stdout = String::from_utf8_lossy(&run.stdout);
            assert!(run.status.success(), "{line}: {}", String::from_utf8_lossy(&run.stderr));
            assert!(stdout.contains("kyverno") && !stdout.contains("other"), "{line}: {stdout}");
            ran += 1;
        }
        assert_eq!(ran, 2, "one program from each check");
    }
}
