//! NET002 api-tcp: TCP connections to the API server fail, or are slow.

use findings::{
    CheckInfo, Draft, EvidenceKind, Finding, Measure, Severity, Thresholds, format_seconds,
    threshold_names as n,
};

use super::{advice, command, subject};
use crate::ProbeEvidence;

/// NET002.
pub const INFO: CheckInfo = CheckInfo {
    code: "NET002",
    name: "api-tcp",
    default_severity: Severity::Warning,
    evidence: EvidenceKind::Network,
    thresholds: &[n::PROBE_LATENCY_WARNING_SECONDS],
    doc: r#"## What it detects
TCP connections to the API server's addresses that fail: all of them (critical) or some
(warning), with the reason (refused, timed out, unreachable); one address, among several the
name resolves to, that never accepts a connection while the others do (warning, named as a
dead endpoint rather than a flaky path; information only when its connections failed at once
for want of a route and it is of the other family, an IPv6 address on a host without IPv6,
since Go clients fall back to the IPv4 one); and connections slower than
`probe_latency_warning_seconds` (1 s, warning). Each address is tried three times.
Through a proxy (HTTP `CONNECT` or SOCKS5), the connections are to the proxy, and a proxy
that refuses the tunnel is a finding naming it and its answer (`407 Proxy Authentication
Required`, `403`, a `502` when the proxy cannot reach the API server; critical when every
request was refused). When kubectl goes through a proxy the probe does not speak, the direct
path is tested and its failures are information.

## Why it matters
A timed-out connection means a firewall, a network security group, the API server's
authorized IP ranges or a route drops the traffic; a refused one, that nothing listens at that
address and port (the API server is down, restarting or on another port, or a load balancer
has no healthy backend): either way nodes cannot report and kubectl cannot connect. Connections that fail only sometimes, or are slow, point at an overloaded
path (SNAT port exhaustion, a saturated firewall) and make every client retry.

## Example
"Cannot connect to the API server at myaks-dns-1a2b.hcp.eastus.azmk8s.io:443": 3 of 3
connections failed (10.0.0.4:443: timed out: no answer within 5 s).

## Remedy
Check that port 443 to the API server is allowed from this network (network security
groups, firewalls, user-defined routes) and that this address is in the API server's
authorized IP ranges; on AKS, `az aks show --query apiServerAccessProfile`. When every failure
is a refusal, check the API server itself and the port instead (firewalls drop, they seldom
refuse).

## References
- AKS: troubleshoot connections to the API server: https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/connectivity/troubleshoot-cluster-connection-issues-api-server
- AKS: API server authorized IP ranges: https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges
"#,
};

/// Runs NET002.
pub fn run(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    connections(ev, t, out);
    connect_refused(ev, t, out);
}

