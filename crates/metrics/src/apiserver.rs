//! The numbers the kube-apiserver checks read, taken from one or two scrapes.
//!
//! Each metric is read under every name the Kubernetes versions 1.16 to 1.35 gave it
//! (DESIGN.md, "Thresholds": database size and object count metrics).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::quantile::QuantileBucket;
use crate::snapshot::{Histogram, Window};

/// Database size metrics, newest name first: `apiserver_storage_size_bytes` (1.28+),
/// `apiserver_storage_db_total_size_in_bytes` (1.26–1.27, deprecated in 1.28),
/// `etcd_db_total_size_in_bytes` (1.19–1.25).
pub const DB_SIZE_METRICS: &[&str] = &[
    "apiserver_storage_size_bytes",
    "apiserver_storage_db_total_size_in_bytes",
    "etcd_db_total_size_in_bytes",
];

/// Object count metrics, newest name first: `apiserver_resource_objects` (1.34+, labels
/// `group` and `resource`), `apiserver_storage_objects` (1.21+), `etcd_object_counts` (up to 1.22).
pub const OBJECT_COUNT_METRICS: &[&str] =
    &["apiserver_resource_objects", "apiserver_storage_objects", "etcd_object_counts"];

/// Long-running subresources excluded from latency SLOs (clusterloader2).
pub const LONG_RUNNING_SUBRESOURCES: &[&str] = &["exec", "attach", "portforward", "proxy", "log"];

/// P99 latency of one kind of request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestLatency {
    /// `GET`, `LIST`, `POST`, `PUT`, `PATCH`, `DELETE`, `DELETECOLLECTION`, `APPLY`.
    pub verb: String,
    /// The resource, group-qualified when it has a group (`jobs.batch`), with its subresource
    /// after a `/` (`pods/status`).
    pub resource: String,
    /// `resource` (one object), `namespace` or `cluster`.
    pub scope: String,
    /// Requests in the window.
    pub count: f64,
    /// P99 latency in seconds, as `histogram_quantile` gives it (interpolated in its bucket).
    pub p99_seconds: f64,
    /// The bounds of the bucket the P99 lies in (`lower` exclusive, `upper` inclusive, `+Inf`
    /// for the last bucket): what the histogram itself shows.
    pub p99_bucket: Option<(f64, f64)>,
    /// The same kind of request in the SLI histogram, which leaves out the time spent in
    /// admission webhooks and APF queues (the SIG-scalability SLO is defined on it), when the
    /// scrape has one.
    pub sli: Option<SliLatency>,
}

/// A request kind's P99 from `apiserver_request_sli_duration_seconds` (1.26+) or
/// `apiserver_request_slo_duration_seconds` (1.23–1.27): request latency without the time
/// spent in admission webhooks and APF queues.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliLatency {
    /// The histogram it came from.
    pub metric: String,
    /// Requests in the window.
    pub count: f64,
    /// Where the P99 lies, and `histogram_quantile`'s value in its bucket.
    pub p99: QuantileBucket,
}

/// The SLI histograms, newest name first.
pub const SLI_METRICS: &[&str] =
    &["apiserver_request_sli_duration_seconds", "apiserver_request_slo_duration_seconds"];

/// Objects of one resource type stored in etcd.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectCount {
    /// Group-qualified resource (`pods`, `jobs.batch`, `widgets.example.com`).
    pub resource: String,
    /// Objects at the last scrape.
    pub count: f64,
    /// Objects at the first scrape, when there are two.
    pub first_count: Option<f64>,
}

/// The etcd database size as the API server reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbSize {
    /// The metric it came from.
    pub metric: String,
    /// The etcd endpoint or cluster label (`endpoint`, `cluster` or `storage_cluster_id`).
    pub endpoint: String,
    /// Bytes at the last scrape.
    pub bytes: f64,
    /// Bytes at the first scrape, when there are two.
    pub first_bytes: Option<f64>,
    /// Why the two sizes may be of different etcd members, when they may: each member's file
    /// has its own size (defragmentation is per member), so their difference is not growth
    /// (review s47: a defragmented member then another read as "grows by 15 GiB per hour").
    pub members_may_differ: Option<String>,
}

