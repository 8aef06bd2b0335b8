//! The metrics and etcd checks over the scrapes `simulate` writes
//! (`DIR/metrics/{apiserver,etcd}-{1,2}.prom`): each problem scenario gives its findings.
//! The same path as `apiserver-doctor metrics`.

use findings::{Severity, Thresholds};
use metrics::Snapshot;
use simulate::{Config, Scenario};

/// The scrapes `simulate` writes for `scenario` over `nodes` nodes and `seconds`, loaded
/// from the files named in `names` (of `apiserver-{1,2}.prom`, `etcd-{1,2}.prom`).
fn scrapes_of(scenario: Scenario, nodes: usize, seconds: i64, names: &[&str]) -> Vec<Snapshot> {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = simulate::parse_time(simulate::DEFAULT_START).expect("default start");
    let cfg = Config {
        nodes,
        duration_seconds: seconds,
        scenarios: vec![scenario],
        threads: 1,
        ..Config::new(start)
    };
    simulate::run(&cfg, dir.path()).unwrap_or_else(|e| panic!("simulate {scenario}: {e}"));
    names
        .iter()
        .map(|name| {
            let path = dir.path().join("metrics").join(name);
            let snapshot = metrics::load::load(&path.display().to_string())
                .unwrap_or_else(|e| panic!("{scenario}: {}: {e}", path.display()));
            let errors = &snapshot.exposition.errors;
            assert!(errors.is_empty(), "{scenario}: {name}: bad lines {errors:?}");
            snapshot
        })
        .collect()
}

/// Every finding over the scrapes, as `apiserver-doctor metrics` gives them.
fn full_findings(scrapes: &[Snapshot]) -> Vec<findings::Finding> {
    etcd::report::scrapes_report(scrapes, None, &Thresholds::default()).findings
}

/// (code, severity, subject) of every finding over a small simulated cluster's scrapes.
fn findings_of(scenario: Scenario) -> Vec<(String, Severity, String)> {
    let scrapes = scrapes_of(
        scenario,
        100,
        600,
        &["apiserver-1.prom", "apiserver-2.prom", "etcd-1.prom", "etcd-2.prom"],
    );
    full_findings(&scrapes).iter().map(|f| (f.code.clone(), f.severity, f.subject.name.clone())).collect()
}

/// Asserts a finding of `code` at warning or above whose subject contains `subject`.
fn assert_finding(scenario: Scenario, findings: &[(String, Severity, String)], code: &str, subject: &str) {
    assert!(
        findings.iter().any(|(c, sev, s)| c == code && *sev >= Severity::Warning && s.contains(subject)),
        "{scenario}: no {code} at warning or above about {subject:?} in {findings:#?}"
    );
}

#[test]
fn object_leak_gives_the_object_count_of_the_leaked_resource() {
    let f = findings_of(Scenario::ObjectLeak);
    assert_finding(Scenario::ObjectLeak, &f, "MET002", "jobs.batch");
}

#[test]
fn apf_throttled_gives_apf_rejections() {
    let f = findings_of(Scenario::ApfThrottled);
    assert_finding(Scenario::ApfThrottled, &f, "MET006", "");
}

#[test]
fn etcd_slow_disk_gives_wal_fsync_and_backend_commit_latency() {
    let f = findings_of(Scenario::EtcdSlowDisk);
    assert_finding(Scenario::EtcdSlowDisk, &f, "ETC003", "");
    assert_finding(Scenario::EtcdSlowDisk, &f, "ETC004", "");
}

#[test]
fn webhook_outage_gives_webhook_failures() {
    let f = findings_of(Scenario::WebhookOutage);
    assert_finding(Scenario::WebhookOutage, &f, "MET009", "");
}

/// No false alarm: a healthy cluster's scrapes give nothing at warning or above. (It gave
/// database and events growth warnings while the simulated scrape files were timed by mtimes
/// milliseconds apart; see simulate's `healthy_simulated_metrics_show_absurd_growth`.)
#[test]
fn healthy_gives_nothing_at_warning_or_above() {
    let f = findings_of(Scenario::Healthy);
    let loud: Vec<_> = f.iter().filter(|(_, sev, _)| *sev >= Severity::Warning).collect();
    assert!(loud.is_empty(), "healthy: {loud:#?}");
}

