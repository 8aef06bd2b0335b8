//! What the generated traffic adds up to: the counters behind the metric snapshots and the
//! ground truth in `scenario.json`. Each slice fills its own [`Stats`]; they are merged in
//! slice order, so the totals do not depend on the number of threads.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use crate::emit::Micros;

/// A fast hasher for small keys made of pointers and small integers (multiply-rotate, as
/// compilers use for symbol tables); never used for anything from input.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
}

/// A map with the fast hasher.
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// `apiserver_request_duration_seconds` / `apiserver_request_total` series labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub verb: &'static str,
    /// API group (`""` for core and non-resource).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Resource (`""` for non-resource requests).
    pub resource: &'static str,
    /// Subresource, or the path for non-resource requests.
    pub subresource: &'static str,
    /// `resource`, `namespace`, `cluster` or `""`.
    pub scope: &'static str,
}

/// Request latency counts of one series.
#[derive(Debug, Clone, Default)]
pub struct Latency {
    /// Count per bucket index (the bucket an observation first fits; last is +Inf).
    pub buckets: Vec<u64>,
    /// Sum of observations in microseconds.
    pub sum_us: i64,
    /// Count per HTTP code.
    pub codes: BTreeMap<u16, u64>,
    /// `apiserver_request_sli_duration_seconds`: count per bucket of [`SLI_BUCKETS`] (last is
    /// +Inf) of the latency less admission webhook and APF queue time; long-running requests
    /// are not observed.
    pub sli_buckets: Vec<u64>,
    /// Sum of those observations in microseconds.
    pub sli_sum_us: i64,
}

/// `apiserver_request_sli_duration_seconds` bucket bounds (kube-apiserver's
/// `staging/src/k8s.io/apiserver/pkg/endpoints/metrics/metrics.go`, `requestSliLatencies`).
pub const SLI_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0,
];

impl Latency {
    fn add(&mut self, bucket: usize, nbuckets: usize, latency: Micros, code: u16) {
        if self.buckets.len() < nbuckets {
            self.buckets.resize(nbuckets, 0);
        }
        self.buckets[bucket] += 1;
        self.sum_us += latency;
        *self.codes.entry(code).or_insert(0) += 1;
    }

    /// Observes `sli` (the latency less webhook and APF queue time) in the SLI histogram.
    fn add_sli(&mut self, sli: Micros) {
        if self.sli_buckets.is_empty() {
            self.sli_buckets.resize(SLI_BUCKETS.len() + 1, 0);
        }
        let secs = sli as f64 / 1e6;
        let bucket = SLI_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(SLI_BUCKETS.len());
        self.sli_buckets[bucket] += 1;
        self.sli_sum_us += sli;
    }

    fn merge(&mut self, other: &Latency) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_us += other.sum_us;
        for (code, n) in &other.codes {
            *self.codes.entry(*code).or_insert(0) += n;
        }
        if self.sli_buckets.len() < other.sli_buckets.len() {
            self.sli_buckets.resize(other.sli_buckets.len(), 0);
        }
        for (a, b) in self.sli_buckets.iter_mut().zip(&other.sli_buckets) {
            *a += b;
        }
        self.sli_sum_us += other.sli_sum_us;
    }

    /// Observations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// A plain histogram over fixed bounds (seconds), for APF waits and webhook calls.
#[derive(Debug, Clone, Default)]
pub struct Hist {
    /// Count per bucket index; the last is +Inf.
    pub buckets: Vec<u64>,
    /// Sum in microseconds.
    pub sum_us: i64,
}

impl Hist {
    /// Adds one observation of `us` microseconds against `bounds` (seconds).
    pub fn add(&mut self, bounds: &[f64], us: Micros) {
        if self.buckets.len() < bounds.len() + 1 {
            self.buckets.resize(bounds.len() + 1, 0);
        }
        let secs = us as f64 / 1e6;
        let i = bounds.iter().position(|b| secs <= *b).unwrap_or(bounds.len());
        self.buckets[i] += 1;
        self.sum_us += us;
    }

    fn merge(&mut self, other: &Hist) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum_us += other.sum_us;
    }

    /// Observations.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
}

/// APF counters of one flow schema and priority level.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Requests dispatched (executed).
    pub dispatched: u64,
    /// Requests rejected with 429 (reason `queue-full`).
    pub rejected: u64,
    /// Queue wait of dispatched requests.
    pub wait: Hist,
}