/// Why `apiserver_storage_size_bytes` may name a different member at each scrape.
pub const RANDOM_MEMBER: &str = "`apiserver_storage_size_bytes` (Kubernetes 1.28+) is the size of the etcd member the API \
     server asks on each poll, one of its --etcd-servers picked at random";

/// APF rejections of one flow schema and priority level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApfRejections {
    /// The FlowSchema.
    pub flow_schema: String,
    /// The PriorityLevelConfiguration.
    pub priority_level: String,
    /// `queue-full`, `concurrency-limit`, `time-out`, `cancelled`, summed over reasons here.
    pub reasons: Vec<String>,
    /// Rejected requests in the window.
    pub rejected: f64,
}

/// APF queue wait of one priority level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApfWait {
    /// The PriorityLevelConfiguration.
    pub priority_level: String,
    /// The FlowSchema with the most requests that waited at least the level's P99 bucket's lower
    /// bound (`waited_over`), or with the most requests when that bound is not finite.
    pub flow_schema: String,
    /// That flow schema's requests that waited longer than `waited_over`.
    pub flow_schema_waited: f64,
    /// The wait the flow schemas were ranked by (the level's P99 bucket's lower bound), when
    /// finite and above 0.
    pub waited_over: Option<f64>,
    /// Requests that waited (executed or not) in the window.
    pub count: f64,
    /// P99 wait in seconds (`histogram_quantile`'s interpolation).
    pub p99_seconds: f64,
    /// The bucket the P99 lies in, with the interpolated value.
    pub p99_bucket: Option<QuantileBucket>,
}

/// One admission webhook's calls, latency and failures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookStats {
    /// The webhook's name (`name` label).
    pub name: String,
    /// `admit` (mutating) or `validating`.
    pub webhook_type: String,
    /// Calls in the window.
    pub calls: f64,
    /// Where the P99 call latency lies, in seconds: its bucket and `histogram_quantile`'s
    /// value in it; `None` without observations.
    pub p99: Option<QuantileBucket>,
    /// Requests rejected because the webhook could not be called or failed
    /// (`error_type` `calling_webhook_error` or `apiserver_internal_error`).
    pub call_failures: f64,
    /// Requests the webhook denied (`error_type="no_error"`): policy decisions, not outages.
    pub denials: f64,
    /// Calls that failed and were let through because of `failurePolicy: Ignore`.
    pub fail_open: f64,
}

/// How full one priority level (or the legacy in-flight limit) is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saturation {
    /// A priority level, or `mutating` / `readOnly` for the legacy max-in-flight filter.
    pub name: String,
    /// Seats (or requests, see `unit`) executing at the last scrape.
    pub in_use: f64,
    /// The limit, when the scrape gives it, in the same unit.
    pub limit: Option<f64>,
    /// `seats` (1.22+: a request takes one or more seats) or `requests` (1.20–1.21, and the
    /// legacy in-flight filter: one request, one unit of concurrency).
    pub unit: String,
    /// Requests executing at the last scrape (each takes at least one seat).
    pub executing_requests: f64,
    /// Requests waiting in queues at the last scrape.
    pub queued: f64,
}

/// P99 latency of the API server's calls to etcd for one operation and type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EtcdRequestLatency {
    /// `get`, `list`, `create`, `update`, `delete`, `listWithCount`, …
    pub operation: String,
    /// The resource (`resource` label, 1.28+, group-qualified from the `group` label of
    /// 1.34+: `leases.coordination.k8s.io`) or Go type (`type` label, older).
    pub object: String,
    /// Calls in the window.
    pub count: f64,
    /// P99 in seconds (`histogram_quantile`'s interpolation).
    pub p99_seconds: f64,
    /// The bucket the P99 lies in, with the interpolated value.
    pub p99_bucket: Option<QuantileBucket>,
    /// The labels and values of the series it sums: `operation` and `type`, or `operation`,
    /// `resource` and (1.34+) `group`, `group` empty for the core group. A PromQL selector with
    /// them sums what the check measured (review s51, item 9: the query filtered on
    /// `operation` alone and gave the P99 of every resource's calls).
    pub matchers: Vec<(String, String)>,
}

