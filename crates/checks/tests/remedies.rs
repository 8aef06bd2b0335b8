//! Every command a finding prints runs as printed: each shell variable it uses is set before
//! (review 50: ETC005's `etcdctl --endpoints=$ENDPOINTS --cacert=$CA --cert=$CERT --key=$KEY …`
//! and MET004's `curl -s --cacert $CA --cert $CERT --key $KEY https://$ENDPOINT/metrics` used
//! variables set nowhere, and no test read the commands of every check).

mod common;

use std::path::PathBuf;

use common::Cluster;
use findings::{Finding, RemedyKind, Thresholds};
use metrics::Snapshot;
use metrics::checks::remedies::unset_shell_variables;

/// `(finding, remedy title, the variables it uses unset)` for each command remedy that uses one.
fn unset_in(findings: &[Finding]) -> Vec<(String, String, Vec<String>)> {
    findings
        .iter()
        .flat_map(|f| f.remedies.iter().map(move |r| (f, r)))
        .filter(|(_, r)| r.kind == RemedyKind::Command)
        .filter_map(|(f, r)| {
            let unset = unset_shell_variables(&r.body);
            (!unset.is_empty()).then(|| (format!("{} {}", f.code, f.title), r.title.clone(), unset))
        })
        .collect()
}

/// The scrape fixtures of the etcd crate.
fn fixture(name: &str) -> Snapshot {
    let path =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
            .join("../etcd/tests/fixtures")
            .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Snapshot::parse(name, &bytes, None)
}

fn scrape(name: &str, text: &str) -> Snapshot {
    Snapshot::parse(name, text.as_bytes(), None)
}

/// The metrics and etcd checks over the troubled and real scrapes, and over scrapes made to
/// reach ETC005's member without a leader and MET004's database past etcd's default quota
/// (which no fixture reaches): each command sets what it uses.
#[test]
fn metrics_and_etcd_remedies_use_no_unset_shell_variable() {
    let gib = 1024.0 * 1024.0 * 1024.0;
    let apiserver = |bytes: f64| {
        format!(
            "kubernetes_build_info{{git_version=\"v1.30.0\"}} 1\n\
             apiserver_request_duration_seconds_bucket{{verb=\"GET\",resource=\"pods\",scope=\"resource\",le=\"+Inf\"}} 1\n\
             apiserver_storage_size_bytes{{storage_cluster_id=\"etcd-0\"}} {bytes}\n"
        )
    };
    let no_leader = "etcd_server_id{server_id=\"8e9e05c52164694d\"} 1\netcd_server_has_leader 0\n\
                     etcd_server_is_leader 0\netcd_server_leader_changes_seen_total 9\n";
    let sets: Vec<Vec<Snapshot>> = vec![
        [
            "troubled-apiserver-1.prom",
            "troubled-apiserver-2.prom",
            "troubled-etcd-1.prom",
            "troubled-etcd-2.prom",
        ]
        .map(fixture)
        .to_vec(),
        vec![fixture("apiserver-1.35-excerpt-nri.prom"), fixture("etcd-3.6.6-nri-k8s1_35.prom")],
        vec![fixture("etcd-3.3.15-nri-k8s1_16.prom")],
        vec![scrape("apiserver.prom", &apiserver(1.95 * gib)), scrape("etcd.prom", no_leader)],
        vec![scrape("apiserver.prom", &apiserver(2.5 * gib))],
    ];
    let mut read = std::collections::BTreeSet::new();
    for scrapes in &sets {
        let report = etcd::report::scrapes_report(scrapes, None, &Thresholds::default());
        read.extend(
            report.findings.iter().flat_map(|f| f.remedies.iter().map(|r| (f.code.clone(), r.title.clone()))),
        );
        assert_eq!(
            unset_in(&report.findings),
            vec![],
            "{:?}",
            scrapes.iter().map(|s| &s.source).collect::<Vec<_>>()
        );
    }
    // The two that used `$CA`, `$CERT` and `$KEY` are among those read.
    for (code, title) in
        [("ETC005", "See which members are up and who leads"), ("MET004", "Read the real quota")]
    {
        assert!(
            read.contains(&(code.to_owned(), title.to_owned())),
            "{code} {title:?} not reached: {read:#?}"
        );
    }
}

/// The audit checks' commands over each problem the synthetic cluster has.
#[test]
fn audit_remedies_use_no_unset_shell_variable() {
    let clusters = [
        Cluster::new().healthy().list_storm(),
        Cluster::new().healthy().webhook_outage(),
        Cluster::new().healthy().object_leak(),
        Cluster::new().healthy().apf_throttled(),
        Cluster::new().healthy().chatty_client(),
        Cluster::new().healthy().slow_client(),
        Cluster::new().healthy().gap(600, 1200),
    ];
    let mut commands = 0;
    for cluster in &clusters {
        let d = common::diagnose(&cluster.events);
        let findings = &d.outcome.findings;
        commands +=
            findings.iter().flat_map(|f| &f.remedies).filter(|r| r.kind == RemedyKind::Command).count();
        assert_eq!(unset_in(findings), vec![]);
    }
    assert!(commands > 0, "no command remedy read");
}
