//! The kube-apiserver and etcd `/metrics` snapshots of the simulated cluster, with the metric
//! names of the chosen Kubernetes version (as in the dumps under `../shared/data/real/metrics`).
//!
//! Request counts, latency histograms, object counts, APF and webhook counters come from the
//! generated audit events (as if one apiserver had served all of them since the window
//! started), so the metrics and the audit log tell the same story.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cluster::KubeVersion;
use crate::stats::{Flow, Hist, Latency, SeriesKey, Stats};
use crate::traffic::{APF_WAIT_BOUNDS, Ctx, WEBHOOK_BOUNDS};

/// etcd's quota on the simulated (AKS-like) cluster: 8 GiB.
pub const QUOTA_BYTES: u64 = 8 << 30;

/// The etcd version shipped with each Kubernetes minor in the real dumps.
pub fn etcd_version(minor: u32) -> &'static str {
    match minor {
        0..=16 => "3.3.15",
        17..=21 => "3.4.13",
        22..=26 => "3.5.6",
        27 => "3.5.7",
        28 => "3.5.9",
        29..=30 => "3.5.12",
        31 => "3.5.15",
        32 => "3.5.16",
        33 => "3.5.21",
        34 => "3.6.4",
        _ => "3.6.6",
    }
}

/// Which object-count and database-size metrics a version exposes (from the real dumps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricNames {
    /// `etcd_object_counts` (up to 1.22).
    pub etcd_object_counts: bool,
    /// `apiserver_storage_objects` (1.21 on).
    pub storage_objects: bool,
    /// `apiserver_resource_objects` (1.34 on).
    pub resource_objects: bool,
    /// The database size metric, if any: `etcd_db_total_size_in_bytes` (1.19–1.25),
    /// `apiserver_storage_db_total_size_in_bytes` (1.26–1.28), `apiserver_storage_size_bytes`
    /// (1.28 on; both in 1.28).
    pub db_size: &'static [&'static str],
    /// APF metrics exist (1.20 on).
    pub apf: bool,
    /// `apiserver_flowcontrol_nominal_limit_seats` (1.26 on).
    pub nominal_limit_seats: bool,
    /// `apiserver_flowcontrol_request_concurrency_limit` (1.20–1.30).
    pub request_concurrency_limit: bool,
    /// `apiserver_admission_webhook_request_total` (1.23 on).
    pub webhook_request_total: bool,
}

impl MetricNames {
    /// The names of `minor`.
    pub fn of(minor: u32) -> MetricNames {
        MetricNames {
            etcd_object_counts: minor <= 22,
            storage_objects: minor >= 21,
            resource_objects: minor >= 34,
            db_size: match minor {
                0..=18 => &[],
                19..=25 => &["etcd_db_total_size_in_bytes"],
                26..=27 => &["apiserver_storage_db_total_size_in_bytes"],
                28 => &["apiserver_storage_db_total_size_in_bytes", "apiserver_storage_size_bytes"],
                _ => &["apiserver_storage_size_bytes"],
            },
            apf: minor >= 20,
            nominal_limit_seats: minor >= 26,
            request_concurrency_limit: (20..=30).contains(&minor),
            webhook_request_total: minor >= 23,
        }
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; error below 2e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    let erf = if z >= 0.0 { erf } else { -erf };
    0.5 * (1.0 + erf)
}

/// Cumulative bucket counts of `n` log-normal observations (median, sigma) over `bounds`.
fn lognormal_buckets(n: u64, median: f64, sigma: f64, bounds: &[f64]) -> (Vec<u64>, f64) {
    let cum: Vec<u64> = bounds
        .iter()
        .map(|b| (n as f64 * normal_cdf((b.ln() - median.ln()) / sigma)).round() as u64)
        .map(|c| c.min(n))
        .collect();
    let mean = median * (sigma * sigma / 2.0).exp();
    (cum, mean * n as f64)
}

/// Formats a value as Prometheus' Go client does (`2.461696e+06`, `0.005`, `12`).
pub fn prom_value(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() };
    }
    if v == v.trunc() && v.abs() < 1e6 {
        return format!("{}", v as i64);
    }
    let abs = v.abs();
    if !(1e-4..1e21).contains(&abs) || abs >= 1e6 {
        // Go's %g with shortest representation: mantissa and a two-digit exponent.
        let s = format!("{v:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mant}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{v}")
}

fn bound_label(b: f64) -> String {
    prom_value(b)
}

