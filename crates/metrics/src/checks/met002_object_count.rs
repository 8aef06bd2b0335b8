//! MET002 object-count: objects of one resource type stored in etcd against the thresholds.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{Draft, format_count, watch};
use crate::MetricsEvidence;

/// MET002.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET002",
    name: "object-count",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
Resource types with more objects in etcd than the thresholds: over 10,000 of one type is a
warning (AKS guide), over 150,000 is critical (SIG-scalability thresholds), and for events
1,000,000. The count is read from whichever metric the API server version has:
`apiserver_resource_objects` (1.34+), `apiserver_storage_objects` (1.21+) or
`etcd_object_counts` (older).

## Why it matters
Every LIST of the type reads every object, the watch cache holds them all in memory, and
the etcd database grows toward its quota. Leaked objects (finished Jobs, old ReplicaSets,
Events, custom resources nobody deletes) are the second cause of a slow API server in the
AKS guide.

## Example
`jobs.batch`: 48,210 objects (warning above 10,000).

## Remedy
Delete what is no longer needed (finished Jobs: `kubectl delete jobs -A
--field-selector status.successful=1`), set `ttlSecondsAfterFinished` on Jobs and
`revisionHistoryLimit` on Deployments, and cap the count per namespace with a ResourceQuota
(`count/jobs.batch`). `apiserver-doctor diagnose` over the audit log writes the ResourceQuota
for a resource it sees leak (AUD008).

## References
- AKS: troubleshoot API server and etcd problems (object counts): https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- SIG-scalability thresholds: https://github.com/kubernetes/community/blob/master/sig-scalability/configs-and-limits/thresholds.md
"#,
};

/// The cleanup remedies for a resource type (shared with the etcd key statistics check).
pub fn cleanup_remedies(resource: &str) -> Vec<findings::Remedy> {
    use super::remedy;
    use findings::{RemedyKind, Safety};
    let plain = resource.split('.').next().unwrap_or(resource);
    let mut out = vec![remedy(
        "See which namespaces hold them",
        RemedyKind::Command,
        Safety::Safe,
        format!(
            "kubectl get {} -A --no-headers | awk '{{print $1}}' | sort | uniq -c | sort -rn | head",
            findings::text::shell_quote(resource)
        ),
    )];
    match plain {
        "jobs" => {
            out.push(remedy(
                "Delete finished Jobs",
                RemedyKind::Command,
                Safety::ReviewFirst,
                "kubectl delete jobs -A --field-selector status.successful=1",
            ));
            out.push(remedy(
                "Let Kubernetes delete finished Jobs",
                RemedyKind::Advice,
                Safety::Safe,
                "Set `spec.ttlSecondsAfterFinished` (e.g. 3600) on Jobs, and `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` on CronJobs.",
            ));
        }
        "pods" => out.push(remedy(
            "Delete completed and failed Pods",
            RemedyKind::Command,
            Safety::ReviewFirst,
            "kubectl delete pods -A --field-selector status.phase=Succeeded\nkubectl delete pods -A --field-selector status.phase=Failed",
        )),
        "events" => out.push(remedy(
            "Shorten how long events are kept",
            RemedyKind::Advice,
            Safety::ReviewFirst,
            "Events expire after the API server's `--event-ttl` (default 1h). Find the component that writes them in bursts (`kubectl get events -A --sort-by=.lastTimestamp | tail`) and fix it; lower `--event-ttl` where the platform allows it.",
        )),
        "replicasets" => out.push(remedy(
            "Keep fewer old ReplicaSets",
            RemedyKind::Advice,
            Safety::Safe,
            "Set `spec.revisionHistoryLimit` on Deployments (default 10) to 2 or 3.",
        )),
        _ => {}
    }
    // The resource comes from a metric's label: written as it is only when it is a plain name.
    let plain_name =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-./".contains(c));
    let quota_key = format!("count/{resource}");
    let quota_key =
        if plain_name(&quota_key) { quota_key } else { findings::text::double_quoted_literal(&quota_key) };
    let plain = if plain_name(plain) { plain.to_ascii_lowercase() } else { "objects".to_owned() };
    out.push(remedy(
        "Cap the count per namespace with a ResourceQuota",
        findings::RemedyKind::Yaml,
        Safety::ReviewFirst,
        format!(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: object-count-{plain}\n  namespace: NAMESPACE\nspec:\n  hard:\n    {quota_key}: \"1000\"\n"
        ),
    ));
    out
}

