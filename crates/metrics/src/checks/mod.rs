//! The kube-apiserver metrics checks (codes `MET…`), one file each, in a stable order.
//!
//! Each check reads [`MetricsEvidence`] only: no I/O, no printing.

use findings::{CheckInfo, Finding, Remedy, RemedyKind, Safety, Thresholds};
// Shared by every check crate; re-exported so the metrics and etcd checks keep their paths.
pub use findings::{Draft, format_seconds, remedy};

use crate::MetricsEvidence;
use crate::quantile::QuantileBucket;

mod met001_request_latency;
mod met002_object_count;
mod met003_object_growth;
mod met004_db_size;
mod met005_db_growth;
mod met006_apf_rejections;
mod met007_apf_queue_wait;
mod met008_webhook_latency;
mod met009_webhook_failures;
mod met010_saturation;
mod met011_etcd_request_latency;
pub mod remedies;

pub use met002_object_count::{
    BUILT_IN_GROUPS, Held, Scope, cleanup_remedies, cleanup_remedies_scoped, is_built_in_group, scope_of,
};

type CheckFn = fn(&MetricsEvidence, &Thresholds, &mut Vec<Finding>);

const CHECKS: &[(CheckInfo, CheckFn)] = &[
    (met001_request_latency::INFO, met001_request_latency::run),
    (met002_object_count::INFO, met002_object_count::run),
    (met003_object_growth::INFO, met003_object_growth::run),
    (met004_db_size::INFO, met004_db_size::run),
    (met005_db_growth::INFO, met005_db_growth::run),
    (met006_apf_rejections::INFO, met006_apf_rejections::run),
    (met007_apf_queue_wait::INFO, met007_apf_queue_wait::run),
    (met008_webhook_latency::INFO, met008_webhook_latency::run),
    (met009_webhook_failures::INFO, met009_webhook_failures::run),
    (met010_saturation::INFO, met010_saturation::run),
    (met011_etcd_request_latency::INFO, met011_etcd_request_latency::run),
];

const INFOS: [CheckInfo; 11] = [
    met001_request_latency::INFO,
    met002_object_count::INFO,
    met003_object_growth::INFO,
    met004_db_size::INFO,
    met005_db_growth::INFO,
    met006_apf_rejections::INFO,
    met007_apf_queue_wait::INFO,
    met008_webhook_latency::INFO,
    met009_webhook_failures::INFO,
    met010_saturation::INFO,
    met011_etcd_request_latency::INFO,
];

/// Every metrics check, in registry order.
pub fn infos() -> &'static [CheckInfo] {
    &INFOS
}

/// Runs every metrics check on the evidence; findings come in registry order.
pub fn run(evidence: &MetricsEvidence, thresholds: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    for (info, check) in CHECKS {
        let from = out.len();
        check(evidence, thresholds, &mut out);
        if READS_CHANGES.contains(&info.code) {
            for f in out.iter_mut().skip(from) {
                hold_on_guess(f, info, evidence);
            }
        }
    }
    name_the_replica(&mut out);
    out
}

/// Findings of the same title from different scrapes (one per API server replica) end in the
/// scrape they were read from, so a list of titles tells them apart (mix review 51, item 15:
/// three identical lines for a three-replica control plane read as one finding printed thrice).
fn name_the_replica(out: &mut [Finding]) {
    let short = |source: &str| {
        let source = source.strip_prefix("metrics:").unwrap_or(source);
        let last = source.rsplit(" → ").next().unwrap_or(source);
        last.rsplit(['/', '\\']).next().unwrap_or(last).to_owned()
    };
    // The findings of each title, so that each looks only at its own (bad-input review s53,
    // item 10: comparing every finding with every other took 16 s for 50,000 findings).
    let mut by_title: std::collections::HashMap<&str, Vec<&Finding>> = std::collections::HashMap::new();
    for f in out.iter() {
        by_title.entry(f.title.as_str()).or_default().push(f);
    }
    let mut suffixes: Vec<Option<String>> = vec![None; out.len()];
    for (i, f) in out.iter().enumerate() {
        let titled = by_title.get(f.title.as_str()).map_or(&[][..], Vec::as_slice);
        if titled.len() < 2 {
            continue;
        }
        let same: Vec<&Finding> =
            titled.iter().copied().filter(|g| g.evidence.source != f.evidence.source).collect();
        if same.is_empty() {
            continue;
        }
        // The file name, unless another of them has the same one: then the whole source.
        let mine = short(&f.evidence.source);
        let name = if same.iter().any(|g| short(&g.evidence.source) == mine) {
            f.evidence.source.strip_prefix("metrics:").unwrap_or(&f.evidence.source).to_owned()
        } else {
            mine
        };
        suffixes[i] = Some(name);
    }
    for (f, suffix) in out.iter_mut().zip(suffixes) {
        if let Some(s) = suffix {
            f.title.push_str(&format!(" (on {s})"));
        }
    }
}

