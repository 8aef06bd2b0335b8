//! A realistic large cluster with real-shaped problems: audit logs in every format, metrics,
//! webhooks and APF objects.
//!
//! [`simulate`] writes, for a [`Config`], the layout documented in `docs/simulate.md`:
//! `audit/` (the audit log files), `metrics/` (two kube-apiserver and two etcd `/metrics`
//! snapshots), `manifests/` (webhook configurations, APF objects) and `scenario.json` (the
//! ground truth). The output depends only on the configuration, never on the thread count.

pub mod cluster;
pub mod emit;
pub mod manifests;
pub mod metrics;
pub mod out_dir;
pub mod output;
pub mod rng;
pub mod scenario;
pub mod stats;
pub mod traffic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use audit::write::Compression;
use serde_json::{Value, json};

pub use cluster::KubeVersion;
pub use output::OutputFormat;
pub use scenario::Scenario;

use crate::emit::Micros;
use crate::scenario::track;
use crate::stats::{Stats, nearest_rank};
use crate::traffic::Ctx;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Nodes in the cluster (at least 1).
    pub nodes: usize,
    /// Length of the window, in seconds (at least 1).
    pub duration_seconds: i64,
    /// Start of the window, microseconds since the Unix epoch.
    pub start: Micros,
    /// Seed: the same seed and arguments give the same bytes.
    pub seed: u64,
    /// Scenarios to inject (`healthy` alone for none).
    pub scenarios: Vec<Scenario>,
    /// Audit log format.
    pub format: OutputFormat,
    /// Kubernetes version whose metric names and user agents are used.
    pub version: KubeVersion,
    /// Compression of the audit files.
    pub compression: Compression,
    /// Worker threads (does not change the output).
    pub threads: usize,
    /// Start a new audit file after this many (uncompressed) bytes.
    pub max_file_bytes: u64,
}

impl Config {
    /// The defaults of the command line: a 5,000-node cluster hour, healthy.
    pub fn new(start: Micros) -> Config {
        Config {
            nodes: 5000,
            duration_seconds: 3600,
            start,
            seed: 1,
            scenarios: vec![Scenario::Healthy],
            format: OutputFormat::K8s,
            version: KubeVersion::parse("1.29").unwrap_or(cluster::KUBE_VERSIONS[0]),
            compression: Compression::None,
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            max_file_bytes: 1 << 30,
        }
    }
}

/// Errors of a simulation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimulateError {
    /// The configuration cannot be simulated.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The output directory holds files a run does not write: nothing was changed.
    #[error(
        "{dir} holds files `apiserver-doctor simulate` does not write: {files}{more}; nothing was changed. Choose a \
         new or empty --out, or move them (a previous run's audit/, metrics/, manifests/ and scenario.json are \
         replaced)"
    )]
    NotOurs {
        /// The output directory.
        dir: PathBuf,
        /// The first of them, relative to `dir`, comma-separated.
        files: String,
        /// ` and N more`, or empty.
        more: String,
    },
    /// Writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimulateError + '_ {
    move |source| SimulateError::Io { path: path.to_path_buf(), source }
}

/// What a run wrote.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Audit events written.
    pub events: u64,
    /// Requests (ResponseComplete events).
    pub requests: u64,
    /// Audit bytes written (uncompressed).
    pub audit_bytes: u64,
    /// Files written, relative to the output directory.
    pub files: Vec<String>,
}

/// Progress of a run, reported after each slice is written.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Slices written.
    pub done: usize,
    /// Slices in the run.
    pub total: usize,
    /// Events written so far.
    pub events: u64,
    /// Audit bytes written so far (uncompressed).
    pub bytes: u64,
}

/// Whether `cfg` can be simulated: the errors [`simulate`] would give before writing anything.
pub fn check(cfg: &Config) -> Result<(), SimulateError> {
    if cfg.nodes == 0 {
        return Err(SimulateError::Config("--nodes must be at least 1".to_owned()));
    }
    if cfg.duration_seconds <= 0 {
        return Err(SimulateError::Config("--duration must be at least 1s".to_owned()));
    }
    if cfg.nodes > 100_000 {
        return Err(SimulateError::Config(
            "--nodes above 100000 is beyond what Kubernetes supports".to_owned(),
        ));
    }
    if cfg.scenarios.contains(&Scenario::Healthy) && cfg.scenarios.iter().any(|s| *s != Scenario::Healthy) {
        return Err(SimulateError::Config("`healthy` cannot be combined with other scenarios".to_owned()));
    }
    check_times_held(cfg.start, cfg.duration_seconds)
}

