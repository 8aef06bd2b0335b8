//! NET001 api-dns: the API server's name does not resolve, or slowly.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds, format_seconds,
    threshold_names as n,
};

use super::{advice, command, subject};
use crate::ProbeEvidence;

/// NET001.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET001",
    name: "api-dns",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Network,
    thresholds: &[n::PROBE_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects
The API server's host name does not resolve from where the probe runs (critical), or took
longer than `probe_latency_warning_seconds` (1 s) to resolve (warning). Through a proxy
(the cluster's `proxy-url`, else `HTTPS_PROXY` unless `NO_PROXY` excludes the server), the name
resolved is the proxy's, and the finding names it: the proxy resolves the API server's name.
When kubectl goes through a proxy the probe does not speak (an `https://` proxy), the direct
path is tested and what it meets is information, not a failure.

## Why it matters
Nodes, kubectl and controllers reach the API server by this name. When it does not resolve,
nothing reaches the control plane: for a private cluster that usually means the private DNS
zone is not linked to the network the client is in, or a custom DNS server does not forward to
Azure DNS (168.63.129.16).

## Example
`myaks-dns-1a2b.privatelink.eastus.azmk8s.io`: the name does not resolve: the DNS has no address
for it.

## Remedy
Resolve it by hand from the same host (`nslookup`, `dig`); for a private AKS cluster, link the
private DNS zone to the client's virtual network or forward the zone to Azure DNS.

## References
- AKS: troubleshoot connections to the API server (DNS resolution): https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/connectivity/troubleshoot-cluster-connection-issues-api-server
- AKS: private cluster DNS: https://learn.microsoft.com/azure/aks/private-clusters
"#,
};

/// Runs NET001.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(dns) = &ev.dns else { return };
    if dns.given {
        return;
    }
    // Through a proxy, the name resolved is the proxy's: the proxy resolves the API server's.
    let proxy = ev.proxy_used();
    let host = proxy.map_or(&ev.target.host, |p| &p.host);
    let whose = if proxy.is_some() { "proxy's" } else { "API server's" };
    // A proxy kubectl uses and the probe does not speak: the direct path was tested, which
    // kubectl does not take.
    let direct = ev.proxy_not_used().map(|p| {
        format!(
            " kubectl does not take this path: it reaches the API server through the proxy {} (from {}), which resolves the name itself; this probe does not support that proxy kind and tested the direct path.",
            p.url, p.from
        )
    });
    let remedies = || match proxy {
        Some(p) => vec![
            command("Resolve the proxy's name from this host", format!("nslookup {host}\ndig +short {host}")),
            advice(
                "Check the proxy setting",
                &format!(
                    "The proxy comes from {}: check its host name there, or use the proxy's address.",
                    p.from
                ),
            ),
        ],
        None => vec![
            command("Resolve the name from this host", format!("nslookup {host}\ndig +short {host}")),
            advice(
                "For a private cluster, check the DNS path",
                "A private AKS cluster's name resolves only through its private DNS zone: link the zone to the client's virtual network, or make the custom DNS server forward it to Azure DNS (168.63.129.16).",
            ),
        ],
    };
    if let Some(error) = &dns.error {
        // The resolver's words name the host (`the name X does not resolve`) unless it did not
        // answer: the host is then not named again (review: `Resolving X failed after 11 ms:
        // the name X does not resolve`).
        let named = error.contains(host.as_str());
        let resolving = match (proxy, named) {
            (Some(_), true) => "Resolving the proxy's name".to_owned(),
            (Some(_), false) => format!("Resolving the proxy's name {host}"),
            (None, true) => "Resolving the name".to_owned(),
            (None, false) => format!("Resolving {host}"),
        };
        out.push(Draft {
            severity: if direct.is_some() { Severity::Info } else { Severity::Critical },
            title: match (proxy, &direct) {
                (Some(p), _) => format!("The proxy's name {host} does not resolve (proxy {}, from {})", p.url, p.from),
                (None, Some(_)) => format!("The API server's name {host} does not resolve here, but kubectl goes through a proxy"),
                (None, None) => format!("The API server's name {host} does not resolve"),
            },
            subject: subject(ev),
            summary: match (proxy, &direct) {
                (Some(p), _) => format!(
                    "{} failed after {}: {error}. kubectl reaches {} through this proxy (from {}), so it cannot reach the API server either.",
                    resolving,
                    format_seconds(dns.seconds),
                    ev.target.host,
                    p.from
                ),
                (None, Some(d)) => format!(
                    "{} failed after {}: {error}.{d}",
                    resolving,
                    format_seconds(dns.seconds)
                ),
                (None, None) => format!(
                    "{} failed after {}: {error}. No client here can reach the API server by this name.",
                    resolving,
                    format_seconds(dns.seconds)
                ),
            },
            source: ev.source(),
            measures: vec![Measure::new("resolution time", dns.seconds, "s")],
            table: None,
            thresholds: Vec::new(),
            remedies: remedies(),
        }
        .into_finding(&INFO, t));
    } else if dns.seconds > t.value(n::PROBE_LATENCY_WARNING_SECONDS) {
        out.push(Draft {
            severity: if direct.is_some() { Severity::Info } else { Severity::Warning },
            title: format!("Resolving the {whose} name {host} took {}", format_seconds(dns.seconds)),
            subject: subject(ev),
            summary: format!(
                "{host} resolved to {} address(es) in {}, above the {} threshold: every new connection waits for it.{}",
                dns.addresses.len(),
                format_seconds(dns.seconds),
                format_seconds(t.value(n::PROBE_LATENCY_WARNING_SECONDS)),
                direct.as_deref().unwrap_or("")
            ),
            source: ev.source(),
            measures: vec![Measure::new("resolution time", dns.seconds, "s")],
            table: None,
            thresholds: vec![n::PROBE_LATENCY_WARNING_SECONDS],
            remedies: remedies(),
        }
        .into_finding(&INFO, t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testutil::healthy;

    #[test]
    fn a_name_that_does_not_resolve_is_critical_and_a_slow_one_a_warning() {
        let mut ev = healthy();
        if let Some(d) = ev.dns.as_mut() {
            d.addresses.clear();
            d.error = Some("failed to lookup address information".to_owned());
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(out[0].title, "The API server's name api.example.com does not resolve");
        let mut ev = healthy();
        if let Some(d) = ev.dns.as_mut() {
            d.seconds = 2.5;
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].thresholds[0].name, "probe_latency_warning_seconds");
    }
}