/// The checks that judge what changed between two scrapes: counters' increases and
/// histograms' new observations (MET001, MET006 to MET009, MET011), gauges' growth (MET003,
/// MET005).
const READS_CHANGES: &[&str] =
    &["MET001", "MET003", "MET005", "MET006", "MET007", "MET008", "MET009", "MET011"];

/// A finding judged on what changed between two scrapes whose order or process rests on a
/// guess ([`crate::ApiserverEvidence::change_guess`]) keeps no severity above the check's
/// default, and says why: an increase the data does not show drove a critical and the exit
/// code (review 50, item 1).
fn hold_on_guess(f: &mut Finding, info: &CheckInfo, ev: &MetricsEvidence) {
    let Some(why) = ev
        .apiservers
        .iter()
        .find(|a| f.evidence.source == format!("metrics:{}", a.source))
        .and_then(|a| a.change_guess.as_deref())
    else {
        return;
    };
    let held = f.severity > info.default_severity;
    if held {
        f.severity = info.default_severity;
    }
    f.summary.push_str(&format!(" What changed between the two scrapes rests on a guess: {why}."));
    if held {
        f.summary.push_str(&format!(
            " It is reported as a {}, not raised on that guess: scrapes that keep process_start_time_seconds \
             (a filter such as grep -E that keeps it too) tell one process from two.",
            info.default_severity.as_str()
        ));
    }
}

#[cfg(test)]
mod replica_tests {
    use super::*;
    use crate::apiserver::WebhookStats;

    /// Mix review 51, item 15: each replica of a control plane gave the same title.
    #[test]
    fn the_same_finding_of_two_replicas_names_each_replica() {
        let hook = WebhookStats {
            name: "w".into(),
            webhook_type: "validating".into(),
            calls: 10.0,
            p99: None,
            call_failures: 300.0,
            denials: 0.0,
            fail_open: 0.0,
        };
        let replica = |source: &str| {
            let mut a = crate::test_support::apiserver();
            a.source = source.into();
            a.webhooks = vec![hook.clone()];
            a
        };
        let ev = MetricsEvidence {
            apiservers: vec![replica("/m/a/apiserver-0.prom"), replica("/m/b/apiserver-1.prom")],
            ..Default::default()
        };
        let titles: Vec<String> = run(&ev, &Thresholds::default())
            .into_iter()
            .filter(|f| f.code == "MET009")
            .map(|f| f.title)
            .collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
        assert!(titles[0].ends_with(" (on apiserver-0.prom)"), "{titles:?}");
        assert!(titles[1].ends_with(" (on apiserver-1.prom)"), "{titles:?}");
        // One replica alone: its title as it was.
        let one =
            MetricsEvidence { apiservers: vec![replica("/m/a/apiserver-0.prom")], ..Default::default() };
        assert!(run(&one, &Thresholds::default()).iter().all(|f| !f.title.contains(" (on ")));
    }
}

/// How to raise a priority level's concurrency shares, in parentheses, for MET006's and
/// MET007's advice on a level the cluster made itself.
fn edit_shares(level: &str) -> String {
    format!(
        "(`kubectl edit prioritylevelconfiguration {}`: `nominalConcurrencyShares`, `assuredConcurrencyShares` before v1beta3)",
        findings::text::literal_backticks(&findings::text::shell_quote(level))
    )
}