/// The TCP connections: to the API server, or to the proxy when the probe went through one.
fn connections(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    if ev.tcp.is_empty() {
        return;
    }
    let proxy = ev.proxy_used();
    let (hop_host, hop_port, hop_url) = match proxy {
        Some(p) => (p.host.clone(), p.port, p.url.clone()),
        None => (ev.target.host.clone(), ev.target.port, ev.target.url.clone()),
    };
    // The address `who` names (a URL with an IP address), as an address is written.
    let hop_authority = proxy.map_or_else(|| ev.target.authority(), |p| p.authority());
    let who = match proxy {
        Some(p) => format!("the proxy at {} (from {})", p.authority(), p.from),
        None => format!("the API server at {}", ev.target.authority()),
    };
    // A proxy kubectl uses and the probe does not speak: the direct path tested is not
    // kubectl's, so what it meets is told as information.
    let direct = ev.proxy_not_used().map(|p| {
        format!(
            " kubectl does not take this path: it reaches the API server through the proxy {} (from {}); this probe does not support that proxy kind and tested the direct path.",
            p.url, p.from
        )
    });
    let mut push = |mut d: Draft| {
        if let Some(direct) = &direct {
            d.severity = Severity::Info;
            d.summary.push_str(direct);
        }
        out.push(d.into_finding(&INFO, t));
    };
    let failed: Vec<_> = ev.tcp.iter().filter(|a| a.error.is_some()).collect();
    let slowest = ev.tcp.iter().filter(|a| a.error.is_none()).map(|a| a.seconds).fold(0.0_f64, f64::max);
    let mut measures = vec![
        Measure::new("connections tried", ev.tcp.len() as f64, "count"),
        Measure::new("connections failed", failed.len() as f64, "count"),
    ];
    if failed.len() < ev.tcp.len() {
        measures.push(Measure::new("slowest connection", slowest, "s"));
    }
    // Every failure a refusal (a reset from the host): nothing listens there, which no firewall
    // rule explains; firewalls and authorized IP ranges drop packets, and connections time out
    // (on-call review 52, item 7: "Connection refused" was answered with NSGs and IP ranges).
    let refused = !failed.is_empty()
        && failed
            .iter()
            .all(|a| a.error.as_deref().is_some_and(|e| e.to_ascii_lowercase().contains("refused")));
    let remedies = || {
        vec![
            command(
                "Try the connection by hand",
                format!(
                    "nc -vz -w {t} {} {}\ncurl -sv --max-time {t} -o /dev/null {}",
                    hop_host,
                    hop_port,
                    hop_url,
                    t = ev.timeout_seconds
                ),
            ),
            advice(
                "Check what sits on the path",
                &match proxy {
                    Some(p) if refused => format!(
                        "Nothing accepts connections on port {} of the proxy's host: the proxy (or the jump host's tunnel, `ssh -D`) is not running, or listens on another port. Start it, or fix the proxy URL, which comes from {}. A firewall would rather drop the packets (a timeout) than refuse them.",
                        p.port, p.from
                    ),
                    None if refused => format!(
                        "The host answered, but nothing accepts connections on port {}: the API server is down, restarting, or listens on another port. Check the API server itself (a self-managed control plane: `crictl ps --name kube-apiserver` and its logs on the control-plane nodes; a managed one: the cloud's control-plane status) and that the port in the kubeconfig's `server:` URL is the one it serves. Firewalls, network security groups and authorized IP ranges usually drop packets (a timeout), not refuse them; a load balancer with no healthy backend may refuse, so check its backends too.",
                        ev.target.port
                    ),
                    Some(p) => format!(
                        "Allow TCP {} to the proxy from this network, and check that the proxy runs there (for a jump host: that the tunnel, `ssh -D` or the proxy service, is up). The proxy comes from {}.",
                        p.port, p.from
                    ),
                    None => format!(
                        "Allow TCP {} to the API server from this network (network security groups, firewalls, user-defined routes), and make sure this client's public address is in the API server's authorized IP ranges (AKS: `az aks show -g RG -n CLUSTER --query apiServerAccessProfile`).",
                        ev.target.port
                    ),
                },
            ),
        ]
    };
    // Each failure once, after its address; without it when all are of one address the title
    // names already (`titled`), which read `Cannot connect to the API server at 10.0.0.1:443`
    // then `(10.0.0.1:443: …)` (review: the address twice).
    let reasons = |list: &[&crate::TcpAttempt], titled: &str| {
        let named = list.iter().all(|a| a.address.to_string() == titled);
        let mut r: Vec<String> = list
            .iter()
            .map(|a| {
                let error = a.error.as_deref().unwrap_or("");
                if named { error.to_owned() } else { format!("{}: {error}", a.address) }
            })
            .collect();
        r.dedup();
        r.join("; ")
    };
    // Addresses every attempt to which failed, while others answered: one endpoint is dead
    // (a stale DNS record, a load balancer frontend or node that is gone), not a flaky path.
    let mut addresses: Vec<std::net::SocketAddr> = ev.tcp.iter().map(|a| a.address).collect();
    addresses.sort();
    addresses.dedup();
    let dead: Vec<std::net::SocketAddr> = addresses
        .iter()
        .copied()
        .filter(|addr| ev.tcp.iter().filter(|a| a.address == *addr).all(|a| a.error.is_some()))
        .collect();
    let all = failed.len() == ev.tcp.len();
    // Every failure is "no route" to addresses of one family (IPv6 on a host without it),
    // and addresses of the other family connected: Go clients (kubectl, client-go) try the
    // other family at once and work, so this is no dead endpoint.
    let live_family: Vec<bool> =
        addresses.iter().filter(|a| !dead.contains(a)).map(std::net::SocketAddr::is_ipv6).collect();
    let other_family = !dead.is_empty()
        && !live_family.is_empty()
        && failed.iter().all(|a| a.no_route && dead.contains(&a.address))
        && dead.iter().all(|d| live_family.iter().all(|v6| *v6 != d.is_ipv6()));
    if other_family {
        let (missing, fallback) = if dead[0].is_ipv6() { ("IPv6", "IPv4") } else { ("IPv4", "IPv6") };
        let list = dead.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        push(Draft {
            severity: Severity::Info,
            title: format!("This host has no {missing} route to {who}; clients fall back to {fallback}"),
            subject: subject(ev),
            summary: format!(
                "{host} resolves to {missing} and {fallback} addresses. Every connection to {list} failed at once ({}): this host has no route to that network, or no {missing} address of its own. The {fallback} {} accepted connections, and Go clients (kubectl, client-go, kubelet) try them next, so this is not a dead endpoint. It matters only where clients have no {fallback} path.",
                reasons(&failed, &list),
                if live_family.len() == 1 { "address" } else { "addresses" },
                host = hop_host,
            ),
            source: ev.source(),
            measures,
            table: None,
            thresholds: Vec::new(),
            remedies: vec![advice(
                "Nothing to fix for this client",
                &format!(
                    "Clients here connect over {fallback}. If {missing} is meant to work from this network, check its {missing} address and default route (`ip -6 route show default`)."
                ),
            )],
        });
    } else if !all && !dead.is_empty() && addresses.len() > dead.len() {
        let dead_failed: Vec<_> = failed.iter().copied().filter(|a| dead.contains(&a.address)).collect();
        let others = failed.len() - dead_failed.len();
        let list = dead.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        // The addresses that did accept connections, which the "Besides" sentence is about.
        let word = if addresses.len() - dead.len() == 1 { "address" } else { "addresses" };
        push(Draft {
            severity: Severity::Warning,
            title: format!(
                "{} of {} {} of {who} never accepts a connection: {list}",
                dead.len(),
                addresses.len(),
                if addresses.len() == 1 { "address" } else { "addresses" },
            ),
            subject: subject(ev),
            summary: format!(
                "{} {host} resolves to, every connection failed ({}); the other {} accepted connections. This is one dead endpoint, not a flaky path: a client that picks {} fails every time, one that picks another works. Look for a stale DNS record, or a load balancer frontend, node or API server instance behind that address that is gone.{}",
                if dead.len() == 1 {
                    format!("To 1 of the {} addresses", addresses.len())
                } else {
                    format!("To {} of the {} addresses", dead.len(), addresses.len())
                },
                reasons(&dead_failed, &list),
                addresses.len() - dead.len(),
                if dead.len() == 1 { "it" } else { "one of them" },
                if others > 0 {
                    format!(
                        " Besides, {others} connection{} to the other {word} failed ({}).",
                        if others == 1 { "" } else { "s" },
                        reasons(
                            &failed
                                .iter()
                                .copied()
                                .filter(|a| !dead.contains(&a.address))
                                .collect::<Vec<_>>(),
                            ""
                        )
                    )
                } else {
                    String::new()
                },
                host = hop_host,
            ),
            source: ev.source(),
            measures,
            table: None,
            thresholds: Vec::new(),
            remedies: {
                let mut r = remedies();
                r.insert(
                    0,
                    command(
                        "See what the name resolves to, and try the dead address alone",
                        format!(
                            "dig +short {host}\nnc -vz -w {t} {ip} {port}",
                            host = hop_host,
                            ip = dead[0].ip(),
                            port = dead[0].port(),
                            t = ev.timeout_seconds
                        ),
                    ),
                );
                r
            },
        });
    } else if !failed.is_empty() {
        push(Draft {
            severity: if all { Severity::Critical } else { Severity::Warning },
            title: if all {
                format!("Cannot connect to {who}")
            } else {
                format!("{} of {} TCP connections to {who} failed", failed.len(), ev.tcp.len())
            },
            subject: subject(ev),
            summary: format!(
                "{} of {} connections failed ({}).{}",
                failed.len(),
                ev.tcp.len(),
                reasons(&failed, &hop_authority),
                if all && proxy.is_some() {
                    " Nothing here reaches the proxy, so nothing reaches the API server through it."
                } else if all {
                    " Nothing here reaches the API server."
                } else {
                    " Clients here retry, and some fail."
                }
            ),
            source: ev.source(),
            measures,
            table: None,
            thresholds: Vec::new(),
            remedies: remedies(),
        });
    } else if slowest > t.value(n::PROBE_LATENCY_WARNING_SECONDS) {
        push(Draft {
            severity: Severity::Warning,
            title: format!("TCP connections to {who} take up to {}", format_seconds(slowest)),
            subject: subject(ev),
            summary: format!(
                "The slowest of {} connections took {}, above the {} threshold.",
                ev.tcp.len(),
                format_seconds(slowest),
                format_seconds(t.value(n::PROBE_LATENCY_WARNING_SECONDS))
            ),
            source: ev.source(),
            measures,
            table: None,
            thresholds: vec![n::PROBE_LATENCY_WARNING_SECONDS],
            remedies: remedies(),
        });
    }
}