/// Metrics review item 1: API server scrapes alone (the normal case on AKS, EKS, GKE) of a
/// 6.6 GiB database whose etcd has an 8 GiB quota gave "CRITICAL MET004 6.6 GiB of a 2.0 GiB
/// quota (328%)" and "MET005 reaches its 2.0 GiB quota in 0 min": the 2 GiB default was
/// assumed for a database that proves the quota is larger.
#[test]
fn apiserver_scrapes_alone_do_not_judge_a_database_past_the_default_against_the_default_quota() {
    let names = ["apiserver-1.prom", "apiserver-2.prom", "etcd-1.prom", "etcd-2.prom"];
    let all = scrapes_of(Scenario::ObjectLeak, 400, 900, &names);
    let alone = full_findings(&all[..2]);
    let met004: Vec<_> = alone.iter().filter(|f| f.code == "MET004").collect();
    assert_eq!(met004.len(), 1, "{alone:#?}");
    let f = met004[0];
    assert_eq!(f.severity, Severity::Info, "{}", f.title);
    assert_eq!(
        f.title,
        "etcd database is 6.6 GiB, past etcd's 2.0 GiB default quota: the real quota is unknown and larger"
    );
    assert!(!f.title.contains('%') && !f.summary.contains("328"), "{}", f.summary);
    assert!(f.summary.contains("The API server's metrics do not give etcd's quota"), "{}", f.summary);
    assert!(f.summary.contains("`--quota-backend-bytes`"), "{}", f.summary);
    assert!(
        f.summary.contains("On AKS, EKS and GKE the provider manages etcd and its quota (commonly 8 GiB)")
    );
    // `apiserver_storage_size_bytes` may be a different member at each scrape (review s47): no
    // growth per hour from it.
    assert!(!f.summary.contains("per hour"), "{}", f.summary);
    assert!(!alone.iter().any(|f| f.code == "MET005"), "no time to an unknown quota: {alone:#?}");
    // With the etcd scrapes, the real 8 GiB quota: 82%, a warning, and no MET005 (42 h away).
    let with_etcd = full_findings(&all);
    let f = with_etcd.iter().find(|f| f.code == "MET004").expect("MET004 with the etcd quota");
    assert_eq!(f.title, "etcd database is 6.6 GiB of a 8.0 GiB quota (82%)");
    // Ops review s38: the same number was also ETC001's warning, member by member; MET004
    // is then information that points at it.
    assert_eq!(f.severity, Severity::Info);
    assert!(f.summary.ends_with("act on that finding, which names the member."), "{}", f.summary);
    let etc001: Vec<_> = with_etcd.iter().filter(|f| f.code == "ETC001").collect();
    assert!(!etc001.is_empty() && etc001.iter().all(|f| f.severity == Severity::Warning), "{etc001:#?}");
    assert!(!with_etcd.iter().any(|f| f.code == "MET005"), "{with_etcd:#?}");
}

/// Metrics review item 7: on a slow etcd disk, MET011 printed "P99 502 ms" for calls whose
/// P99 lies in (0.4, 0.6] s, with "Every request that reaches etcd for this resource waits
/// that long" (1.7% of them took more than 0.4 s); ETC003/ETC004 said "1% of the WAL fsyncs
/// took longer than 933 ms", an interpolation in (0.512, 1.024] s.
#[test]
fn p99s_of_a_slow_etcd_disk_name_their_bucket_and_are_judged_by_it() {
    let names = ["apiserver-1.prom", "apiserver-2.prom", "etcd-1.prom", "etcd-2.prom"];
    let all = full_findings(&scrapes_of(Scenario::EtcdSlowDisk, 400, 900, &names));
    let met011: Vec<_> = all.iter().filter(|f| f.code == "MET011").collect();
    assert!(!met011.is_empty(), "{all:#?}");
    for f in &met011 {
        assert!(!f.summary.contains("Every request"), "{}", f.summary);
        assert!(f.summary.contains("by linear interpolation (as histogram_quantile)"), "{}", f.summary);
        // A bucket straddling the 0.5 s warning level: information that it may be above.
        if f.title.contains("(0.4, 0.6] s bucket") {
            assert_eq!(f.severity, Severity::Info, "{}", f.title);
            assert!(f.title.ends_with("may be above 0.5 s, for the API server"), "{}", f.title);
        } else {
            assert!(f.title.contains(", over 0.5 s,"), "{}", f.title);
        }
    }
    // etcd-mixin warns above 0.5 s and is critical above 1 s (review s47): a warning.
    let etc003 = all.iter().find(|f| f.code == "ETC003").expect("ETC003");
    assert_eq!(etc003.severity, Severity::Warning);
    assert!(
        etc003.title.ends_with("WAL fsync P99 in the (0.512, 1.024] s bucket, over 10 ms"),
        "{}",
        etc003.title
    );
    assert!(etc003.summary.contains("between the two scrapes (7.5 min)"), "{}", etc003.summary);
    assert!(!etc003.summary.contains("1% of the 192,927"), "{}", etc003.summary);
    let etc004 = all.iter().find(|f| f.code == "ETC004").expect("ETC004");
    assert!(etc004.title.contains("backend commit P99 in the (1.024, 2.048] s bucket"), "{}", etc004.title);
}

/// Metrics review item 7: MET007 printed "wait 6.88 s in APF queues (P99)", an interpolation
/// in the (5, 10] s bucket.
#[test]
fn apf_queue_wait_names_its_bucket() {
    let all = full_findings(&scrapes_of(
        Scenario::ApfThrottled,
        400,
        900,
        &["apiserver-1.prom", "apiserver-2.prom"],
    ));
    let f = all.iter().find(|f| f.code == "MET007").unwrap_or_else(|| panic!("no MET007: {all:#?}"));
    assert!(f.title.contains("P99 APF queue wait in the (5, 10] s bucket, over 1 s"), "{}", f.title);
    assert!(f.summary.contains("≈6.88 s by linear interpolation"), "{}", f.summary);
}

