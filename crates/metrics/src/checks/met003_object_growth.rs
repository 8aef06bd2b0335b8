//! MET003 object-growth: a resource type whose object count grows toward the next threshold.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, Severity, Subject, Thresholds, threshold_names as n,
};

use super::{Draft, format_count, format_window_seconds, watch};
use crate::MetricsEvidence;

/// MET003.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET003",
    name: "object-growth",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[
        n::ETCD_QUOTA_PROJECTION_HOURS,
        n::EVENTS_CRITICAL,
        n::OBJECTS_PER_TYPE_CRITICAL,
        n::OBJECTS_PER_TYPE_WARNING,
    ],
    doc: r#"## What it detects
With two scrapes of the same API server: resource types whose object count grew between
them fast enough to cross the next object-count threshold (10,000, then 150,000; events
1,000,000) within `etcd_quota_projection_hours` (4 h), at the growth rate seen. A
create-without-delete leak looks like this long before it hurts. The counts of different API
server processes are compared only within one control plane: at most one minor version apart,
the same etcd storage (see MET002).

## Why it matters
A leak is cheapest to stop while it is small: each leaked object makes every LIST of its
type slower and the etcd database larger, and cleaning up 100,000 objects takes hours of API
server load.

## Example
`jobs.batch`: 8,000 → 9,500 objects in 15 min (6,000 per hour); crosses 10,000 in 5 min.

## Remedy
Find the controller or CI system that creates them (`apiserver-doctor diagnose` on the audit
log shows create-without-delete churn per client), fix its cleanup (`ttlSecondsAfterFinished`,
owner references), and cap the count with a ResourceQuota.

## References
- AKS: troubleshoot API server and etcd problems: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/troubleshoot-apiserver-etcd
- Kubernetes: TTL-after-finished controller: https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/
"#,
};

/// Runs MET003.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let horizon_h = t.value(n::ETCD_QUOTA_PROJECTION_HOURS);
    for api in &ev.apiservers {
        let Some(seconds) = api.window_seconds.filter(|s| *s > 0.0) else { continue };
        for o in &api.objects {
            let Some(first) = o.first_count else { continue };
            let growth = o.count - first;
            if growth <= 0.0 {
                continue;
            }
            let per_hour = growth / seconds * 3600.0;
            let events = o.resource == "events" || o.resource == "events.events.k8s.io";
            let critical =
                if events { t.value(n::EVENTS_CRITICAL) } else { t.value(n::OBJECTS_PER_TYPE_CRITICAL) };
            let warn = t.value(n::OBJECTS_PER_TYPE_WARNING);
            // At exactly the warning level MET002 (`> warn`) is still silent: the next crossing
            // is that level's, not the critical one's (review s47).
            let next = if o.count <= warn {
                warn
            } else if o.count < critical {
                critical
            } else {
                continue;
            };
            let hours = (next - o.count) / per_hour;
            if hours > horizon_h {
                continue;
            }
            out.push(
                Draft {
                    severity: Severity::Warning,
                    title: format!(
                        "{} grows by {} objects per hour and crosses {} in {}",
                        o.resource,
                        format_count(per_hour),
                        format_count(next),
                        format_hours(hours)
                    ),
                    subject: Subject::new("resource", o.resource.clone()),
                    summary: format!(
                        "{} went from {} to {} objects in {} between the two scrapes. At that rate it crosses {} objects in {}: something creates them without deleting them.",
                        o.resource,
                        format_count(first),
                        format_count(o.count),
                        format_window_seconds(seconds),
                        format_count(next),
                        format_hours(hours)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("objects", o.count, "count"),
                        Measure::new("objects at the first scrape", first, "count"),
                        Measure::new("growth per hour", per_hour, "count"),
                        Measure::new("time to threshold", hours, "h"),
                    ],
                    table: None,
                    thresholds: vec![n::ETCD_QUOTA_PROJECTION_HOURS, n::OBJECTS_PER_TYPE_WARNING, if events { n::EVENTS_CRITICAL } else { n::OBJECTS_PER_TYPE_CRITICAL }],
                    remedies: {
                        let mut r = super::met002_object_count::cleanup_remedies(&o.resource);
                        let metric = api.object_metric.as_deref().unwrap_or("apiserver_storage_objects");
                        r.push(watch(&format!(
                            "deriv({metric}{}[1h]) * 3600",
                            super::met002_object_count::object_selector(metric, &o.resource)
                        )));
                        r
                    },
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

/// `45 min`, `3.2 h`.
pub(crate) fn format_hours(hours: f64) -> String {
    if hours * 60.0 < 0.5 {
        // "0 min" read as no time, or as a rounding (review s47).
        "under a minute".to_owned()
    } else if hours < 1.0 {
        format!("{:.0} min", hours * 60.0)
    } else {
        format!("{hours:.1} h")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::ObjectCount;
    use crate::test_support::apiserver;

    #[test]
    fn a_count_at_exactly_the_warning_level_was_projected_to_the_critical_one() {
        let mut api = apiserver();
        api.window_seconds = Some(900.0);
        api.objects =
            vec![ObjectCount { resource: "jobs.batch".into(), count: 10_000.0, first_count: Some(9_000.0) }];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].title,
            "jobs.batch grows by 4,000 objects per hour and crosses 10,000 in under a minute"
        );
        assert_eq!(format_hours(0.25), "15 min");
        assert_eq!(format_hours(2.0), "2.0 h");
    }

    #[test]
    fn flags_growth_that_crosses_the_next_threshold_within_the_horizon() {
        let mut api = apiserver();
        api.window_seconds = Some(900.0);
        api.objects = vec![
            // +1,500 in 15 min = 6,000/h; 500 left to 10,000 → 5 min
            ObjectCount { resource: "jobs.batch".into(), count: 9_500.0, first_count: Some(8_000.0) },
            // +100 in 15 min = 400/h; 9,000 left → 22 h: not flagged
            ObjectCount { resource: "pods".into(), count: 1_000.0, first_count: Some(900.0) },
            // shrinking: not flagged
            ObjectCount { resource: "secrets".into(), count: 9_999.0, first_count: Some(10_500.0) },
        ];
        let ev = MetricsEvidence { apiservers: vec![api.clone()], ..Default::default() };
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "jobs.batch");
        assert!(out[0].title.contains("6,000 objects per hour"), "{}", out[0].title);
        assert!(out[0].title.contains("5 min"), "{}", out[0].title);
        // one scrape: no growth can be measured
        api.window_seconds = None;
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        assert!(out.is_empty());
    }
}