/// Everything the kube-apiserver checks read from one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiserverEvidence {
    /// Where it came from: the file names or URLs, joined by ` → ` when there are two.
    pub source: String,
    /// `kube-apiserver 1.29.5`.
    pub target: String,
    /// Seconds between the two scrapes; `None` when counters are cumulative since start.
    pub window_seconds: Option<f64>,
    /// Request latency per verb, resource and scope.
    pub latency: Vec<RequestLatency>,
    /// The object count metric used, if any.
    pub object_metric: Option<String>,
    /// Objects per resource.
    pub objects: Vec<ObjectCount>,
    /// Database size per etcd endpoint.
    pub db_size: Vec<DbSize>,
    /// APF rejections per flow schema and priority level.
    pub apf_rejections: Vec<ApfRejections>,
    /// APF queue wait per priority level.
    pub apf_wait: Vec<ApfWait>,
    /// Admission webhooks.
    pub webhooks: Vec<WebhookStats>,
    /// Priority level / in-flight saturation.
    pub saturation: Vec<Saturation>,
    /// API server → etcd request latency.
    pub etcd_requests: Vec<EtcdRequestLatency>,
    /// Object counts and database sizes that were not finite numbers (`NaN`, `+Inf`,
    /// `-Inf`), skipped, and what is wrong with the request-latency histograms (see
    /// [`crate::Snapshot::histogram_problems`], and buckets that fell between the two scrapes
    /// while their histogram's total grew, [`crate::Window::histogram_resets`]): one line each,
    /// naming the scrape and the series.
    pub skipped_values: Vec<String>,
    /// Why what changed between the two scrapes (counters' increases, gauges' growth) rests
    /// on a guess about their order or about their being of one process, when it does: the
    /// checks then raise no severity on it and say so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_guess: Option<String>,
}

fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() { resource.to_owned() } else { format!("{resource}.{group}") }
}

/// Reads the kube-apiserver evidence from a window over one target.
pub fn evidence(window: &Window<'_>) -> ApiserverEvidence {
    let last = window.last;
    let source = match window.first {
        Some(first) => format!("{} → {}", first.source, last.source),
        None => last.source.clone(),
    };
    let mut skipped_values = Vec::new();
    let (object_metric, objects) = object_counts(window, &mut skipped_values);
    let db_size = db_size(window, &mut skipped_values);
    // The histograms the checks read quantiles from (MET001, MET007, MET008, MET011): what is
    // wrong with them is said.
    let families = [
        "apiserver_request_duration_seconds",
        "apiserver_flowcontrol_request_wait_duration_seconds",
        "apiserver_admission_webhook_admission_duration_seconds",
        "etcd_request_duration_seconds",
    ];
    for family in families.into_iter().chain(SLI_METRICS.iter().copied()) {
        skipped_values.extend(last.histogram_problems(family));
        skipped_values.extend(window.histogram_resets(family));
    }
    ApiserverEvidence {
        source,
        target: last.target.describe(),
        window_seconds: window.first.and(window.seconds),
        latency: request_latency(window),
        object_metric,
        objects,
        db_size,
        apf_rejections: apf_rejections(window, &mut skipped_values),
        apf_wait: apf_wait(window),
        webhooks: webhooks(window, &mut skipped_values),
        saturation: saturation(window),
        etcd_requests: etcd_requests(window),
        skipped_values,
        change_guess: None,
    }
}

