//! One scrape of one target, with lookups by series name, histograms, and the increase of
//! counters and histograms between two scrapes.

use std::collections::{BTreeMap, HashMap};

use crate::parse::{Exposition, Labels, LineError, Sample};
use crate::quantile::{Bucket, QuantileBucket, histogram_quantile, quantile_bucket};
use crate::target::{Target, identify};

/// One parsed `/metrics` scrape.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Where it came from, as the user named it (a file name, a URL, `-`).
    pub source: String,
    /// What was parsed.
    pub exposition: Exposition,
    /// When it was taken, in milliseconds since the epoch: the newest sample timestamp in the
    /// text, else the time the caller gives (a file's modification time, the fetch time).
    pub time_ms: Option<i64>,
    /// The newest sample timestamp in the text, when its samples carry timestamps.
    pub sample_time_ms: Option<i64>,
    /// The time the caller gave: a file's modification time, or when it was read.
    pub fallback_time_ms: Option<i64>,
    /// Which component and version exposed it.
    pub target: Target,
    /// The scrape target the samples came from when the text names it, as a label selector
    /// (`{instance="10.0.0.1:6443",job="apiserver"}`): the [`TARGET_LABELS`] Prometheus adds
    /// to every series it scrapes, which `/federate` keeps. [`Snapshot::split_targets`] takes
    /// them off the samples and keeps them here; scrapes of different targets are never taken
    /// for scrapes of one process.
    pub scrape_target: Option<String>,
    /// For one of several scrapes read from one file (`cat a.prom b.prom`, `>>`): which, of
    /// how many, `(1, 2)` for the first of two. Their order in the file is the order they
    /// were taken in; the file's modification time is the time of the last one only.
    pub file_scrape: Option<(usize, usize)>,
    index: HashMap<String, Vec<usize>>,
}

impl Snapshot {
    /// Indexes a parsed exposition and identifies its target.
    pub fn new(source: impl Into<String>, exposition: Exposition, fallback_time_ms: Option<i64>) -> Snapshot {
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in exposition.samples.iter().enumerate() {
            index.entry(s.name.clone()).or_default().push(i);
        }
        let stamped = exposition.samples.iter().filter_map(|s| s.timestamp_ms).max();
        let mut snapshot = Snapshot {
            source: source.into(),
            exposition,
            time_ms: stamped.or(fallback_time_ms),
            sample_time_ms: stamped,
            fallback_time_ms,
            target: Target::default(),
            scrape_target: None,
            file_scrape: None,
            index,
        };
        snapshot.target = identify(&snapshot);
        snapshot
    }

    /// Parses `text` and builds the snapshot.
    pub fn parse(source: impl Into<String>, text: &[u8], fallback_time_ms: Option<i64>) -> Snapshot {
        Snapshot::new(source, crate::parse::parse(text), fallback_time_ms)
    }

    /// The samples of series `name` (exact name, e.g. `foo_bucket`).
    pub fn series<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Sample> + 'a {
        let indices = self.index.get(name).map(Vec::as_slice).unwrap_or(&[]);
        indices.iter().filter_map(|&i| self.exposition.samples.get(i))
    }

    /// True when at least one sample of series `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// True when a series whose name starts with `prefix` is present.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.index.keys().any(|k| k.starts_with(prefix))
    }

    /// The names of every series present, sorted.
    pub fn series_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.index.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The value of the first sample of `name`.
    pub fn first_value(&self, name: &str) -> Option<f64> {
        self.series(name).next().map(|s| s.value)
    }

    /// The histograms of family `family` (from `family_bucket`, `_sum`, `_count`), one per
    /// label set, sorted by labels.
    pub fn histograms(&self, family: &str) -> Vec<Histogram> {
        let mut by_labels: BTreeMap<Labels, Histogram> = BTreeMap::new();
        for s in self.series(&format!("{family}_bucket")) {
            let Some(le) = s.labels.get("le").and_then(crate::parse::parse_value) else { continue };
            let key = s.labels.without("le");
            by_labels
                .entry(key.clone())
                .or_insert_with(|| Histogram::empty(key))
                .buckets
                .push(Bucket { upper_bound: le, count: s.value });
        }
        for (suffix, is_sum) in [("_sum", true), ("_count", false)] {
            for s in self.series(&format!("{family}{suffix}")) {
                if let Some(h) = by_labels.get_mut(&s.labels.without("le")) {
                    if is_sum {
                        h.sum = s.value;
                    } else {
                        h.count = s.value;
                    }
                }
            }
        }
        by_labels
            .into_values()
            .map(|mut h| {
                h.buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
                h
            })
            .collect()
    }
}