struct Doc {
    out: String,
}

impl Doc {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&prom_value(value));
        self.out.push('\n');
    }

    /// A histogram from per-bucket (non-cumulative) counts, last one +Inf.
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], bounds: &[f64], counts: &[u64], sum: f64) {
        let mut cum = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, b) in bounds.iter().enumerate() {
            cum += counts.get(i).copied().unwrap_or(0);
            let le = bound_label(*b);
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, cum as f64);
        }
        cum += counts.get(bounds.len()).copied().unwrap_or(0);
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, cum as f64);
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, cum as f64);
    }

    fn histogram_cumulative(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cum: &[u64],
        count: u64,
        sum: f64,
    ) {
        for (i, b) in bounds.iter().enumerate() {
            let le = bound_label(*b);
            let mut with_le: Vec<(&str, &str)> = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &with_le, cum.get(i).copied().unwrap_or(count) as f64);
        }
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&format!("{name}_bucket"), &with_le, count as f64);
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count as f64);
    }
}

/// Object counts of the cluster at the window start, per qualified resource.
pub fn base_objects(ctx: &Ctx) -> BTreeMap<String, i64> {
    let n = ctx.cluster.nodes.len() as f64;
    let s = n / 5000.0;
    let sc = |v: f64, min: f64| (v * s).max(min).round() as i64;
    let leak = ctx.scenarios.object_leak.as_ref().map_or(0, |l| l.preexisting as i64);
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: i64| {
        m.insert(k.to_owned(), v);
    };
    put("pods", (n * f64::from(ctx.cluster.pods_per_node)).round() as i64 + sc(1_200.0, 20.0));
    put("nodes", n as i64);
    put("leases.coordination.k8s.io", n as i64 + 14);
    put("ciliumnodes.cilium.io", n as i64);
    put("ciliumendpoints.cilium.io", (n * f64::from(ctx.cluster.pods_per_node)).round() as i64);
    put("ciliumidentities.cilium.io", sc(2_600.0, 40.0));
    put("jobs.batch", sc(820.0, 8.0) + leak);
    put("cronjobs.batch", sc(310.0, 4.0));
    put("events", sc(96_000.0, 300.0));
    put("events.events.k8s.io", 0);
    put("configmaps", sc(4_300.0, 60.0));
    put("secrets", sc(8_900.0, 80.0));
    put("services", sc(2_650.0, 20.0));
    put("endpoints", sc(2_650.0, 20.0));
    put("endpointslices.discovery.k8s.io", sc(3_100.0, 20.0));
    put("deployments.apps", sc(2_400.0, 30.0));
    put("replicasets.apps", sc(9_600.0, 120.0));
    put("daemonsets.apps", 14);
    put("statefulsets.apps", sc(160.0, 5.0));
    put("namespaces", ctx.cluster.namespaces.len() as i64 + 14);
    put("serviceaccounts", sc(3_100.0, 60.0));
    put("horizontalpodautoscalers.autoscaling", sc(1_000.0, 10.0));
    put("persistentvolumeclaims", sc(1_800.0, 10.0));
    put("persistentvolumes", sc(1_800.0, 10.0));
    put("customresourcedefinitions.apiextensions.k8s.io", 86);
    put("apiservices.apiregistration.k8s.io", 41);
    put("clusterroles.rbac.authorization.k8s.io", 190);
    put("clusterrolebindings.rbac.authorization.k8s.io", 160);
    put("roles.rbac.authorization.k8s.io", sc(900.0, 30.0));
    put("rolebindings.rbac.authorization.k8s.io", sc(1_100.0, 30.0));
    put("flowschemas.flowcontrol.apiserver.k8s.io", 13 + i64::from(ctx.scenarios.apf_throttled.is_some()));
    put(
        "prioritylevelconfigurations.flowcontrol.apiserver.k8s.io",
        8 + i64::from(ctx.scenarios.apf_throttled.is_some()),
    );
    put(
        "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        3 + i64::from(ctx.scenarios.webhook_outage.is_some()),
    );
    put("validatingwebhookconfigurations.admissionregistration.k8s.io", 4);
    put("certificates.cert-manager.io", sc(600.0, 5.0));
    put("ingresses.networking.k8s.io", sc(700.0, 5.0));
    put("networkpolicies.networking.k8s.io", sc(450.0, 5.0));
    put("storageclasses.storage.k8s.io", 8);
    put("csidrivers.storage.k8s.io", 3);
    put("csinodes.storage.k8s.io", n as i64);
    put("runtimeclasses.node.k8s.io", 2);
    put("priorityclasses.scheduling.k8s.io", 4);
    m
}