fn request_latency(window: &Window<'_>) -> Vec<RequestLatency> {
    const BY: [&str; 5] = ["verb", "group", "resource", "subresource", "scope"];
    let histograms = window.histograms("apiserver_request_duration_seconds");
    let summed = Histogram::sum_by(&histograms, &BY);
    let (sli_metric, sli) = SLI_METRICS
        .iter()
        .find(|m| window.last.has(&format!("{m}_bucket")))
        .map(|m| (*m, Histogram::sum_by(&window.histograms(m), &BY)))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (key, h) in summed {
        let [verb, group, resource, subresource, scope] = &key[..] else { continue };
        let long_running = LONG_RUNNING_SUBRESOURCES.contains(&subresource.as_str());
        if resource.is_empty() || long_running || matches!(verb.as_str(), "WATCH" | "WATCHLIST" | "CONNECT") {
            continue;
        }
        let count = h.observations();
        let p99 = h.quantile(0.99);
        if count <= 0.0 || !p99.is_finite() {
            continue;
        }
        let sli = sli.get(&key).and_then(|h| {
            Some(SliLatency {
                metric: sli_metric.to_owned(),
                count: h.observations(),
                p99: h.quantile_bucket(0.99)?,
            })
        });
        let mut resource = qualified(resource, group);
        if !subresource.is_empty() {
            resource = format!("{resource}/{subresource}");
        }
        out.push(RequestLatency {
            sli,
            verb: verb.clone(),
            resource,
            scope: scope.clone(),
            count,
            p99_seconds: p99,
            p99_bucket: h.quantile_bucket(0.99).map(|b| (b.lower, b.upper)),
        });
    }
    out
}

/// More objects of one resource than any etcd can hold: its database is limited by its quota
/// (2 GB by default, 8 GB the largest etcd suggests), and an object takes at least tens of
/// bytes, so 10^10 of them is far past it. A count above it is a broken exporter or an edited
/// file (review s42, item 4: `1e40 secrets` was a critical finding, its title capped at 2^127).
const MAX_PLAUSIBLE_OBJECTS: f64 = 1e10;

/// Whether a count or size cannot be used: not a finite number, or more objects than
/// [`MAX_PLAUSIBLE_OBJECTS`] (sizes are only ever refused for the first).
fn unusable(value: f64) -> bool {
    !value.is_finite() || value > MAX_PLAUSIBLE_OBJECTS
}

/// The file a value of the window came from: its first scrape's, or its last's.
fn scrape_source<'w>(window: &'w Window<'_>, first: bool) -> &'w str {
    match (first, window.first) {
        (true, Some(f)) => f.source.as_str(),
        _ => window.last.source.as_str(),
    }
}

/// The note for a value [`unusable`] refused, naming the series in the scrape it came from
/// (the window's first, or its last): `naninf.prom: apiserver_storage_objects{resource="pods"}
/// is inf, not a finite number: skipped`, or `… is 1e40, more objects than any etcd can hold
/// (over 10,000,000,000): skipped`.
fn skipped_value(
    window: &Window<'_>,
    first: bool,
    metric: &str,
    labels: &crate::parse::Labels,
    value: f64,
) -> String {
    let source = scrape_source(window, first);
    let why = if !value.is_finite() {
        format!("{value}, not a finite number")
    } else if value < 0.0 {
        format!("{value}, below 0, which a counter never is")
    } else {
        format!("{value:e}, more objects than any etcd can hold (over 10,000,000,000)")
    };
    format!("{source}: {metric}{} is {why}: skipped", labels.to_selector())
}

/// The note for a count the API server could not make (a negative value), naming the scrape it
/// came from: `b.prom: apiserver_storage_objects{resource="pods"} is -1: the API server could
/// not count them (it writes -1 then); left out`.
fn uncounted(
    window: &Window<'_>,
    first: bool,
    metric: &str,
    labels: &crate::parse::Labels,
    value: f64,
) -> String {
    let source = scrape_source(window, first);
    let what = if first { "left out of the growth" } else { "its count is unknown" };
    format!(
        "{source}: {metric}{} is {value}: the API server could not count them (it writes -1 then); {what}",
        labels.to_selector()
    )
}

