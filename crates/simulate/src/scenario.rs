//! The scenarios: what goes wrong in the simulated cluster, who does it, and the numbers it is
//! generated with. The finding each must produce is documented in `docs/simulate.md`.

use std::fmt;
use std::str::FromStr;

use crate::cluster::{Identity, service_account, str_hash};
use crate::rng::hash;

/// A scenario name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A service account LISTs every pod in the cluster, without `resourceVersion` or
    /// `limit`, seconds each.
    ListStorm,
    /// A controller hammers updates of one ConfigMap and gets 409 conflicts.
    PutStorm,
    /// A client creates Jobs that are never deleted; objects and etcd grow toward the quota.
    ObjectLeak,
    /// A Kyverno-like mutating webhook with `failurePolicy: Fail` on pods times out.
    WebhookOutage,
    /// A client already limited by a FlowSchema: 429s and APF rejections.
    ApfThrottled,
    /// etcd's disk is slow: WAL fsync and backend commit far above normal, leader changes.
    EtcdSlowDisk,
    /// Nothing wrong: no check may raise a warning.
    Healthy,
}

/// Every scenario, in the order documented.
pub const ALL: [Scenario; 7] = [
    Scenario::ListStorm,
    Scenario::PutStorm,
    Scenario::ObjectLeak,
    Scenario::WebhookOutage,
    Scenario::ApfThrottled,
    Scenario::EtcdSlowDisk,
    Scenario::Healthy,
];

impl Scenario {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ListStorm => "list-storm",
            Scenario::PutStorm => "put-storm",
            Scenario::ObjectLeak => "object-leak",
            Scenario::WebhookOutage => "webhook-outage",
            Scenario::ApfThrottled => "apf-throttled",
            Scenario::EtcdSlowDisk => "etcd-slow-disk",
            Scenario::Healthy => "healthy",
        }
    }

    /// The finding `diagnose` (or `metrics`) must report for it.
    pub fn expected_finding(self) -> &'static str {
        match self {
            Scenario::ListStorm => {
                "expensive LISTs: the offender's cluster-scope LISTs of pods without resourceVersion or limit, seconds each; top client by total request time"
            }
            Scenario::PutStorm => {
                "a client hammering updates of one object: the most updates of a single object and the most 409 conflicts of any client"
            }
            Scenario::ObjectLeak => {
                "object churn: jobs created and never deleted in one namespace; jobs.batch over the object-count threshold and the etcd database growing toward its quota between the snapshots"
            }
            Scenario::WebhookOutage => {
                "failing admission webhook: 500s that say failed calling webhook, about 10 s each; webhook rejections in the metrics"
            }
            Scenario::ApfThrottled => {
                "throttled client: 429s for the offender in the audit log and APF rejections for its flow schema in the metrics"
            }
            Scenario::EtcdSlowDisk => {
                "etcd disk: WAL fsync and backend commit P99 far above thresholds, leader changes between snapshots; slow writes with etcd time in their latency annotations"
            }
            Scenario::Healthy => {
                "no audit-log finding at warning or above; from the metrics, only object-count findings (MET002) for the types over its thresholds at the cluster's size"
            }
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown scenario name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario `{0}` (known: list-storm, put-storm, object-leak, webhook-outage, apf-throttled, etcd-slow-disk, healthy)"
)]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter().copied().find(|sc| sc.name() == s.trim()).ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// Tracker indices in [`crate::stats::Stats::trackers`].
pub mod track {
    /// The list-storm offender.
    pub const LIST_STORM: u8 = 1;
    /// The put-storm offender.
    pub const PUT_STORM: u8 = 2;
    /// The object-leak offender's Job creates.
    pub const OBJECT_LEAK: u8 = 3;
    /// Requests that called the failing webhook (every client).
    pub const WEBHOOK: u8 = 4;
    /// The throttled client.
    pub const APF: u8 = 5;
    /// Writes slowed by etcd (every client).
    pub const ETCD_WRITES: u8 = 6;
}

/// `list-storm` parameters.
#[derive(Debug, Clone)]
pub struct ListStorm {
    /// The offender.
    pub who: Identity,
    /// LISTs per second.
    pub rate: f64,
    /// Median latency in seconds (log-normal).
    pub median_seconds: f64,
    /// Log-space sigma.
    pub sigma: f64,
}

