//! The proxy kubectl reaches the API server through: the cluster's `proxy-url`, else
//! `HTTPS_PROXY` (`HTTP_PROXY` for an `http://` server) unless `NO_PROXY` excludes the server,
//! as Go's `http.ProxyFromEnvironment` decides; and the tunnel through it (HTTP `CONNECT`, or
//! SOCKS5 with the name resolved by the proxy).

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::Instant;

use base64::Engine;

/// A proxy setting, as given: the URL (which may hold credentials: never printed) and where
/// it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySetting {
    /// `http://[USER:PASSWORD@]HOST[:PORT]`, `https://…` or `socks5://…`.
    pub url: String,
    /// Where it came from, for messages: `proxy-url of cluster k in FILE`, `HTTPS_PROXY`, ….
    pub from: String,
}

impl std::fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = parse(self).map(|p| p.url).unwrap_or_else(|_| "(not a proxy URL)".to_owned());
        f.debug_struct("ProxySetting").field("url", &shown).field("from", &self.from).finish()
    }
}

/// A user name and password for the proxy; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name, percent-decoded.
    pub user: String,
    /// The password, percent-decoded.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// The proxy kubectl reaches the API server through, as the probe read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proxy {
    /// Its URL, the password replaced by `***` and without a path.
    pub url: String,
    /// `http`, `https` or `socks5`.
    pub scheme: String,
    /// Its host name or address.
    pub host: String,
    /// Its port (80, 443 or 1080 when the URL names none, as Go reads it).
    pub port: u16,
    /// Where it came from: `proxy-url of cluster k in FILE`, `HTTPS_PROXY`, ….
    pub from: String,
    /// Whether the probe went through it. When not (a kind it does not speak), the direct path
    /// was tested, and `not_used` says why.
    pub used: bool,
    /// Why the probe did not go through it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_used: Option<String>,
    /// The user name and password in its URL.
    #[serde(skip)]
    pub credentials: Option<Credentials>,
}

impl Proxy {
    /// `host:port`, an IPv6 address in brackets.
    pub fn authority(&self) -> String {
        authority(&self.host, self.port)
    }
}

/// `host:port`, an IPv6 address in brackets.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `%XX` sequences decoded (a URL's user name and password); a bad sequence is kept as is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a proxy setting: a URL (`http`, `https`, `socks5`; `socks5h` is read as `socks5`) or,
/// as Go reads an environment variable, a bare `HOST[:PORT]` (then `http`). The error never
/// holds the password.
pub fn parse(setting: &ProxySetting) -> Result<Proxy, String> {
    let text = setting.url.trim();
    let with_scheme = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
    let uri: ureq::http::Uri = with_scheme.parse().map_err(|_| "not a URL".to_owned())?;
    let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
    let scheme = match scheme.as_str() {
        "http" | "https" | "socks5" => scheme,
        "socks5h" => "socks5".to_owned(),
        other => return Err(format!("scheme {other}: kubectl takes http, https or socks5")),
    };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((u, hp)) => (Some(u), hp),
        None => (None, authority),
    };
    let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_owned();
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    let port = match uri.port_u16() {
        Some(0) => return Err("port 0".to_owned()),
        Some(p) => p,
        None if host_port.ends_with(':') || host_port.rsplit_once(']').is_some_and(|(_, p)| p.len() > 1) => {
            return Err("a bad port".to_owned());
        }
        None => match scheme.as_str() {
            "https" => 443,
            "socks5" => 1080,
            _ => 80,
        },
    };
    let credentials = userinfo.map(|u| {
        let (user, password) = u.split_once(':').unwrap_or((u, ""));
        Credentials { user: percent_decoded(user), password: percent_decoded(password) }
    });
    let shown_user = match userinfo {
        None => String::new(),
        Some(u) => match u.split_once(':') {
            Some((user, _)) => format!("{user}:***@"),
            None => format!("{u}@"),
        },
    };
    Ok(Proxy {
        url: format!("{scheme}://{shown_user}{}", self::authority(&host, port)),
        scheme,
        host,
        port,
        from: setting.from.clone(),
        used: false,
        not_used: None,
        credentials,
    })
}