/// The events must lie within what a timestamp of the store holds (nanoseconds since 1970 in
/// 64 bits: 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z), or they are ingested without time
/// (review s44: `--start 2262-04-11T23:00:00Z` wrote events to 23:59:59). Requests are received
/// up to an hour before the window (long watches) and end up to a minute after it.
fn check_times_held(start: Micros, duration_seconds: i64) -> Result<(), SimulateError> {
    const MARGIN_BEFORE: i64 = 3_600 * 1_000_000;
    const MARGIN_AFTER: i64 = 60 * 1_000_000;
    let (first, last) =
        (audit::timestamp::HELD_SECONDS.0 * 1_000_000, audit::timestamp::HELD_SECONDS.1 * 1_000_000);
    let (first_shown, last_shown) = audit::timestamp::held_times();
    let shown = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .map_or_else(|| format!("{micros} µs since 1970"), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
    };
    let end = duration_seconds.checked_mul(1_000_000).and_then(|d| start.checked_add(d));
    match end.and_then(|e| e.checked_add(MARGIN_AFTER)) {
        Some(e) if e <= last => {}
        _ => {
            return Err(SimulateError::Config(format!(
                "--start {} with --duration {duration_seconds}s runs past {}, the last time a timestamp holds \
                 (nanoseconds since 1970 in 64 bits): start earlier or shorten the run",
                shown(start),
                last_shown
            )));
        }
    }
    if start.checked_sub(MARGIN_BEFORE).is_none_or(|s| s < first) {
        return Err(SimulateError::Config(format!(
            "--start {} is too close to {}, the first time a timestamp holds (requests are received up to an \
             hour before the window): start later",
            shown(start),
            first_shown
        )));
    }
    Ok(())
}

/// Runs the simulation into `out` (created if missing), without progress reports: the entry
/// point for other commands (`demo`) and tests.
pub fn run(cfg: &Config, out: &Path) -> Result<Summary, SimulateError> {
    simulate(cfg, out, &mut |_| {})
}

/// Runs the simulation into `out` (created if missing); `progress` is called from the writing
/// thread after every slice.
pub fn simulate(
    cfg: &Config,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, SimulateError> {
    check(cfg)?;
    let mut names = cfg.scenarios.clone();
    names.sort_unstable();
    names.dedup();
    let cluster = cluster::Cluster::new(cfg.seed, cfg.nodes, cfg.version);
    let scenarios = scenario::Scenarios::new(cfg.seed, &names, cfg.nodes);
    let end = cfg.start + cfg.duration_seconds * 1_000_000;
    let ctx = Ctx::new(cfg.seed, cluster, cfg.start, end, scenarios);

    let audit_dir = out.join("audit");
    let mut files = output::AuditFiles::new(&audit_dir, cfg.format, cfg.compression, cfg.max_file_bytes)
        .map_err(io_err(&audit_dir))?;
    let stats = generate(&ctx, cfg, &mut files, progress).map_err(io_err(&audit_dir))?;
    let (audit_files, audit_bytes) = files.finish().map_err(io_err(&audit_dir))?;

    let metrics_dir = out.join("metrics");
    std::fs::create_dir_all(&metrics_dir).map_err(io_err(&metrics_dir))?;
    let mut written = audit_files.clone();
    for w in 0..2 {
        let name = format!("metrics/apiserver-{}.prom", w + 1);
        write(out, &name, metrics::apiserver_metrics(&ctx, &stats, w).as_bytes())?;
        stamp(out, &name, ctx.snaps[w])?;
        written.push(name);
        let name = format!("metrics/etcd-{}.prom", w + 1);
        write(out, &name, metrics::etcd_metrics(&ctx, &stats, w).as_bytes())?;
        stamp(out, &name, ctx.snaps[w])?;
        written.push(name);
    }
    let manifests_dir = out.join("manifests");
    std::fs::create_dir_all(&manifests_dir).map_err(io_err(&manifests_dir))?;
    write(out, "manifests/webhooks.yaml", manifests::webhooks_yaml(&ctx.scenarios).as_bytes())?;
    write(out, "manifests/apf.yaml", manifests::apf_yaml(cfg.version, &ctx.scenarios).as_bytes())?;
    written.push("manifests/webhooks.yaml".to_owned());
    written.push("manifests/apf.yaml".to_owned());
    let truth = ground_truth(cfg, &names, &ctx, &stats, &audit_files, audit_bytes);
    let mut text = serde_json::to_string_pretty(&truth).unwrap_or_default();
    text.push('\n');
    write(out, "scenario.json", text.as_bytes())?;
    written.push("scenario.json".to_owned());
    Ok(Summary { events: events_written(cfg, &stats), requests: stats.requests, audit_bytes, files: written })
}

/// The audit records the files hold: every event, or with `--format gke` one per request
/// (GKE logs a request once, not each of its stages).
fn events_written(cfg: &Config, stats: &Stats) -> u64 {
    if cfg.format == OutputFormat::Gke { stats.requests } else { stats.events }
}

/// Sets a scrape file's modification time to its simulated scrape time. Scrapes without
/// sample timestamps (like `kubectl get --raw /metrics`) are timed by their files' mtimes, so
/// two files written milliseconds apart would read as a window of milliseconds and turn every
/// growth into an absurd rate per hour (bug: healthy_simulated_metrics_show_absurd_growth).
fn stamp(out: &Path, name: &str, at: Micros) -> Result<(), SimulateError> {
    let path = out.join(name);
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(at).unwrap_or(0));
    std::fs::File::options().write(true).open(&path).and_then(|f| f.set_modified(when)).map_err(io_err(&path))
}