/// The labels that name the target a sample was scraped from: Prometheus adds `job` and
/// `instance` to every series it scrapes (and `/federate` keeps them), and Kubernetes service
/// discovery is commonly relabelled to add `pod`. Neither kube-apiserver nor etcd writes any of
/// them on its own series (none of the real dumps in ../shared/data/real/metrics has one), so
/// those every sample of a file carries tell the targets of a file that holds several apart.
pub const TARGET_LABELS: [&str; 3] = ["instance", "job", "pod"];

/// Series only an etcd server writes on its own `/metrics`: in a file holding an etcd's and an
/// API server's series without labels telling them apart (two scrapes concatenated), these are
/// the etcd's. The API server's own `etcd_*` series (`etcd_request_duration_seconds`,
/// `etcd_object_counts`, `etcd_db_total_size_in_bytes`, `etcd_requests_total`,
/// `etcd_bookmark_counts`, `etcd_lease_object_counts`) start otherwise.
pub const ETCD_SERVER_PREFIXES: &[&str] = &[
    "etcd_server_",
    "etcd_mvcc_",
    "etcd_disk_",
    "etcd_network_",
    "etcd_debugging_",
    "etcd_snap_",
    "etcd_cluster_",
    "etcd_grpc_proxy_",
    "grpc_server_",
    "os_fd_",
];

/// Series every Go process writes: in such a file they go with the component whose series
/// come just before them (the scrape they were concatenated with).
const SHARED_PREFIXES: &[&str] = &["go_", "process_", "promhttp_"];

impl Snapshot {
    /// Whether [`Snapshot::split_targets`] would cut it in parts (or take target labels off).
    pub fn holds_several_targets(&self) -> bool {
        !self.exposition.scrapes.is_empty() || self.has_target_labels() || self.mixes_components()
    }

    /// A text holding several scrapes one after the other ([`Exposition::scrapes`]) cut into
    /// one snapshot per scrape, each named `f.prom (scrape 2 of 2, from line 23957)` with its
    /// own samples and bad lines (review s53, item 2: the later scrape was read as duplicate
    /// series and dropped). Only the last scrape takes the file's modification time: it is
    /// when the file was last written, the earlier ones were taken before it. Any other
    /// snapshot is returned as it is.
    pub fn split_scrapes(self) -> Vec<Snapshot> {
        if self.exposition.scrapes.is_empty() {
            return vec![self];
        }
        let Snapshot { source, exposition, fallback_time_ms, .. } = self;
        let Exposition { families, mut samples, mut errors, notes, scrapes, .. } = exposition;
        let n = scrapes.len();
        let mut parts = Vec::with_capacity(n);
        // Taken from the back, so that each range's indices stay those of the whole text.
        for (i, part) in scrapes.into_iter().enumerate().rev() {
            let part_samples = samples.split_off(part.samples.start.min(samples.len()));
            let part_errors = errors.split_off(part.errors.start.min(errors.len()));
            let first_line = part.first_line;
            let part_notes: Vec<LineError> = notes
                .iter()
                .filter(|note| {
                    note.line >= first_line
                        && parts.last().is_none_or(|(next, _): &(usize, _)| note.line < *next)
                })
                .cloned()
                .collect();
            let exposition = Exposition {
                format: part.format,
                families: families.clone(),
                samples: part_samples,
                errors: part_errors,
                error_count: part.error_count,
                notes: part_notes,
                ..Exposition::default()
            };
            let name = if i == 0 {
                format!("{source} (scrape 1 of {n})")
            } else {
                format!("{source} (scrape {} of {n}, from line {first_line})", i + 1)
            };
            let time = if i + 1 == n { fallback_time_ms } else { None };
            let mut snapshot = Snapshot::new(name, exposition, time);
            snapshot.file_scrape = Some((i + 1, n));
            parts.push((first_line, snapshot));
        }
        parts.into_iter().rev().map(|(_, s)| s).collect()
    }

    fn has_target_labels(&self) -> bool {
        self.target_labels().iter().any(|&l| l)
    }

    /// Which of [`TARGET_LABELS`] every sample carries: those a scraper added. A label on some
    /// series only is the series' own (a scrape edited by hand, a relabelling of some jobs),
    /// and tells no target apart.
    fn target_labels(&self) -> [bool; 3] {
        let samples = &self.exposition.samples;
        TARGET_LABELS.map(|l| !samples.is_empty() && samples.iter().all(|s| s.labels.get(l).is_some()))
    }

    /// Both an etcd server's and an API server's series.
    fn mixes_components(&self) -> bool {
        crate::target::looks_like_etcd_server(self) && crate::target::looks_like_apiserver(self)
    }

