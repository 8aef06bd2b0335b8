//! MET010 priority-level-saturation: a priority level uses (nearly) all its seats.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, remedy, watch};
use crate::MetricsEvidence;

/// MET010.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET010",
    name: "priority-level-saturation",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    doc: r#"## What it detects
API Priority and Fairness priority levels whose executing seats
(`apiserver_flowcontrol_current_executing_seats`, or `…_executing_requests` before 1.28)
reached at least 90% of their limit (`apiserver_flowcontrol_current_limit_seats`, or the
nominal limit) at the moment of the scrape, with the requests queued behind them. The
`exempt` level has no limit and is skipped. This is a point-in-time gauge: one scrape shows
the moment it was taken.

## Why it matters
A saturated level queues every new request, and rejects them (429) once its queues are full.

## Example
`workload-low`: 56 of 56 seats in use, 210 requests queued.

## Remedy
Find the clients at that level and the flow schema that fills it (MET007 and the audit log),
fix or throttle the heaviest, and raise the level's share only for legitimate load.

## References
- Kubernetes: API Priority and Fairness (seats, borrowing): https://kubernetes.io/docs/concepts/cluster-administration/flow-control/
"#,
};

/// Runs MET010.
pub fn run(ev: &MetricsEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let ratio_limit = t.value(n::PRIORITY_LEVEL_SATURATION_RATIO);
    for api in &ev.apiservers {
        for s in &api.saturation {
            let Some(limit) = s.limit.filter(|l| *l > 0.0) else { continue };
            let ratio = s.in_use / limit;
            if ratio < ratio_limit {
                continue;
            }
            out.push(
                Draft {
                    severity: Severity::Warning,
                    title: format!(
                        "Priority level {} is saturated: {} of {} seats in use, {} queued",
                        s.name,
                        format_count(s.in_use),
                        format_count(limit),
                        format_count(s.queued)
                    ),
                    subject: Subject::new("priority-level", s.name.clone()),
                    summary: format!(
                        "When the API server was scraped, priority level `{}` had {} of its {} seats in use ({:.0}%) and {} requests waiting. New requests at this level queue, and are rejected with 429 once the queues are full.",
                        s.name,
                        format_count(s.in_use),
                        format_count(limit),
                        ratio * 100.0,
                        format_count(s.queued)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: vec![
                        Measure::new("seats in use", s.in_use, "count"),
                        Measure::new("seat limit", limit, "count"),
                        Measure::new("queued requests", s.queued, "count"),
                    ],
                    table: None,
                    thresholds: vec![n::PRIORITY_LEVEL_SATURATION_RATIO],
                    remedies: vec![
                        remedy(
                            "Find who fills the level",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("kubectl get flowschemas -o custom-columns=NAME:.metadata.name,LEVEL:.spec.priorityLevelConfiguration.name | grep -w {}", s.name),
                        ),
                        watch(&format!(
                            "sum(apiserver_flowcontrol_current_executing_seats{{priority_level=\"{0}\"}}) / sum(apiserver_flowcontrol_current_limit_seats{{priority_level=\"{0}\"}})",
                            s.name
                        )),
                    ],
                }
                .into_finding(&INFO, t),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::Saturation;
    use crate::test_support::apiserver;

    #[test]
    fn flags_levels_at_ninety_percent_of_their_limit() {
        let mut api = apiserver();
        api.saturation = vec![
            Saturation { name: "workload-low".into(), in_use: 56.0, limit: Some(56.0), queued: 210.0 },
            Saturation { name: "global-default".into(), in_use: 40.0, limit: Some(56.0), queued: 0.0 },
            Saturation { name: "mutating".into(), in_use: 400.0, limit: None, queued: 0.0 },
        ];
        let mut out = Vec::new();
        run(
            &MetricsEvidence { apiservers: vec![api], ..Default::default() },
            &Thresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].subject.name, "workload-low");
    }
}
