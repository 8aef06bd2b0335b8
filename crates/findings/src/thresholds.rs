//! Default thresholds with their sources (DESIGN.md, "Thresholds"), overridable by name.

/// One threshold: its config key, value, unit and where the default comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Config key, e.g. `p99_mutating_seconds`.
    pub name: &'static str,
    /// Current value (default or overridden).
    pub value: f64,
    /// Unit of `value`.
    pub unit: &'static str,
    /// What it means, one line.
    pub description: &'static str,
    /// Where the default comes from.
    pub source: &'static str,
    /// Whether `value` was set by the user (`--config`), not the default.
    pub overridden: bool,
}

impl Threshold {
    /// Where the value in force comes from: the default's source, or the config file with the
    /// default beside it.
    pub fn origin(&self) -> String {
        if !self.overridden {
            return self.source.to_owned();
        }
        let default = DEFAULTS.iter().find(|t| t.name == self.name);
        match default {
            Some(d) => format!("set by --config (default {} from {})", d.value, d.source),
            None => "set by --config".to_owned(),
        }
    }
}

macro_rules! thresholds {
    ($($konst:ident = $name:literal, $value:expr, $unit:literal, $desc:literal, $source:literal;)*) => {
        /// Names of every threshold, as used in config files and in findings.
        pub mod names {
            $(#[doc = $desc] pub const $konst: &str = $name;)*
        }
        const DEFAULTS: &[Threshold] = &[
            $(Threshold { name: $name, value: $value, unit: $unit, description: $desc, source: $source, overridden: false },)*
        ];
    };
}

thresholds! {
    P99_MUTATING_SECONDS = "p99_mutating_seconds", 1.0, "s",
        "P99 latency SLO of mutating calls and single-object reads", "SIG-scalability API call latency SLO";
    P99_NAMESPACE_LIST_SECONDS = "p99_namespace_list_seconds", 5.0, "s",
        "P99 latency SLO of namespace-scope LISTs", "SIG-scalability API call latency SLO";
    P99_CLUSTER_LIST_SECONDS = "p99_cluster_list_seconds", 30.0, "s",
        "P99 latency SLO of cluster-scope LISTs", "SIG-scalability API call latency SLO";
    OBJECTS_PER_TYPE_WARNING = "objects_per_type_warning", 10_000.0, "count",
        "objects of one type above which to warn", "AKS guide (troubleshoot API server and etcd)";
    OBJECTS_PER_TYPE_CRITICAL = "objects_per_type_critical", 150_000.0, "count",
        "objects of one type above which it is critical", "SIG-scalability thresholds";
    EVENTS_CRITICAL = "events_critical", 1_000_000.0, "count",
        "Event objects above which it is critical", "SIG-scalability thresholds";
    ETCD_LARGE_BYTES = "etcd_large_bytes", 2_000_000_000.0, "bytes",
        "etcd database size the AKS guide calls large", "AKS guide";
    ETCD_QUOTA_BYTES = "etcd_quota_bytes", 2_147_483_648.0, "bytes",
        "etcd quota when no source gives the real one (etcd's default)", "etcd documentation";
    ETCD_QUOTA_WARNING_RATIO = "etcd_quota_warning_ratio", 0.80, "ratio",
        "etcd database size over quota above which to warn", "etcd-mixin";
    ETCD_QUOTA_CRITICAL_RATIO = "etcd_quota_critical_ratio", 0.95, "ratio",
        "etcd database size over quota above which it is critical", "etcd-mixin";
    ETCD_QUOTA_PROJECTION_HOURS = "etcd_quota_projection_hours", 4.0, "h",
        "warn when growth reaches the quota within this many hours", "etcd-mixin";
    ETCD_FRAGMENTATION_RATIO = "etcd_fragmentation_ratio", 0.5, "ratio",
        "in-use over total size below which to defragment", "etcd-mixin runbook";
    ETCD_FRAGMENTATION_MIN_BYTES = "etcd_fragmentation_min_bytes", 104_857_600.0, "bytes",
        "in-use size above which fragmentation matters", "etcd-mixin runbook";
    WAL_FSYNC_P99_WARNING_SECONDS = "wal_fsync_p99_warning_seconds", 0.010, "s",
        "WAL fsync P99 above which to warn", "etcd FAQ";
    WAL_FSYNC_P99_CRITICAL_SECONDS = "wal_fsync_p99_critical_seconds", 1.0, "s",
        "WAL fsync P99 above which it is critical", "etcd-mixin etcdHighFsyncDurations (critical above 1 s; its 0.5 s level is a warning)";
    BACKEND_COMMIT_P99_WARNING_SECONDS = "backend_commit_p99_warning_seconds", 0.025, "s",
        "backend commit P99 above which to warn", "etcd FAQ";
    BACKEND_COMMIT_P99_CRITICAL_SECONDS = "backend_commit_p99_critical_seconds", 0.25, "s",
        "backend commit P99 above which it is critical", "etcd-mixin etcdHighCommitDurations (a warning there, its only level; critical here, as DESIGN's alert level)";
    LEADER_CHANGES_WARNING = "leader_changes_warning", 4.0, "count",
        "leader changes within 15 minutes at or above which to warn", "etcd-mixin";
    WEBHOOK_LATENCY_WARNING_SECONDS = "webhook_latency_warning_seconds", 0.5, "s",
        "admission webhook call latency above which to warn", "OpenShift enhancement 908";
    APF_QUEUE_WAIT_P99_SECONDS = "apf_queue_wait_p99_seconds", 1.0, "s",
        "APF queue wait P99 above which to warn", "kubernetes-mixin runbook";
    APF_REJECTIONS_WARNING = "apf_rejections_warning", 1.0, "count",
        "APF rejections of one flow schema at or above which to warn", "kubernetes-mixin runbook";
    TOP_CLIENT_SHARE_WARNING = "top_client_share_warning", 0.25, "ratio",
        "share of all requests one client may send before it is named an offender", "apiserver-doctor default";
    LATENCY_OUTLIER_FACTOR = "latency_outlier_factor", 5.0, "ratio",
        "a client's average latency over the median client's before it is flagged", "apiserver-doctor default";
    ERROR_RATE_WARNING = "error_rate_warning", 0.05, "ratio",
        "share of a client's requests answered 429 or 5xx above which to warn", "apiserver-doctor default";
    LOG_GAP_SECONDS = "log_gap_seconds", 300.0, "s",
        "a stretch without any audit event longer than this is a gap", "apiserver-doctor default";
    TOP_CLIENT_SHARE_CRITICAL = "top_client_share_critical", 0.5, "ratio",
        "share of all requests one identity may send before it is critical", "apiserver-doctor default";
    OFFENDER_MIN_RATE = "offender_min_requests_per_second", 5.0, "per-second",
        "request rate below which no client is named an offender, whatever its share", "apiserver-doctor default";
    MIN_REQUESTS = "min_requests", 20.0, "count",
        "requests a group needs before its latency or error rate is judged", "apiserver-doctor default";
    MIN_ERRORS = "min_errors", 10.0, "count",
        "429, 5xx or 409 answers a client needs before its error or conflict rate is judged (a few conflicts are optimistic concurrency at work)",
        "apiserver-doctor default";
    EXPENSIVE_LIST_CONCURRENCY_WARNING = "expensive_list_concurrency_warning", 0.5, "requests",
        "average expensive LISTs of one client in flight (their total time over the window) above which to warn",
        "apiserver-doctor default";
    EXPENSIVE_LIST_CONCURRENCY_CRITICAL = "expensive_list_concurrency_critical", 2.0, "requests",
        "average expensive LISTs of one client in flight above which it is critical", "apiserver-doctor default";
    ERROR_RATE_CRITICAL = "error_rate_critical", 0.25, "ratio",
        "share of a client's requests answered 429 or 5xx above which it is critical", "apiserver-doctor default";
    SLOW_REQUEST_SECONDS = "slow_request_seconds", 0.5, "s",
        "requests slower than this are broken down by their apiserver.latency.k8s.io annotations",
        "the API server writes those annotations from 500 ms";
    WEBHOOK_FAILURES_CRITICAL = "webhook_failures_critical", 10.0, "count",
        "failed calls of one admission webhook at or above which it is critical", "apiserver-doctor default";
    CHURN_NET_PER_HOUR_WARNING = "churn_net_per_hour_warning", 1_000.0, "per-hour",
        "objects of one resource and namespace created and not deleted per hour above which to warn",
        "apiserver-doctor default";
    CHURN_NET_PER_HOUR_CRITICAL = "churn_net_per_hour_critical", 10_000.0, "per-hour",
        "net creations per hour above which it is critical: in one hour, as many new objects as the AKS guide's 10,000 objects of a type (a count, not a rate) that slow the API server",
        "apiserver-doctor default, after the AKS guide's object count";
    LATENCY_MIN_OBSERVATIONS = "latency_min_observations", 100.0, "count",
        "observations a histogram needs before its P99 is judged (below 100 the P99 is the slowest one)", "apiserver-doctor default";
    PRIORITY_LEVEL_SATURATION_RATIO = "priority_level_saturation_ratio", 0.9, "ratio",
        "seats in use over a priority level's limit at or above which to warn", "apiserver-doctor default";
    ETCD_REQUEST_P99_WARNING_SECONDS = "etcd_request_p99_warning_seconds", 0.5, "s",
        "P99 of the API server's calls to etcd above which to warn (half the 1 s mutating SLO)", "apiserver-doctor default";
    CERTIFICATE_EXPIRY_WARNING_DAYS = "certificate_expiry_warning_days", 30.0, "days",
        "days before the API server's certificate expires under which to warn",
        "apiserver-doctor default (a month to renew; kubeadm's certificates last a year)";
    CERTIFICATE_EXPIRY_CRITICAL_DAYS = "certificate_expiry_critical_days", 7.0, "days",
        "days before the API server's certificate expires under which it is critical", "apiserver-doctor default";
    PROBE_LATENCY_WARNING_SECONDS = "probe_latency_warning_seconds", 1.0, "s",
        "slowest TCP connection to the API server, or slowest /readyz answer, above which to warn",
        "apiserver-doctor default (1 s: the mutating-call SLO, spent before the request starts)";
}

/// The thresholds in force: defaults, with overrides from `--config`.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    items: Vec<Threshold>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { items: DEFAULTS.to_vec() }
    }
}