/// Object counts at snapshot `w` (0 or 1).
pub fn objects_at(ctx: &Ctx, stats: &Stats, w: usize) -> BTreeMap<String, i64> {
    let mut m = base_objects(ctx);
    for window in 0..=w {
        for (k, v) in &stats.objects[window] {
            // Events expire after the apiserver's --event-ttl (1 h) through an etcd lease, which
            // the audit log never shows as a delete: their count holds steady while the log
            // shows only creates, so adding the creates would make every cluster look like an
            // events leak (bug: healthy_simulated_events_do_not_grow).
            if k == "events" || k == "events.events.k8s.io" {
                continue;
            }
            *m.entry(k.clone()).or_insert(0) += v;
        }
    }
    m
}

/// etcd database size (total, in use) at snapshot `w`.
pub fn db_size_at(ctx: &Ctx, stats: &Stats, w: usize) -> (u64, u64) {
    let s = ctx.cluster.nodes.len() as f64 / 5000.0;
    let healthy_total = (1.35e9 * s + 48e6) as u64;
    if let Some(leak) = &ctx.scenarios.object_leak {
        // The leak has filled etcd to 82% of its quota by the second snapshot.
        let total2 = (QUOTA_BYTES as f64 * 0.82) as u64;
        let created_between =
            stats.trackers.get(&crate::scenario::track::OBJECT_LEAK).map_or(0, |t| t.created[1]);
        let total = if w == 1 { total2 } else { total2.saturating_sub(created_between * leak.bytes_per_job) };
        let total = total / 4096 * 4096;
        return (total, (total as f64 * 0.91) as u64 / 4096 * 4096);
    }
    let total = healthy_total + w as u64 * (healthy_total / 2000);
    let total = total / 4096 * 4096;
    (total, (total as f64 * 0.78) as u64 / 4096 * 4096)
}

/// Writes for the etcd histograms: mutating requests up to snapshot `w`.
fn writes_until(stats: &Stats, w: usize) -> u64 {
    (0..=w)
        .flat_map(|i| stats.latency[i].iter())
        .filter(|(k, _)| matches!(k.verb, "POST" | "PUT" | "PATCH" | "DELETE"))
        .map(|(_, v)| v.count())
        .sum()
}

fn go_kind(resource: &str) -> &'static str {
    match resource {
        "pods" => "*core.Pod",
        "nodes" => "*core.Node",
        "configmaps" => "*core.ConfigMap",
        "secrets" => "*core.Secret",
        "services" => "*core.Service",
        "endpoints" => "*core.Endpoints",
        "events" => "*core.Event",
        "serviceaccounts" => "*core.ServiceAccount",
        "leases.coordination.k8s.io" => "*coordination.Lease",
        "jobs.batch" => "*batch.Job",
        "cronjobs.batch" => "*batch.CronJob",
        "deployments.apps" => "*apps.Deployment",
        "replicasets.apps" => "*apps.ReplicaSet",
        "endpointslices.discovery.k8s.io" => "*discovery.EndpointSlice",
        "horizontalpodautoscalers.autoscaling" => "*autoscaling.HorizontalPodAutoscaler",
        _ => "*unstructured.Unstructured",
    }
}