    /// The scrape cut into one snapshot per target it holds, each then judged as a scrape of
    /// its own file would be (review s51, items 1 and 2: a `/federate` file of two API server
    /// replicas had its object counts added up, a three-member etcd was read as its first
    /// member, and a file holding an API server's and an etcd's series was read as etcd only).
    ///
    /// 1. By target: of [`TARGET_LABELS`] (`instance`, `job`, `pod`), those every sample
    ///    carries are the scraper's; samples with the same values of them are one target's.
    ///    Those labels are taken off the samples (so series of one resource compare across
    ///    targets and files) and kept in [`Snapshot::scrape_target`]; with several targets,
    ///    each part's source names the labels that tell them apart:
    ///    `fed.prom{instance="10.0.0.1:6443"}`.
    /// 2. By component: a part holding both an etcd server's series and an API server's
    ///    ([`ETCD_SERVER_PREFIXES`] tells them apart; `go_*`, `process_*` and `promhttp_*` go
    ///    with the component whose series precede them) becomes `f.prom (kube-apiserver
    ///    series)` and `f.prom (etcd series)`.
    ///
    /// The bad lines of the text are counted with the first part. A scrape of one target
    /// without target labels is returned as it is.
    pub fn split_targets(self) -> Vec<Snapshot> {
        self.split_scrapes()
            .into_iter()
            .flat_map(|s| if s.has_target_labels() { s.split_by_target_labels() } else { vec![s] })
            .flat_map(Snapshot::split_components)
            .collect()
    }

    fn split_by_target_labels(self) -> Vec<Snapshot> {
        let used = self.target_labels();
        let is_target_label = |k: &str| TARGET_LABELS.iter().zip(used).any(|(l, u)| u && *l == k);
        let Snapshot { source, exposition, fallback_time_ms, file_scrape, .. } = self;
        let Exposition { format, families, samples, errors, error_count, notes, .. } = exposition;
        let mut notes = Some(notes);
        // The distinct targets in the order they first appear, and each sample's.
        let mut targets: Vec<[Option<String>; 3]> = Vec::new();
        let mut part_of: Vec<usize> = Vec::with_capacity(samples.len());
        for s in &samples {
            let mut values = TARGET_LABELS.map(|l| s.labels.get(l));
            for (v, u) in values.iter_mut().zip(used) {
                if !u {
                    *v = None;
                }
            }
            let i = match targets.iter().position(|t| t.iter().zip(&values).all(|(a, b)| a.as_deref() == *b))
            {
                Some(i) => i,
                None => {
                    targets.push(values.map(|v| v.map(str::to_owned)));
                    targets.len() - 1
                }
            };
            part_of.push(i);
        }
        let mut parted: Vec<Vec<Sample>> = targets.iter().map(|_| Vec::new()).collect();
        for (mut s, i) in samples.into_iter().zip(part_of) {
            s.labels.0.retain(|(k, _)| !is_target_label(k));
            if let Some(part) = parted.get_mut(i) {
                part.push(s);
            }
        }
        // The labels whose values differ between the targets name each part.
        let differ: Vec<usize> = (0..TARGET_LABELS.len())
            .filter(|&l| targets.iter().any(|t| t.get(l) != targets.first().and_then(|f| f.get(l))))
            .collect();
        let mut errors = Some((errors, error_count));
        targets
            .into_iter()
            .zip(parted)
            .map(|(target, samples)| {
                let selector = |wanted: &dyn Fn(usize) -> bool| {
                    Labels(
                        TARGET_LABELS
                            .iter()
                            .zip(&target)
                            .enumerate()
                            .filter(|(i, (_, v))| wanted(*i) && v.is_some())
                            .map(|(_, (l, v))| ((*l).to_owned(), v.clone().unwrap_or_default()))
                            .collect(),
                    )
                    .to_selector()
                };
                let name = if differ.is_empty() {
                    source.clone()
                } else {
                    format!("{source}{}", selector(&|i| differ.contains(&i)))
                };
                let (errors, error_count) = errors.take().unwrap_or_default();
                let exposition = Exposition {
                    format,
                    families: families.clone(),
                    samples,
                    errors,
                    error_count,
                    notes: notes.take().unwrap_or_default(),
                    ..Exposition::default()
                };
                let mut part = Snapshot::new(name, exposition, fallback_time_ms);
                part.file_scrape = file_scrape;
                let full = selector(&|_| true);
                part.scrape_target = (!full.is_empty()).then_some(full);
                part
            })
            .collect()
    }