/// A PromQL expression to follow the problem live, as a safe remedy.
pub fn watch(promql: &str) -> Remedy {
    remedy("Follow it live in Prometheus", RemedyKind::Advice, Safety::Safe, promql)
}

/// The PromQL that follows a database's growth toward its quota over `horizon_hours`
/// (`etcd_quota_projection_hours`): `predict_linear(SIZE[1h], 4 * 3600) > QUOTA`, the horizon
/// the finding was judged on (review of the metrics command, item 8: it was always 4 h).
pub fn quota_projection_query(size: &str, horizon_hours: f64, quota: &str) -> String {
    format!("predict_linear({size}[1h], {horizon_hours} * 3600) > {quota}")
}

/// `1.5 GiB`, `312.0 MiB`, `4.0 KiB`, `512 B`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes.abs() < 1024.0 {
        return format!("{bytes:.0} B");
    }
    let mut v = bytes / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if v.abs() < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = next;
    }
    format!("{v:.1} {unit}")
}

/// Where a critical object-count threshold comes from, as MET002 and ETC008 say it:
/// SIG-scalability's limit when it is the default, else the value `--config` set (etcd review
/// s55, item 10: `objects_per_type_critical: 4000` was said to be "SIG-scalability's limit").
pub fn critical_phrase(t: &Thresholds, name: &str, value: f64) -> String {
    if t.get(name).overridden {
        format!("the critical threshold is {} (`{name}`, set by --config)", format_count(value))
    } else {
        format!("the critical threshold is {}, SIG-scalability's limit", format_count(value))
    }
}

/// `12,345`. A value that is not a finite number (NaN, ±Inf) is written as such, never as
/// the nearest integer that fits (`+Inf` as i128::MAX).
pub fn format_count(n: f64) -> String {
    if !n.is_finite() {
        return format!("{n}");
    }
    // Past what an i128 holds exactly in a double's digits: the digits a double has, not a
    // string of made-up zeros (or 2^127, where the cast saturated).
    if n.abs() >= 1e18 {
        return format!("{n:.3e}");
    }
    findings::thousands(n.round() as i128)
}

/// A share in percent: whole percent from 1% up (`82%`), one decimal below (`0.1%`), and
/// `< 0.1%` for a share above 0 that one decimal would show as 0. A share under 100% that
/// would round up to it is written to one decimal, rounded down (`99.9%`): see
/// [`format_percent_against`].
pub fn format_percent(percent: f64) -> String {
    format_percent_against(percent, &[])
}

/// [`format_percent`] for a share judged against `levels` (thresholds, in percent): a share
/// below a level, or below 100%, that whole percent would round up to it is written to one
/// decimal, rounded down (`94.6%`, not `95%`, under a 95% critical level; `99.9%`, not `100%`,
/// for 99.96% of a quota), so that no printed share reaches a level it has not reached
/// (review 50, item 2).
pub fn format_percent_against(percent: f64, levels: &[f64]) -> String {
    if percent >= 1.0 || !percent.is_finite() {
        let whole = percent.round();
        if levels.iter().chain(&[100.0]).any(|&l| percent < l && whole >= l) {
            // Rounded down, so that 99.96 is not `100.0%` either.
            return format!("{:.1}%", (percent * 10.0).floor() / 10.0);
        }
        format!("{percent:.0}%")
    } else if percent > 0.0 && percent < 0.05 {
        "< 0.1%".to_owned()
    } else {
        format!("{percent:.1}%")
    }
}

/// Bytes with the growth between two sizes visible: [`format_bytes`] when it shows the two
/// apart, else exact bytes with thousands separators (`7,039,143,936 B`).
pub fn format_bytes_pair(first: f64, last: f64) -> (String, String) {
    let (a, b) = (format_bytes(first), format_bytes(last));
    if a != b || first == last {
        (a, b)
    } else {
        (format!("{} B ({a})", format_count(first)), format!("{} B ({b})", format_count(last)))
    }
}

/// How a P99, known only as the bucket it lies in, compares with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P99Versus {
    /// The bucket's lower bound is at or above the threshold: more than 1% of the
    /// observations took longer than it, for certain.
    CertainlyAbove,
    /// The bucket straddles the threshold and `histogram_quantile`'s interpolation puts the
    /// P99 above it (or the bucket is the `+Inf` one): it may be above, the buckets cannot say.
    MayBeAbove,
    /// Not above by any reading.
    NotAbove,
}

