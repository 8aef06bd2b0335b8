//! NET005 api-certificate: the API server's certificate expires soon.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds, threshold_names as n,
};

use super::{advice, command, subject};
use crate::ProbeEvidence;

/// NET005.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET005",
    name: "api-certificate",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Network,
    thresholds: &[n::CERTIFICATE_EXPIRY_WARNING_DAYS, n::CERTIFICATE_EXPIRY_CRITICAL_DAYS],
    doc: r#"## What it detects
The certificate the API server presents expires within `certificate_expiry_warning_days` (30
days, warning) or `certificate_expiry_critical_days` (7 days, critical). The certificate is
read on a handshake of its own that accepts whatever the server presents, so that the date can
be told even when the certificate is not trusted; whether it is trusted is NET003's question.
A certificate already expired is NET003's finding (the handshake fails), not this one's.

## Why it matters
When the API server's certificate expires, every client's handshake fails at once: kubectl,
the nodes, the controllers. kubeadm's certificates last one year and are renewed only by an
upgrade or `kubeadm certs renew`; a cluster that was not upgraded for a year stops on that day.

## Example
`CN=kube-apiserver`, issued by `CN=kubernetes`, valid until 2026-12-04: 4 days left.

## Remedy
Renew it before it expires: `kubeadm certs check-expiration` and `kubeadm certs renew all` on
each control-plane node (then restart the control-plane pods); on AKS, `az aks rotate-certs`.

## References
- Kubernetes: certificate management with kubeadm: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
- AKS: certificate rotation: https://learn.microsoft.com/azure/aks/certificate-rotation
"#,
};

/// Runs NET005.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(cert) = &ev.certificate else { return };
    if cert.days_left <= 0.0 || cert.days_left >= t.value(n::CERTIFICATE_EXPIRY_WARNING_DAYS) {
        return;
    }
    let critical = cert.days_left < t.value(n::CERTIFICATE_EXPIRY_CRITICAL_DAYS);
    let days = crate::whole_days(cert.days_left);
    let left = match days {
        0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        d => format!("{d} days"),
    };
    out.push(Draft {
            severity: if critical { Severity::Critical } else { Severity::Warning },
            title: format!("The API server's certificate expires in {left} ({})", cert.not_after),
            subject: subject(ev),
            summary: format!(
            "The certificate {} presents ({}, issued by {}) is valid until {} UTC: {left} from now. On that day every client's TLS handshake fails.",
            ev.target.authority(), cert.subject, cert.issuer, cert.not_after
        ),
            source: ev.source(),
            // Floored, as in the title and the CERT line: an expiry is safer told a day early.
            measures: vec![Measure::new("days left", days as f64, "days")],
            table: None,
            thresholds: vec![if critical { n::CERTIFICATE_EXPIRY_CRITICAL_DAYS } else { n::CERTIFICATE_EXPIRY_WARNING_DAYS }],
            remedies: vec![
            command(
                "See every control-plane certificate's expiry (kubeadm clusters, on a control-plane node)",
                "kubeadm certs check-expiration".to_owned(),
            ),
            advice(
                "Renew before the date",
                "kubeadm: `kubeadm certs renew all` on each control-plane node, then restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd pods. AKS: `az aks rotate-certs -g RG -n CLUSTER` (the cluster is unavailable for some minutes).",
            ),
        ],
        }
        .into_finding(&INFO, t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testutil::healthy;

    fn with_days(days: f64) -> Vec<(Severity, String)> {
        let mut ev = healthy();
        if let Some(c) = ev.certificate.as_mut() {
            c.days_left = days;
            c.not_after = "2026-12-04".to_owned();
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        out.into_iter().map(|f| (f.severity, f.title)).collect()
    }

    /// Review 26 §6: 4.998 days left gave "expires in 4 days" in the title and the CERT line
    /// but "days left 5 days" in the evidence (rounded) and 4.998 in JSON.
    #[test]
    fn net005_title_and_evidence_say_the_same_floored_days_left() {
        let mut ev = healthy();
        if let Some(c) = ev.certificate.as_mut() {
            c.days_left = 4.998;
            c.not_after = "2026-12-06".to_owned();
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].title, "The API server's certificate expires in 4 days (2026-12-06)");
        let days: Vec<f64> = out[0].evidence.measures.iter().map(|m| m.value).collect();
        assert_eq!(days, vec![4.0]);
        assert_eq!(crate::whole_days(4.998), 4, "the CERT line's number");
    }

    #[test]
    fn expiry_within_a_month_warns_within_a_week_is_critical_and_expired_is_left_to_net003() {
        assert_eq!(with_days(300.0), vec![]);
        assert_eq!(
            with_days(20.5),
            vec![(
                Severity::Warning,
                "The API server's certificate expires in 20 days (2026-12-04)".to_owned()
            )]
        );
        assert_eq!(with_days(4.2)[0].0, Severity::Critical);
        assert_eq!(
            with_days(0.5)[0].1,
            "The API server's certificate expires in less than a day (2026-12-04)"
        );
        assert_eq!(with_days(-2.0), vec![]);
    }
}