/// The kube-apiserver `/metrics` text at snapshot `w`.
pub fn apiserver_metrics(ctx: &Ctx, stats: &Stats, w: usize) -> String {
    let v: KubeVersion = ctx.cluster.version;
    let names = MetricNames::of(v.minor);
    let mut d = Doc { out: String::with_capacity(1 << 20) };
    let snap_secs = ctx.snaps[w] as f64 / 1e6;

    // Request latency and counts.
    let mut latency: BTreeMap<SeriesKey, Latency> = BTreeMap::new();
    for window in 0..=w {
        for (k, l) in &stats.latency[window] {
            let e = latency.entry(*k).or_default();
            if e.buckets.len() < l.buckets.len() {
                e.buckets.resize(l.buckets.len(), 0);
            }
            for (a, b) in e.buckets.iter_mut().zip(&l.buckets) {
                *a += b;
            }
            e.sum_us += l.sum_us;
            for (c, n) in &l.codes {
                *e.codes.entry(*c).or_insert(0) += n;
            }
            if e.sli_buckets.len() < l.sli_buckets.len() {
                e.sli_buckets.resize(l.sli_buckets.len(), 0);
            }
            for (a, b) in e.sli_buckets.iter_mut().zip(&l.sli_buckets) {
                *a += b;
            }
            e.sli_sum_us += l.sli_sum_us;
        }
    }
    d.family(
        "apiserver_request_duration_seconds",
        "histogram",
        "[STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
    );
    for (k, l) in &latency {
        d.histogram(
            "apiserver_request_duration_seconds",
            &series_labels(k, true),
            ctx.buckets,
            &l.buckets,
            l.sum_us as f64 / 1e6,
        );
    }
    // Since 1.26 (as `…_slo_duration_seconds` 1.23–1.27 too, not written here): what the API
    // call latency SLO is measured on.
    if v.minor >= 26 {
        d.family(
            "apiserver_request_sli_duration_seconds",
            "histogram",
            &format!(
                "{} Response latency distribution (not counting webhook duration and priority & fairness queue wait times) in seconds for each verb, group, version, resource, subresource, scope and component.",
                if v.minor >= 29 { "[BETA]" } else { "[ALPHA]" }
            ),
        );
        for (k, l) in latency.iter().filter(|(_, l)| !l.sli_buckets.is_empty()) {
            d.histogram(
                "apiserver_request_sli_duration_seconds",
                &series_labels(k, false),
                crate::stats::SLI_BUCKETS,
                &l.sli_buckets,
                l.sli_sum_us as f64 / 1e6,
            );
        }
    }
    d.family(
        "apiserver_request_total",
        "counter",
        "[STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
    );
    for (k, l) in &latency {
        let series = series_labels(k, true);
        for (code, n) in &l.codes {
            let code = code.to_string();
            let mut labels = vec![("code", code.as_str())];
            labels.extend(series.iter().copied());
            d.sample("apiserver_request_total", &labels, *n as f64);
        }
    }

    // In-flight requests.
    d.family(
        "apiserver_current_inflight_requests",
        "gauge",
        "[STABLE] Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
    );
    let busy = ctx.scenarios.list_storm.is_some()
        || ctx.scenarios.webhook_outage.is_some()
        || ctx.scenarios.etcd_slow_disk.is_some();
    d.sample(
        "apiserver_current_inflight_requests",
        &[("request_kind", "mutating")],
        if busy { 96.0 } else { 14.0 },
    );
    d.sample(
        "apiserver_current_inflight_requests",
        &[("request_kind", "readOnly")],
        if busy { 212.0 } else { 41.0 },
    );

    // Object counts.
    let objects = objects_at(ctx, stats, w);
    if names.etcd_object_counts {
        d.family(
            "etcd_object_counts",
            "gauge",
            "[ALPHA] Number of stored objects at the time of last check split by kind.",
        );
        for (k, n) in &objects {
            d.sample("etcd_object_counts", &[("resource", k)], *n as f64);
        }
    }
    if names.storage_objects {
        d.family(
            "apiserver_storage_objects",
            "gauge",
            "[STABLE] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
        );
        for (k, n) in &objects {
            d.sample("apiserver_storage_objects", &[("resource", k)], *n as f64);
        }
    }
    if names.resource_objects {
        d.family(
            "apiserver_resource_objects",
            "gauge",
            "[ALPHA] Number of stored objects at the time of last check split by kind. In case of a fetching error, the value will be -1.",
        );
        for (k, n) in &objects {
            let (resource, group) = k.split_once('.').unwrap_or((k.as_str(), ""));
            d.sample("apiserver_resource_objects", &[("group", group), ("resource", resource)], *n as f64);
        }
    }

    // Database size.
    let (db_total, _) = db_size_at(ctx, stats, w);
    for name in names.db_size {
        match *name {
            "apiserver_storage_size_bytes" => {
                d.family(
                    name,
                    "gauge",
                    "[ALPHA] Size of the storage database file physically allocated in bytes.",
                );
                d.sample(name, &[("storage_cluster_id", "etcd-0")], db_total as f64);
            }
            "apiserver_storage_db_total_size_in_bytes" => {
                let help = if v.minor >= 28 {
                    "[ALPHA] (Deprecated since 1.28.0) Total size of the storage database file physically allocated in bytes."
                } else {
                    "[ALPHA] Total size of the storage database file physically allocated in bytes."
                };
                d.family(name, "gauge", help);
                d.sample(name, &[("endpoint", "https://etcd-0.etcd:2379")], db_total as f64);
            }
            _ => {
                d.family(
                    name,
                    "gauge",
                    "[ALPHA] Total size of the etcd database file physically allocated in bytes.",
                );
                d.sample(name, &[("endpoint", "https://etcd-0.etcd:2379")], db_total as f64);
            }
        }
    }

    // etcd request latency as the apiserver sees it.
    d.family(
        "etcd_request_duration_seconds",
        "histogram",
        "[ALPHA] Etcd request latency in seconds for each operation and object type.",
    );
    let slow = ctx.scenarios.etcd_slow_disk.is_some();
    let mut per_op: BTreeMap<(String, &str), u64> = BTreeMap::new();
    for (k, l) in &latency {
        if k.resource.is_empty() || k.verb == "WATCH" {
            continue;
        }
        let op = match k.verb {
            "POST" => "create",
            "PUT" | "PATCH" => "update",
            "DELETE" => "delete",
            "LIST" => "listWithCount",
            _ => "get",
        };
        let qualified =
            if k.group.is_empty() { k.resource.to_owned() } else { format!("{}.{}", k.resource, k.group) };
        let ty = if v.minor >= 26 { qualified } else { go_kind(&qualified).to_owned() };
        *per_op.entry((ty, op)).or_insert(0) += l.count();
    }
    for ((ty, op), n) in &per_op {
        let write = matches!(*op, "create" | "update" | "delete");
        let median = match (write, slow) {
            (true, true) => 0.09,
            (true, false) => 0.004,
            (false, true) => 0.012,
            (false, false) => 0.0018,
        };
        let (cum, sum) = lognormal_buckets(*n, median, 0.7, ctx.buckets);
        d.histogram_cumulative(
            "etcd_request_duration_seconds",
            &[("operation", op), ("type", ty)],
            ctx.buckets,
            &cum,
            *n,
            sum,
        );
    }

    // API Priority and Fairness.
    if names.apf {
        let mut flows: BTreeMap<(&str, &str), Flow> = BTreeMap::new();
        for window in 0..=w {
            for (k, f) in &stats.flows[window] {
                let e = flows.entry(*k).or_default();
                e.dispatched += f.dispatched;
                e.rejected += f.rejected;
                let mut merged = e.wait.clone();
                if merged.buckets.len() < f.wait.buckets.len() {
                    merged.buckets.resize(f.wait.buckets.len(), 0);
                }
                for (a, b) in merged.buckets.iter_mut().zip(&f.wait.buckets) {
                    *a += b;
                }
                merged.sum_us += f.wait.sum_us;
                e.wait = merged;
            }
        }
        let stage = if v.minor >= 27 { "[BETA]" } else { "[ALPHA]" };
        d.family(
            "apiserver_flowcontrol_dispatched_requests_total",
            "counter",
            &format!("{stage} Number of requests executed by API Priority and Fairness subsystem"),
        );
        for ((fs, pl), f) in &flows {
            d.sample(
                "apiserver_flowcontrol_dispatched_requests_total",
                &[("flow_schema", fs), ("priority_level", pl)],
                f.dispatched as f64,
            );
        }
        d.family(
            "apiserver_flowcontrol_rejected_requests_total",
            "counter",
            &format!("{stage} Number of requests rejected by API Priority and Fairness subsystem"),
        );
        for ((fs, pl), f) in &flows {
            if f.rejected > 0 {
                d.sample(
                    "apiserver_flowcontrol_rejected_requests_total",
                    &[("flow_schema", fs), ("priority_level", pl), ("reason", "queue-full")],
                    f.rejected as f64,
                );
            }
        }
        d.family(
            "apiserver_flowcontrol_request_wait_duration_seconds",
            "histogram",
            &format!("{stage} Length of time a request spent waiting in its queue"),
        );
        for ((fs, pl), f) in &flows {
            d.histogram(
                "apiserver_flowcontrol_request_wait_duration_seconds",
                &[("execute", "true"), ("flow_schema", fs), ("priority_level", pl)],
                APF_WAIT_BOUNDS,
                &f.wait.buckets,
                f.wait.sum_us as f64 / 1e6,
            );
        }
        d.family(
            "apiserver_flowcontrol_current_inqueue_requests",
            "gauge",
            &format!("{stage} Number of requests currently pending in queues of the API Priority and Fairness subsystem"),
        );
        for (fs, pl) in flows.keys() {
            let queued = if ctx.scenarios.apf_throttled.as_ref().is_some_and(|a| a.flow_schema == *fs) {
                50.0
            } else {
                0.0
            };
            d.sample(
                "apiserver_flowcontrol_current_inqueue_requests",
                &[("flow_schema", fs), ("priority_level", pl)],
                queued,
            );
        }
        let mut levels: Vec<(&str, f64)> = vec![
            ("catch-all", 13.0),
            ("exempt", 0.0),
            ("global-default", 49.0),
            ("leader-election", 25.0),
            ("node-high", 98.0),
            ("system", 74.0),
            ("workload-high", 98.0),
            ("workload-low", 245.0),
        ];
        if let Some(a) = &ctx.scenarios.apf_throttled {
            levels.push((a.priority_level, 2.0));
            levels.sort_by(|x, y| x.0.cmp(y.0));
        }
        if names.nominal_limit_seats {
            d.family(
                "apiserver_flowcontrol_nominal_limit_seats",
                "gauge",
                &format!("{stage} Nominal number of execution seats configured for each priority level"),
            );
            for (pl, seats) in &levels {
                d.sample("apiserver_flowcontrol_nominal_limit_seats", &[("priority_level", pl)], *seats);
            }
        }
        if names.request_concurrency_limit {
            d.family(
                "apiserver_flowcontrol_request_concurrency_limit",
                "gauge",
                "[ALPHA] Nominal number of execution seats configured for each priority level",
            );
            for (pl, seats) in &levels {
                d.sample(
                    "apiserver_flowcontrol_request_concurrency_limit",
                    &[("priority_level", pl)],
                    *seats,
                );
            }
        }
    }

    // Admission webhooks.
    let mut hooks: BTreeMap<&str, BTreeMap<(&str, bool), Hist>> = BTreeMap::new();
    let mut rejections: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for window in 0..=w {
        for (name, h) in &stats.webhooks[window] {
            let e = hooks.entry(name).or_default();
            for (k, c) in &h.calls {
                let slot = e.entry(*k).or_default();
                if slot.buckets.len() < c.buckets.len() {
                    slot.buckets.resize(c.buckets.len(), 0);
                }
                for (a, b) in slot.buckets.iter_mut().zip(&c.buckets) {
                    *a += b;
                }
                slot.sum_us += c.sum_us;
            }
            for (op, n) in &h.rejections {
                *rejections.entry((name, op)).or_insert(0) += n;
            }
        }
    }
    d.family(
        "apiserver_admission_webhook_admission_duration_seconds",
        "histogram",
        "[STABLE] Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
    );
    for (name, calls) in &hooks {
        for ((op, rejected), h) in calls {
            let rejected = if *rejected { "true" } else { "false" };
            d.histogram(
                "apiserver_admission_webhook_admission_duration_seconds",
                &[("name", name), ("operation", op), ("rejected", rejected), ("type", "admit")],
                WEBHOOK_BOUNDS,
                &h.buckets,
                h.sum_us as f64 / 1e6,
            );
        }
    }
    d.family(
        "apiserver_admission_webhook_rejection_count",
        "counter",
        "[ALPHA] Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
    );
    for ((name, op), n) in &rejections {
        d.sample(
            "apiserver_admission_webhook_rejection_count",
            &[
                ("error_type", "calling_webhook_error"),
                ("name", name),
                ("operation", op),
                ("rejection_code", "0"),
                ("type", "admit"),
            ],
            *n as f64,
        );
    }
    if names.webhook_request_total {
        d.family(
            "apiserver_admission_webhook_request_total",
            "counter",
            "[ALPHA] Admission webhook request total, identified by name and broken out for each admission type (validating or mutating) and operation. Additional labels specify whether the request was rejected or not and an HTTP status code. Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
        );
        for (name, calls) in &hooks {
            for ((op, rejected), h) in calls {
                let (code, rej) = if *rejected { ("0", "true") } else { ("200", "false") };
                d.sample(
                    "apiserver_admission_webhook_request_total",
                    &[
                        ("code", code),
                        ("name", name),
                        ("operation", op),
                        ("rejected", rej),
                        ("type", "admit"),
                    ],
                    h.count() as f64,
                );
            }
        }
    }

    // Identity.
    d.family(
        "kubernetes_build_info",
        "gauge",
        "[ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
    );
    let minor = v.minor.to_string();
    if v.minor <= 16 {
        d.sample(
            "kubernetes_build_info",
            &[
                ("buildDate", v.build_date),
                ("compiler", "gc"),
                ("gitCommit", v.git_commit),
                ("gitTreeState", "clean"),
                ("gitVersion", v.git_version),
                ("goVersion", v.go_version),
                ("major", "1"),
                ("minor", &minor),
                ("platform", "linux/amd64"),
            ],
            1.0,
        );
    } else {
        d.sample(
            "kubernetes_build_info",
            &[
                ("build_date", v.build_date),
                ("compiler", "gc"),
                ("git_commit", v.git_commit),
                ("git_tree_state", "clean"),
                ("git_version", v.git_version),
                ("go_version", v.go_version),
                ("major", "1"),
                ("minor", &minor),
                ("platform", "linux/amd64"),
            ],
            1.0,
        );
    }
    d.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    d.sample("process_start_time_seconds", &[], (ctx.start as f64 / 1e6 - 0.5).floor());
    let _ = snap_secs;
    d.out
}