fn write(out: &Path, name: &str, bytes: &[u8]) -> Result<(), SimulateError> {
    let path = out.join(name);
    std::fs::write(&path, bytes).map_err(io_err(&path))
}

/// Generates every slice on `cfg.threads` workers and writes them in order.
fn generate(
    ctx: &Ctx,
    cfg: &Config,
    files: &mut output::AuditFiles,
    progress: &mut dyn FnMut(Progress),
) -> std::io::Result<Stats> {
    let total = ctx.slices();
    let threads = cfg.threads.clamp(1, 64);
    // Workers may run this far ahead of the writer: bounds memory to a few slices each.
    let window = threads * 2;
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let written = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::sync_channel::<(usize, Vec<u8>, Stats)>(window);
    let mut stats = Stats::default();
    let mut result = Ok(());
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, abort, written) = (&next, &abort, &written);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    {
                        let (lock, cvar) = written;
                        let mut done = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while i >= *done + window && !abort.load(Ordering::Relaxed) {
                            done = cvar.wait(done).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                    if abort.load(Ordering::Relaxed) {
                        break;
                    }
                    let slice = traffic::generate_slice(ctx, i);
                    let mut chunk = Vec::with_capacity(slice.buf.len() + slice.entries.len() * 2 + 1024);
                    output::render(ctx, &slice, cfg.format, &mut chunk);
                    if tx.send((i, chunk, slice.stats)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, (Vec<u8>, Stats)> = BTreeMap::new();
        let mut want = 0usize;
        'recv: for (i, chunk, slice_stats) in rx.iter() {
            pending.insert(i, (chunk, slice_stats));
            while let Some((chunk, slice_stats)) = pending.remove(&want) {
                if let Err(e) = files.write_chunk(&chunk) {
                    result = Err(e);
                    break 'recv;
                }
                stats.merge(slice_stats);
                want += 1;
                let (lock, cvar) = &written;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = want;
                cvar.notify_all();
                progress(Progress { done: want, total, events: stats.events, bytes: files.bytes });
            }
        }
        abort.store(true, Ordering::Relaxed);
        written.1.notify_all();
        // Dropping the receiver here makes any worker still sending stop.
    });
    result?;
    for t in stats.trackers.values_mut() {
        t.latencies.sort_unstable();
    }
    Ok(stats)
}

fn rfc3339(t: Micros) -> String {
    let mut out = Vec::new();
    emit::push_time(&mut out, t, 6);
    String::from_utf8_lossy(&out).into_owned()
}

fn seconds(us: Option<i64>) -> Value {
    us.map_or(Value::Null, |v| json!(v as f64 / 1e6))
}