/// What the environment says of a proxy for a server, as Go's `ProxyFromEnvironment` does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FromEnvironment {
    /// The proxy to use, when one is.
    pub setting: Option<ProxySetting>,
    /// A proxy is set but not used for this server, and why (to print beside the probe).
    pub note: Option<String>,
}

/// The proxy kubectl would take from the environment for `server` (`scheme`, `host`, `port`),
/// reading variables with `get`: `HTTPS_PROXY` (else `https_proxy`) for https, `HTTP_PROXY`
/// (else `http_proxy`) for http; none for `localhost` or a loopback address, nor for a host
/// `NO_PROXY` (else `no_proxy`) excludes. Go's rules (golang.org/x/net/http/httpproxy): a
/// comma list of `*` (every host), IP addresses and CIDR ranges, and names: `foo.com` matches
/// it and its subdomains, `.foo.com` and `*.foo.com` only its subdomains; an address or a name
/// may carry a port (`foo.com:6443`), then it matches only that port.
pub fn from_environment(
    scheme: &str,
    host: &str,
    port: u16,
    get: impl Fn(&str) -> Option<String>,
) -> FromEnvironment {
    let first = |names: [&str; 2]| {
        names.into_iter().find_map(|n| get(n).filter(|v| !v.trim().is_empty()).map(|v| (n.to_owned(), v)))
    };
    let names = if scheme == "https" { ["HTTPS_PROXY", "https_proxy"] } else { ["HTTP_PROXY", "http_proxy"] };
    let Some((variable, url)) = first(names) else { return FromEnvironment::default() };
    let host = host.trim().to_ascii_lowercase();
    let ip = host.parse::<IpAddr>().ok();
    if host == "localhost" || ip.is_some_and(|ip| ip.is_loopback()) {
        return FromEnvironment {
            setting: None,
            note: Some(format!(
                "{variable} is set, but kubectl (Go) never sends {host} through a proxy: probed directly"
            )),
        };
    }
    if let Some((no_variable, list)) = first(["NO_PROXY", "no_proxy"])
        && let Some(entry) = excluded_by(&list, &host, port)
    {
        return FromEnvironment {
            setting: None,
            note: Some(format!(
                "{variable} is set, but {no_variable} excludes {host} (entry {entry}): probed directly, as kubectl connects"
            )),
        };
    }
    FromEnvironment { setting: Some(ProxySetting { url, from: variable }), note: None }
}

/// [`from_environment`] for the server at `url` (a kubeconfig's `server` or a URL given), the
/// process's environment read; nothing for a URL that is not one (the probe says why).
pub fn from_process_environment(url: &str) -> FromEnvironment {
    match crate::collect::target(url, true) {
        Ok(t) => from_environment(&t.scheme, &t.host, t.port, |name| std::env::var(name).ok()),
        Err(_) => FromEnvironment::default(),
    }
}

/// The entry of the `NO_PROXY` list `list` that excludes `host` (lowercase, without brackets)
/// on `port`, if one does.
fn excluded_by(list: &str, host: &str, port: u16) -> Option<String> {
    let ip = host.parse::<IpAddr>().ok();
    let port = port.to_string();
    for raw in list.split(',') {
        let entry = raw.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return Some(entry);
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u8>(), ip)
                && in_range(ip, net, bits)
            {
                return Some(entry);
            }
            continue;
        }
        // `host:port` or `[v6]:port`; an address with several colons and no brackets is a
        // bare IPv6 address.
        let (name, entry_port) = if let Some(rest) = entry.strip_prefix('[') {
            match rest.split_once(']') {
                Some((h, after)) => (h.to_owned(), after.strip_prefix(':').unwrap_or("").to_owned()),
                None => (entry.clone(), String::new()),
            }
        } else if entry.matches(':').count() == 1 {
            let (h, p) = entry.split_once(':').unwrap_or((&entry, ""));
            (h.to_owned(), p.to_owned())
        } else {
            (entry.clone(), String::new())
        };
        if name.is_empty() {
            continue;
        }
        let port_matches = entry_port.is_empty() || entry_port == port;
        if let Ok(entry_ip) = name.parse::<IpAddr>() {
            if ip == Some(entry_ip) && port_matches {
                return Some(entry);
            }
            continue;
        }
        let name = name.strip_prefix('*').filter(|n| n.starts_with('.')).unwrap_or(&name);
        let matches = match name.strip_prefix('.') {
            // `.foo.com`: its subdomains only.
            Some(_) => host.ends_with(name),
            // `foo.com`: it and its subdomains.
            None => host == name || host.ends_with(&format!(".{name}")),
        };
        if matches && port_matches {
            return Some(entry);
        }
    }
    None
}

