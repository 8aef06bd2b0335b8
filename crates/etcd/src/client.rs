//! A read-only client of etcd's v3 JSON gateway (grpc-gateway) over HTTP(S).
//!
//! Only these calls exist, and none writes: `POST /v3/kv/range`,
//! `POST /v3/maintenance/status`, `POST /v3/maintenance/alarm` with `action: GET`,
//! `POST /v3/cluster/member/list`, and `GET /metrics`. etcd 3.4 serves the gateway under
//! both `/v3/` and `/v3beta/`; 3.3 only under `/v3beta/` — the client falls back to it on a 404.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::keys::{KeyStats, KeyStatsBuilder};
use crate::{Alarm, MemberStatus};

/// Largest gateway answer read (one page of a range).
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

/// A page whose values add up to more than this halves the page size, so memory stays bounded
/// even when objects are large.
const PAGE_BYTES_TARGET: u64 = 16 * 1024 * 1024;

/// TLS files for an `https://` endpoint.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// CA bundle to verify the server with (else the system's web roots).
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM).
    pub cert: Option<PathBuf>,
    /// Client key (PEM).
    pub key: Option<PathBuf>,
}

/// Why a call to etcd failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No endpoint was given.
    #[error("no etcd endpoint given")]
    NoEndpoint,
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("{0}: an endpoint is an http:// or https:// URL, e.g. https://10.0.0.5:2379")]
    BadEndpoint(String),
    /// A TLS file could not be read or parsed.
    #[error("{path}: {message}")]
    Tls {
        /// The file.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The request failed (connection, TLS, HTTP status).
    #[error("{endpoint}{path}: {message}")]
    Http {
        /// The endpoint.
        endpoint: String,
        /// The gateway path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The answer was not what the gateway documents.
    #[error("{endpoint}{path}: unexpected answer: {message}")]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// The gateway path.
        path: String,
        /// What was wrong.
        message: String,
    },
}

/// A client of one etcd member.
#[derive(Debug)]
pub struct Client {
    endpoint: String,
    agent: ureq::Agent,
    api: std::cell::Cell<&'static str>,
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path)
        .map_err(|e| ClientError::Tls { path: path.display().to_string(), message: e.to_string() })
}

fn tls_config(tls: &TlsFiles) -> Result<ureq::tls::TlsConfig, ClientError> {
    use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
    let mut builder = TlsConfig::builder();
    if let Some(path) = &tls.cacert {
        let pem = read_file(path)?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(ClientError::Tls {
                path: path.display().to_string(),
                message: "no PEM certificate in it".into(),
            });
        }
        builder = builder.root_certs(RootCerts::new_with_certs(&certs));
    }
    match (&tls.cert, &tls.key) {
        (Some(cert_path), Some(key_path)) => {
            let pem = read_file(cert_path)?;
            let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if chain.is_empty() {
                return Err(ClientError::Tls {
                    path: cert_path.display().to_string(),
                    message: "no PEM certificate in it".into(),
                });
            }
            let key = PrivateKey::from_pem(&read_file(key_path)?).map_err(|e| ClientError::Tls {
                path: key_path.display().to_string(),
                message: format!("no usable PEM private key: {e}"),
            })?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
        (None, None) => {}
        (Some(p), None) | (None, Some(p)) => {
            return Err(ClientError::Tls {
                path: p.display().to_string(),
                message: "--cert and --key go together".into(),
            });
        }
    }
    Ok(builder.build())
}

/// A JSON int64 the gateway writes as a string (`"123"`), or as a number.
fn int<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Int {
        S(String),
        N(i64),
    }
    match Int::deserialize(d)? {
        Int::N(n) => Ok(n),
        Int::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

fn uint<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    int(d).map(|v| v.max(0) as u64)
}

/// A member id (uint64) as etcdctl prints it: hexadecimal.
fn hex_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        S(String),
        N(u64),
    }
    let n = match Id::deserialize(d)? {
        Id::N(n) => n,
        Id::S(s) => s.parse::<u64>().map_err(serde::de::Error::custom)?,
    };
    Ok(format!("{n:x}"))
}

#[derive(Deserialize, Default)]
struct Header {
    #[serde(default, deserialize_with = "int")]
    revision: i64,
    #[serde(default, deserialize_with = "hex_id")]
    member_id: String,
}

#[derive(Deserialize)]
struct StatusResponse {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "dbSize", deserialize_with = "uint")]
    db_size: u64,
    #[serde(default, rename = "dbSizeInUse")]
    db_size_in_use: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "hex_id")]
    leader: String,
    #[serde(default, rename = "raftIndex", deserialize_with = "uint")]
    raft_index: u64,
    #[serde(default, rename = "raftTerm", deserialize_with = "uint")]
    raft_term: u64,
    #[serde(default, rename = "raftAppliedIndex")]
    raft_applied_index: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<String>,
}