/// The simulated etcd member's id (`etcd_server_id`).
pub const ETCD_MEMBER_ID: &str = "8e9e05c52164694d";

/// The etcd `/metrics` text at snapshot `w`.
pub fn etcd_metrics(ctx: &Ctx, stats: &Stats, w: usize) -> String {
    let mut d = Doc { out: String::with_capacity(64 << 10) };
    let (total, in_use) = db_size_at(ctx, stats, w);
    let slow = ctx.scenarios.etcd_slow_disk.clone();
    let version = etcd_version(ctx.cluster.version.minor);
    let uptime_writes = writes_until(stats, w);
    // A raft entry per write, plus internal traffic (leases, compaction, sync).
    let fsyncs = uptime_writes + 20_000 * ((ctx.snaps[w] - ctx.start) / 60_000_000 + 1) as u64;
    let commits = fsyncs / 3 + 1;
    let bounds: Vec<f64> = (0..14).map(|i| 0.001 * f64::from(1u32 << i)).collect();
    let (fsync_median, fsync_sigma, commit_median, commit_sigma) = match &slow {
        // P99 = median * exp(2.326 * sigma).
        Some(e) => (
            e.wal_fsync_p99 / (2.326f64 * 0.85).exp(),
            0.85,
            e.backend_commit_p99 / (2.326f64 * 0.85).exp(),
            0.85,
        ),
        None => (0.0021, 0.55, 0.0046, 0.5),
    };
    d.family(
        "etcd_disk_wal_fsync_duration_seconds",
        "histogram",
        "The latency distributions of fsync called by WAL.",
    );
    let (cum, sum) = lognormal_buckets(fsyncs, fsync_median, fsync_sigma, &bounds);
    d.histogram_cumulative("etcd_disk_wal_fsync_duration_seconds", &[], &bounds, &cum, fsyncs, sum);
    d.family(
        "etcd_disk_backend_commit_duration_seconds",
        "histogram",
        "The latency distributions of commit called by backend.",
    );
    let (cum, sum) = lognormal_buckets(commits, commit_median, commit_sigma, &bounds);
    d.histogram_cumulative("etcd_disk_backend_commit_duration_seconds", &[], &bounds, &cum, commits, sum);
    d.family(
        "etcd_mvcc_db_total_size_in_bytes",
        "gauge",
        "Total size of the underlying database physically allocated in bytes.",
    );
    d.sample("etcd_mvcc_db_total_size_in_bytes", &[], total as f64);
    d.family(
        "etcd_mvcc_db_total_size_in_use_in_bytes",
        "gauge",
        "Total size of the underlying database logically in use in bytes.",
    );
    d.sample("etcd_mvcc_db_total_size_in_use_in_bytes", &[], in_use as f64);
    d.family("etcd_server_quota_backend_bytes", "gauge", "Current backend storage quota size in bytes.");
    d.sample("etcd_server_quota_backend_bytes", &[], QUOTA_BYTES as f64);
    let objects: i64 = objects_at(ctx, stats, w).values().sum();
    d.family("etcd_debugging_mvcc_keys_total", "gauge", "Total number of keys.");
    d.sample("etcd_debugging_mvcc_keys_total", &[], objects as f64);
    d.family("etcd_server_has_leader", "gauge", "Whether or not a leader exists. 1 is existence, 0 is not.");
    d.sample("etcd_server_has_leader", &[], 1.0);
    d.family(
        "etcd_server_is_leader",
        "gauge",
        "Whether or not this member is a leader. 1 if is, 0 otherwise.",
    );
    d.sample("etcd_server_is_leader", &[], if slow.is_some() && w == 1 { 0.0 } else { 1.0 });
    let changes = match &slow {
        Some(e) => 3 + if w == 1 { e.leader_changes } else { 0 },
        None => 1,
    };
    d.family("etcd_server_leader_changes_seen_total", "counter", "The number of leader changes seen.");
    d.sample("etcd_server_leader_changes_seen_total", &[], changes as f64);
    d.family(
        "etcd_server_proposals_committed_total",
        "gauge",
        "The total number of consensus proposals committed.",
    );
    d.sample("etcd_server_proposals_committed_total", &[], (uptime_writes + 1_000_000) as f64);
    d.family(
        "etcd_server_proposals_applied_total",
        "gauge",
        "The total number of consensus proposals applied.",
    );
    d.sample("etcd_server_proposals_applied_total", &[], (uptime_writes + 1_000_000) as f64);
    d.family("etcd_server_proposals_pending", "gauge", "The current number of pending proposals to commit.");
    d.sample("etcd_server_proposals_pending", &[], if slow.is_some() { 37.0 } else { 0.0 });
    d.family("etcd_server_proposals_failed_total", "counter", "The total number of failed proposals seen.");
    d.sample(
        "etcd_server_proposals_failed_total",
        &[],
        if slow.is_some() { 41.0 + 230.0 * w as f64 } else { 0.0 },
    );
    d.family(
        "etcd_server_version",
        "gauge",
        "Which version is running. 1 for 'server_version' label with current version.",
    );
    d.sample("etcd_server_version", &[("server_version", version)], 1.0);
    // The member's id and start, as every real scrape gives them: both scrapes are of one
    // process, and the findings name the member by its id (on-call review 52, item 10: the
    // demo's member was named after its scrape's file, `etcd-2.prom`). The id is the one etcd
    // gives the single member of a cluster started with its defaults.
    d.family(
        "etcd_server_id",
        "gauge",
        "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
    );
    d.sample("etcd_server_id", &[("server_id", ETCD_MEMBER_ID)], 1.0);
    d.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    d.sample("process_start_time_seconds", &[], (ctx.start as f64 / 1e6 - 3600.5).floor());
    let cluster = version.rsplit_once('.').map_or(version, |(c, _)| c);
    d.family(
        "etcd_cluster_version",
        "gauge",
        "Which version is running. 1 for 'cluster_version' label with current cluster version",
    );
    d.sample("etcd_cluster_version", &[("cluster_version", cluster)], 1.0);
    d.out
}