/// `put-storm` parameters.
#[derive(Debug, Clone)]
pub struct PutStorm {
    /// The offender.
    pub who: Identity,
    /// Namespace of the ConfigMap.
    pub namespace: &'static str,
    /// The ConfigMap it updates.
    pub name: &'static str,
    /// Updates per second.
    pub rate: f64,
    /// Fraction answered 409 Conflict.
    pub conflict_ratio: f64,
}

/// `object-leak` parameters.
#[derive(Debug, Clone)]
pub struct ObjectLeak {
    /// The offender.
    pub who: Identity,
    /// Namespace the Jobs go to.
    pub namespace: &'static str,
    /// Job name prefix.
    pub prefix: &'static str,
    /// Job creates per second.
    pub rate: f64,
    /// Jobs (and their pods) it left behind before the window.
    pub preexisting: u64,
    /// etcd bytes each leaked Job with its pod adds (object, pod, their revisions).
    pub bytes_per_job: u64,
}

/// `webhook-outage` parameters.
#[derive(Debug, Clone)]
pub struct WebhookOutage {
    /// The MutatingWebhookConfiguration.
    pub configuration: &'static str,
    /// The webhook.
    pub webhook: &'static str,
    /// Its service (for the message).
    pub url: &'static str,
    /// Its timeout.
    pub timeout_seconds: u32,
    /// When the outage starts, as a fraction of the window.
    pub starts_at: f64,
    /// How much more often controllers retry pod creates during the outage.
    pub retry_factor: f64,
}

/// `apf-throttled` parameters.
#[derive(Debug, Clone)]
pub struct ApfThrottled {
    /// The offender.
    pub who: Identity,
    /// Its FlowSchema.
    pub flow_schema: &'static str,
    /// Its PriorityLevelConfiguration.
    pub priority_level: &'static str,
    /// Requests per second it sends.
    pub rate: f64,
    /// Fraction rejected with 429.
    pub rejected_ratio: f64,
    /// Median APF queue wait of the dispatched ones, seconds.
    pub wait_median_seconds: f64,
}

/// `etcd-slow-disk` parameters.
#[derive(Debug, Clone)]
pub struct EtcdSlowDisk {
    /// Factor on write latency.
    pub write_factor: f64,
    /// Fraction of writes failing with `etcdserver: request timed out`.
    pub timeout_ratio: f64,
    /// WAL fsync P99 to aim for, seconds.
    pub wal_fsync_p99: f64,
    /// Backend commit P99 to aim for, seconds.
    pub backend_commit_p99: f64,
    /// Leader changes between the two snapshots.
    pub leader_changes: u64,
}

/// The user agent client-go gives a released build of `program` that stamps its version into
/// client-go (`-ldflags -X k8s.io/client-go/pkg/version.gitVersion=…,gitCommit=…`):
/// `program/version (linux/amd64) kubernetes/<commit>`, the commit's first 7 hex digits, fixed by
/// the seed. A build without those flags says `v0.0.0` and `$Format`, never a release version.
fn released_agent(seed: u64, program: &str, version: &str) -> String {
    let commit = hash(&[seed, 0x5D, str_hash(program)]) & 0xfff_ffff;
    format!("{program}/{version} (linux/amd64) kubernetes/{commit:07x}")
}

/// The scenarios of a run, with their parameters.
#[derive(Debug, Clone, Default)]
pub struct Scenarios {
    /// `list-storm`.
    pub list_storm: Option<ListStorm>,
    /// `put-storm`.
    pub put_storm: Option<PutStorm>,
    /// `object-leak`.
    pub object_leak: Option<ObjectLeak>,
    /// `webhook-outage`.
    pub webhook_outage: Option<WebhookOutage>,
    /// `apf-throttled`.
    pub apf_throttled: Option<ApfThrottled>,
    /// `etcd-slow-disk`.
    pub etcd_slow_disk: Option<EtcdSlowDisk>,
}