/// Admission webhook counters of one webhook.
#[derive(Debug, Clone, Default)]
pub struct Webhook {
    /// Calls per (operation, rejected).
    pub calls: BTreeMap<(&'static str, bool), Hist>,
    /// Rejections (calling errors) per operation.
    pub rejections: BTreeMap<&'static str, u64>,
}

/// One scenario offender's requests as written.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    /// Requests (ResponseComplete events) in the window.
    pub requests: u64,
    /// Count per verb and code: an offender's verbs fail differently (put-storm's updates get
    /// 409s, its re-reads do not), and checks count codes per verb.
    pub codes: BTreeMap<(&'static str, u16), u64>,
    /// Every latency in microseconds (sorted after the merge).
    pub latencies: Vec<i64>,
    /// Requests whose stage timestamp is in (first snapshot, second snapshot].
    pub between_snapshots: u64,
    /// Successful creates (201) per window: [start, first], (first, second].
    pub created: [u64; 2],
}

/// Everything one slice (or the whole run, once merged) adds up to.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Events written.
    pub events: u64,
    /// Requests (ResponseComplete events).
    pub requests: u64,
    /// Latency per series; index 0: up to the first snapshot, 1: up to the second.
    pub latency: [FastMap<SeriesKey, Latency>; 2],
    /// Net object change per qualified resource, per snapshot window.
    pub objects: [BTreeMap<String, i64>; 2],
    /// APF per (flow schema, priority level), per snapshot window.
    pub flows: [BTreeMap<(&'static str, &'static str), Flow>; 2],
    /// Webhooks per name, per snapshot window.
    pub webhooks: [BTreeMap<&'static str, Webhook>; 2],
    /// Offenders by tracker index.
    pub trackers: BTreeMap<u8, Tracker>,
    /// Long-running requests in flight at each snapshot, per series (WATCH, CONNECT).
    pub longrunning: [BTreeMap<SeriesKey, u64>; 2],
    /// Requests per verb (for the docs' mix table).
    pub verbs: BTreeMap<&'static str, u64>,
}

impl Stats {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: Stats) {
        self.events += other.events;
        self.requests += other.requests;
        for w in 0..2 {
            for (k, v) in &other.latency[w] {
                self.latency[w].entry(*k).or_default().merge(v);
            }
            for (k, v) in &other.objects[w] {
                *self.objects[w].entry(k.clone()).or_insert(0) += v;
            }
            for (k, v) in &other.flows[w] {
                let f = self.flows[w].entry(*k).or_default();
                f.dispatched += v.dispatched;
                f.rejected += v.rejected;
                f.wait.merge(&v.wait);
            }
            for (k, v) in &other.webhooks[w] {
                let h = self.webhooks[w].entry(*k).or_default();
                for (ck, cv) in &v.calls {
                    h.calls.entry(*ck).or_default().merge(cv);
                }
                for (op, n) in &v.rejections {
                    *h.rejections.entry(*op).or_insert(0) += n;
                }
            }
            for (k, v) in &other.longrunning[w] {
                *self.longrunning[w].entry(*k).or_insert(0) += v;
            }
        }
        for (k, v) in other.trackers {
            let t = self.trackers.entry(k).or_default();
            t.requests += v.requests;
            t.between_snapshots += v.between_snapshots;
            for (code, n) in v.codes {
                *t.codes.entry(code).or_insert(0) += n;
            }
            t.latencies.extend(v.latencies);
            t.created[0] += v.created[0];
            t.created[1] += v.created[1];
        }
        for (k, v) in other.verbs {
            *self.verbs.entry(k).or_insert(0) += v;
        }
    }

    /// Observes one request of series `key` in window `w`: its `latency` in the histogram of
    /// `bounds`, its `code`, and its `sli` latency (none for long-running requests).
    pub(crate) fn record_latency(
        &mut self,
        w: usize,
        key: SeriesKey,
        bounds: &[f64],
        latency: Micros,
        code: u16,
        sli: Option<Micros>,
    ) {
        let secs = latency as f64 / 1e6;
        let bucket = bounds.iter().position(|b| secs <= *b).unwrap_or(bounds.len());
        let l = self.latency[w].entry(key).or_default();
        l.add(bucket, bounds.len() + 1, latency, code);
        if let Some(sli) = sli {
            l.add_sli(sli);
        }
    }
}

/// Nearest-rank percentile (`q` in 0..=1) of sorted values; `None` when empty.
///
/// This is the definition `scenario.json` uses: the smallest value with at least `q` of the
/// values at or below it.
pub fn nearest_rank(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 0.99), Some(99));
        assert_eq!(nearest_rank(&v, 0.5), Some(50));
        assert_eq!(nearest_rank(&v, 1.0), Some(100));
        assert_eq!(nearest_rank(&[7], 0.99), Some(7));
        assert_eq!(nearest_rank(&[], 0.99), None);
    }

    #[test]
    fn histograms_put_values_in_the_first_bucket_that_fits() {
        let mut h = Hist::default();
        let bounds = [0.005, 0.1, 1.0];
        for us in [1_000, 5_000, 5_001, 2_000_000] {
            h.add(&bounds, us);
        }
        assert_eq!(h.buckets, vec![2, 1, 0, 1]);
        assert_eq!(h.count(), 4);
    }
}