/// Judges a P99 against `limit` by its bucket, as MET008 does: certainly above when the
/// bucket's lower bound is at or above `limit`; may be above when the bucket straddles it and
/// the interpolated value is above it.
pub fn p99_versus(p99: &QuantileBucket, limit: f64) -> P99Versus {
    if p99.lower.is_nan() || p99.upper.is_nan() {
        P99Versus::NotAbove
    } else if p99.lower >= limit {
        P99Versus::CertainlyAbove
    } else if p99.upper > limit && (p99.interpolated > limit || p99.unbounded()) {
        P99Versus::MayBeAbove
    } else {
        P99Versus::NotAbove
    }
}

/// A bucket bound as Prometheus writes `le`: `0.5`, `2.5`, `10`, `0.008`.
pub fn le(bound: f64) -> String {
    format!("{bound}")
}

/// `in the (0.4, 0.6] s bucket` or `above 0.6 s (the histogram's largest finite bucket)`.
pub fn p99_bucket_phrase(p99: &QuantileBucket) -> String {
    if p99.unbounded() {
        format!(
            "above {} s (the histogram's largest finite bucket, which bounds it no further)",
            le(p99.lower)
        )
    } else {
        format!("in the ({}, {}] s bucket", le(p99.lower), le(p99.upper))
    }
}

/// An interpolated latency with enough digits not to read as its threshold: `10.0 ms`,
/// `502 ms`, `1.87 s`.
pub fn format_estimate(seconds: f64) -> String {
    if seconds < 0.1 { format!("{:.1} ms", seconds * 1000.0) } else { format_seconds(seconds) }
}

/// `≈502 ms by linear interpolation (as histogram_quantile)`, or, for a P99 in the `+Inf`
/// bucket, that no value can be given.
pub fn p99_estimate_phrase(p99: &QuantileBucket) -> String {
    if p99.unbounded() {
        "the histogram bounds it no further, so no value is given".to_owned()
    } else {
        format!(
            "≈{} by linear interpolation (as histogram_quantile), an estimate the buckets cannot confirm",
            format_estimate(p99.interpolated)
        )
    }
}

/// The measures of a P99 known by its bucket, labelled with `what` (`P99 WAL fsync`).
pub fn p99_measures(what: &str, p99: &QuantileBucket) -> Vec<findings::Measure> {
    let mut m =
        vec![findings::Measure::new(format!("{what} above (its bucket's lower bound)"), p99.lower, "s")];
    if !p99.unbounded() {
        m.push(findings::Measure::new(format!("{what} at most (its bucket's upper bound)"), p99.upper, "s"));
        m.push(findings::Measure::new(
            format!("{what} ≈ (linear interpolation, as histogram_quantile)"),
            p99.interpolated,
            "s",
        ));
    }
    m
}