/// The request statistics of a tracker, as `scenario.json` gives them.
fn observed(stats: &Stats, key: u8) -> Value {
    let Some(t) = stats.trackers.get(&key) else {
        return json!({"requests": 0});
    };
    // Per verb: put-storm's offender re-reads (200) what its updates conflict on (409), and
    // AUD006 counts the conflicts among the updates only.
    let mut codes: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for ((verb, code), n) in &t.codes {
        codes.entry(verb).or_default().insert(code.to_string(), *n);
    }
    json!({
        "requests": t.requests,
        "share": if stats.requests > 0 { t.requests as f64 / stats.requests as f64 } else { 0.0 },
        "codes": codes,
        "p50_seconds": seconds(nearest_rank(&t.latencies, 0.5)),
        "p99_seconds": seconds(nearest_rank(&t.latencies, 0.99)),
        "p99_micros": nearest_rank(&t.latencies, 0.99),
        "max_seconds": seconds(t.latencies.last().copied()),
        "requests_between_snapshots": t.between_snapshots,
    })
}

fn offender(id: &cluster::Identity) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("user".to_owned(), json!(id.username));
    m.insert("user_agent".to_owned(), json!(id.user_agent));
    m.insert("source_ip".to_owned(), json!(id.source_ip));
    m
}