impl Scenarios {
    /// The parameters of `names` for a cluster of `nodes` nodes.
    pub fn new(seed: u64, names: &[Scenario], nodes: usize) -> Scenarios {
        let has = |s: Scenario| names.contains(&s);
        let scale = (nodes as f64 / 5000.0).max(0.002);
        let mut out = Scenarios::default();
        if has(Scenario::ListStorm) {
            out.list_storm = Some(ListStorm {
                who: service_account(
                    seed,
                    "observability",
                    "inventory-exporter",
                    released_agent(seed, "inventory-exporter", "v1.8.2"),
                    "10.244.17.23".to_owned(),
                    "inventory-exporter-read-all",
                ),
                rate: (6.0 * scale).max(0.2),
                median_seconds: 4.5,
                sigma: 0.3,
            });
        }
        if has(Scenario::PutStorm) {
            out.put_storm = Some(PutStorm {
                who: service_account(
                    seed,
                    "platform-system",
                    "config-sync-controller",
                    released_agent(seed, "config-sync-controller", "v0.14.2"),
                    "10.244.3.41".to_owned(),
                    "config-sync-controller",
                ),
                namespace: "platform-system",
                name: "cluster-feature-flags",
                rate: (80.0 * scale).max(1.0),
                conflict_ratio: 0.72,
            });
        }
        if has(Scenario::ObjectLeak) {
            out.object_leak = Some(ObjectLeak {
                who: service_account(
                    seed,
                    "reporting",
                    "report-scheduler",
                    released_agent(seed, "report-scheduler", "v2.1.0"),
                    "10.244.9.77".to_owned(),
                    "report-scheduler",
                ),
                namespace: "reporting",
                prefix: "nightly-report-",
                // A leak is a client's doing, not the cluster's size: even a small cluster's leaker creates
                // 1,800 Jobs an hour, over the churn check's warning threshold (1,000 an hour).
                rate: (4.0 * scale).max(0.5),
                preexisting: (176_000.0 * scale).max(12_000.0) as u64,
                bytes_per_job: 21_000,
            });
        }
        if has(Scenario::WebhookOutage) {
            out.webhook_outage = Some(WebhookOutage {
                configuration: "kyverno-resource-mutating-webhook-cfg",
                webhook: "mutate.kyverno.svc-fail",
                url: "https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=10s",
                timeout_seconds: 10,
                starts_at: 0.2,
                retry_factor: 3.0,
            });
        }
        if has(Scenario::ApfThrottled) {
            out.apf_throttled = Some(ApfThrottled {
                who: service_account(
                    seed,
                    "ci-tools",
                    "build-status-poller",
                    released_agent(seed, "build-status-poller", "v0.9.3"),
                    "10.244.21.9".to_owned(),
                    "build-status-poller",
                ),
                flow_schema: "throttle-build-status-poller",
                priority_level: "restricted-pollers",
                rate: (25.0 * scale).max(1.0),
                rejected_ratio: 0.45,
                wait_median_seconds: 1.6,
            });
        }
        if has(Scenario::EtcdSlowDisk) {
            out.etcd_slow_disk = Some(EtcdSlowDisk {
                write_factor: 25.0,
                timeout_ratio: 0.003,
                wal_fsync_p99: 0.8,
                backend_commit_p99: 1.6,
                leader_changes: 6,
            });
        }
        if let Some(apf) = &mut out.apf_throttled {
            apf.who.flow = (apf.flow_schema, apf.priority_level);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        let err = "list-strom".parse::<Scenario>().expect_err("typo");
        assert!(err.to_string().contains("unknown scenario `list-strom`"));
    }

    /// Review 50, item 5: the offenders' user agents paired a release version with an unstamped
    /// build's commit (`inventory-exporter/v1.8.2 (linux/amd64) kubernetes/$Format`).
    #[test]
    fn offender_user_agents_paired_a_release_version_with_an_unstamped_build() {
        let agents = |seed| {
            let sc = Scenarios::new(seed, &ALL, 300);
            let offenders = [
                sc.list_storm.map(|s| s.who),
                sc.put_storm.map(|s| s.who),
                sc.object_leak.map(|s| s.who),
                sc.apf_throttled.map(|s| s.who),
            ];
            offenders.map(|who| who.expect("selected").user_agent)
        };
        for agent in agents(1) {
            let commit = agent.rsplit_once(" kubernetes/").map(|(_, c)| c).expect("client-go agent");
            assert_eq!(commit.len(), 7, "{agent}");
            assert!(commit.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{agent}");
        }
        assert_eq!(agents(1), agents(1), "fixed by the seed");
        assert_ne!(agents(1), agents(2));
    }

    #[test]
    fn offender_flow_is_its_flow_schema() {
        let sc = Scenarios::new(1, &[Scenario::ApfThrottled], 5000);
        let apf = sc.apf_throttled.expect("selected");
        assert_eq!(apf.who.flow, ("throttle-build-status-poller", "restricted-pollers"));
        assert!(sc.list_storm.is_none());
    }
}