fn json_u64(v: &Option<serde_json::Value>) -> Option<u64> {
    match v.as_ref()? {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

#[derive(Deserialize)]
struct AlarmMember {
    #[serde(default, rename = "memberID", deserialize_with = "hex_id")]
    member_id: String,
    #[serde(default)]
    alarm: Option<String>,
}

#[derive(Deserialize)]
struct AlarmResponse {
    #[serde(default)]
    alarms: Vec<AlarmMember>,
}

#[derive(Deserialize)]
struct MemberInfo {
    #[serde(default, rename = "ID", deserialize_with = "hex_id")]
    id: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct MemberListResponse {
    #[serde(default)]
    members: Vec<MemberInfo>,
}

/// The decoded length of a base64 value, read without keeping the value.
struct ValueLen(u64);

impl<'de> Deserialize<'de> for ValueLen {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ValueLen;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a base64 string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<ValueLen, E> {
                let padding = s.bytes().rev().take_while(|&b| b == b'=').count() as u64;
                Ok(ValueLen(((s.len() as u64 / 4) * 3).saturating_sub(padding.min(2))))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: Option<ValueLen>,
}

#[derive(Deserialize)]
struct RangeResponse {
    #[serde(default)]
    header: Header,
    #[serde(default)]
    kvs: Vec<KeyValue>,
    #[serde(default)]
    more: bool,
}

/// The end of the range of every key that starts with `prefix` (etcd's prefix rule: the
/// prefix with its last byte below 0xff incremented; `\0` means "to the end").
pub fn prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

impl Client {
    /// A client of `endpoint` (`http://host:port` or `https://host:port`), TLS verified.
    pub fn new(endpoint: &str, tls: &TlsFiles, timeout_seconds: u64) -> Result<Client, ClientError> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(ClientError::BadEndpoint(endpoint));
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls_config(tls)?)
            .timeout_global(Some(Duration::from_secs(timeout_seconds.max(1))))
            .http_status_as_error(false)
            .build();
        Ok(Client { endpoint, agent: config.into(), api: std::cell::Cell::new("v3") })
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, ClientError> {
        let full = |api: &str| format!("/{api}/{path}");
        let http_err = |p: String, message: String| ClientError::Http {
            endpoint: self.endpoint.clone(),
            path: p,
            message,
        };
        let mut api = self.api.get();
        loop {
            let p = full(api);
            let response = self
                .agent
                .post(&format!("{}{p}", self.endpoint))
                .send_json(body)
                .map_err(|e| http_err(p.clone(), e.to_string()))?;
            let status = response.status().as_u16();
            if status == 404 && api == "v3" {
                api = "v3beta";
                self.api.set(api);
                continue;
            }
            let mut body = response.into_body();
            let reader = body.with_config().limit(MAX_RESPONSE_BYTES).reader();
            if status != 200 {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::Read::take(reader, 4096), &mut text).ok();
                return Err(http_err(p, format!("HTTP {status}: {}", text.trim())));
            }
            return serde_json::from_reader(std::io::BufReader::new(reader)).map_err(|e| {
                ClientError::Decode { endpoint: self.endpoint.clone(), path: p, message: e.to_string() }
            });
        }
    }

    /// `/v3/maintenance/status`.
    pub fn status(&self) -> Result<MemberStatus, ClientError> {
        let r: StatusResponse = self.post("maintenance/status", &json!({}))?;
        Ok(MemberStatus {
            endpoint: self.endpoint.clone(),
            is_leader: !r.leader.is_empty() && r.leader == r.header.member_id,
            id: r.header.member_id,
            name: None,
            version: r.version,
            db_size: r.db_size,
            db_size_in_use: json_u64(&r.db_size_in_use),
            leader: r.leader,
            raft_term: r.raft_term,
            raft_index: r.raft_index,
            raft_applied_index: json_u64(&r.raft_applied_index),
            errors: r.errors,
        })
    }

    /// Alarms of every member (`/v3/maintenance/alarm` with `action: GET`: a read).
    pub fn alarms(&self) -> Result<Vec<Alarm>, ClientError> {
        let r: AlarmResponse =
            self.post("maintenance/alarm", &json!({"action": "GET", "memberID": "0", "alarm": "NONE"}))?;
        let mut out: Vec<Alarm> = r
            .alarms
            .into_iter()
            .filter_map(|a| {
                let alarm = a.alarm.unwrap_or_else(|| "NONE".to_owned());
                (alarm != "NONE").then_some(Alarm { member_id: a.member_id, alarm })
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Member names by hexadecimal id (`/v3/cluster/member/list`).
    pub fn member_names(&self) -> Result<BTreeMap<String, String>, ClientError> {
        let r: MemberListResponse = self.post("cluster/member/list", &json!({}))?;
        Ok(r.members.into_iter().map(|m| (m.id, m.name)).collect())
    }

    /// The member's `/metrics`, parsed.
    pub fn metrics(&self) -> Result<metrics::Snapshot, ClientError> {
        let url = format!("{}/metrics", self.endpoint);
        let http_err = |message: String| ClientError::Http {
            endpoint: self.endpoint.clone(),
            path: "/metrics".into(),
            message,
        };
        let response = self.agent.get(&url).call().map_err(|e| http_err(e.to_string()))?;
        if response.status().as_u16() != 200 {
            return Err(http_err(format!("HTTP {}", response.status().as_u16())));
        }
        let bytes = response
            .into_body()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| http_err(e.to_string()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as i64);
        Ok(metrics::Snapshot::parse(url, &bytes, now))
    }

    /// Scans every key under `prefix` at one revision, `page_size` keys per request at most
    /// (fewer when values are large), and counts keys and value bytes per resource and
    /// namespace. Memory is bounded by one page and the number of resources and namespaces.
    pub fn scan(&self, prefix: &str, page_size: u64, keep_largest: usize) -> Result<KeyStats, ClientError> {
        let mut builder = KeyStatsBuilder::new(prefix, keep_largest);
        let range_end = STANDARD.encode(prefix_range_end(prefix.as_bytes()));
        let mut start: Vec<u8> = prefix.as_bytes().to_vec();
        let max_page = page_size.max(1);
        let mut limit = max_page;
        let mut revision: i64 = 0;
        loop {
            let mut request = json!({
                "key": STANDARD.encode(&start),
                "range_end": range_end,
                "limit": limit.to_string(),
                "serializable": true,
            });
            if revision > 0 {
                request["revision"] = json!(revision.to_string());
            }
            let page: RangeResponse = self.post("kv/range", &request)?;
            if revision == 0 {
                revision = page.header.revision;
            }
            let mut page_bytes = 0u64;
            let mut last_key: Option<Vec<u8>> = None;
            for kv in &page.kvs {
                let key = STANDARD.decode(&kv.key).map_err(|e| ClientError::Decode {
                    endpoint: self.endpoint.clone(),
                    path: "/v3/kv/range".into(),
                    message: format!("key is not base64: {e}"),
                })?;
                let size = kv.value.as_ref().map_or(0, |v| v.0);
                page_bytes += size;
                builder.add(&String::from_utf8_lossy(&key), size);
                last_key = Some(key);
            }
            match (page.more, last_key) {
                (true, Some(mut last)) => {
                    // The next page starts just after the last key read.
                    last.push(0);
                    start = last;
                }
                _ => break,
            }
            limit = if page_bytes > PAGE_BYTES_TARGET {
                (limit / 2).max(1)
            } else if page_bytes < PAGE_BYTES_TARGET / 4 {
                (limit * 2).min(max_page)
            } else {
                limit
            };
        }
        Ok(builder.finish(revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_end_increments_the_last_byte() {
        assert_eq!(prefix_range_end(b"/registry"), b"/registrz");
        assert_eq!(prefix_range_end(b"a\xff"), b"b");
        assert_eq!(prefix_range_end(b"\xff\xff"), b"\0");
    }

    #[test]
    fn value_length_is_read_from_base64_without_decoding() {
        for raw in [&b""[..], b"a", b"ab", b"abc", b"abcd", &[0u8; 1000]] {
            let encoded = format!("\"{}\"", STANDARD.encode(raw));
            let len: ValueLen = serde_json::from_str(&encoded).expect("valid JSON string");
            assert_eq!(len.0, raw.len() as u64, "{encoded}");
        }
    }

    #[test]
    fn ids_are_printed_in_hex_like_etcdctl() {
        #[derive(Deserialize)]
        struct T {
            #[serde(deserialize_with = "hex_id")]
            id: String,
        }
        let t: T = serde_json::from_str(r#"{"id":"10276657743932975437"}"#).expect("json");
        assert_eq!(t.id, "8e9e05c52164694d");
    }

    #[test]
    fn bad_endpoints_and_half_client_certificates_are_refused() {
        assert!(matches!(
            Client::new("10.0.0.5:2379", &TlsFiles::default(), 5),
            Err(ClientError::BadEndpoint(_))
        ));
        let tls = TlsFiles { cert: Some("/nonexistent/cert.pem".into()), ..TlsFiles::default() };
        let err = Client::new("https://127.0.0.1:2379", &tls, 5).expect_err("cert without key");
        assert!(err.to_string().contains("--cert and --key go together"), "{err}");
    }
}
