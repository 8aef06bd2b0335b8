//! Writes benchmark data: `N` audit events of a busy cluster hour, as a store (written by the
//! audit crate's store writer, as `ingest` writes it) and, optionally, as raw NDJSON (one Event per line).
//!
//! ```text
//! cargo run --release -p engine --example bench_data -- STORE_DIR N [NDJSON_FILE]
//! ```
//!
//! The events: 60 clients with a skewed share of requests (the top one sends about a fifth),
//! the usual verb mix (mostly get, list and watch), 30 resources, latencies from 1 ms to 5 s
//! with microsecond parts, over one hour ending at 2024-05-01T12:00:00Z.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use audit::batch::{CanonicalBuilder, Origin};
use audit::store::writer::{StoreWriter, WriterOptions};
use audit::{Event, InputFormat, ObjectRef, ResponseStatus, UserInfo};
use chrono::{Duration, TimeZone, Utc};

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const VERBS: &[(&str, u64)] = &[
    ("get", 40),
    ("list", 15),
    ("watch", 10),
    ("create", 10),
    ("update", 10),
    ("patch", 8),
    ("delete", 5),
    ("deletecollection", 2),
];
const RESOURCES: &[&str] = &[
    "pods",
    "configmaps",
    "secrets",
    "leases",
    "events",
    "jobs",
    "deployments",
    "replicasets",
    "services",
    "endpoints",
    "endpointslices",
    "nodes",
    "namespaces",
    "serviceaccounts",
    "roles",
    "rolebindings",
    "clusterroles",
    "clusterrolebindings",
    "persistentvolumeclaims",
    "persistentvolumes",
    "statefulsets",
    "daemonsets",
    "cronjobs",
    "ingresses",
    "networkpolicies",
    "customresourcedefinitions",
    "validatingwebhookconfigurations",
    "mutatingwebhookconfigurations",
    "flowschemas",
    "",
];

fn event(i: u64, n: u64, rng: &mut Lcg) -> Event {
    // Client k gets a share proportional to 1/(k+1).
    let client = {
        let r = rng.below(10_000) as f64 / 10_000.0;
        let h: f64 = (1..=60).map(|k| 1.0 / k as f64).sum();
        let mut acc = 0.0;
        let mut c = 59;
        for k in 0..60 {
            acc += 1.0 / (k as f64 + 1.0) / h;
            if r < acc {
                c = k;
                break;
            }
        }
        c
    };
    let mut pick = rng.below(100);
    let mut verb = "get";
    for (v, w) in VERBS {
        if pick < *w {
            verb = v;
            break;
        }
        pick -= w;
    }
    let resource = RESOURCES[rng.below(RESOURCES.len() as u64) as usize];
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 11, 0, 0).single().unwrap_or_default();
    let received = start + Duration::microseconds((i as i64 * 3_600_000_000) / n as i64);
    let latency = match rng.below(100) {
        0 => 1_000_000 + rng.below(4_000_000) as i64,
        1..=5 => 100_000 + rng.below(900_000) as i64,
        _ => 1_000 + rng.below(99_000) as i64,
    };
    let ua = format!("client-{client:02}/v1.29.{} (linux/amd64) kubernetes/55019c8", client % 7);
    Event {
        kind: "Event".into(),
        api_version: "audit.k8s.io/v1".into(),
        level: "Metadata".into(),
        audit_id: format!("{:08x}-0000-4000-8000-{i:012x}", client),
        stage: "ResponseComplete".into(),
        request_uri: if resource.is_empty() {
            "/readyz".into()
        } else {
            format!("/api/v1/namespaces/ns-{}/{resource}", client % 13)
        },
        verb: verb.into(),
        user: UserInfo {
            username: format!("system:serviceaccount:ns-{}:client-{client:02}", client % 13),
            uid: None,
            groups: Some(vec!["system:serviceaccounts".into(), "system:authenticated".into()]),
            extra: BTreeMap::new(),
        },
        impersonated_user: None,
        source_ips: Some(vec![format!("10.{}.{}.{}", client % 4, client, i % 250)]),
        user_agent: Some(ua),
        object_ref: (!resource.is_empty()).then(|| ObjectRef {
            resource: Some(resource.into()),
            namespace: Some(format!("ns-{}", client % 13)),
            name: (!matches!(verb, "list" | "watch" | "deletecollection"))
                .then(|| format!("{resource}-{}", i % 1000)),
            api_version: Some("v1".into()),
            ..ObjectRef::default()
        }),
        response_status: Some(ResponseStatus {
            code: Some(match rng.below(200) {
                0 => 500,
                1 | 2 => 429,
                _ if verb == "create" => 201,
                _ => 200,
            }),
            ..ResponseStatus::default()
        }),
        request_object: None,
        response_object: None,
        request_received_timestamp: Some(received),
        stage_timestamp: Some(received + Duration::microseconds(latency)),
        timestamp: None,
        annotations: BTreeMap::from([
            ("authorization.k8s.io/decision".to_owned(), "allow".to_owned()),
            ("authorization.k8s.io/reason".to_owned(), "RBAC: allowed by ClusterRoleBinding".to_owned()),
        ]),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: bench_data STORE_DIR N [NDJSON_FILE]")?);
    let n: u64 = args.next().ok_or("usage: bench_data STORE_DIR N [NDJSON_FILE]")?.parse()?;
    let ndjson = args.next().map(PathBuf::from);
    let mut writer = StoreWriter::open(&dir, WriterOptions::default())?;
    let mut raw = match &ndjson {
        Some(p) => Some(BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let mut rng = Lcg(7);
    let mut b = CanonicalBuilder::new();
    for i in 0..n {
        let e = event(i, n, &mut rng);
        if let Some(w) = raw.as_mut() {
            serde_json::to_writer(&mut *w, &e)?;
            w.write_all(b"\n")?;
        }
        b.append(&e, InputFormat::K8sLog, &Origin::default(), false);
        if b.len() == 65_536 {
            writer.write(&b.finish()?)?;
        }
        if (i + 1) % 1_000_000 == 0 {
            eprintln!("{} events", i + 1);
        }
    }
    if !b.is_empty() {
        writer.write(&b.finish()?)?;
    }
    writer.commit()?;
    if let Some(mut w) = raw {
        w.flush()?;
    }
    Ok(())
}