fn object_counts(window: &Window<'_>, skipped: &mut Vec<String>) -> (Option<String>, Vec<ObjectCount>) {
    let Some(metric) = OBJECT_COUNT_METRICS.iter().find(|m| window.last.has(m)) else {
        return (None, Vec::new());
    };
    let mut by_resource: BTreeMap<String, ObjectCount> = BTreeMap::new();
    for (labels, (first, last)) in window.gauge(metric) {
        if unusable(last) {
            skipped.push(skipped_value(window, false, metric, &labels, last));
            continue;
        }
        // A negative count is the API server saying it could not count the resource (it writes
        // -1 then): unknown, not 0 (review s47, item 1: pods at -1 then 120,000 read as growth
        // of 480,000 an hour, and the largest resource at -1 read as empty).
        if last < 0.0 {
            skipped.push(uncounted(window, false, metric, &labels, last));
            continue;
        }
        let first = match first {
            Some(f) if unusable(f) => {
                skipped.push(skipped_value(window, true, metric, &labels, f));
                None
            }
            Some(f) if f < 0.0 => {
                skipped.push(uncounted(window, true, metric, &labels, f));
                None
            }
            other => other,
        };
        let resource = qualified(labels.value("resource"), labels.value("group"));
        let entry = by_resource.entry(resource.clone()).or_insert(ObjectCount {
            resource,
            count: 0.0,
            first_count: None,
        });
        // Several label sets of one resource are the same count written again (replicas of
        // one API server that no target label told apart, review s51 item 1: 24,662 jobs were
        // 2 × 12,331), not parts of it: the highest is taken, never their sum.
        entry.count = entry.count.max(last);
        if let Some(f) = first {
            entry.first_count = Some(entry.first_count.map_or(f, |c| c.max(f)));
        }
    }
    (Some((*metric).to_owned()), by_resource.into_values().collect())
}

fn db_size(window: &Window<'_>, skipped: &mut Vec<String>) -> Vec<DbSize> {
    let Some(metric) = DB_SIZE_METRICS.iter().find(|m| window.last.has(m)) else { return Vec::new() };
    window
        .gauge(metric)
        .into_iter()
        .filter_map(|(labels, (first, last))| {
            if !last.is_finite() {
                skipped.push(skipped_value(window, false, metric, &labels, last));
                return None;
            }
            let first = match first {
                Some(f) if !f.is_finite() => {
                    skipped.push(skipped_value(window, true, metric, &labels, f));
                    None
                }
                other => other,
            };
            let endpoint = ["endpoint", "cluster", "storage_cluster_id"]
                .iter()
                .find_map(|l| labels.get(l))
                .unwrap_or("etcd")
                .to_owned();
            let members_may_differ = (*metric == "apiserver_storage_size_bytes" && first.is_some())
                .then(|| RANDOM_MEMBER.to_owned());
            Some(DbSize {
                metric: (*metric).to_owned(),
                endpoint,
                bytes: last,
                first_bytes: first,
                members_may_differ,
            })
        })
        .collect()
}

/// A counter's increase over the window per series ([`Window::counter`]); a series whose
/// sample is not a finite number, or below 0, in either scrape is left out with a note (review
/// s42: a `+Inf` rejection counter was a finding of "inf requests"; NaN and -3 vanished
/// without a word).
fn counter_increases(
    window: &Window<'_>,
    metric: &str,
    skipped: &mut Vec<String>,
) -> Vec<(crate::parse::Labels, f64)> {
    let counter = window.counter(metric);
    for (labels, first, value) in &counter.unusable {
        skipped.push(skipped_value(window, *first, metric, labels, *value));
    }
    counter.increases
}

/// The requests APF rejected per flow schema and level over the window.
fn apf_rejections(window: &Window<'_>, skipped: &mut Vec<String>) -> Vec<ApfRejections> {
    let mut by_flow: BTreeMap<(String, String), ApfRejections> = BTreeMap::new();
    for (labels, rejected) in
        counter_increases(window, "apiserver_flowcontrol_rejected_requests_total", skipped)
    {
        let key = (labels.value("flow_schema").to_owned(), labels.value("priority_level").to_owned());
        let entry = by_flow.entry(key.clone()).or_insert(ApfRejections {
            flow_schema: key.0,
            priority_level: key.1,
            reasons: Vec::new(),
            rejected: 0.0,
        });
        entry.rejected += rejected;
        let reason = labels.value("reason").to_owned();
        if rejected > 0.0 && !entry.reasons.contains(&reason) {
            entry.reasons.push(reason);
            entry.reasons.sort();
        }
    }
    by_flow.into_values().filter(|r| r.rejected > 0.0).collect()
}