    fn split_components(self) -> Vec<Snapshot> {
        if !self.mixes_components() {
            return vec![self];
        }
        let Snapshot { source, exposition, fallback_time_ms, scrape_target, file_scrape, .. } = self;
        let Exposition { format, families, samples, errors, error_count, notes, .. } = exposition;
        let (mut apiserver, mut etcd) = (Vec::new(), Vec::new());
        let mut in_etcd = false;
        for s in samples {
            let name = s.name.as_str();
            if ETCD_SERVER_PREFIXES.iter().any(|p| name.starts_with(p)) {
                in_etcd = true;
            } else if !SHARED_PREFIXES.iter().any(|p| name.starts_with(p)) {
                in_etcd = false;
            }
            if in_etcd { etcd.push(s) } else { apiserver.push(s) }
        }
        let api = Exposition {
            format,
            families: families.clone(),
            samples: apiserver,
            errors,
            error_count,
            notes,
            ..Exposition::default()
        };
        let etcd = Exposition { format, families, samples: etcd, ..Exposition::default() };
        [(api, "kube-apiserver"), (etcd, "etcd")]
            .into_iter()
            .map(|(exposition, what)| {
                let mut part =
                    Snapshot::new(format!("{source} ({what} series)"), exposition, fallback_time_ms);
                part.scrape_target.clone_from(&scrape_target);
                part.file_scrape = file_scrape;
                part
            })
            .collect()
    }
}

impl Snapshot {
    /// What is wrong with the histograms of `family` in this scrape, one line each (at most
    /// [`MAX_HISTOGRAM_PROBLEMS`], then how many more): a bucket whose `le` is not a number (left
    /// out), a histogram without its `+Inf` bucket (no quantile), buckets whose counts fall (made
    /// cumulative, as Prometheus' `histogram_quantile` does), a negative count. They were read
    /// without a word (review s40).
    pub fn histogram_problems(&self, family: &str) -> Vec<String> {
        let mut out = Vec::new();
        let bucket = format!("{family}_bucket");
        for s in self.series(&bucket) {
            match s.labels.get("le") {
                None => out.push(format!(
                    "{}: {bucket}{} has no `le` label: left out",
                    self.source,
                    s.labels.to_selector()
                )),
                Some(le) if crate::parse::parse_value(le).is_none() => out.push(format!(
                    "{}: {bucket}{} has le=\"{le}\", not a number: left out",
                    self.source,
                    s.labels.without("le").to_selector()
                )),
                _ => {}
            }
        }
        for h in self.histograms(family) {
            let name = format!("{}: {family}{}", self.source, h.labels.to_selector());
            if h.count < 0.0 || h.buckets.iter().any(|b| b.count < 0.0) {
                out.push(format!("{name} has a negative count, which no histogram can have"));
            }
            if let Some(b) = h.buckets.iter().find(|b| b.count.is_nan()) {
                out.push(format!(
                    "{name} has a NaN count at le={}: no quantile is read from it",
                    if b.upper_bound == f64::INFINITY {
                        "+Inf".to_owned()
                    } else {
                        b.upper_bound.to_string()
                    }
                ));
            }
            if !h.buckets.iter().any(|b| b.upper_bound == f64::INFINITY) {
                out.push(format!("{name} has no le=\"+Inf\" bucket: no quantile can be read from it"));
            }
            if let Some(w) = h.buckets.windows(2).find(|w| w[1].count < w[0].count) {
                out.push(format!(
                    "{name}: its buckets' counts fall, from {} at le={} to {} at le={}: read as cumulative (the higher \
                     count for both), as Prometheus' histogram_quantile does",
                    w[0].count, w[0].upper_bound, w[1].count, w[1].upper_bound
                ));
            }
        }
        if out.len() > MAX_HISTOGRAM_PROBLEMS {
            let more = out.len() - MAX_HISTOGRAM_PROBLEMS;
            out.truncate(MAX_HISTOGRAM_PROBLEMS);
            out.push(format!("{}: {family}: {more} more histogram problems", self.source));
        }
        out
    }
}

/// A bucket bound as its `le` label writes it: `+Inf`, `0.5`.
fn le_text(bound: f64) -> String {
    if bound == f64::INFINITY { "+Inf".to_owned() } else { bound.to_string() }
}

/// Histogram problems named one by one per family and scrape; the rest are counted.
pub const MAX_HISTOGRAM_PROBLEMS: usize = 10;

/// One histogram series: cumulative buckets, sum and count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// Its labels without `le`, sorted by name.
    pub labels: Labels,
    /// Cumulative buckets sorted by bound.
    pub buckets: Vec<Bucket>,
    /// `_count`.
    pub count: f64,
    /// `_sum`.
    pub sum: f64,
}

impl Histogram {
    fn empty(labels: Labels) -> Histogram {
        Histogram { labels, buckets: Vec::new(), count: 0.0, sum: 0.0 }
    }

    /// The `q`-quantile, as `histogram_quantile(q, …)`.
    pub fn quantile(&self, q: f64) -> f64 {
        histogram_quantile(q, &self.buckets)
    }

