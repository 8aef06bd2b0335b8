//! The metrics and etcd checks over the scrapes `simulate` writes
//! (`DIR/metrics/{apiserver,etcd}-{1,2}.prom`): each problem scenario gives its findings.
//! The same path as `apiserver-doctor metrics`.

use findings::{Severity, Thresholds};
use metrics::Snapshot;
use simulate::{Config, Scenario};

/// (code, severity, subject) of every finding over a small simulated cluster's scrapes.
fn findings_of(scenario: Scenario) -> Vec<(String, Severity, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let start = simulate::parse_time(simulate::DEFAULT_START).expect("default start");
    let cfg = Config {
        nodes: 100,
        duration_seconds: 600,
        scenarios: vec![scenario],
        threads: 1,
        ..Config::new(start)
    };
    simulate::run(&cfg, dir.path()).unwrap_or_else(|e| panic!("simulate {scenario}: {e}"));
    let scrapes: Vec<Snapshot> = ["apiserver-1.prom", "apiserver-2.prom", "etcd-1.prom", "etcd-2.prom"]
        .iter()
        .map(|name| {
            let path = dir.path().join("metrics").join(name);
            let snapshot = metrics::load::load(&path.display().to_string())
                .unwrap_or_else(|e| panic!("{scenario}: {}: {e}", path.display()));
            let errors = &snapshot.exposition.errors;
            assert!(errors.is_empty(), "{scenario}: {name}: bad lines {errors:?}");
            snapshot
        })
        .collect();
    let report = etcd::report::scrapes_report(&scrapes, None, &Thresholds::default());
    report.findings.iter().map(|f| (f.code.clone(), f.severity, f.subject.name.clone())).collect()
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