fn apf_wait(window: &Window<'_>) -> Vec<ApfWait> {
    let histograms = window.histograms("apiserver_flowcontrol_request_wait_duration_seconds");
    let by_level = Histogram::sum_by(&histograms, &["priority_level"]);
    let by_flow = Histogram::sum_by(&histograms, &["priority_level", "flow_schema"]);
    by_level
        .into_iter()
        .filter_map(|(key, h)| {
            let level = key.first()?.clone();
            let count = h.observations();
            let p99 = h.quantile(0.99);
            if count <= 0.0 || !p99.is_finite() {
                return None;
            }
            let p99_bucket = h.quantile_bucket(0.99);
            // Every request at a queuing level observes the wait, those dispatched at once
            // too: rank the flow schemas by the requests that waited as long as the P99 does.
            let waited_over = p99_bucket.map(|b| b.lower).filter(|l| l.is_finite() && *l > 0.0);
            let waited =
                |f: &Histogram| waited_over.map_or_else(|| f.observations(), |l| f.observations_above(l));
            let (flow_schema, flow_schema_waited) = by_flow
                .iter()
                .filter(|(k, _)| k.first() == Some(&level))
                .map(|(k, f)| (k, waited(f)))
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(k, w)| (k.get(1).cloned().unwrap_or_default(), w))
                .unwrap_or_default();
            Some(ApfWait {
                priority_level: level,
                flow_schema,
                flow_schema_waited,
                waited_over,
                count,
                p99_seconds: p99,
                p99_bucket,
            })
        })
        .collect()
}

fn webhooks(window: &Window<'_>, skipped: &mut Vec<String>) -> Vec<WebhookStats> {
    let histograms = window.histograms("apiserver_admission_webhook_admission_duration_seconds");
    let mut out: BTreeMap<(String, String), WebhookStats> = BTreeMap::new();
    for (key, h) in Histogram::sum_by(&histograms, &["name", "type"]) {
        let [name, webhook_type] = &key[..] else { continue };
        out.insert(
            (name.clone(), webhook_type.clone()),
            WebhookStats {
                name: name.clone(),
                webhook_type: webhook_type.clone(),
                calls: h.observations(),
                p99: h.quantile_bucket(0.99),
                call_failures: 0.0,
                denials: 0.0,
                fail_open: 0.0,
            },
        );
    }
    fn entry<'a>(
        out: &'a mut BTreeMap<(String, String), WebhookStats>,
        name: &str,
        ty: &str,
    ) -> &'a mut WebhookStats {
        out.entry((name.to_owned(), ty.to_owned())).or_insert_with(|| WebhookStats {
            name: name.to_owned(),
            webhook_type: ty.to_owned(),
            calls: 0.0,
            p99: None,
            call_failures: 0.0,
            denials: 0.0,
            fail_open: 0.0,
        })
    }
    for name in
        ["apiserver_admission_webhook_rejection_count", "apiserver_admission_webhook_rejection_count_total"]
    {
        for (labels, n) in counter_increases(window, name, skipped) {
            let e = entry(&mut out, labels.value("name"), labels.value("type"));
            match labels.value("error_type") {
                "no_error" => e.denials += n,
                _ => e.call_failures += n,
            }
        }
    }
    for name in
        ["apiserver_admission_webhook_fail_open_count", "apiserver_admission_webhook_fail_open_count_total"]
    {
        for (labels, n) in counter_increases(window, name, skipped) {
            entry(&mut out, labels.value("name"), labels.value("type")).fail_open += n;
        }
    }
    out.into_values()
        .filter(|w| w.calls > 0.0 || w.call_failures > 0.0 || w.denials > 0.0 || w.fail_open > 0.0)
        .collect()
}