impl Thresholds {
    /// The threshold called `name` (one of [`names`]).
    ///
    /// Names come from the constants in [`names`], never from input, so an unknown name is a
    /// programming error; it falls back to the first default rather than panicking.
    pub fn get(&self, name: &str) -> &Threshold {
        debug_assert!(self.items.iter().any(|t| t.name == name), "unknown threshold {name}");
        self.items.iter().find(|t| t.name == name).unwrap_or(&DEFAULTS[0])
    }

    /// The value of the threshold called `name`.
    pub fn value(&self, name: &str) -> f64 {
        self.get(name).value
    }

    /// Overrides one threshold; an unknown name is an error naming the closest known one.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("threshold `{name}` must be a finite number, got {value}"));
        }
        // Every threshold is a time, a count, a rate, a share or a factor: none is negative.
        if value < 0.0 {
            return Err(format!("threshold `{name}` must not be negative, got {value}"));
        }
        match self.items.iter_mut().find(|t| t.name == name) {
            // A share or a fraction of a whole is at most 1 (review s42: `top_client_share_warning:
            // 5`, meant as 5%, was 500% and silently named no offender). The factor is not one.
            Some(t) if t.unit == "ratio" && !t.name.ends_with("_factor") && value > 1.0 => Err(format!(
                "threshold `{name}` is a fraction of 1 (0.25 for 25%), got {value}{}",
                if value <= 100.0 {
                    format!("; for {value}% write {}", value / 100.0)
                } else {
                    String::new()
                }
            )),
            // No database holds anything under a quota of 0 bytes (review s42: "past etcd's 0 B
            // default quota").
            Some(t) if t.name == names::ETCD_QUOTA_BYTES && value == 0.0 => Err(format!(
                "threshold `{name}` is etcd's quota in bytes and cannot be 0 (etcd's default is 2147483648)"
            )),
            // Counts of requests, objects and bytes come whole (review s40: `min_requests: 2.5`).
            Some(t) if matches!(t.unit, "count" | "bytes") && value.fract() != 0.0 => Err(format!(
                "threshold `{name}` is a whole number{}, got {value}",
                if t.unit == "bytes" { " of bytes" } else { "" }
            )),
            Some(t) => {
                t.value = value;
                t.overridden = true;
                Ok(())
            }
            None => {
                if let Some((_, why)) = RETIRED.iter().find(|(retired, _)| *retired == name) {
                    return Err(format!("threshold `{name}` is no more: {why}"));
                }
                let names: Vec<&str> = DEFAULTS.iter().map(|t| t.name).collect();
                Err(match crate::spelling::close(name, &names).as_slice() {
                    [] => format!(
                        "unknown threshold `{name}`; the thresholds are listed under Thresholds at the end of \
                         `apiserver-doctor checks --markdown` (and of docs/checks.md)"
                    ),
                    [one] => format!("unknown threshold `{name}`; did you mean `{one}`?"),
                    several => format!(
                        "unknown threshold `{name}`; did you mean one of {}?",
                        several.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                })
            }
        }
    }

    /// Every threshold, in definition order.
    pub fn iter(&self) -> impl Iterator<Item = &Threshold> {
        self.items.iter()
    }

    /// Checks that each warning threshold comes before its critical one (below it, or above it
    /// for the days left before a certificate expires): the first pair out of order, as a
    /// message naming both, with their values.
    pub fn check_order(&self) -> Result<(), String> {
        for (warning, critical, rising) in ORDERED_PAIRS {
            let (w, c) = (self.get(warning), self.get(critical));
            let in_order = if rising { w.value <= c.value } else { w.value >= c.value };
            if !in_order {
                return Err(format!(
                    "`{warning}` ({}) must be {} `{critical}` ({}): a finding would be critical before it is a warning",
                    w.value,
                    if rising { "at most" } else { "at least" },
                    c.value
                ));
            }
        }
        Ok(())
    }
}