    /// The bucket the `q`-quantile falls in, with `histogram_quantile`'s value in it.
    pub fn quantile_bucket(&self, q: f64) -> Option<QuantileBucket> {
        quantile_bucket(q, &self.buckets)
    }

    /// Observations: the `+Inf` bucket, else `_count`.
    pub fn observations(&self) -> f64 {
        self.buckets.iter().find(|b| b.upper_bound == f64::INFINITY).map_or(self.count, |b| b.count)
    }

    /// Observations above `bound`: all of them less the cumulative count at the highest bucket
    /// bound not above `bound` (the highest count up to it, as the buckets are read cumulative).
    /// Which flow schema's requests waited at least the level's P99 (review s47: the flow schema
    /// with the most requests of any wait was named as "most queued").
    pub fn observations_above(&self, bound: f64) -> f64 {
        let at_or_below = self
            .buckets
            .iter()
            .filter(|b| b.upper_bound <= bound && b.count.is_finite())
            .map(|b| b.count)
            .fold(0.0, f64::max);
        (self.observations() - at_or_below).max(0.0)
    }

    /// What was observed since `earlier` (a scrape of the same series): the increase of each
    /// bucket, of `_count` and of `_sum`, each a counter of its own, with Prometheus' reset rule
    /// ([`increase`]): one that went down is taken as reset, its later value all there is. So
    /// a P99 over two scrapes is `histogram_quantile(0.99, increase(…_bucket[…]))`, whose
    /// `increase` treats every bucket series alone (review s51, item 3: a bucket that fell
    /// while the total grew was set to 0, which put the P99 in a higher bucket than Prometheus
    /// does). A bucket that fell while the histogram's total grew is named by
    /// [`Window::histogram_resets`].
    ///
    /// When the histogram's total (its `+Inf` bucket, else `_count`) fell, the process
    /// restarted and every series counted again from zero: the later histogram alone is the
    /// window (review of the metrics command, item 2: subtracting bucket by bucket kept the
    /// low buckets' growth since the restart as an increase and the high buckets' old counts
    /// as reset, and put 123 of 210 fast requests after a restart in (1.5, 2] s).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        if self.observations() < earlier.observations() {
            return self.clone();
        }
        // Not a number in either scrape: no increase (as before; the problem lines name it).
        let grew = |before: f64, after: f64| {
            let d = increase(before, after);
            if d.is_nan() { 0.0 } else { d }
        };
        let before: HashMap<u64, f64> =
            earlier.buckets.iter().map(|b| (b.upper_bound.to_bits(), b.count)).collect();
        Histogram {
            labels: self.labels.clone(),
            buckets: self
                .buckets
                .iter()
                .map(|b| Bucket {
                    upper_bound: b.upper_bound,
                    count: grew(before.get(&b.upper_bound.to_bits()).copied().unwrap_or(0.0), b.count),
                })
                .collect(),
            count: grew(earlier.count, self.count),
            sum: increase(earlier.sum, self.sum),
        }
    }

    /// The first bucket (bound, earlier count, later count) whose count fell from `earlier`
    /// while the histogram's total (its `+Inf` bucket, else `_count`) did not, and how many
    /// buckets fell in all: what no one process writes between two scrapes.
    fn fell_while_total_grew(&self, earlier: &Histogram) -> Option<(f64, f64, f64, usize)> {
        if self.observations() < earlier.observations() {
            return None; // a restart: every counter starts again
        }
        let mut fell = self.buckets.iter().filter_map(|b| {
            let before = earlier.buckets.iter().find(|e| e.upper_bound == b.upper_bound)?;
            (b.count < before.count).then_some((b.upper_bound, before.count, b.count))
        });
        let (bound, before, after) = fell.next()?;
        Some((bound, before, after, 1 + fell.count()))
    }

    /// Adds another histogram's buckets into this one (for summing over labels), bound by bound.
    pub fn add(&mut self, other: &Histogram) {
        for b in &other.buckets {
            match self.buckets.iter_mut().find(|mine| mine.upper_bound == b.upper_bound) {
                Some(mine) => mine.count += b.count,
                None => self.buckets.push(*b),
            }
        }
        self.buckets.sort_by(|a, b| a.upper_bound.total_cmp(&b.upper_bound));
        self.count += other.count;
        self.sum += other.sum;
    }

    /// Histograms summed by the labels `by` (like `sum by (…) (…)`), keyed by those labels.
    pub fn sum_by(histograms: &[Histogram], by: &[&str]) -> BTreeMap<Vec<String>, Histogram> {
        let mut out: BTreeMap<Vec<String>, Histogram> = BTreeMap::new();
        for h in histograms {
            let key: Vec<String> = by.iter().map(|l| h.labels.value(l).to_owned()).collect();
            match out.get_mut(&key) {
                Some(acc) => acc.add(h),
                None => {
                    let labels =
                        Labels(by.iter().map(|l| ((*l).to_owned(), h.labels.value(l).to_owned())).collect());
                    out.insert(key, Histogram { labels, ..h.clone() });
                }
            }
        }
        out
    }
}