fn ground_truth(
    cfg: &Config,
    names: &[Scenario],
    ctx: &Ctx,
    stats: &Stats,
    audit_files: &[String],
    audit_bytes: u64,
) -> Value {
    let version = cfg.version;
    let metric_names = metrics::MetricNames::of(version.minor);
    let sc = &ctx.scenarios;
    let objects = [metrics::objects_at(ctx, stats, 0), metrics::objects_at(ctx, stats, 1)];
    let db = [metrics::db_size_at(ctx, stats, 0), metrics::db_size_at(ctx, stats, 1)];
    let mut scenarios = Vec::new();
    for name in names {
        let mut entry = serde_json::Map::new();
        entry.insert("name".to_owned(), json!(name.name()));
        entry.insert("expected_finding".to_owned(), json!(name.expected_finding()));
        match name {
            Scenario::ListStorm => {
                if let Some(ls) = &sc.list_storm {
                    let mut o = offender(&ls.who);
                    o.insert("verb".to_owned(), json!("list"));
                    o.insert("resource".to_owned(), json!("pods"));
                    o.insert("scope".to_owned(), json!("cluster"));
                    o.insert("request_uri".to_owned(), json!("/api/v1/pods"));
                    entry.insert("offender".to_owned(), Value::Object(o));
                    entry.insert(
                        "parameters".to_owned(),
                        json!({"rate_per_second": ls.rate, "latency_median_seconds": ls.median_seconds, "latency_sigma": ls.sigma}),
                    );
                    entry.insert("observed".to_owned(), observed(stats, track::LIST_STORM));
                }
            }
            Scenario::PutStorm => {
                if let Some(ps) = &sc.put_storm {
                    let mut o = offender(&ps.who);
                    o.insert("verb".to_owned(), json!("update"));
                    o.insert("resource".to_owned(), json!("configmaps"));
                    o.insert("namespace".to_owned(), json!(ps.namespace));
                    o.insert("name".to_owned(), json!(ps.name));
                    entry.insert("offender".to_owned(), Value::Object(o));
                    entry.insert(
                        "parameters".to_owned(),
                        json!({"updates_per_second": ps.rate, "conflict_ratio": ps.conflict_ratio}),
                    );
                    entry.insert("observed".to_owned(), observed(stats, track::PUT_STORM));
                }
            }
            Scenario::ObjectLeak => {
                if let Some(leak) = &sc.object_leak {
                    let mut o = offender(&leak.who);
                    o.insert("verb".to_owned(), json!("create"));
                    o.insert("resource".to_owned(), json!("jobs"));
                    o.insert("api_group".to_owned(), json!("batch"));
                    o.insert("namespace".to_owned(), json!(leak.namespace));
                    entry.insert("offender".to_owned(), Value::Object(o));
                    entry.insert(
                        "parameters".to_owned(),
                        json!({"creates_per_second": leak.rate, "preexisting_jobs": leak.preexisting, "etcd_bytes_per_job": leak.bytes_per_job}),
                    );
                    let mut obs = observed(stats, track::OBJECT_LEAK);
                    let created = stats.trackers.get(&track::OBJECT_LEAK).map_or([0, 0], |t| t.created);
                    let jobs = |w: usize| objects[w].get("jobs.batch").copied().unwrap_or(0);
                    if let Value::Object(m) = &mut obs {
                        m.insert("jobs_created".to_owned(), json!(created[0] + created[1]));
                        m.insert("jobs_created_between_snapshots".to_owned(), json!(created[1]));
                        m.insert("jobs_at_snapshots".to_owned(), json!([jobs(0), jobs(1)]));
                        m.insert("jobs_growth_between_snapshots".to_owned(), json!(jobs(1) - jobs(0)));
                        m.insert("etcd_db_total_bytes_at_snapshots".to_owned(), json!([db[0].0, db[1].0]));
                        m.insert("etcd_quota_bytes".to_owned(), json!(metrics::QUOTA_BYTES));
                    }
                    entry.insert("observed".to_owned(), obs);
                }
            }
            Scenario::WebhookOutage => {
                if let Some(w) = &sc.webhook_outage {
                    entry.insert(
                        "offender".to_owned(),
                        json!({
                            "webhook": w.webhook,
                            "configuration": w.configuration,
                            "kind": "MutatingWebhookConfiguration",
                            "failure_policy": "Fail",
                            "resource": "pods",
                            "operations": ["CREATE", "UPDATE"],
                            "timeout_seconds": w.timeout_seconds,
                        }),
                    );
                    let start = ctx.start + ((ctx.end - ctx.start) as f64 * w.starts_at) as Micros;
                    entry.insert(
                        "parameters".to_owned(),
                        json!({"outage_starts": rfc3339(start), "controller_retry_factor": w.retry_factor}),
                    );
                    let mut obs = observed(stats, track::WEBHOOK);
                    if let Value::Object(m) = &mut obs {
                        let failures = stats.trackers.get(&track::WEBHOOK).map_or(0, |t| t.requests);
                        m.insert("failures".to_owned(), json!(failures));
                        m.insert(
                            "message".to_owned(),
                            json!(format!(
                                "Internal error occurred: failed calling webhook \"{}\": failed to call webhook: Post \"{}\": context deadline exceeded",
                                w.webhook, w.url
                            )),
                        );
                    }
                    entry.insert("observed".to_owned(), obs);
                }
            }
            Scenario::ApfThrottled => {
                if let Some(a) = &sc.apf_throttled {
                    let mut o = offender(&a.who);
                    o.insert("flow_schema".to_owned(), json!(a.flow_schema));
                    o.insert("priority_level".to_owned(), json!(a.priority_level));
                    o.insert("verb".to_owned(), json!("list"));
                    o.insert("resource".to_owned(), json!("pods"));
                    entry.insert("offender".to_owned(), Value::Object(o));
                    entry.insert(
                        "parameters".to_owned(),
                        json!({"requests_per_second": a.rate, "rejected_ratio": a.rejected_ratio, "queue_wait_median_seconds": a.wait_median_seconds}),
                    );
                    let mut obs = observed(stats, track::APF);
                    let rejected = |w: usize| -> u64 {
                        (0..=w)
                            .filter_map(|i| stats.flows[i].get(&(a.flow_schema, a.priority_level)))
                            .map(|f| f.rejected)
                            .sum()
                    };
                    if let Value::Object(m) = &mut obs {
                        m.insert(
                            "rejected_metric_at_snapshots".to_owned(),
                            json!([rejected(0), rejected(1)]),
                        );
                    }
                    entry.insert("observed".to_owned(), obs);
                }
            }
            Scenario::EtcdSlowDisk => {
                if let Some(e) = &sc.etcd_slow_disk {
                    entry.insert(
                        "parameters".to_owned(),
                        json!({
                            "write_latency_factor": e.write_factor,
                            "write_timeout_ratio": e.timeout_ratio,
                            "wal_fsync_p99_seconds": e.wal_fsync_p99,
                            "backend_commit_p99_seconds": e.backend_commit_p99,
                            "leader_changes_between_snapshots": e.leader_changes,
                        }),
                    );
                    entry.insert("offender".to_owned(), json!({"component": "etcd", "member": "etcd-0"}));
                    let mut obs = observed(stats, track::ETCD_WRITES);
                    if let Value::Object(m) = &mut obs {
                        m.insert("tracked".to_owned(), json!("kubelet lease updates"));
                    }
                    entry.insert("observed".to_owned(), obs);
                }
            }
            Scenario::Healthy => {
                let expected = expected_object_counts(&objects[1]);
                entry.insert("expected_finding".to_owned(), json!(healthy_expectation(cfg.nodes, &expected)));
                entry.insert("expected_object_count_findings".to_owned(), json!(expected));
            }
        }
        scenarios.push(Value::Object(entry));
    }
    let object_metric = if metric_names.resource_objects {
        "apiserver_resource_objects"
    } else if metric_names.storage_objects {
        "apiserver_storage_objects"
    } else {
        "etcd_object_counts"
    };
    json!({
        "generator": "apiserver-doctor simulate",
        "seed": cfg.seed,
        "arguments": {
            "nodes": cfg.nodes,
            "duration_seconds": cfg.duration_seconds,
            "start": rfc3339(cfg.start),
            "scenarios": names.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "format": cfg.format.name(),
            "kubernetes_version": version.short(),
            "compression": match cfg.compression { Compression::None => "none", Compression::Gzip => "gzip", Compression::Zstd => "zstd" },
            "max_file_bytes": cfg.max_file_bytes,
        },
        "window": {"start": rfc3339(ctx.start), "end": rfc3339(ctx.end)},
        "snapshots": {"first": rfc3339(ctx.snaps[0]), "second": rfc3339(ctx.snaps[1])},
        "cluster": {
            "nodes": cfg.nodes,
            "kubernetes_version": version.git_version,
            "etcd_version": metrics::etcd_version(version.minor),
            "resource_id": ctx.cluster.resource_id,
            "apiserver_pods": ctx.cluster.apiserver_pods,
            "etcd_quota_bytes": metrics::QUOTA_BYTES,
            "object_count_metric": object_metric,
            "db_size_metrics": metric_names.db_size,
        },
        "audit": {
            "files": audit_files,
            "events": events_written(cfg, stats),
            "requests": stats.requests,
            "bytes": audit_bytes,
            "verbs": stats.verbs,
        },
        "metrics": {
            "apiserver": ["metrics/apiserver-1.prom", "metrics/apiserver-2.prom"],
            "etcd": ["metrics/etcd-1.prom", "metrics/etcd-2.prom"],
        },
        "manifests": ["manifests/webhooks.yaml", "manifests/apf.yaml"],
        "scenarios": scenarios,
    })
}

