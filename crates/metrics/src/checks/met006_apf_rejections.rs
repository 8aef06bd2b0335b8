//! MET006 apf-rejections: API Priority and Fairness rejected requests of a flow schema.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, remedy, watch, window_phrase};
use crate::MetricsEvidence;

/// MET006.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET006",
    name: "apf-rejections",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::APF_REJECTIONS_WARNING],
    doc: r#"## What it detects
Flow schemas whose requests API Priority and Fairness rejected with HTTP 429
(`apiserver_flowcontrol_rejected_requests_total`, by flow schema, priority level and reason:
`queue-full`, `concurrency-limit`, `time-out`, `cancelled`). Any rejection is reported.
Rejections at the `exempt`, `system`, `node-high` or `leader-election` levels are critical:
nodes and controllers themselves are being turned away.

## Why it matters
A rejected client retries; if it is a controller or a kubelet, the cluster stops converging.
If it is a misbehaving client, APF is doing its job, and the question is whether that client
should be fixed or given its own priority level.

## Example
`service-accounts` at `workload-low`: 1,250 requests rejected (queue-full) over 15 min.

## Remedy
Name the clients in that flow schema (audit log), fix the one that floods, or give it its own
FlowSchema and PriorityLevelConfiguration (`apiserver-doctor diagnose` over the audit log writes
them for its top offender) so that it
stops starving the others.

A flow schema that is not one of those every API server creates (see
`k8s-bootstrap-apf-objects`) was made for its clients: a throttle apiserver-doctor wrote (named
`throttle-…`) or the cluster's own rule. Its rejections may be that rule working, so the
finding says so and offers to fix the client or raise the level's concurrency shares (and, for
a throttle of ours, how to delete it), not another throttle.

## References
- Kubernetes: API Priority and Fairness: https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
- kubernetes-mixin runbook.
"#,
};

const VITAL_LEVELS: &[&str] = &["exempt", "system", "node-high", "leader-election"];

/// The bootstrap flow schemas of the nodes and the control plane: their clients are not to be
/// given a small priority level of their own (ops review s38, item 4: the kubelets' and the
/// controller manager's rejections were answered with a throttle).
const CONTROL_PLANE_SCHEMAS: &[&str] = &[
    "exempt",
    "probes",
    "system-leader-election",
    "endpoint-controller",
    "workload-leader-election",
    "system-node-high",
    "system-nodes",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-system-service-accounts",
];