/// The increase of a counter from `earlier` to `later`, with Prometheus' reset rule: a drop
/// means the process restarted and counted again from zero.
pub fn increase(earlier: f64, later: f64) -> f64 {
    if later < earlier { later } else { later - earlier }
}

/// A counter's increases over a window ([`Window::counter`]).
#[derive(Debug, Default)]
pub struct Counter {
    /// The increase of each series with usable samples.
    pub increases: Vec<(Labels, f64)>,
    /// Series left out: a sample not a finite number or below 0, whether it is the first
    /// scrape's, and its value.
    pub unusable: Vec<(Labels, bool, f64)>,
}

/// Two scrapes of the same target (or one), and the time between them.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    /// The earlier scrape, when there are two.
    pub first: Option<&'a Snapshot>,
    /// The latest scrape.
    pub last: &'a Snapshot,
    /// Seconds between them. `None` for one scrape (counters are cumulative since the process
    /// started); `Some(0.0)` for two scrapes whose times are equal or unknown: the increase
    /// between them is known, but not over how long, so it gives no rate.
    pub seconds: Option<f64>,
}

/// The shortest time between two scrapes that their fallback times (files' modification
/// times, or the times they were read) are taken to measure, in milliseconds.
///
/// Copies get the time of the copy, not of the scrape: `cp`, `cp -r`, `git checkout` and
/// `kubectl cp` write files milliseconds apart, whenever they were scraped. Read as the
/// interval, 0.1 GiB of database growth "in 1 ms" became 360 TiB per hour. One second is the
/// shortest scrape interval Prometheus is practically run with, and two deliberate scrapes
/// (`kubectl get --raw /metrics` twice) are at least that far apart; closer times are taken as
/// unknown, as equal ones are. Timestamps in the samples are real scrape times and are used
/// whatever their difference.
pub const MIN_FALLBACK_INTERVAL_MS: i64 = 1000;

/// How far apart the fallback times of `first` and `last` are, in milliseconds, when both are
/// known and less than [`MIN_FALLBACK_INTERVAL_MS`] apart in either order (equal included):
/// too close to be the times they were scraped.
pub fn fallback_times_too_close(first: &Snapshot, last: &Snapshot) -> Option<i64> {
    let (a, b) = (first.fallback_time_ms?, last.fallback_time_ms?);
    let gap = b.checked_sub(a)?.checked_abs()?;
    (gap < MIN_FALLBACK_INTERVAL_MS).then_some(gap)
}

/// Seconds from `first` to `last`: their samples' timestamps when both carry them (whatever
/// `interval` says, and whatever their difference: they are the scrape times), else
/// `interval`, else their fallback times (modification or read times) when `last`'s is later
/// by at least [`MIN_FALLBACK_INTERVAL_MS`]; 0 (unknown) otherwise.
pub fn seconds_between(first: &Snapshot, last: &Snapshot, interval: Option<f64>) -> f64 {
    let diff = |a: Option<i64>, b: Option<i64>, min_ms: i64| match (a, b) {
        (Some(a), Some(b)) if b > a && b.saturating_sub(a) >= min_ms => {
            Some(b.saturating_sub(a) as f64 / 1000.0)
        }
        _ => None,
    };
    if first.sample_time_ms.is_some() && last.sample_time_ms.is_some() {
        return diff(first.sample_time_ms, last.sample_time_ms, 1).unwrap_or(0.0);
    }
    interval
        .filter(|i| i.is_finite() && *i > 0.0)
        .or_else(|| diff(first.fallback_time_ms, last.fallback_time_ms, MIN_FALLBACK_INTERVAL_MS))
        .unwrap_or(0.0)
}

impl<'a> Window<'a> {
    /// A window over one scrape: counters and histograms are cumulative since process start.
    pub fn single(last: &'a Snapshot) -> Window<'a> {
        Window { first: None, last, seconds: None }
    }

    /// A window between two scrapes of one process, `first` the earlier. `interval` is the
    /// time between them when their samples carry no timestamps (see [`seconds_between`]);
    /// when no length is known the window keeps `Some(0.0)`: two scrapes, no rate.
    pub fn between(first: &'a Snapshot, last: &'a Snapshot, interval: Option<f64>) -> Window<'a> {
        Window { first: Some(first), last, seconds: Some(seconds_between(first, last, interval)) }
    }