fn saturation(window: &Window<'_>) -> Vec<Saturation> {
    let last = window.last;
    let mut out: BTreeMap<String, Saturation> = BTreeMap::new();
    // The limit: in seats from 1.26 (`current_limit_seats`, `nominal_limit_seats`); before,
    // `request_concurrency_limit` (1.20–1.30), in seats where seats exist (1.22+), in requests
    // before.
    let limit_metric = [
        "apiserver_flowcontrol_current_limit_seats",
        "apiserver_flowcontrol_nominal_limit_seats",
        "apiserver_flowcontrol_request_concurrency_limit",
    ]
    .into_iter()
    .find(|m| last.has(m));
    // Seats in use: `current_executing_seats` (1.28+) or `request_concurrency_in_use`
    // (1.22–1.30). Requests executing are a lower bound of seats (each takes at least one).
    let seats_metric =
        ["apiserver_flowcontrol_current_executing_seats", "apiserver_flowcontrol_request_concurrency_in_use"]
            .into_iter()
            .find(|m| last.has(m));
    if let Some(limit_metric) = limit_metric {
        let unit =
            if seats_metric.is_some() || limit_metric.ends_with("_seats") { "seats" } else { "requests" };
        for s in last.series(limit_metric) {
            if !s.value.is_finite() {
                continue;
            }
            let level = s.labels.value("priority_level").to_owned();
            out.insert(
                level.clone(),
                Saturation {
                    name: level,
                    in_use: 0.0,
                    limit: Some(s.value),
                    unit: unit.to_owned(),
                    executing_requests: 0.0,
                    queued: 0.0,
                },
            );
        }
        let mut seats: BTreeMap<String, f64> = BTreeMap::new();
        if let Some(seats_metric) = seats_metric {
            for s in last.series(seats_metric).filter(|s| s.value.is_finite()) {
                *seats.entry(s.labels.value("priority_level").to_owned()).or_default() += s.value;
            }
        }
        for s in
            last.series("apiserver_flowcontrol_current_executing_requests").filter(|s| s.value.is_finite())
        {
            if let Some(e) = out.get_mut(s.labels.value("priority_level")) {
                e.executing_requests += s.value;
            }
        }
        for s in last.series("apiserver_flowcontrol_current_inqueue_requests").filter(|s| s.value.is_finite())
        {
            if let Some(e) = out.get_mut(s.labels.value("priority_level")) {
                e.queued += s.value;
            }
        }
        for e in out.values_mut() {
            e.in_use = seats.get(&e.name).copied().unwrap_or(0.0).max(e.executing_requests);
        }
        // The exempt level has no real limit (its seats are never queued or rejected).
        out.remove("exempt");
    } else {
        for s in last.series("apiserver_current_inflight_requests") {
            let kind = s.labels.value("request_kind").to_owned();
            out.insert(
                kind.clone(),
                Saturation {
                    name: kind,
                    in_use: s.value,
                    limit: None,
                    unit: "requests".to_owned(),
                    executing_requests: s.value,
                    queued: 0.0,
                },
            );
        }
    }
    out.into_values().collect()
}

fn etcd_requests(window: &Window<'_>) -> Vec<EtcdRequestLatency> {
    let histograms = window.histograms("etcd_request_duration_seconds");
    // 1.28+ label the resource (1.34+ with its `group`); older versions the Go type.
    let by: &[&str] = if histograms.iter().any(|h| h.labels.get("resource").is_some()) {
        &["operation", "resource", "group"]
    } else {
        &["operation", "type"]
    };
    // `group=""` only where the series carry a group (1.34+): before, there is no such label.
    let grouped = histograms.iter().any(|h| h.labels.get("group").is_some());
    Histogram::sum_by(&histograms, by)
        .into_iter()
        .filter_map(|(key, h)| {
            let count = h.observations();
            let p99 = h.quantile(0.99);
            let object = match &key[..] {
                [_, resource, group] => qualified(resource, group),
                [_, ty] => ty.clone(),
                _ => String::new(),
            };
            let matchers = by
                .iter()
                .zip(&key)
                .filter(|(label, _)| **label != "group" || grouped)
                .map(|(label, value)| ((*label).to_owned(), value.clone()))
                .collect();
            (count > 0.0 && p99.is_finite()).then(|| EtcdRequestLatency {
                operation: key.first().cloned().unwrap_or_default(),
                object,
                count,
                p99_seconds: p99,
                p99_bucket: h.quantile_bucket(0.99),
                matchers,
            })
        })
        .collect()
}