/// Runs MET006.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for api in &ev.apiservers {
        for r in &api.apf_rejections {
            if r.rejected < t.value(n::APF_REJECTIONS_WARNING) {
                continue;
            }
            let vital = VITAL_LEVELS.contains(&r.priority_level.as_str());
            let control_plane = vital || CONTROL_PLANE_SCHEMAS.contains(&r.flow_schema.as_str());
            let subject = format!("{} ({})", r.flow_schema, r.priority_level);
            // A flow schema of the cluster's own (not one every API server creates) was made
            // for these clients: its rejections may be the throttle working, and another
            // throttle would not help (ops review s51: MET006 advised one all the same).
            let own_rule = if control_plane { None } else { own_rule(&r.flow_schema, &r.priority_level) };
            out.push(
                Draft {
                    severity: if vital { Severity::Critical } else { Severity::Warning },
                    title: format!("APF rejected {} requests of flow schema {subject}", format_count(r.rejected)),
                    subject: Subject::new("flow-schema", r.flow_schema.clone()),
                    summary: format!(
                        "API Priority and Fairness answered 429 to {} requests of flow schema `{}` at priority level `{}` {} (reasons: {}).{}",
                        format_count(r.rejected),
                        findings::text::literal_backticks(&r.flow_schema),
                        findings::text::literal_backticks(&r.priority_level),
                        window_phrase(api.window_seconds),
                        r.reasons.join(", "),
                        if vital {
                            " This level serves nodes and control-plane components: the cluster cannot converge while they are turned away."
                        } else {
                            own_rule.as_ref().map_or("", |o| o.sentence.as_str())
                        }
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![Measure::new("rejected requests", r.rejected, "count")],
                    table: None,
                    thresholds: vec![n::APF_REJECTIONS_WARNING],
                    remedies: vec![
                        remedy(
                            "Name the clients of this flow schema",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!(
                                "kubectl get flowschema {} -o yaml\n{}",
                                findings::text::shell_quote(&r.flow_schema),
                                super::met001_request_latency::query_command(
                                    "KubeAudit | where responseStatus.code == 429 | summarize count() by userAgent, user.username | top 10 by count_"
                                )
                            ),
                        ),
                        if let Some(o) = own_rule {
                            remedy(&o.remedy_title, RemedyKind::Advice, Safety::ReviewFirst, o.remedy)
                        } else if control_plane {
                            remedy(
                                "Make room for the nodes and the control plane: throttle what crowds them out",
                                RemedyKind::Advice,
                                Safety::ReviewFirst,
                                "These are requests of the nodes or the control plane: do not give them a small priority level of their own. Find the clients that fill the API server (`apiserver-doctor diagnose` over the audit log names the top offender and writes its throttle) and throttle those; if this level is too small for the cluster's size, raise its `nominalConcurrencyShares`, or the API server's `--max-requests-inflight` and `--max-mutating-requests-inflight` where the platform lets you, then watch this level's queue wait and rejections.",
                            )
                        } else {
                            remedy(
                                "Give the noisy client its own priority level",
                                RemedyKind::Advice,
                                Safety::ReviewFirst,
                                "Write a FlowSchema that matches the client's user or service account and a PriorityLevelConfiguration with a small concurrency share for it (`apiserver-doctor diagnose` over the audit log generates both for the top offender, in the cluster's APF version), apply them, then watch this level's queue wait and rejections.",
                            )
                        },
                        watch(&format!(
                            "sum by (flow_schema, priority_level, reason) (rate(apiserver_flowcontrol_rejected_requests_total{{flow_schema={}}}[5m]))",
                            findings::text::double_quoted_literal(&r.flow_schema)
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// What MET006 says of a flow schema the cluster made itself.
struct OwnRule {
    sentence: String,
    remedy_title: String,
    remedy: String,
}

/// The words for flow schema `fs` at level `pl` when the cluster made it (a throttle of
/// apiserver-doctor's, or anyone's rule), `None` for Kubernetes' own.
fn own_rule(fs: &str, pl: &str) -> Option<OwnRule> {
    use findings::apf::{Maker, flow_schema_maker};
    let fs_q = findings::text::literal_backticks(fs);
    let pl_q = findings::text::literal_backticks(pl);
    let raise = format!(
        "Fix the client (the audit log names it: the command above). If the load is legitimate, raise the concurrency shares of priority level `{pl_q}` {} and watch its rejections.",
        super::edit_shares(pl)
    );
    // A name alone does not prove who wrote a rule (review s54 item 3: a throttle someone named
    // `throttle-build-status-poller`, at a level of another name, was called ours and deleted
    // with a command that named the wrong level). apiserver-doctor's throttles pair a flow
    // schema and a level of one name, labelled `app.kubernetes.io/managed-by: apiserver-doctor`;
    // the delete below matches that label, so it removes nothing anyone else wrote.
    let ours = flow_schema_maker(fs) == Maker::ApiserverDoctor && fs == pl;
    match flow_schema_maker(fs) {
        Maker::Kubernetes => None,
        Maker::ApiserverDoctor if ours => Some(OwnRule {
            sentence: format!(
                " `{fs_q}` is named as apiserver-doctor names the throttles it writes (a flow schema and a priority level of one name, holding one client back): if it is one, these rejections are that throttle working."
            ),
            remedy_title: "A throttle is working: fix the client, or give it more room".to_owned(),
            remedy: format!(
                "{raise} To lift the throttle altogether, delete both objects if apiserver-doctor wrote them (its label says so; \"No resources found\" means someone else did: ask them): `kubectl delete flowschema,prioritylevelconfiguration -l app.kubernetes.io/managed-by=apiserver-doctor --field-selector metadata.name={}`.",
                findings::text::literal_backticks(&findings::text::shell_quote(fs))
            ),
        }),
        Maker::ApiserverDoctor | Maker::Other => Some(OwnRule {
            sentence: format!(
                " `{fs_q}` is not one of the flow schemas every API server creates: the cluster (its platform or its owners) gave these clients a rule of their own, at priority level `{pl_q}`; if it was made to hold a client back, these rejections are it working."
            ),
            remedy_title: "The cluster's own rule rejects: fix the client, or give the level more room"
                .to_owned(),
            remedy: format!(
                "{raise} Another throttle for the same clients would not help: they already have a priority level of their own."
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ApfRejections;
    use crate::test_support::apiserver;

    /// MET006's findings for one flow schema `fs` at level `pl` that rejected `rejected`
    /// requests (queue-full).
    fn rejections(fs: &str, pl: &str, rejected: f64) -> Vec<Finding> {
        let mut api = apiserver();
        api.apf_rejections = vec![ApfRejections {
            flow_schema: fs.into(),
            priority_level: pl.into(),
            reasons: vec!["queue-full".into()],
            rejected,
        }];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        out
    }

    /// Review s42 (adversarial): a flow schema label with a quote, a line break, a pipe and a
    /// backtick was written bare into a "safe" kubectl command and a PromQL string; one word
    /// and one literal now, whatever it holds.
    #[test]
    fn a_flow_schema_from_a_label_cannot_add_shell_commands_or_end_the_promql_string() {
        let name = "we\"ird\\name\n<script>|`x`";
        let out = rejections(name, "workload-low", 7.0);
        let bodies: Vec<&str> = out[0].remedies.iter().map(|r| r.body.as_str()).collect();
        assert!(
            bodies[0].starts_with("kubectl get flowschema 'we\"ird\\name\n<script>|`x`' -o yaml\n"),
            "{bodies:?}"
        );
        let promql = bodies.last().expect("watch");
        assert!(promql.contains(r#"{flow_schema="we\"ird\\name\n<script>|`x`"}"#), "{promql}");
        assert!(!promql.contains('\n'), "one line: {promql}");
        // The name's own backticks are escaped in the summary, so the reports' code span around
        // it is not cut short (it showed as `<code>…|</code>x<code></code>`).
        assert!(
            out[0].summary.contains("flow schema `we\"ird\\name\n<script>|\\`x\\`` at"),
            "{}",
            out[0].summary
        );
    }

    /// Docs review 51: `apiserver-doctor query --input "$AUDIT_LOGS"` named the variable only
    /// in a comment, so pasted as printed it ran with an empty input; it is set first now, as
    /// the etcd commands set `ENDPOINT`.
    #[test]
    fn met006_query_sets_audit_logs_before_it_uses_it() {
        let out = rejections("service-accounts", "workload-low", 7.0);
        let body = &out[0].remedies[0].body;
        assert!(
            body.contains(
                "\nAUDIT_LOGS=/var/log/kubernetes/audit\napiserver-doctor query --input \"$AUDIT_LOGS\" '"
            ),
            "{body}"
        );
        assert_eq!(crate::checks::remedies::unset_shell_variables(body), Vec::<String>::new(), "{body}");
    }

    #[test]
    fn any_rejection_warns_and_vital_levels_are_critical() {
        let mut api = apiserver();
        api.apf_rejections = vec![
            ApfRejections {
                flow_schema: "service-accounts".into(),
                priority_level: "workload-low".into(),
                reasons: vec!["queue-full".into()],
                rejected: 1250.0,
            },
            ApfRejections {
                flow_schema: "system-nodes".into(),
                priority_level: "system".into(),
                reasons: vec!["time-out".into()],
                rejected: 3.0,
            },
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(got, [("service-accounts", Severity::Warning), ("system-nodes", Severity::Critical)]);
        assert!(out[0].summary.contains("queue-full"));
        // Ops review s38 item 4: the nodes' rejections were answered with a throttle of their
        // own; a workload's still get one.
        assert!(out[0].remedies.iter().any(|r| r.title == "Give the noisy client its own priority level"));
        assert!(
            out[1].remedies.iter().all(|r| !r.title.contains("its own priority level")),
            "{:?}",
            out[1].remedies
        );
        assert!(out[1].remedies.iter().any(|r| r.body.contains("do not give them a small priority level")));
    }

    /// Ops review s51: rejections by a flow schema the cluster made for a client (a throttle of
    /// apiserver-doctor's, or anyone's rule) were answered with "give the noisy client its own
    /// priority level", which it has: those rejections may be the rule working.
    #[test]
    fn rejections_by_the_clusters_own_flow_schema_are_not_answered_with_another_throttle() {
        let finding = |fs: &str, pl: &str| {
            let mut out = rejections(fs, pl, 1_250.0);
            assert_eq!(out.len(), 1, "{fs}");
            out.remove(0)
        };
        let ours = finding("throttle-sa-ci.runner", "throttle-sa-ci.runner");
        assert!(
            ours.summary.contains("`throttle-sa-ci.runner` is named as apiserver-doctor names the throttles"),
            "{}",
            ours.summary
        );
        assert_eq!(ours.remedies[1].title, "A throttle is working: fix the client, or give it more room");
        assert!(
            ours.remedies[1].body.contains(
                "`kubectl delete flowschema,prioritylevelconfiguration -l app.kubernetes.io/managed-by=apiserver-doctor --field-selector metadata.name=throttle-sa-ci.runner`"
            ),
            "{}",
            ours.remedies[1].body
        );
        let theirs = finding("noisy-ci", "batch-low");
        assert!(
            theirs.summary.contains("gave these clients a rule of their own, at priority level `batch-low`"),
            "{}",
            theirs.summary
        );
        assert!(theirs.remedies[1].body.contains("Another throttle for the same clients would not help"));
        assert!(theirs.remedies[1].body.contains("`kubectl edit prioritylevelconfiguration batch-low`"));
        // Kubernetes' own flow schemas keep the advice to give the offender a level of its own.
        let default = finding("service-accounts", "workload-low");
        assert_eq!(default.remedies[1].title, "Give the noisy client its own priority level");
        assert!(!default.summary.contains("rule of their own"), "{}", default.summary);
    }

    /// Review s54 item 3: a rule someone wrote and named `throttle-build-status-poller`, at
    /// priority level `restricted-pollers`, was called a throttle apiserver-doctor wrote, and the
    /// remedy deleted it by name (and a level of its name, which does not exist).
    #[test]
    fn a_throttle_named_like_ours_was_deleted_by_name_with_the_wrong_level() {
        let out = rejections("throttle-build-status-poller", "restricted-pollers", 1_250.0);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert!(!f.summary.contains("apiserver-doctor"), "{}", f.summary);
        assert!(f.summary.contains("at priority level `restricted-pollers`"), "{}", f.summary);
        let bodies: String = f.remedies.iter().map(|r| r.body.as_str()).collect();
        assert!(!bodies.contains("kubectl delete"), "{bodies}");
        assert!(bodies.contains("`kubectl edit prioritylevelconfiguration restricted-pollers`"), "{bodies}");
        // Even one of ours is deleted only through its label.
        let ours = rejections("throttle-user-alice", "throttle-user-alice", 1_250.0);
        let body = &ours[0].remedies[1].body;
        assert!(body.contains("-l app.kubernetes.io/managed-by=apiserver-doctor"), "{body}");
        assert!(!body.contains("delete flowschema,prioritylevelconfiguration throttle-user-alice"), "{body}");
    }
}