    /// The histograms of `family` over the window: increase since the first scrape when there
    /// is one, else cumulative.
    pub fn histograms(&self, family: &str) -> Vec<Histogram> {
        let last = self.last.histograms(family);
        let Some(first) = self.first else { return last };
        let before: HashMap<Labels, Histogram> =
            first.histograms(family).into_iter().map(|h| (h.labels.clone(), h)).collect();
        last.into_iter()
            .map(|h| match before.get(&h.labels) {
                Some(b) => h.since(b),
                None => h,
            })
            .collect()
    }

    /// The histograms of `family` in which a bucket fell between the window's two scrapes
    /// while the histogram's total grew, one line each (at most [`MAX_HISTOGRAM_PROBLEMS`],
    /// then how many more): one process never writes that, so the two scrapes disagree. The
    /// bucket is read as reset, as Prometheus' `increase` reads it ([`Histogram::since`]).
    pub fn histogram_resets(&self, family: &str) -> Vec<String> {
        let Some(first) = self.first else { return Vec::new() };
        let before: HashMap<Labels, Histogram> =
            first.histograms(family).into_iter().map(|h| (h.labels.clone(), h)).collect();
        let mut out = Vec::new();
        for h in self.last.histograms(family) {
            let Some(b) = before.get(&h.labels) else { continue };
            let Some((bound, was, is, fell)) = h.fell_while_total_grew(b) else { continue };
            let others = match fell {
                1 => String::new(),
                n => format!(" ({} more of its buckets fell too)", n - 1),
            };
            out.push(format!(
                "{} → {}: {family}{}: its bucket le=\"{}\" fell from {was} to {is} while the histogram's total went \
                 from {} to {}{others}, which one process never writes: that bucket is read as reset (its increase \
                 is its later value, {is}), as Prometheus' increase() reads each bucket series, so its quantiles \
                 are what histogram_quantile over increase(…_bucket) gives; the two scrapes disagree, so weigh them \
                 with care",
                first.source,
                self.last.source,
                h.labels.to_selector(),
                le_text(bound),
                b.observations(),
                h.observations()
            ));
        }
        if out.len() > MAX_HISTOGRAM_PROBLEMS {
            let more = out.len() - MAX_HISTOGRAM_PROBLEMS;
            out.truncate(MAX_HISTOGRAM_PROBLEMS);
            out.push(format!(
                "{} → {}: {family}: {more} more histograms with a bucket that fell",
                first.source, self.last.source
            ));
        }
        out
    }

    /// Counter samples of `name` over the window, keyed by their sorted labels: the increase
    /// since the first scrape when there is one, else the cumulative value. A sample that is
    /// not a finite number, or below 0, in either scrape is no count: its series is left out
    /// and returned apart, with whether it was the first scrape's, and the value.
    pub fn counter(&self, name: &str) -> Counter {
        let usable = |v: f64| v.is_finite() && v >= 0.0;
        let mut out = Counter::default();
        for (labels, (first, last)) in self.gauge(name) {
            if !usable(last) {
                out.unusable.push((labels, false, last));
                continue;
            }
            match first {
                Some(f) if !usable(f) => out.unusable.push((labels, true, f)),
                Some(f) => out.increases.push((labels, increase(f, last))),
                None => out.increases.push((labels, last)),
            }
        }
        out
    }