/// Thresholds that were and are no more, with what a config file that sets one should do.
const RETIRED: &[(&str, &str)] = &[(
    "p99_namespace_list_warning_seconds",
    "namespace-scope LISTs are judged against their SLO alone, `p99_namespace_list_seconds` (5 s, the \
     SIG-scalability API call latency SLO); set that one instead",
)];

/// Warning and critical thresholds of one measure, and whether worse is higher (`true`) or
/// lower (the days left on a certificate).
const ORDERED_PAIRS: [(&str, &str, bool); 9] = [
    (names::OBJECTS_PER_TYPE_WARNING, names::OBJECTS_PER_TYPE_CRITICAL, true),
    (names::ETCD_QUOTA_WARNING_RATIO, names::ETCD_QUOTA_CRITICAL_RATIO, true),
    (names::WAL_FSYNC_P99_WARNING_SECONDS, names::WAL_FSYNC_P99_CRITICAL_SECONDS, true),
    (names::BACKEND_COMMIT_P99_WARNING_SECONDS, names::BACKEND_COMMIT_P99_CRITICAL_SECONDS, true),
    (names::TOP_CLIENT_SHARE_WARNING, names::TOP_CLIENT_SHARE_CRITICAL, true),
    (names::EXPENSIVE_LIST_CONCURRENCY_WARNING, names::EXPENSIVE_LIST_CONCURRENCY_CRITICAL, true),
    (names::ERROR_RATE_WARNING, names::ERROR_RATE_CRITICAL, true),
    (names::CHURN_NET_PER_HOUR_WARNING, names::CHURN_NET_PER_HOUR_CRITICAL, true),
    (names::CERTIFICATE_EXPIRY_WARNING_DAYS, names::CERTIFICATE_EXPIRY_CRITICAL_DAYS, false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_say_they_come_from_the_config_and_bad_values_are_refused() {
        let mut t = Thresholds::default();
        assert_eq!(t.get(names::MIN_REQUESTS).origin(), "apiserver-doctor default");
        t.set(names::EXPENSIVE_LIST_CONCURRENCY_CRITICAL, 1.5).expect("known threshold");
        assert_eq!(
            t.get(names::EXPENSIVE_LIST_CONCURRENCY_CRITICAL).origin(),
            "set by --config (default 2 from apiserver-doctor default)"
        );
        let negative = t.set(names::P99_MUTATING_SECONDS, -1.0).expect_err("negative");
        assert!(negative.contains("must not be negative"), "{negative}");
        // Review s42: a share over 1 (5 meant as 5%) and a quota of 0 bytes are refused.
        let share = t.set(names::TOP_CLIENT_SHARE_WARNING, 5.0).expect_err("a share over 1");
        assert!(share.contains("is a fraction of 1 (0.25 for 25%), got 5; for 5% write 0.05"), "{share}");
        assert!(t.set(names::ERROR_RATE_CRITICAL, 1.5).is_err());
        assert!(t.set(names::ETCD_QUOTA_CRITICAL_RATIO, 1.0).is_ok(), "a share of 1 is the whole");
        assert!(t.set(names::LATENCY_OUTLIER_FACTOR, 5.0).is_ok(), "a factor may pass 1");
        let quota = t.set(names::ETCD_QUOTA_BYTES, 0.0).expect_err("a quota of 0");
        assert!(quota.contains("cannot be 0"), "{quota}");
        assert_eq!(t.value(names::P99_MUTATING_SECONDS), 1.0);
        assert_eq!(t.check_order(), Ok(()));
        t.set(names::EXPENSIVE_LIST_CONCURRENCY_WARNING, 3.0).expect("known threshold");
        let order = t.check_order().expect_err("warning above critical");
        assert!(order.contains("`expensive_list_concurrency_warning` (3) must be at most"), "{order}");
        // Days left on a certificate: the warning comes first at the higher number.
        let mut t = Thresholds::default();
        t.set(names::CERTIFICATE_EXPIRY_CRITICAL_DAYS, 60.0).expect("known threshold");
        assert!(t.check_order().expect_err("critical above warning").contains("must be at least"));
    }

    /// Docs review 51, item 1.1: the namespace-scope LIST SLO was 30 s, with a 5 s warning
    /// level; SIG-scalability's API call latency SLO is 5 s for `scope=namespace`.
    #[test]
    fn namespace_list_slo_is_five_seconds_as_sig_scalability_publishes() {
        let t = Thresholds::default();
        let slo = t.get(names::P99_NAMESPACE_LIST_SECONDS);
        assert_eq!((slo.value, slo.source), (5.0, "SIG-scalability API call latency SLO"));
        assert_eq!(t.value(names::P99_MUTATING_SECONDS), 1.0);
        assert_eq!(t.value(names::P99_CLUSTER_LIST_SECONDS), 30.0);
        // A config file that still sets the retired warning level is told what to set instead.
        let retired =
            Thresholds::default().set("p99_namespace_list_warning_seconds", 5.0).expect_err("retired");
        assert!(
            retired.contains("is no more") && retired.contains("`p99_namespace_list_seconds` (5 s"),
            "{retired}"
        );
    }

    #[test]
    fn override_changes_value_and_unknown_name_suggests_closest() {
        let mut t = Thresholds::default();
        assert_eq!(t.value(names::P99_MUTATING_SECONDS), 1.0);
        t.set(names::P99_MUTATING_SECONDS, 2.5).expect("known threshold");
        assert_eq!(t.value(names::P99_MUTATING_SECONDS), 2.5);
        let err = t.set("p99_mutatin_seconds", 1.0).expect_err("unknown threshold");
        assert!(err.contains("did you mean `p99_mutating_seconds`"), "{err}");
        assert!(t.set(names::P99_MUTATING_SECONDS, f64::NAN).is_err());
    }

    /// UX review: `bogus_thing` got "did you mean `log_gap_seconds`?", the nearest name at
    /// any distance; a name close to none is told where the names are listed.
    #[test]
    fn an_unknown_threshold_was_given_a_suggestion_at_any_distance() {
        let err = Thresholds::default().set("bogus_thing", 1.0).expect_err("unknown threshold");
        assert_eq!(
            err,
            "unknown threshold `bogus_thing`; the thresholds are listed under Thresholds at the end of \
             `apiserver-doctor checks --markdown` (and of docs/checks.md)"
        );
        let err = Thresholds::default().set("gap_seconds", 1.0).expect_err("part of a name");
        assert!(err.ends_with("did you mean `log_gap_seconds`?"), "{err}");
    }
}