/// A window's length in seconds: `900 s`, `2.5 s`, `0.25 s`. A window from the samples'
/// timestamps can be shorter than a second, which `{:.0}` would print as `0 s`.
pub(crate) fn format_window_seconds(seconds: f64) -> String {
    if seconds >= 10.0 {
        return format!("{seconds:.0} s");
    }
    let text = format!("{seconds:.3}");
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// `over the 5 min between the two scrapes` or `since the API server started`.
pub(crate) fn window_phrase(window_seconds: Option<f64>) -> String {
    match window_seconds {
        Some(s) if s >= 120.0 => format!("over the {:.0} min between the two scrapes", s / 60.0),
        Some(s) if s > 0.0 => format!("over the {} between the two scrapes", format_window_seconds(s)),
        // Two scrapes whose times are equal or unknown: an increase, over an unknown time.
        Some(_) => "between the two scrapes (their times are equal or unknown, so no rate)".to_owned(),
        None => "since the process started (one scrape: cumulative counters)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_a_unique_code_and_the_fixed_doc_headings() {
        let mut codes: Vec<&str> = infos().iter().map(|i| i.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), infos().len());
        for (info, (registered, _)) in infos().iter().zip(CHECKS) {
            assert_eq!(info.code, registered.code);
            assert!(info.code.starts_with("MET"), "{}", info.code);
            assert_eq!(info.missing_doc_heading(), None, "{}: a heading missing or out of order", info.code);
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_bytes(2_147_483_648.0), "2.0 GiB");
        assert_eq!(format_bytes(1_500_000.0), "1.4 MiB");
        assert_eq!(format_bytes(100.0), "100 B");
        assert_eq!(format_seconds(0.25), "250 ms");
        assert_eq!(format_seconds(12.5), "12.50 s");
        assert_eq!(format_count(1_234_567.0), "1,234,567");
        assert_eq!(format_count(999.0), "999");
        assert_eq!(format_percent(82.04), "82%");
        assert_eq!(format_percent(0.107), "0.1%");
        assert_eq!(format_percent(0.01), "< 0.1%");
        assert_eq!(format_percent(0.0), "0.0%");
        assert_eq!(format_percent(350.0), "350%");
        assert_eq!(format_percent(100.0), "100%");
        assert_eq!(
            format_bytes_pair(7_039_143_936.0, 7_043_743_744.0),
            ("7,039,143,936 B (6.6 GiB)".to_owned(), "7,043,743,744 B (6.6 GiB)".to_owned())
        );
        assert_eq!(format_bytes_pair(1024.0, 4096.0), ("1.0 KiB".to_owned(), "4.0 KiB".to_owned()));
    }

    #[test]
    fn a_p99_is_judged_by_its_bucket() {
        let q = |lower, upper, interpolated| QuantileBucket { lower, upper, interpolated };
        assert_eq!(p99_versus(&q(0.512, 1.024, 0.933), 0.5), P99Versus::CertainlyAbove);
        assert_eq!(p99_versus(&q(0.5, 1.0, 0.6), 0.5), P99Versus::CertainlyAbove);
        assert_eq!(p99_versus(&q(0.4, 0.6, 0.502), 0.5), P99Versus::MayBeAbove);
        assert_eq!(p99_versus(&q(0.008, 0.016, 0.010027), 0.01), P99Versus::MayBeAbove);
        assert_eq!(p99_versus(&q(0.4, 0.6, 0.45), 0.5), P99Versus::NotAbove);
        assert_eq!(p99_versus(&q(0.2, 0.4, 0.3), 0.5), P99Versus::NotAbove);
        assert_eq!(p99_versus(&q(0.2, f64::INFINITY, 0.2), 0.5), P99Versus::MayBeAbove);
        assert_eq!(format_estimate(0.010027), "10.0 ms");
        assert_eq!(p99_bucket_phrase(&q(0.008, 0.016, 0.01)), "in the (0.008, 0.016] s bucket");
    }

    /// Review 50, item 2: 94.6% of the quota printed as "(95%)" on a warning whose critical
    /// level is 95%, and 99.96% as "100%" though the quota was not reached.
    #[test]
    fn rounded_percentages_read_as_crossed_thresholds() {
        assert_eq!(format_percent_against(94.6, &[80.0, 95.0]), "94.6%");
        assert_eq!(format_percent_against(94.96, &[80.0, 95.0]), "94.9%");
        assert_eq!(format_percent_against(95.0, &[80.0, 95.0]), "95%");
        assert_eq!(format_percent_against(95.4, &[80.0, 95.0]), "95%");
        assert_eq!(
            format_percent_against(87.6, &[80.0, 95.0]),
            "88%",
            "whole percent where it crosses nothing"
        );
        assert_eq!(format_percent(99.96), "99.9%");
        assert_eq!(format_percent(99.58), "99.5%");
        assert_eq!(format_percent(99.4), "99%");
    }

    /// Review item 10: `+Inf` objects were printed as i128::MAX
    /// (170,141,183,460,469,231,731,687,303,715,884,105,727).
    #[test]
    fn non_finite_counts_are_not_printed_as_the_largest_integer() {
        assert_eq!(format_count(f64::INFINITY), "inf");
        assert_eq!(format_count(f64::NAN), "NaN");
    }
}