/// Requests the proxy did not open a tunnel for: it refused `CONNECT` (a 407, a 403 by its
/// policy, a 502 when it could not reach the API server) or did not answer it.
fn connect_refused(ev: &ProbeEvidence, t: &Thresholds, out: &mut Vec<Finding>) {
    let Some(proxy) = ev.proxy_used() else { return };
    let refused: Vec<&crate::HttpAttempt> = ev.http.iter().filter(|a| a.failed_at_proxy()).collect();
    let Some(first) = refused.first() else { return };
    let message = first.failure.as_ref().map_or("", |f| f.1.as_str());
    let target = ev.target.authority();
    let all = refused.len() == ev.http.len();
    let verb = if proxy.scheme == "socks5" { "SOCKS5 CONNECT" } else { "CONNECT" };
    let (why, what) = match first.proxy_status {
        Some(407) => (
            if proxy.credentials.is_some() {
                "The proxy wants credentials and refused the user name and password of the proxy URL."
                    .to_owned()
            } else {
                "The proxy wants credentials, and the proxy URL has none.".to_owned()
            },
            format!(
                "Put the proxy's user name and password in the proxy URL (http://USER:PASSWORD@{}; percent-encode special characters), where it comes from: {}.",
                proxy.authority(),
                proxy.from
            ),
        ),
        Some(403) | Some(405) => (
            format!(
                "The proxy's policy forbids tunnels to {target} (many proxies allow CONNECT to port 443 only)."
            ),
            format!(
                "Ask the proxy's administrators to allow CONNECT to {target}, or reach the API server another way (a jump host, a VPN)."
            ),
        ),
        Some(502) | Some(503) | Some(504) => (
            format!(
                "The proxy could not reach {target} itself: from the proxy, the name does not resolve, or the port is closed or filtered."
            ),
            format!(
                "From the proxy (or the jump host it runs on): `nslookup {}` and `nc -vz {} {}`. For a private cluster, the proxy must sit in a network that resolves and reaches the private endpoint.",
                ev.target.host, ev.target.host, ev.target.port
            ),
        ),
        _ => (
            "The proxy did not open the tunnel.".to_owned(),
            format!("Try it by hand: `curl -sv --proxy {} {}/readyz`.", proxy.url, ev.base_url()),
        ),
    };
    out.push(
        Draft {
            severity: if all { Severity::Critical } else { Severity::Warning },
            title: if all {
                format!("The proxy {} refused {verb} to {target}: {message}", proxy.url)
            } else {
                format!(
                    "{} of {} {verb} requests through the proxy {} to {target} failed: {message}",
                    refused.len(),
                    ev.http.len(),
                    proxy.url
                )
            },
            subject: subject(ev),
            summary: format!(
                "kubectl reaches {target} through the proxy {} (from {}); the probe connected to the proxy and asked it for a tunnel ({verb} {target}): {message}. {why}{}",
                proxy.url,
                proxy.from,
                if all { " Nothing reaches the API server through this proxy." } else { " Some requests got through." }
            ),
            source: ev.source(),
            measures: vec![
                Measure::new("tunnels asked", ev.http.len() as f64, "count"),
                Measure::new("tunnels refused", refused.len() as f64, "count"),
            ],
            table: None,
            thresholds: Vec::new(),
            remedies: vec![
                command(
                    "Ask the proxy by hand",
                    format!("curl -sv --max-time {} --proxy {} -o /dev/null {}/readyz", ev.timeout_seconds, proxy.url, ev.base_url()),
                ),
                advice("What to do", &what),
            ],
        }
        .into_finding(&INFO, t),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testutil::healthy;

    #[test]
    fn all_failed_is_critical_some_failed_a_warning_slow_a_warning() {
        let t = Thresholds::default();
        let mut ev = healthy();
        for a in &mut ev.tcp {
            a.error = Some("Connection refused (os error 111)".to_owned());
        }
        let mut out = Vec::new();
        run(&ev, &t, &mut out);
        assert_eq!(out[0].severity, Severity::Critical);
        assert_eq!(out[0].title, "Cannot connect to the API server at api.example.com:443");
        assert!(out[0].summary.contains("10.0.0.1:443: Connection refused"), "{}", out[0].summary);
        // On-call review 52, item 7: a refusal means nothing listens, not a firewall.
        let advice = &out[0].remedies[1].body;
        assert!(
            advice.starts_with(
                "The host answered, but nothing accepts connections on port 443: the API server is down"
            ),
            "{advice}"
        );
        assert!(!advice.contains("Allow TCP"), "{advice}");

        let mut ev = healthy();
        ev.tcp[1].error = Some("timed out".to_owned());
        let mut out = Vec::new();
        run(&ev, &t, &mut out);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].title, "1 of 3 TCP connections to the API server at api.example.com:443 failed");
        let mut ev = healthy();
        ev.tcp[2].seconds = 1.7;
        let mut out = Vec::new();
        run(&ev, &t, &mut out);
        assert_eq!(
            out[0].title,
            "TCP connections to the API server at api.example.com:443 take up to 1.70 s"
        );
    }

    #[test]
    fn the_nc_and_curl_remedies_use_the_timeout_given_not_5_s() {
        let mut ev = healthy();
        ev.tcp[0].error = Some("timed out".to_owned());
        ev.timeout_seconds = 2.0;
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        // A timeout keeps the advice about what drops packets on the path.
        assert!(
            out[0].remedies[1].body.starts_with("Allow TCP 443 to the API server"),
            "{}",
            out[0].remedies[1].body
        );
        assert!(
            out[0].remedies[0].body.starts_with("nc -vz -w 2 api.example.com 443\ncurl -sv --max-time 2 "),
            "{}",
            out[0].remedies[0].body
        );
    }

    #[test]
    fn one_address_refusing_every_connection_is_named_as_dead_not_flaky() {
        let mut ev = healthy();
        let dead: std::net::SocketAddr = "10.0.0.2:443".parse().expect("address");
        let live = ev.tcp[0].clone();
        ev.tcp = vec![live.clone(), live.clone(), live];
        for _ in 0..3 {
            ev.tcp.push(crate::TcpAttempt {
                address: dead,
                seconds: 0.01,
                error: Some("Connection refused (os error 111)".to_owned()),
                no_route: false,
            });
        }
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(
            out[0].title,
            "1 of 2 addresses of the API server at api.example.com:443 never accepts a connection: 10.0.0.2:443"
        );
        assert!(out[0].summary.contains("not a flaky path"), "{}", out[0].summary);
        assert!(!out[0].summary.contains("some fail"), "{}", out[0].summary);
        assert!(out[0].remedies[0].body.contains("nc -vz -w 5 10.0.0.2 443"), "{}", out[0].remedies[0].body);
        // Failures spread over both addresses are still flakiness.
        let mut ev = healthy();
        ev.tcp[1].address = dead;
        ev.tcp[2].address = dead;
        ev.tcp[1].error = Some("timed out".to_owned());
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert!(out[0].title.starts_with("1 of 3 TCP connections"), "{}", out[0].title);
    }

    /// Review M6: a name with AAAA and A records, on a host without an IPv6 route: the IPv6
    /// address failed at once (ENETUNREACH) and was named a dead endpoint, though Go clients
    /// fall back to the IPv4 one and work.
    #[test]
    fn an_ipv6_address_on_a_host_without_ipv6_was_named_a_dead_endpoint() {
        let v6: std::net::SocketAddr = "[2001:db8::1]:443".parse().expect("address");
        let unreachable = |no_route| crate::TcpAttempt {
            address: v6,
            seconds: 0.0001,
            error: Some("Network is unreachable (os error 101)".to_owned()),
            no_route,
        };
        let mut ev = healthy();
        ev.tcp.extend([unreachable(true), unreachable(true), unreachable(true)]);
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Info);
        assert_eq!(
            out[0].title,
            "This host has no IPv6 route to the API server at api.example.com:443; clients fall back to IPv4"
        );
        assert!(out[0].summary.contains("[2001:db8::1]:443"), "{}", out[0].summary);
        assert!(!out[0].summary.contains("stale DNS"), "{}", out[0].summary);
        // A refusal is an answer from the address: still a dead endpoint.
        let mut ev = healthy();
        ev.tcp.extend([unreachable(false), unreachable(false), unreachable(false)]);
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Warning);
        assert!(out[0].title.contains("never accepts a connection"), "{}", out[0].title);
        // An IPv4 address with no route, beside other IPv4 addresses, is no family fallback.
        let mut ev = healthy();
        ev.tcp.extend((0..3).map(|_| crate::TcpAttempt {
            address: "10.9.9.9:443".parse().expect("address"),
            ..unreachable(true)
        }));
        let mut out = Vec::new();
        run(&ev, &Thresholds::default(), &mut out);
        assert_eq!(out[0].severity, Severity::Warning);
    }
}