/// The object-count findings (MET002) that the cluster's size alone brings: each resource type
/// whose count in the last metric snapshot is over the default thresholds (10,000 objects of
/// one type from the AKS guide, a warning; 150,000, or 1,000,000 events, from SIG-scalability,
/// critical), as MET002 rates them. Sorted by resource.
fn expected_object_counts(objects: &BTreeMap<String, i64>) -> Vec<Value> {
    use findings::threshold_names as n;
    let t = findings::Thresholds::default();
    let warn = t.value(n::OBJECTS_PER_TYPE_WARNING);
    objects
        .iter()
        .filter(|(_, count)| **count as f64 > warn)
        .map(|(resource, count)| {
            let events = resource == "events" || resource == "events.events.k8s.io";
            let crit = t.value(if events { n::EVENTS_CRITICAL } else { n::OBJECTS_PER_TYPE_CRITICAL });
            let (severity, threshold) = if *count as f64 > crit { ("critical", crit) } else { ("warning", warn) };
            json!({"code": "MET002", "resource": resource, "objects": count, "severity": severity, "threshold": threshold as i64})
        })
        .collect()
}

/// What `healthy` must give, at this size: nothing from the audit log at warning or above, and
/// from the metrics only the object-count findings the size brings (`expected`).
fn healthy_expectation(nodes: usize, expected: &[Value]) -> String {
    if expected.is_empty() {
        let warn = findings::Thresholds::default().value(findings::threshold_names::OBJECTS_PER_TYPE_WARNING);
        return format!(
            "nothing at warning or above: no audit-log finding, and no resource type over the object-count \
             thresholds (MET002, {} objects of one type)",
            thousands(warn as i64)
        );
    }
    let types: Vec<String> = expected
        .iter()
        .map(|e| {
            format!(
                "{} {} ({}, over {})",
                e["resource"].as_str().unwrap_or_default(),
                thousands(e["objects"].as_i64().unwrap_or_default()),
                e["severity"].as_str().unwrap_or_default(),
                thousands(e["threshold"].as_i64().unwrap_or_default()),
            )
        })
        .collect();
    format!(
        "no audit-log finding at warning or above; from the metrics, only the object-count findings \
         (MET002) that {nodes} nodes bring, one per type over its thresholds: {}",
        types.join(", ")
    )
}