fn shared_data() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("APISERVER_DOCTOR_SHARED_DATA").map(std::path::PathBuf::from),
        Some(
            std::path::PathBuf::from(
                std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../../shared/data"),
        ),
        Some(std::path::PathBuf::from("/work/shared/data")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.join("real/metrics").is_dir());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "shared data (real/metrics) is required under CI");
        eprintln!("skipping: shared data with real/metrics not found (set APISERVER_DOCTOR_SHARED_DATA)");
    }
    found
}

/// Metrics review item 7: the real 1.29 etcd dump gave "WARNING ETC003 WAL fsync P99 10 ms
/// (above 10 ms)": ≈10.03 ms interpolated in the (8 ms, 16 ms] bucket, which straddles the
/// threshold; and a single scrape did not say it covers everything since the member started.
#[test]
fn a_wal_fsync_p99_whose_bucket_straddles_the_threshold_may_be_above_it() {
    let Some(data) = shared_data() else { return };
    let path = data.join("real/metrics/etcd/nri-kubernetes_k8s1_29_etcd.prom");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scrape = Snapshot::parse("etcd-1.29.prom", &bytes, None);
    let all = full_findings(&[scrape]);
    let f = all.iter().find(|f| f.code == "ETC003").unwrap_or_else(|| panic!("no ETC003: {all:#?}"));
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.title,
        "etcd member b2c6679ac05f2cf1 (etcd-1.29.prom): WAL fsync P99 in the (0.008, 0.016] s bucket, may be over 10 ms"
    );
    assert!(
        f.summary.contains("since the member started (one scrape: cumulative counters)"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains("≈10.0 ms by linear interpolation"), "{}", f.summary);
    assert!(f.summary.contains("The bucket straddles the 10 ms warning level"), "{}", f.summary);
}

/// Metrics review (minor): ETC001 rounded to whole percent ("(0%)" for 0.107%), and ETC005
/// said "in 8 min" for a 450 s window.
#[test]
fn small_quota_shares_keep_a_decimal_and_a_450_s_window_is_7_5_min() {
    let m = metrics::EtcdMetrics {
        source: "etcd.prom".into(),
        target: "etcd 3.5.12".into(),
        window_seconds: Some(450.0),
        db_total_bytes: Some(2_300_000_000.0),
        quota_bytes: Some(2_147_483_648_000.0),
        has_leader: Some(1.0),
        is_leader: Some(1.0),
        leader_changes: Some(6.0),
        ..Default::default()
    };
    let out = etcd::checks::run(&etcd::EtcdEvidence::from_metrics(&[m]), &Thresholds::default());
    let etc001 = out.iter().find(|f| f.code == "ETC001").expect("ETC001 (large)");
    assert!(etc001.title.ends_with("(0.1%)"), "{}", etc001.title);
    let etc005 = out.iter().find(|f| f.code == "ETC005").expect("ETC005");
    assert!(etc005.title.ends_with("saw 6 leader changes in 7.5 min"), "{}", etc005.title);
}

/// Metrics review (rev-metrics) item 4: one scrape of a member whose
/// `etcd_server_leader_changes_seen_total` is 7 gave "WARNING saw 7 leader changes since the
/// member started", against etcd-mixin's 4 in 15 minutes, over an uptime that may be months.
/// With no known window (one scrape, or two whose times are unknown) it is information.
#[test]
fn etc005_warned_on_a_lifetime_leader_change_count_of_unknown_window() {
    let member = |window_seconds: Option<f64>| metrics::EtcdMetrics {
        source: "etcd.prom".into(),
        target: "etcd 3.5.12".into(),
        window_seconds,
        db_total_bytes: Some(2_000_000.0),
        quota_bytes: Some(2_147_483_648.0),
        has_leader: Some(1.0),
        is_leader: Some(1.0),
        leader_changes: Some(7.0),
        ..Default::default()
    };
    let etc005 = |window| {
        let out =
            etcd::checks::run(&etcd::EtcdEvidence::from_metrics(&[member(window)]), &Thresholds::default());
        out.into_iter().find(|f| f.code == "ETC005").expect("ETC005")
    };
    let one = etc005(None);
    assert_eq!(one.severity, Severity::Info);
    assert!(one.title.ends_with("saw 7 leader changes since the member started"), "{}", one.title);
    assert!(one.summary.contains("Over how long is unknown, so this is no rate"), "{}", one.summary);
    assert_eq!(etc005(Some(0.0)).severity, Severity::Info, "two scrapes, times unknown");
    // Over a known window the rule applies as before.
    let known = etc005(Some(900.0));
    assert_eq!(known.severity, Severity::Warning);
    assert!(!known.summary.contains("Over how long is unknown"), "{}", known.summary);
}
