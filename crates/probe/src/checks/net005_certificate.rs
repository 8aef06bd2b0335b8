//! NET005 api-certificate: the API server's certificate expires soon.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Remedy, RemedyKind, Safety, Severity, Thresholds,
    remedy, threshold_names as n,
};

use super::{command, subject};
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
A certificate already expired is NET003's finding when a handshake refused it; when none did
(the kubeconfig sets `insecure-skip-tls-verify`, so the probe, like kubectl, did not verify it),
it is this check's, critical: kubectl works while every client that verifies it fails.
When the name has several addresses, each one's certificate is read, and the one that expires
first is judged, named by its address.

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

/// Who presents `cert`: the API server's address, or, of several addresses that each
/// presented one, the address that presented it (review M2); and a suffix for titles.
fn presenter(ev: &ProbeEvidence, cert: &crate::Certificate) -> (String, String) {
    match cert.address {
        Some(address) if ev.certificates.len() > 1 => (
            format!(
                "{address} (one of the {} addresses of {})",
                ev.certificates.len(),
                ev.target.authority()
            ),
            format!(" at {address}"),
        ),
        _ => (ev.target.authority(), String::new()),
    }
}

/// Runs NET005.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(cert) = &ev.certificate else { return };
    let (presenter, at) = presenter(ev, cert);
    if cert.days_left <= 0.0 {
        // An expired certificate fails the handshake NET003 reports, unless the probe did not
        // verify it (insecure-skip-tls-verify): kubectl then works while every client that
        // verifies it, the nodes' kubelets among them, fails (review s47, item H4: INFO, exit 0).
        let reported = ev.http.iter().any(|a| a.tls_problem == Some(crate::TlsProblem::Expired));
        if !reported {
            out.push(expired(ev, cert, &presenter, &at, t));
        }
        return;
    }
    if cert.days_left >= t.value(n::CERTIFICATE_EXPIRY_WARNING_DAYS) {
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
            title: format!("The API server's certificate expires in {left} ({}){at}", cert.not_after),
            subject: subject(ev),
            summary: format!(
            "The certificate {presenter} presents ({}, issued by {}) is valid until {} UTC: {left} from now. On that day every client's TLS handshake fails.",
            cert.subject, cert.issuer, cert.not_after
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
            renew("Renew before the date"),
        ],
        }
        .into_finding(&INFO, t));
}

/// The finding for a certificate already expired that no handshake refused (it was not
/// verified).
fn expired(
    ev: &ProbeEvidence,
    cert: &crate::Certificate,
    presenter: &str,
    at: &str,
    t: &Thresholds,
) -> Finding {
    let days = crate::whole_days(-cert.days_left);
    let ago = match days {
        0 => "less than a day ago".to_owned(),
        1 => "1 day ago".to_owned(),
        d => format!("{d} days ago"),
    };
    Draft {
        severity: Severity::Critical,
        title: format!("The API server's certificate expired {ago} ({}){at}", cert.not_after),
        subject: subject(ev),
        summary: format!(
            "The certificate {} presents ({}, issued by {}) was valid until {} UTC ({ago}).{} Every client that verifies \
             it (the nodes' kubelets, controllers, other kubeconfigs) fails its TLS handshake (unless this host's clock \
             is far ahead: check `date -u`).",
            presenter,
            cert.subject,
            cert.issuer,
            cert.not_after,
            if ev.insecure {
                " This probe, like kubectl with this kubeconfig, did not verify it (insecure-skip-tls-verify), so its \
                 handshakes worked."
            } else {
                ""
            }
        ),
        source: ev.source(),
        measures: vec![Measure::new("days since it expired", days as f64, "days")],
        table: None,
        thresholds: Vec::new(),
        remedies: vec![
            command(
                "See every control-plane certificate's expiry (kubeadm clusters, on a control-plane node)",
                "kubeadm certs check-expiration".to_owned(),
            ),
            renew("Renew it now"),
        ],
    }
    .into_finding(&INFO, t)
}