/// `n` with thousands separators.
fn thousands(n: i64) -> String {
    findings::thousands(i128::from(n))
}

/// Parses an RFC 3339 time (`2025-03-11T09:00:00Z`) into microseconds since the epoch.
pub fn parse_time(s: &str) -> Result<Micros, String> {
    let t = chrono::DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("`{s}` is not an RFC 3339 time such as 2025-03-11T09:00:00Z: {e}"))?;
    Ok(t.timestamp_micros())
}

/// Parses a duration such as `1h`, `90m`, `1h30m`, `45s` or `2d` into seconds. A number
/// without a unit is refused, as `diagnose --since` refuses it: `1` was read as one second
/// where `1h` was meant. Zero and negative durations are refused with their own message.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration such as 1h, 30m, 1h30m or 90s");
    let zero = || format!("`{s}`: the window must be longer than zero (e.g. 1h, 30m or 90s)");
    let (negative, body) = match s.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, s),
    };
    if !body.is_empty() && body.chars().all(|c| c.is_ascii_digit()) {
        return if negative || body.chars().all(|c| c == '0') {
            Err(zero())
        } else {
            Err(format!(
                "`{s}` has no unit: write {s}h for hours, {s}m for minutes or {s}s for seconds \
                 (a duration such as 1h, 30m or 1h30m)"
            ))
        };
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        number.clear();
    }
    if body.is_empty() || !number.is_empty() {
        return Err(bad());
    }
    // `0s`, `-1h`: durations, but a window must hold some time.
    if negative || total == 0 {
        return Err(zero());
    }
    Ok(total)
}

/// The default start of the window: fixed, so that the same arguments give the same bytes.
pub const DEFAULT_START: &str = "2025-03-11T09:00:00Z";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(12_103), "12,103");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(-1_234), "-1,234");
    }

    #[test]
    fn object_counts_over_the_thresholds_are_expected_with_their_severity() {
        let objects: BTreeMap<String, i64> = [
            ("pods", 151_224),
            ("ciliumendpoints.cilium.io", 12_000),
            ("events", 200_000),
            ("secrets", 10_000),
            ("nodes", 400),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let e = expected_object_counts(&objects);
        let got: Vec<(&str, i64, &str)> = e
            .iter()
            .map(|v| {
                (
                    v["resource"].as_str().unwrap_or_default(),
                    v["objects"].as_i64().unwrap_or_default(),
                    v["severity"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        // 10,000 exactly is not over; events are critical only over 1,000,000.
        assert_eq!(
            got,
            vec![
                ("ciliumendpoints.cilium.io", 12_000, "warning"),
                ("events", 200_000, "warning"),
                ("pods", 151_224, "critical")
            ]
        );
        let text = healthy_expectation(5000, &e);
        assert!(text.contains("pods 151,224 (critical, over 150,000)"), "{text}");
        assert!(healthy_expectation(100, &[]).starts_with("nothing at warning or above"));
    }

    /// Review: `simulate --duration 1` simulated one second ("for 1"), where `diagnose --since 1`
    /// is refused; and `--duration 0s` was "not a duration such as 1h", though it is one.
    #[test]
    fn a_bare_number_duration_was_read_as_seconds() {
        for bare in ["1", "120", "5"] {
            let err = parse_duration(bare).expect_err("no unit");
            assert!(err.contains("has no unit") && err.contains(&format!("{bare}h")), "{err}");
            assert!(err.contains(&format!("{bare}s")), "{err}");
        }
        for zero in ["0", "0s", "0h0m", "-1h", "-5"] {
            let err = parse_duration(zero).expect_err("not longer than zero");
            assert!(err.contains("must be longer than zero"), "{zero}: {err}");
            assert!(!err.contains("is not a duration"), "{zero}: {err}");
        }
        for garbage in ["", "h", "1x", "-", "--1h", "1h-"] {
            let err = parse_duration(garbage).expect_err("not a duration");
            assert!(err.contains("is not a duration such as 1h"), "{garbage:?}: {err}");
        }
    }

    #[test]
    fn durations_and_times_parse() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1_000_000));
        assert!(parse_time("yesterday").expect_err("not a time").contains("RFC 3339"));
    }
}