    /// Gauge samples of `name` in both scrapes, keyed by sorted labels: `(first, last)`.
    pub fn gauge(&self, name: &str) -> BTreeMap<Labels, (Option<f64>, f64)> {
        let before: HashMap<Labels, f64> = self
            .first
            .map(|f| f.series(name).map(|s| (s.labels.without(""), s.value)).collect())
            .unwrap_or_default();
        self.last
            .series(name)
            .map(|s| {
                let key = s.labels.without("");
                let b = before.get(&key).copied();
                (key, (b, s.value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "# TYPE d histogram\n\
d_bucket{verb=\"GET\",le=\"0.1\"} 10 1000\n\
d_bucket{verb=\"GET\",le=\"1\"} 20 1000\n\
d_bucket{verb=\"GET\",le=\"+Inf\"} 20 1000\n\
d_sum{verb=\"GET\"} 5 1000\nd_count{verb=\"GET\"} 20 1000\n\
c_total{a=\"x\"} 100 1000\n";
    const SECOND: &str = "# TYPE d histogram\n\
d_bucket{le=\"0.1\",verb=\"GET\"} 10 61000\n\
d_bucket{le=\"1\",verb=\"GET\"} 20 61000\n\
d_bucket{le=\"+Inf\",verb=\"GET\"} 120 61000\n\
d_sum{verb=\"GET\"} 900 61000\nd_count{verb=\"GET\"} 120 61000\n\
c_total{a=\"x\"} 160 61000\n";

    #[test]
    fn window_gives_increase_between_scrapes() {
        let a = Snapshot::parse("a", FIRST.as_bytes(), None);
        let b = Snapshot::parse("b", SECOND.as_bytes(), None);
        let w = Window::between(&a, &b, None);
        assert_eq!(w.seconds, Some(60.0));
        let h = w.histograms("d");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].observations(), 100.0);
        // all 100 new observations are above 1 s: P99 is the highest finite bound
        assert_eq!(h[0].quantile(0.99), 1.0);
        // cumulative over the last scrape alone, P50 is rank 60 in (1, +Inf] → 1 as well,
        // but P10 (rank 12) lies in (0.1, 1]: 0.1 + 0.9 * 2/10
        let cumulative = Window::single(&b).histograms("d");
        assert!((cumulative[0].quantile(0.1) - 0.28).abs() < 1e-12);
        let c = w.counter("c_total");
        assert_eq!(c.increases.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [60.0]);
        assert!(c.unusable.is_empty());
        // NaN, +Inf and a negative sample are no count, in either scrape.
        let bad = "c_total{a=\"x\"} NaN 1000\nc_total{a=\"y\"} 5 1000\nc_total{a=\"z\"} 5 1000\n";
        let worse = "c_total{a=\"x\"} 9 61000\nc_total{a=\"y\"} +Inf 61000\nc_total{a=\"z\"} 8 61000\n";
        let (a, b) =
            (Snapshot::parse("a", bad.as_bytes(), None), Snapshot::parse("b", worse.as_bytes(), None));
        let c = Window::between(&a, &b, None).counter("c_total");
        assert_eq!(c.increases.iter().map(|(l, v)| (l.value("a"), *v)).collect::<Vec<_>>(), [("z", 3.0)]);
        let unusable: Vec<(&str, bool, String)> =
            c.unusable.iter().map(|(l, first, v)| (l.value("a"), *first, v.to_string())).collect();
        assert_eq!(unusable, [("x", true, "NaN".to_owned()), ("y", false, "inf".to_owned())]);
    }

    #[test]
    fn counter_reset_counts_from_zero() {
        assert_eq!(increase(100.0, 160.0), 60.0);
        assert_eq!(increase(100.0, 7.0), 7.0);
        let a = Snapshot::parse("a", SECOND.as_bytes(), None);
        let b = Snapshot::parse("b", FIRST.as_bytes(), None);
        let h = Window::between(&a, &b, Some(60.0)).histograms("d");
        assert_eq!(h[0].observations(), 20.0, "restart: the later histogram is all there is");
    }

    /// Review s51, item 3: a bucket that fell while the total grew was set to 0; each bucket is
    /// a counter of its own, as Prometheus' `increase` reads it.
    #[test]
    fn each_bucket_that_falls_is_a_reset_of_its_own() {
        let b = |counts: [f64; 3]| {
            [0.1, 1.0, f64::INFINITY]
                .iter()
                .zip(counts)
                .map(|(&upper_bound, count)| Bucket { upper_bound, count })
                .collect::<Vec<_>>()
        };
        let h = |counts: [f64; 3]| Histogram {
            labels: Labels::default(),
            buckets: b(counts),
            count: counts[2],
            sum: 0.0,
        };
        let d = h([15.0, 50.0, 80.0]).since(&h([40.0, 45.0, 50.0]));
        assert_eq!(d.buckets, b([15.0, 5.0, 30.0]));
        assert_eq!(d.count, 30.0);
        assert_eq!(
            h([15.0, 50.0, 80.0]).fell_while_total_grew(&h([40.0, 45.0, 50.0])),
            Some((0.1, 40.0, 15.0, 1))
        );
        // A restart (the total fell) is no disagreement.
        assert_eq!(h([1.0, 2.0, 3.0]).fell_while_total_grew(&h([40.0, 45.0, 50.0])), None);
    }

    #[test]
    fn sum_by_adds_buckets_of_the_same_bound() {
        let text = "d_bucket{verb=\"GET\",r=\"a\",le=\"1\"} 1\nd_bucket{verb=\"GET\",r=\"a\",le=\"+Inf\"} 2\n\
d_bucket{verb=\"GET\",r=\"b\",le=\"1\"} 3\nd_bucket{verb=\"GET\",r=\"b\",le=\"+Inf\"} 4\n";
        let s = Snapshot::parse("x", text.as_bytes(), None);
        let summed = Histogram::sum_by(&s.histograms("d"), &["verb"]);
        let h = &summed[&vec!["GET".to_owned()]];
        assert_eq!(h.buckets.iter().map(|b| b.count).collect::<Vec<_>>(), [4.0, 6.0]);
    }
}
