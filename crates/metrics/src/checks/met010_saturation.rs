//! MET010 priority-level-saturation: a priority level uses (nearly) all its seats.

use findings::{
    CheckInfo, EvidenceKind, Finding, Measure, RemedyKind, Safety, Severity, Subject, Thresholds,
    threshold_names as n,
};

use super::{Draft, format_count, format_percent_against, remedy, watch};
use crate::MetricsEvidence;

/// MET010.
pub const INFO: CheckInfo = CheckInfo {
    code: "MET010",
    name: "priority-level-saturation",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::ApiserverMetrics,
    thresholds: &[n::PRIORITY_LEVEL_SATURATION_RATIO],
    doc: r#"## What it detects
API Priority and Fairness priority levels whose seats in use reached at least 90% of their
limit at the moment of the scrape, with the requests queued behind them
(`apiserver_flowcontrol_current_inqueue_requests`). Each version's own metrics are read, in
one unit:

- 1.28+: `apiserver_flowcontrol_current_executing_seats` of
  `apiserver_flowcontrol_current_limit_seats`;
- 1.26–1.27: `apiserver_flowcontrol_request_concurrency_in_use` (seats) of
  `…_current_limit_seats`;
- 1.22–1.25: `…_request_concurrency_in_use` of `apiserver_flowcontrol_request_concurrency_limit`
  (both in seats);
- 1.20–1.21: `apiserver_flowcontrol_current_executing_requests` of `…_request_concurrency_limit`
  (no seats yet: one request, one unit of concurrency).

Requests executing are a lower bound of seats in use (a request takes one seat or more, a
LIST up to 10): the larger of the two is taken. The
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
                        "Priority level {} is saturated: {} of {} {} in use, {} queued",
                        s.name,
                        format_count(s.in_use),
                        format_count(limit),
                        s.unit,
                        format_count(s.queued)
                    ),
                    subject: Subject::new("priority-level", s.name.clone()),
                    summary: format!(
                        "When the API server was scraped, priority level `{}` had {} of its {} {} in use ({}){} and {} requests waiting. New requests at this level queue, and are rejected with 429 once the queues are full.",
                        findings::text::literal_backticks(&s.name),
                        format_count(s.in_use),
                        format_count(limit),
                        s.unit,
                        format_percent_against(ratio * 100.0, &[ratio_limit * 100.0]),
                        if s.unit == "seats" && s.executing_requests > 0.0 {
                            format!(", for {} executing requests (a request takes one seat or more)", format_count(s.executing_requests))
                        } else {
                            String::new()
                        },
                        format_count(s.queued)
                    ),
                    source: format!("metrics:{}", api.source),
                    measures: {
                        let mut m = vec![
                            Measure::new(format!("{} in use", s.unit), s.in_use, "count"),
                            Measure::new(if s.unit == "seats" { "seat limit" } else { "concurrency limit (requests)" }, limit, "count"),
                        ];
                        if s.unit == "seats" && s.executing_requests > 0.0 {
                            m.push(Measure::new("executing requests", s.executing_requests, "count"));
                        }
                        m.push(Measure::new("queued requests", s.queued, "count"));
                        m
                    },
                    table: None,
                    thresholds: vec![n::PRIORITY_LEVEL_SATURATION_RATIO],
                    remedies: vec![
                        remedy(
                            "Find who fills the level",
                            RemedyKind::Command,
                            Safety::Safe,
                            format!("kubectl get flowschemas -o custom-columns=NAME:.metadata.name,LEVEL:.spec.priorityLevelConfiguration.name | grep -w -- {}", findings::text::shell_quote(&s.name)),
                        ),
                        watch(&format!(
                            "sum(apiserver_flowcontrol_current_executing_seats{{priority_level={0}}}) / sum(apiserver_flowcontrol_current_limit_seats{{priority_level={0}}})\n# before 1.28: sum(apiserver_flowcontrol_request_concurrency_in_use{{priority_level={0}}}) / sum(apiserver_flowcontrol_request_concurrency_limit{{priority_level={0}}})",
                            findings::text::double_quoted_literal(&s.name)
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

    fn sat(name: &str, in_use: f64, limit: Option<f64>, queued: f64) -> Saturation {
        Saturation {
            name: name.into(),
            in_use,
            limit,
            unit: "seats".into(),
            executing_requests: in_use,
            queued,
        }
    }

    #[test]
    fn flags_levels_at_ninety_percent_of_their_limit() {
        let mut api = apiserver();
        api.saturation = vec![
            sat("workload-low", 56.0, Some(56.0), 210.0),
            sat("global-default", 40.0, Some(56.0), 0.0),
            sat("mutating", 400.0, None, 0.0),
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