/// Whether `ip` is within `net/bits`.
fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Why a tunnel through the proxy could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// What the proxy answered or what went wrong (`407 Proxy Authentication Required`).
    pub message: String,
    /// The HTTP status the proxy answered CONNECT with, when it answered.
    pub status: Option<u16>,
    /// Another attempt would meet the same (the proxy refused: 4xx, a SOCKS5 refusal).
    pub lasting: bool,
}

impl Refused {
    fn io(what: &str, e: &std::io::Error, timeout: f64) -> Refused {
        let message = if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
            format!("{what}: no answer from the proxy within {timeout} s")
        } else {
            format!("{what}: {e}")
        };
        Refused { message, status: None, lasting: false }
    }

    fn said(message: String) -> Refused {
        Refused { message, status: None, lasting: true }
    }
}

/// Sets the socket's timeouts to the time left before `deadline`.
fn time_left(tcp: &TcpStream, deadline: Instant) -> std::io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"));
    }
    tcp.set_read_timeout(Some(left))?;
    tcp.set_write_timeout(Some(left))
}

/// Opens a tunnel through `proxy` (connected on `tcp`) to `host:port`, before `deadline`: an
/// HTTP `CONNECT` (with `Proxy-Authorization: Basic` when the proxy's URL has credentials),
/// or a SOCKS5 `CONNECT` with the name (the proxy resolves it). On success, `tcp` carries the
/// tunnel.
pub fn open(
    tcp: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<(), Refused> {
    let timeout = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
    match proxy.scheme.as_str() {
        "socks5" => socks5(tcp, proxy, host, port, deadline, timeout),
        _ => connect(tcp, proxy, host, port, deadline, timeout),
    }
}

/// HTTP `CONNECT host:port`.
fn connect(
    tcp: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
    timeout: f64,
) -> Result<(), Refused> {
    let target = authority(host, port);
    let mut request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: apiserver-doctor/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(c) = &proxy.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.user, c.password));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    time_left(tcp, deadline)
        .and_then(|()| tcp.write_all(request.as_bytes()))
        .map_err(|e| Refused::io("sending CONNECT", &e, timeout))?;
    // The answer's head, a byte at a time: what follows it is the tunnel's.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(Refused::said("the proxy's answer to CONNECT has a head over 64 KiB".to_owned()));
        }
        match time_left(tcp, deadline).and_then(|()| tcp.read(&mut byte)) {
            Ok(0) => {
                return Err(Refused {
                    message: if head.is_empty() {
                        "the proxy closed the connection without answering CONNECT".to_owned()
                    } else {
                        "the proxy's answer to CONNECT ended within its head".to_owned()
                    },
                    status: None,
                    lasting: false,
                });
            }
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(Refused::io("reading the answer to CONNECT", &e, timeout)),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            let start: String = String::from_utf8_lossy(&head).chars().take(60).collect();
            return Err(Refused::said(format!("the proxy's answer to CONNECT is not HTTP: {start:?}")));
        }
    }
    let status = response.code.unwrap_or(0);
    if status == 200 {
        return Ok(());
    }
    let reason = response.reason.unwrap_or("").trim();
    Err(Refused {
        message: if reason.is_empty() { status.to_string() } else { format!("{status} {reason}") },
        status: Some(status),
        // The proxy's own refusal (407, 403) repeats; a 5xx (it could not reach the server)
        // may not.
        lasting: (400..500).contains(&status),
    })
}