/// The labels of a request series, in the order kube-apiserver writes them (after `code` in
/// `apiserver_request_total`); with `dry_run` for `apiserver_request_duration_seconds` and
/// `apiserver_request_total`, without it for the SLI histogram.
fn series_labels(k: &SeriesKey, dry_run: bool) -> Vec<(&'static str, &'static str)> {
    let component = if k.resource.is_empty() { "" } else { "apiserver" };
    let mut labels = vec![("component", component)];
    if dry_run {
        labels.push(("dry_run", ""));
    }
    labels.extend([
        ("group", k.group),
        ("resource", k.resource),
        ("scope", k.scope),
        ("subresource", k.subresource),
        ("verb", k.verb),
        ("version", k.version),
    ]);
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_formatted_like_the_go_client() {
        assert_eq!(prom_value(2_461_696.0), "2.461696e+06");
        assert_eq!(prom_value(2_147_483_648.0), "2.147483648e+09");
        assert_eq!(prom_value(0.005), "0.005");
        assert_eq!(prom_value(12.0), "12");
        assert_eq!(prom_value(f64::INFINITY), "+Inf");
        assert_eq!(prom_value(1.5), "1.5");
    }

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(2.326) - 0.99).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn metric_names_follow_the_real_dumps() {
        assert_eq!(MetricNames::of(19).db_size, &["etcd_db_total_size_in_bytes"]);
        assert_eq!(MetricNames::of(27).db_size, &["apiserver_storage_db_total_size_in_bytes"]);
        assert_eq!(MetricNames::of(29).db_size, &["apiserver_storage_size_bytes"]);
        assert!(MetricNames::of(21).etcd_object_counts && MetricNames::of(21).storage_objects);
        assert!(!MetricNames::of(23).etcd_object_counts);
        assert!(MetricNames::of(34).resource_objects);
        assert!(!MetricNames::of(16).apf);
    }
}