/// Runs MET002.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    for api in &ev.apiservers {
        let metric = api.object_metric.as_deref().unwrap_or("apiserver_storage_objects");
        for o in &api.objects {
            let events = o.resource == "events" || o.resource == "events.events.k8s.io";
            let warn = t.value(n::OBJECTS_PER_TYPE_WARNING);
            let (crit, crit_name) = if events {
                (t.value(n::EVENTS_CRITICAL), n::EVENTS_CRITICAL)
            } else {
                (t.value(n::OBJECTS_PER_TYPE_CRITICAL), n::OBJECTS_PER_TYPE_CRITICAL)
            };
            if o.count <= warn {
                continue;
            }
            let severity = if o.count > crit { Severity::Critical } else { Severity::Warning };
            let limit = if severity == Severity::Critical { crit } else { warn };
            let mut measures = vec![Measure::new("objects", o.count, "count")];
            if let Some(first) = o.first_count {
                measures.push(Measure::new("objects at the first scrape", first, "count"));
            }
            out.push(
                Draft {
                    severity,
                    title: format!("{} {} objects are stored in etcd (over {})", format_count(o.count), o.resource, format_count(limit)),
                    subject: Subject::new("resource", o.resource.clone()),
                    summary: format!(
                        "`{metric}` counts {} objects of {}. Above {} objects of one type every LIST of it, the watch cache and the etcd database suffer; SIG-scalability's limit is {}.",
                        format_count(o.count),
                        o.resource,
                        format_count(warn),
                        format_count(crit)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures,
                    table: None,
                    thresholds: vec![n::OBJECTS_PER_TYPE_WARNING, crit_name],
                    remedies: {
                        let mut r = cleanup_remedies(&o.resource);
                        r.push(watch(&format!("{metric}{}", object_selector(metric, &o.resource))));
                        r
                    },
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// The PromQL selector of a group-qualified resource in `metric`: `apiserver_resource_objects`
/// (1.34+) labels the group and the plural apart (`{group="batch",resource="jobs"}`); the
/// older metrics name the qualified resource (`{resource="jobs.batch"}`).
pub(crate) fn object_selector(metric: &str, qualified: &str) -> String {
    if metric == "apiserver_resource_objects" {
        let (resource, group) = qualified.split_once('.').unwrap_or((qualified, ""));
        format!(
            "{{group={},resource={}}}",
            findings::text::double_quoted_literal(group),
            findings::text::double_quoted_literal(resource)
        )
    } else {
        format!("{{resource={}}}", findings::text::double_quoted_literal(qualified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ObjectCount;
    use crate::test_support::apiserver;

    #[test]
    fn warns_above_ten_thousand_and_is_critical_above_the_sig_limits() {
        let mut api = apiserver();
        api.objects = [
            ("pods", 9_000.0),
            ("jobs.batch", 48_210.0),
            ("configmaps", 200_000.0),
            ("events", 500_000.0),
            ("events", 1_500_000.0),
        ]
        .iter()
        .map(|&(r, c)| ObjectCount { resource: r.into(), count: c, first_count: None })
        .collect();
        let ev = MetricsEvidence { apiservers: vec![api], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        let got: Vec<(&str, Severity)> = out.iter().map(|f| (f.subject.name.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            [
                ("jobs.batch", Severity::Warning),
                ("configmaps", Severity::Critical),
                ("events", Severity::Warning),
                ("events", Severity::Critical)
            ]
        );
        let jobs = &out[0];
        assert!(jobs.remedies.iter().any(|r| r.body.contains("status.successful=1")));
        assert!(jobs.remedies.iter().any(|r| r.body.contains("count/jobs.batch")));
    }

    /// Metrics review (minor): on 1.34+ the PromQL `apiserver_resource_objects{resource="jobs.batch"}`
    /// matched nothing: that metric labels `group="batch"` and `resource="jobs"`.
    #[test]
    fn promql_for_apiserver_resource_objects_selects_group_and_resource_apart() {
        assert_eq!(
            object_selector("apiserver_resource_objects", "jobs.batch"),
            r#"{group="batch",resource="jobs"}"#
        );
        assert_eq!(object_selector("apiserver_resource_objects", "pods"), r#"{group="",resource="pods"}"#);
        assert_eq!(
            object_selector("apiserver_resource_objects", "widgets.example.com"),
            r#"{group="example.com",resource="widgets"}"#
        );
        assert_eq!(object_selector("apiserver_storage_objects", "jobs.batch"), r#"{resource="jobs.batch"}"#);
    }
}