/// SOCKS5 (RFC 1928): no authentication or a user name and password (RFC 1929), then
/// `CONNECT` to the name (or address) and port.
fn socks5(
    tcp: &mut TcpStream,
    proxy: &Proxy,
    host: &str,
    port: u16,
    deadline: Instant,
    timeout: f64,
) -> Result<(), Refused> {
    let mut exchange = |send: &[u8], want: usize, what: &str| -> Result<Vec<u8>, Refused> {
        let mut got = vec![0u8; want];
        time_left(tcp, deadline)
            .and_then(|()| tcp.write_all(send))
            .and_then(|()| time_left(tcp, deadline))
            .and_then(|()| tcp.read_exact(&mut got))
            .map_err(|e| Refused::io(&format!("SOCKS5 {what}"), &e, timeout))?;
        Ok(got)
    };
    let methods: &[u8] =
        if proxy.credentials.is_some() { &[0x05, 0x02, 0x00, 0x02] } else { &[0x05, 0x01, 0x00] };
    let chosen = exchange(methods, 2, "greeting")?;
    if chosen[0] != 0x05 {
        return Err(Refused::said(format!("not a SOCKS5 proxy (it answered version {})", chosen[0])));
    }
    match (chosen[1], &proxy.credentials) {
        (0x00, _) => {}
        (0x02, Some(c)) => {
            let (user, password) = (c.user.as_bytes(), c.password.as_bytes());
            if user.len() > 255 || password.len() > 255 {
                return Err(Refused::said("the SOCKS5 user name or password is over 255 bytes".to_owned()));
            }
            let mut send = vec![0x01, user.len() as u8];
            send.extend_from_slice(user);
            send.push(password.len() as u8);
            send.extend_from_slice(password);
            let status = exchange(&send, 2, "authentication")?;
            if status[1] != 0x00 {
                return Err(Refused::said(
                    "the SOCKS5 proxy refused the user name and password of the proxy URL".to_owned(),
                ));
            }
        }
        (0xff, None) | (0x02, None) => {
            return Err(Refused::said(
                "the SOCKS5 proxy wants authentication, and the proxy URL has no user name and password"
                    .to_owned(),
            ));
        }
        (0xff, Some(_)) => {
            return Err(Refused::said("the SOCKS5 proxy accepts none of the methods offered".to_owned()));
        }
        (other, _) => {
            return Err(Refused::said(format!("the SOCKS5 proxy chose an unknown method {other:#04x}")));
        }
    }
    let mut request = vec![0x05, 0x01, 0x00];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            request.push(0x01);
            request.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            request.push(0x04);
            request.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            if host.len() > 255 {
                return Err(Refused::said(format!("the name {host} is too long for SOCKS5")));
            }
            request.push(0x03);
            request.push(host.len() as u8);
            request.extend_from_slice(host.as_bytes());
        }
    }
    request.extend_from_slice(&port.to_be_bytes());
    // The reply's head: version, reply, reserved, address type, and the address's first byte.
    let reply = exchange(&request, 5, "CONNECT")?;
    if reply[1] != 0x00 {
        let why = match reply[1] {
            0x01 => "general SOCKS server failure",
            0x02 => "connection not allowed by ruleset",
            0x03 => "network unreachable",
            0x04 => "host unreachable",
            0x05 => "connection refused",
            0x06 => "TTL expired",
            0x07 => "command not supported",
            0x08 => "address type not supported",
            _ => "an unknown reply",
        };
        // Reached, but the proxy could not connect: a far side that may recover (unreachable,
        // refused) is retried; its rules are not.
        return Err(Refused {
            message: format!("SOCKS5 reply {}: {why}", reply[1]),
            status: None,
            lasting: matches!(reply[1], 0x02 | 0x07 | 0x08),
        });
    }
    // The rest of the bound address, and its port.
    let rest = match reply[3] {
        0x01 => 3 + 2,
        0x04 => 15 + 2,
        0x03 => reply[4] as usize + 2,
        other => return Err(Refused::said(format!("the SOCKS5 reply has an unknown address type {other}"))),
    };
    let mut skip = vec![0u8; rest];
    time_left(tcp, deadline)
        .and_then(|()| tcp.read_exact(&mut skip))
        .map_err(|e| Refused::io("SOCKS5 CONNECT", &e, timeout))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(url: &str) -> ProxySetting {
        ProxySetting { url: url.to_owned(), from: "HTTPS_PROXY".to_owned() }
    }

    #[test]
    fn proxy_urls_are_read_as_go_reads_them_and_never_show_the_password() {
        let p = parse(&setting("http://alice:s%40cret@proxy.corp:3128/")).expect("valid");
        assert_eq!((p.scheme.as_str(), p.host.as_str(), p.port), ("http", "proxy.corp", 3128));
        assert_eq!(p.url, "http://alice:***@proxy.corp:3128");
        assert_eq!(
            p.credentials,
            Some(Credentials { user: "alice".to_owned(), password: "s@cret".to_owned() })
        );
        assert!(
            !format!("{p:?}").contains("s@cret") && !format!("{:?}", setting("http://a:pw@x")).contains("pw")
        );
        // A bare HOST:PORT is http, as Go reads an environment variable.
        let p = parse(&setting("proxy.corp:8080")).expect("bare");
        assert_eq!((p.scheme.as_str(), p.port), ("http", 8080));
        assert_eq!(parse(&setting("socks5://[::1]")).map(|p| (p.host, p.port)), Ok(("::1".to_owned(), 1080)));
        assert_eq!(parse(&setting("https://p")).map(|p| p.port), Ok(443));
        assert_eq!(parse(&setting("socks5h://p:1")).map(|p| p.scheme), Ok("socks5".to_owned()));
        assert!(parse(&setting("ftp://p")).is_err_and(|e| e.contains("http, https or socks5")));
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn https_proxy_and_no_proxy_follow_gos_proxy_from_environment() {
        let vars = [("https_proxy", "http://p:3128"), ("NO_PROXY", "")];
        let got = from_environment("https", "api.example.com", 443, env(&vars));
        assert_eq!(
            got.setting.map(|s| (s.url, s.from)),
            Some(("http://p:3128".to_owned(), "https_proxy".to_owned()))
        );
        // HTTPS_PROXY first; HTTP_PROXY is not for an https server.
        let vars = [("HTTPS_PROXY", "http://upper:1"), ("https_proxy", "http://lower:1")];
        assert_eq!(
            from_environment("https", "api", 443, env(&vars)).setting.map(|s| s.from),
            Some("HTTPS_PROXY".to_owned())
        );
        assert_eq!(
            from_environment("https", "api", 443, env(&[("HTTP_PROXY", "http://p:1")])),
            FromEnvironment::default()
        );
        // Never localhost or a loopback address.
        for host in ["localhost", "127.0.0.2", "::1"] {
            let got = from_environment("https", host, 443, env(&[("HTTPS_PROXY", "p:1")]));
            assert!(got.setting.is_none() && got.note.is_some(), "{host}");
        }
        let excluded = |list: &str, host: &str, port: u16| {
            from_environment("https", host, port, env(&[("HTTPS_PROXY", "p:1"), ("no_proxy", list)]))
                .setting
                .is_none()
        };
        assert!(excluded("*", "api.example.com", 443));
        assert!(excluded("example.com", "example.com", 443));
        assert!(excluded("example.com", "api.example.com", 443));
        assert!(!excluded("ample.com", "api.example.com", 443));
        // A leading dot (or `*.`): subdomains only.
        assert!(excluded(".example.com", "api.example.com", 443));
        assert!(!excluded(".example.com", "example.com", 443));
        assert!(excluded("*.example.com", "api.example.com", 443));
        assert!(excluded(" foo.org , 10.0.0.0/8", "10.1.2.3", 443));
        assert!(!excluded("10.0.0.0/8", "11.1.2.3", 443));
        assert!(excluded("10.1.2.3", "10.1.2.3", 443));
        assert!(excluded("10.1.2.3:6443", "10.1.2.3", 6443));
        assert!(!excluded("10.1.2.3:6443", "10.1.2.3", 443));
        assert!(excluded("api.example.com:443", "api.example.com", 443));
        assert!(!excluded("api.example.com:6443", "api.example.com", 443));
        assert!(excluded("[fd00::1]:443", "fd00::1", 443));
        assert!(excluded("fd00::/8", "fd00::1", 443));
        assert!(excluded("API.Example.COM", "api.example.com", 443));
        let note = from_environment(
            "https",
            "api.example.com",
            443,
            env(&[("HTTPS_PROXY", "p:1"), ("NO_PROXY", ".example.com")]),
        )
        .note
        .unwrap_or_default();
        assert!(note.contains("NO_PROXY excludes api.example.com (entry .example.com)"), "{note}");
    }
}
