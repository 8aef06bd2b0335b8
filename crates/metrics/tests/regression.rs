//! One test per bug, named after it: each failed before its fix.

use findings::{Severity, Thresholds};
use metrics::{MetricsEvidence, Snapshot};

/// A kube-apiserver scrape whose one webhook's 141 calls all took between 10 and 25 s (calls
/// cut off at the 10 s timeout land just above it): `histogram_quantile(0.99, …)` gives
/// 10 + 15 × 139.59/141 = 24.85 s, a figure no call came near.
const TIMED_OUT_WEBHOOK: &str = r#"# TYPE kubernetes_build_info gauge
kubernetes_build_info{git_version="v1.29.5"} 1
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",resource="pods",verb="CREATE"} 141
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="0.005"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="0.025"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="0.1"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="0.5"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="1"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="2.5"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="10"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="25"} 141
apiserver_admission_webhook_admission_duration_seconds_bucket{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit",le="+Inf"} 141
apiserver_admission_webhook_admission_duration_seconds_sum{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit"} 1411.9
apiserver_admission_webhook_admission_duration_seconds_count{name="mutate.kyverno.svc-fail",operation="CREATE",rejected="true",type="admit"} 141
"#;

#[test]
fn met008_stated_the_interpolated_p99_as_a_measured_latency() {
    let scrape = Snapshot::parse("apiserver.prom", TIMED_OUT_WEBHOOK.as_bytes(), None);
    let evidence = MetricsEvidence::from_snapshots(&[scrape], None);
    let findings = metrics::checks::run(&evidence, &Thresholds::default());
    let f =
        findings.iter().find(|f| f.code == "MET008").unwrap_or_else(|| panic!("no MET008: {findings:#?}"));
    assert_eq!(f.severity, Severity::Critical);
    // The title gives the bucket, which is all the histogram knows; no interpolated figure.
    assert_eq!(
        f.title,
        "Admission webhook mutate.kyverno.svc-fail: P99 in the (10, 25] s bucket, over the 10 s default timeout"
    );
    // The interpolated value is there, as an estimate and named as one.
    assert!(f.summary.contains("≈24.85 s by linear interpolation (as histogram_quantile)"), "{}", f.summary);
    assert!(
        f.summary.contains(
            "Judged by the bucket's lower bound, 10 s, which it certainly exceeds, the P99 is above the 10 s default \
             webhook timeout"
        ),
        "{}",
        f.summary
    );
    let labels: Vec<&str> = f.evidence.measures.iter().map(|m| m.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "P99 above (its bucket's lower bound)",
            "P99 at most (its bucket's upper bound)",
            "P99 ≈ (linear interpolation, as histogram_quantile)",
            "calls"
        ]
    );
}