/// How to renew. Review first: it restarts the control plane, and on AKS recreates every node.
/// Review s54 item 2: it was marked safe to apply, and said the cluster is unavailable "for some
/// minutes" where Microsoft's certificate-rotation guide says `az aks rotate-certs` recreates the
/// nodes with up to 30 minutes of downtime, and that the kubeconfig must be fetched again.
fn renew(title: &str) -> Remedy {
    remedy(
        title,
        RemedyKind::Advice,
        Safety::ReviewFirst,
        "kubeadm: `kubeadm certs renew all` on each control-plane node in turn, then restart that node's kube-apiserver, kube-controller-manager, kube-scheduler and etcd static pods (move their manifests out of /etc/kubernetes/manifests and back): the node's API server is down while they restart, so on several control-plane nodes do one at a time. Then copy /etc/kubernetes/admin.conf again where kubectl reads it. AKS: `az aks rotate-certs -g RG -n CLUSTER` recreates every node and can take the cluster down for up to 30 minutes (Microsoft's certificate-rotation guide: https://learn.microsoft.com/azure/aks/certificate-rotation); plan a window, then `az aks get-credentials -g RG -n CLUSTER --overwrite-existing` for a kubeconfig with the new certificates.",
    )
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
    fn expiry_within_a_month_warns_within_a_week_is_critical_and_a_refused_expired_one_is_left_to_net003() {
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
        // Expired and refused by a handshake: NET003's finding, not this one.
        let mut ev = healthy();
        if let Some(c) = ev.certificate.as_mut() {
            c.days_left = -2.0;
        }
        for a in &mut ev.http {
            a.tls_problem = Some(crate::TlsProblem::Expired);
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert!(out.is_empty(), "{out:#?}");
    }

    /// Review M2: with several addresses, the certificate judged was address 0's; the one that
    /// expires first is, named by its address.
    #[test]
    fn the_soonest_certificate_of_several_addresses_is_named_by_its_address() {
        let mut ev = healthy();
        let soon = crate::Certificate {
            days_left: 3.5,
            not_after: "2026-12-03".to_owned(),
            address: Some("10.0.0.5:443".parse().expect("address")),
            ..ev.certificate.clone().expect("a certificate")
        };
        let later =
            crate::Certificate { address: Some("10.0.0.1:443".parse().expect("address")), ..soon.clone() };
        ev.certificates = vec![crate::Certificate { days_left: 300.0, ..later }, soon.clone()];
        ev.certificate = Some(soon);
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(
            out[0].title,
            "The API server's certificate expires in 3 days (2026-12-03) at 10.0.0.5:443"
        );
        assert!(
            out[0].summary.starts_with(
                "The certificate 10.0.0.5:443 (one of the 2 addresses of api.example.com:443) presents"
            ),
            "{}",
            out[0].summary
        );
    }

    /// Review s47, H4: with insecure-skip-tls-verify no handshake refuses an expired certificate,
    /// and the probe said only NET003's INFO "not verified" (exit 0) while every node failed.
    #[test]
    fn an_expired_certificate_not_verified_was_only_info() {
        let mut ev = healthy();
        ev.insecure = true;
        if let Some(c) = ev.certificate.as_mut() {
            c.days_left = -3.2;
            c.not_after = "2026-12-02".to_owned();
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(out[0].title, "The API server's certificate expired 3 days ago (2026-12-02)");
        assert!(
            out[0].summary.contains("did not verify it (insecure-skip-tls-verify)"),
            "{}",
            out[0].summary
        );
        assert_eq!(
            with_days(-0.4)[0].1,
            "The API server's certificate expired less than a day ago (2026-12-04)"
        );
    }

    /// Review s54 item 2: renewing, which restarts the control plane (and on AKS recreates
    /// every node, up to 30 minutes down), was marked safe to apply, in both findings.
    #[test]
    fn renewing_the_certificates_was_marked_safe_to_apply() {
        for (days, insecure) in [(4.0, false), (-3.0, true)] {
            let mut ev = healthy();
            ev.insecure = insecure;
            if let Some(c) = ev.certificate.as_mut() {
                c.days_left = days;
                c.not_after = "2026-12-04".to_owned();
            }
            let mut out = Vec::new();
            run(&ev, &Thresholds::default(), &mut out);
            let renew = out[0].remedies.iter().find(|r| r.title.starts_with("Renew")).expect("a renewal");
            assert_eq!(renew.safety, Safety::ReviewFirst, "{days} days: {renew:?}");
            assert!(renew.body.contains("up to 30 minutes"), "{}", renew.body);
            assert!(renew.body.contains("az aks get-credentials"), "{}", renew.body);
            let check = out[0].remedies.iter().find(|r| r.title.starts_with("See every")).expect("a check");
            assert_eq!(check.safety, Safety::Safe, "reading the expiry dates stays safe");
        }
    }
}
