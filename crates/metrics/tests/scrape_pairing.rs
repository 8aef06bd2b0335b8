//! How scrapes are grouped into processes, put in order and paired into windows (metrics
//! review items 2, 3, 4, 10 and 11; issues review item 10: the modification times of copies):
//! one test per bug, named after it.

use findings::{Severity, Thresholds};
use metrics::{MetricsEvidence, Snapshot};

/// A kube-apiserver 1.29.5 scrape: `rejected` webhook call failures and `requests` requests
/// since `started`, `pods` pod objects; every sample stamped with `stamp_ms` when given.
fn scrape(started: f64, rejected: u64, requests: u64, pods: u64, stamp_ms: Option<i64>) -> String {
    let ts = stamp_ms.map(|t| format!(" {t}")).unwrap_or_default();
    format!(
        "# TYPE kubernetes_build_info gauge\n\
kubernetes_build_info{{git_version=\"v1.29.5\"}} 1{ts}\n\
# TYPE process_start_time_seconds gauge\n\
process_start_time_seconds {started}{ts}\n\
# TYPE apiserver_request_total counter\n\
apiserver_request_total{{code=\"200\",resource=\"pods\",verb=\"GET\"}} {requests}{ts}\n\
apiserver_request_total{{code=\"201\",resource=\"pods\",verb=\"POST\"}} {}{ts}\n\
# TYPE apiserver_admission_webhook_rejection_count counter\n\
apiserver_admission_webhook_rejection_count{{error_type=\"calling_webhook_error\",name=\"w.example.com\",operation=\"CREATE\",rejection_code=\"500\",type=\"admit\"}} {rejected}{ts}\n\
# TYPE apiserver_storage_objects gauge\n\
apiserver_storage_objects{{resource=\"pods\"}} {pods}{ts}\n",
        requests / 2
    )
}

fn snap(name: &str, text: &str, mtime_ms: Option<i64>) -> Snapshot {
    Snapshot::parse(name, text.as_bytes(), mtime_ms)
}

const T0: i64 = 1_741_680_000_000;
const STARTED: f64 = 1.741683599e9;

fn call_failures(ev: &MetricsEvidence) -> Vec<f64> {
    ev.apiservers.iter().flat_map(|a| a.webhooks.iter().map(|w| w.call_failures)).collect()
}

fn pods(ev: &MetricsEvidence) -> Vec<f64> {
    ev.apiservers.iter().flat_map(|a| a.objects.iter().map(|o| o.count)).collect()
}

#[test]
fn scrapes_given_in_reverse_mtime_order_are_ordered_by_their_counters() {
    // before.prom was written last (a `cp` in the other order): its mtime is 7.5 min later.
    let before = snap("before.prom", &scrape(STARTED, 266, 10_000, 12_007, None), Some(T0 + 450_000));
    let after = snap("after.prom", &scrape(STARTED, 751, 14_000, 11_837, None), Some(T0));
    for interval in [Some(450.0), None] {
        let ev = MetricsEvidence::from_snapshots(&[before.clone(), after.clone()], interval);
        assert_eq!(call_failures(&ev), [485.0], "751 − 266 in the window, not the earlier total");
        assert_eq!(pods(&ev), [11_837.0], "the latest pod count");
        let notes = ev.notes.join("\n");
        assert!(
            notes.contains(
                "before.prom → after.prom are taken in that order because every one of the 3 counters"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("The files' modification times say the opposite order and were not used"),
            "{notes}"
        );
        match interval {
            Some(_) => assert_eq!(ev.apiservers[0].window_seconds, Some(450.0)),
            // The reversed mtimes give no length: a window of unknown length, said so.
            None => {
                assert_eq!(ev.apiservers[0].window_seconds, Some(0.0));
                assert!(notes.contains("the time between before.prom and after.prom is unknown"), "{notes}");
            }
        }
    }
}

#[test]
fn scrapes_whose_counters_do_not_tell_are_ordered_by_mtime_and_the_note_says_so() {
    let a = snap("a.prom", &scrape(STARTED, 5, 100, 10, None), Some(T0 + 60_000));
    let b = snap("b.prom", &scrape(STARTED, 5, 100, 20, None), Some(T0));
    let ev = MetricsEvidence::from_snapshots(&[a.clone(), b.clone()], None);
    assert_eq!(pods(&ev), [10.0], "a.prom is the later by its mtime");
    assert_eq!(ev.apiservers[0].window_seconds, Some(60.0));
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains(
            "b.prom → a.prom are ordered by the files' modification times, the last resort: their samples carry no \
             timestamps and their counters do not tell the order (all 3 counters they share are equal)"
        ),
        "{notes}"
    );
    // With --interval, the order given on the command line.
    let ev = MetricsEvidence::from_snapshots(&[a, b], Some(60.0));
    assert_eq!(pods(&ev), [20.0], "b.prom is given last");
    assert!(
        ev.notes.join("\n").contains("taken in the order given on the command line (--interval was given)")
    );
}

#[test]
fn scrapes_of_two_api_server_processes_are_never_subtracted() {
    // HA replicas: replica A has no failures, replica B 751 since it started.
    let a = snap("replica-a.prom", &scrape(1.7416e9, 0, 9_000, 12_000, None), Some(T0));
    let b = snap("replica-b.prom", &scrape(STARTED, 751, 14_000, 11_837, None), Some(T0 + 300_000));
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    // Each process is its own target, and the cluster-wide gauges (object counts, database
    // size) one more, compared across them (review 26 §2).
    assert_eq!(ev.apiservers.len(), 3, "two processes and the cluster-wide gauges");
    assert!(ev.apiservers[..2].iter().all(|a| a.window_seconds.is_none()), "one scrape each: cumulative");
    assert!(ev.apiservers[..2].iter().all(|a| a.objects.is_empty()), "gauges are judged once");
    let cluster = &ev.apiservers[2];
    assert_eq!(cluster.window_seconds, Some(300.0));
    assert!(cluster.webhooks.is_empty() && cluster.latency.is_empty(), "counters stay per process");
    assert_eq!(cluster.source, "replica-a.prom → replica-b.prom (different API server processes)");
    assert_eq!(call_failures(&ev), [751.0], "replica B's total since it started, never 751 − 0 over 5 min");
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains("The 2 kube-apiserver scrapes came from 2 different API server processes (they differ in start time)"),
        "{notes}"
    );
    assert!(notes.contains("so no window between scrapes could be formed for its counters"), "{notes}");
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    let met009 = findings.iter().find(|f| f.code == "MET009").expect("MET009");
    assert!(met009.summary.contains("751 requests since the process started"), "{}", met009.summary);
}

#[test]
fn two_scrapes_with_equal_times_are_an_increase_of_unknown_length_not_since_start() {
    let a = snap("a1.prom", &scrape(STARTED, 266, 10_000, 12_007, None), Some(T0));
    let b = snap("a2.prom", &scrape(STARTED, 751, 14_000, 11_837, None), Some(T0));
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    assert_eq!(ev.apiservers[0].window_seconds, Some(0.0), "two scrapes, no length");
    assert_eq!(call_failures(&ev), [485.0]);
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    let met009 = findings.iter().find(|f| f.code == "MET009").expect("MET009");
    assert!(
        met009
            .summary
            .contains("485 requests between the two scrapes (their times are equal or unknown, so no rate)"),
        "{}",
        met009.summary
    );
    assert!(
        !findings.iter().any(|f| f.code == "MET003" || f.code == "MET005"),
        "no growth per hour without a length"
    );
}

#[test]
fn interval_is_not_used_when_the_samples_carry_timestamps() {
    let a = snap("p1.prom", &scrape(STARTED, 0, 100, 9_000, Some(T0)), None);
    let b = snap("p2.prom", &scrape(STARTED, 0, 200, 9_500, Some(T0 + 1_800_000)), None);
    let ev = MetricsEvidence::from_snapshots(&[a, b], Some(60.0));
    assert_eq!(
        ev.apiservers[0].window_seconds,
        Some(1800.0),
        "30 min from the timestamps, not --interval 60"
    );
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains("--interval 60 was not used for p1.prom → p2.prom: their samples carry timestamps"),
        "{notes}"
    );
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    let met003 = findings.iter().find(|f| f.code == "MET003").expect("MET003");
    assert!(met003.title.contains("1,000 objects per hour"), "{}", met003.title);
}

#[test]
fn duplicate_series_keep_the_first_and_are_reported_with_their_line() {
    let text = "# TYPE g gauge\ng{a=\"1\",b=\"2\"} 0\ng{b=\"2\",a=\"1\"} 5\n\
# TYPE c_total counter\nc_total 3\nc_total 9\n\
# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1\"} 7\nh_bucket{le=\"+Inf\"} 2\nh_count 2\nh_sum 1\n";
    let s = snap("dup.prom", text, None);
    let values: Vec<(String, f64)> = s.exposition.samples.iter().map(|x| (x.name.clone(), x.value)).collect();
    let want: Vec<(String, f64)> = [
        ("g", 0.0),
        ("c_total", 3.0),
        ("h_bucket", 1.0),
        ("h_bucket", 2.0),
        ("h_count", 2.0),
        ("h_sum", 1.0),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), *v))
    .collect();
    assert_eq!(values, want, "the first of each duplicate is kept");
    let lines: Vec<usize> = s.exposition.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 6, 9], "each second occurrence is reported on its line");
    assert!(
        s.exposition.errors[0].message.starts_with("duplicate series `g{b=\"2\",a=\"1\"}` (first on line 2)"),
        "{}",
        s.exposition.errors[0].message
    );
}

/// A kube-apiserver 1.29.5 scrape with `requests` requests and an etcd database of `db` bytes.
fn apiserver_with_db(requests: u64, db: u64) -> String {
    format!(
        "# TYPE kubernetes_build_info gauge\n\
kubernetes_build_info{{git_version=\"v1.29.5\"}} 1\n\
# TYPE process_start_time_seconds gauge\n\
process_start_time_seconds {STARTED}\n\
# TYPE apiserver_request_total counter\n\
apiserver_request_total{{code=\"200\",resource=\"pods\",verb=\"GET\"}} {requests}\n\
# TYPE apiserver_storage_size_bytes gauge\n\
apiserver_storage_size_bytes{{storage_cluster_id=\"etcd-0\"}} {db}\n"
    )
}

/// An etcd 3.5.12 member's scrape with an 8 GiB quota and a database of `db` bytes.
fn etcd_with_db(proposals: u64, db: u64) -> String {
    format!(
        "# TYPE etcd_server_version gauge\n\
etcd_server_version{{server_version=\"3.5.12\"}} 1\n\
etcd_server_id{{server_id=\"8e9e05c52164694d\"}} 1\n\
process_start_time_seconds {STARTED}\n\
# TYPE etcd_server_proposals_committed_total counter\n\
etcd_server_proposals_committed_total {proposals}\n\
etcd_server_has_leader 1\n\
etcd_server_quota_backend_bytes 8589934592\n\
etcd_mvcc_db_total_size_in_bytes {db}\n"
    )
}

#[test]
fn scrapes_copied_milliseconds_apart_give_no_rate_not_terabytes_per_hour() {
    // `cp -r` of two scrapes taken 15 min apart: their modification times are now those of the
    // copy, 0.5 ms apart (straddling a millisecond, so 1 ms apart as read). Read as the
    // interval, 6.5 GiB → 6.6 GiB "in 0 s" was "251.5 TiB per hour, quota in 0 min".
    let gib = 1u64 << 30;
    let (db1, db2) = (65 * gib / 10, 66 * gib / 10);
    let dir = tempfile::tempdir().expect("temporary directory");
    let base = std::time::UNIX_EPOCH + std::time::Duration::from_micros(T0 as u64 * 1000 + 700);
    let files = [
        ("apiserver-1.prom", apiserver_with_db(10_000, db1), 0),
        ("apiserver-2.prom", apiserver_with_db(14_000, db2), 500),
        ("etcd-1.prom", etcd_with_db(1_000, db1), 0),
        ("etcd-2.prom", etcd_with_db(2_000, db2), 500),
    ];
    let mut snapshots = Vec::new();
    for (name, text, micros) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write scrape");
        let file = std::fs::File::options().write(true).open(&path).expect("open scrape");
        file.set_modified(base + std::time::Duration::from_micros(*micros)).expect("set mtime");
        drop(file);
        let loaded = metrics::load::load(&path.display().to_string()).expect("load scrape");
        snapshots.push(loaded);
    }
    let mtimes: Vec<Option<i64>> = snapshots.iter().map(|s| s.fallback_time_ms).collect();
    assert_eq!(mtimes, [Some(T0), Some(T0 + 1), Some(T0), Some(T0 + 1)], "1 ms apart as read");

    let ev = MetricsEvidence::from_snapshots(&snapshots, None);
    assert_eq!(ev.apiservers[0].window_seconds, Some(0.0), "two scrapes, no length");
    assert_eq!(ev.etcd[0].window_seconds, Some(0.0), "two scrapes, no length");
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    assert!(
        !findings.iter().any(|f| f.code == "MET005"),
        "no growth per hour from copies' times: {:#?}",
        findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let met004 = findings.iter().find(|f| f.code == "MET004").expect("MET004: 6.6 of 8 GiB");
    assert!(!met004.summary.contains("per hour"), "{}", met004.summary);
    let notes = ev.notes.join("\n");
    let (a1, a2) = (dir.path().join("apiserver-1.prom"), dir.path().join("apiserver-2.prom"));
    assert!(
        notes.contains(&format!(
            "kube-apiserver 1.29.5: the modification times of {} and {} are only 1 ms apart, too close to be the times \
             they were scraped (a copy made with cp, cp -r, git checkout or kubectl cp gets the time of the copy, not \
             of the scrape), so the time between the two scrapes is taken as unknown",
            a1.display(),
            a2.display()
        )),
        "{notes}"
    );
    assert!(
        notes.contains(&format!(
            "For rates, give the time between the scrapes: apiserver-doctor metrics --interval SECONDS {} {}",
            a1.display(),
            a2.display()
        )),
        "{notes}"
    );
    assert!(!notes.contains("opposite order"), "1 ms tells no order: {notes}");

    // With the real interval, the window is 15 min again. `apiserver_storage_size_bytes` may be
    // a different member at each scrape, and the etcd scrapes judge growth per member (ETC009):
    // MET005 says nothing.
    let ev = MetricsEvidence::from_snapshots(&snapshots, Some(900.0));
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    assert!(findings.iter().all(|f| f.code != "MET005"), "{findings:#?}");
    assert_eq!(ev.etcd[0].window_seconds, Some(900.0));
    assert_eq!(ev.apiservers[0].window_seconds, Some(900.0));
}

#[test]
fn scrapes_whose_counters_do_not_tell_and_whose_mtimes_are_under_a_second_apart_keep_the_order_given() {
    // The order of a `cp -r` is the directory's, not the scrapes': 300 ms tells nothing.
    let a = snap("a.prom", &scrape(STARTED, 5, 100, 10, None), Some(T0 + 300));
    let b = snap("b.prom", &scrape(STARTED, 5, 100, 20, None), Some(T0));
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    assert_eq!(pods(&ev), [20.0], "b.prom is given last");
    assert_eq!(ev.apiservers[0].window_seconds, Some(0.0));
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains(
            "a.prom → b.prom are taken in the order given: their samples carry no timestamps, their counters do not \
             tell the order (all 3 counters they share are equal), and the files' modification times are less than \
             1 s apart, too close to tell it."
        ),
        "{notes}"
    );
    assert!(notes.contains("the modification times of a.prom and b.prom are only 300 ms apart"), "{notes}");
}

#[test]
fn a_sub_second_window_from_sample_timestamps_is_kept_and_written_in_fractions() {
    // Timestamps are the scrape times: 500 ms apart is a real, if short, window.
    let a = snap("p1.prom", &scrape(STARTED, 0, 100, 9_000, Some(T0)), Some(T0));
    let b = snap("p2.prom", &scrape(STARTED, 0, 200, 9_500, Some(T0 + 500)), Some(T0));
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    assert_eq!(ev.apiservers[0].window_seconds, Some(0.5));
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    let met003 = findings.iter().find(|f| f.code == "MET003").expect("MET003");
    assert!(met003.summary.contains("in 0.5 s between the two scrapes"), "{}", met003.summary);
}

/// Review s42, item 3: two scrapes whose counters both grew and fell (GET and POST up, the
/// webhook's rejections down), given oldest first: the note said "1 grew and 2 fell" of
/// `old.prom → new.prom`, counting from the second to the first. Grew and fell now count from
/// the scrape the note names first to the one it names second, whichever order they were given.
#[test]
fn grew_and_fell_are_counted_in_the_order_the_note_names() {
    let old = snap("old.prom", &scrape(STARTED, 300, 100, 10, None), Some(T0));
    let new = snap("new.prom", &scrape(STARTED, 200, 200, 10, None), Some(T0 + 300_000));
    for given in [[old.clone(), new.clone()], [new.clone(), old.clone()]] {
        let ev = MetricsEvidence::from_snapshots(&given, None);
        let notes = ev.notes.join("\n");
        assert!(
            notes.contains(
                "old.prom → new.prom are ordered by the files' modification times, the last resort: their samples \
                 carry no timestamps and their counters do not tell the order (of the 3 counters they share, 2 grew \
                 and 1 fell)"
            ),
            "{notes}"
        );
    }
    // Three scrapes: the two that do not tell are named.
    let third = snap("third.prom", &scrape(STARTED, 400, 300, 10, None), Some(T0 + 600_000));
    let ev = MetricsEvidence::from_snapshots(&[old, new, third], None);
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains(
            "of the 3 counters old.prom and new.prom share, 2 grew from old.prom to new.prom and 1 fell"
        ),
        "{notes}"
    );
}

/// Metrics review s47, item 1: the API server writes `apiserver_storage_objects` -1 when it
/// could not count a resource. Read as 0, pods at -1 then 120,000 fifteen minutes later were
/// "growing by 480,000 objects per hour"; the count is unknown and named in the notes.
#[test]
fn an_object_count_of_minus_one_was_read_as_zero_and_became_growth() {
    let at = |pods: i64, stamp: i64| {
        scrape(STARTED, 0, 100, 0, Some(stamp)).replace(
            "apiserver_storage_objects{resource=\"pods\"} 0",
            &format!("apiserver_storage_objects{{resource=\"pods\"}} {pods}"),
        )
    };
    let a = snap("a.prom", &at(-1, T0), None);
    let b = snap("b.prom", &at(120_000, T0 + 900_000), None);
    let ev = MetricsEvidence::from_snapshots(&[a.clone(), b.clone()], None);
    assert_eq!(pods(&ev), [120_000.0], "the latest count is known");
    assert_eq!(ev.apiservers[0].objects[0].first_count, None, "the first is unknown, not 0");
    assert_eq!(
        ev.apiservers[0].skipped_values,
        [
            "a.prom: apiserver_storage_objects{resource=\"pods\"} is -1: the API server could not count them (it \
             writes -1 then); left out of the growth"
        ]
    );
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    assert!(!findings.iter().any(|f| f.code == "MET003"), "{findings:#?}");
    // The other way round the latest count is unknown: no count, no growth, and it is said.
    let c = snap("c.prom", &at(-1, T0 + 1_800_000), None);
    let ev = MetricsEvidence::from_snapshots(&[b, c], None);
    assert!(pods(&ev).is_empty(), "{:?}", pods(&ev));
    assert_eq!(
        ev.apiservers[0].skipped_values,
        [
            "c.prom: apiserver_storage_objects{resource=\"pods\"} is -1: the API server could not count them (it \
             writes -1 then); its count is unknown"
        ]
    );
}

/// A kube-apiserver scrape of `version` started at `started`, its samples stamped `stamp_ms`,
/// with the database size `db` under `family{label}`.
fn apiserver_db_at(version: &str, started: f64, family: &str, label: &str, db: u64, stamp_ms: i64) -> String {
    format!(
        "# TYPE kubernetes_build_info gauge\n\
kubernetes_build_info{{git_version=\"{version}\"}} 1 {stamp_ms}\n\
# TYPE process_start_time_seconds gauge\n\
process_start_time_seconds {started} {stamp_ms}\n\
# TYPE apiserver_request_total counter\n\
apiserver_request_total{{code=\"200\",resource=\"pods\",verb=\"GET\"}} 1000 {stamp_ms}\n\
# TYPE {family} gauge\n\
{family}{{{label}}} {db} {stamp_ms}\n"
    )
}

#[test]
fn two_members_sizes_were_read_as_one_database_growing() {
    let mib = 1u64 << 20;
    let growth = |ev: &MetricsEvidence| {
        let findings = metrics::checks::run(ev, &Thresholds::default());
        findings.into_iter().filter(|f| f.code == "MET005").collect::<Vec<_>>()
    };
    // 1.29: `apiserver_storage_size_bytes` is a member picked at random on each poll. One
    // process, 10 min apart, 1,000 MiB (a defragmented member) then 1,800 MiB (another): before,
    // a warning "grows by 4.7 GiB per hour and reaches the assumed 2.0 GiB quota in 3 min".
    let (family, label) = ("apiserver_storage_size_bytes", "storage_cluster_id=\"etcd-0\"");
    let a = Snapshot::parse(
        "a.prom",
        apiserver_db_at("v1.29.5", STARTED, family, label, 1000 * mib, T0).as_bytes(),
        None,
    );
    let b = Snapshot::parse(
        "b.prom",
        apiserver_db_at("v1.29.5", STARTED, family, label, 1800 * mib, T0 + 600_000).as_bytes(),
        None,
    );
    let found = growth(&MetricsEvidence::from_snapshots(&[a, b], None));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::Info);
    assert_eq!(
        found[0].title,
        "etcd database size went from 1000.0 MiB to 1.8 GiB in 600 s: perhaps two members, not growth"
    );
    assert!(found[0].summary.contains("picked at random"), "{}", found[0].summary);
    assert!(!found[0].title.contains("per hour"), "{}", found[0].title);

    // 1.25: `etcd_db_total_size_in_bytes{endpoint}` of two API server processes (started at
    // different times), each at its own member under https://127.0.0.1:2379.
    let (family, label) = ("etcd_db_total_size_in_bytes", "endpoint=\"https://127.0.0.1:2379\"");
    let a = Snapshot::parse(
        "cp1.prom",
        apiserver_db_at("v1.25.4", STARTED, family, label, 1000 * mib, T0).as_bytes(),
        None,
    );
    let b = Snapshot::parse(
        "cp2.prom",
        apiserver_db_at("v1.25.4", STARTED + 1000.0, family, label, 1800 * mib, T0 + 600_000).as_bytes(),
        None,
    );
    let found = growth(&MetricsEvidence::from_snapshots(&[a, b], None));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::Info, "{found:#?}");
    assert!(found[0].summary.contains("different API server processes"), "{}", found[0].summary);

    // The same per-endpoint series of one process is one member: growth, a warning.
    let a = Snapshot::parse(
        "cp1.prom",
        apiserver_db_at("v1.25.4", STARTED, family, label, 1000 * mib, T0).as_bytes(),
        None,
    );
    let b = Snapshot::parse(
        "cp1-later.prom",
        apiserver_db_at("v1.25.4", STARTED, family, label, 1800 * mib, T0 + 600_000).as_bytes(),
        None,
    );
    let found = growth(&MetricsEvidence::from_snapshots(&[a, b], None));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::Warning, "{found:#?}");
    assert!(found[0].title.starts_with("etcd database grows by 4.7 GiB per hour"), "{}", found[0].title);
}

/// Two scrapes filtered to the webhook series (no `process_start_time_seconds`), as
/// docs/metrics.md suggests: `rejected` call failures.
fn filtered_scrape(rejected: u64) -> String {
    format!(
        "# TYPE kubernetes_build_info gauge\n\
kubernetes_build_info{{git_version=\"v1.30.0\",major=\"1\",minor=\"30\"}} 1\n\
# TYPE apiserver_admission_webhook_rejection_count counter\n\
apiserver_admission_webhook_rejection_count{{error_type=\"calling_webhook_error\",name=\"policy.example.com\",operation=\"CREATE\",rejection_code=\"500\",type=\"validating\"}} {rejected}\n\
# TYPE apiserver_admission_webhook_request_total counter\n\
apiserver_admission_webhook_request_total{{code=\"500\",name=\"policy.example.com\",operation=\"CREATE\",rejected=\"true\",type=\"validating\"}} {rejected}\n\
apiserver_admission_webhook_request_total{{code=\"200\",name=\"policy.example.com\",operation=\"CREATE\",rejected=\"false\",type=\"validating\"}} {}\n",
        rejected * 8
    )
}

fn met009(ev: &MetricsEvidence) -> findings::Finding {
    let findings = metrics::checks::run(ev, &Thresholds::default());
    findings.into_iter().find(|f| f.code == "MET009").expect("MET009")
}

#[test]
fn scrapes_without_a_start_time_were_put_in_order_by_counters_against_their_file_times_and_made_up_a_critical()
 {
    // Review 50, item 1: a.prom (500 rejections, 10:00) and b.prom (20, 10:15), two replicas
    // behind a load balancer or a restart. They were turned around by their counters and
    // 500 − 20 = 480 rejections "between the two scrapes" drove a critical.
    let a = snap("a.prom", &filtered_scrape(500), Some(T0));
    let b = snap("b.prom", &filtered_scrape(20), Some(T0 + 900_000));
    let ev = MetricsEvidence::from_snapshots(&[a.clone(), b.clone()], None);
    assert_eq!(
        call_failures(&ev),
        [20.0],
        "the file times' order, the fall counted from zero as Prometheus does"
    );
    assert_eq!(ev.apiservers[0].window_seconds, Some(900.0));
    let notes = ev.notes.join("\n");
    assert!(
        notes.contains("a.prom → b.prom are taken in that order, by the files' modification times"),
        "{notes}"
    );
    let f = met009(&ev);
    assert_eq!(f.severity, Severity::Warning, "{}", f.summary);
    assert!(f.summary.contains("rests on a guess"), "{}", f.summary);
    assert!(f.summary.contains("not raised on that guess"), "{}", f.summary);

    // Times that do not tell the order (copies): the counters' order is a guess, so no critical.
    let (a, b) =
        (snap("a.prom", &filtered_scrape(500), Some(T0)), snap("b.prom", &filtered_scrape(20), Some(T0)));
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    assert_eq!(call_failures(&ev), [480.0]);
    let f = met009(&ev);
    assert_eq!(f.severity, Severity::Warning, "{}", f.summary);
    assert!(f.summary.contains("put in order by their counters alone"), "{}", f.summary);

    // Counters that grow in the order of the file times are one process's, as far as
    // anything can tell: judged as before.
    let (a, b) = (
        snap("a.prom", &filtered_scrape(20), Some(T0)),
        snap("b.prom", &filtered_scrape(500), Some(T0 + 900_000)),
    );
    let ev = MetricsEvidence::from_snapshots(&[a, b], None);
    assert_eq!(call_failures(&ev), [480.0]);
    let f = met009(&ev);
    assert_eq!(f.severity, Severity::Critical, "{}", f.summary);
    assert!(!f.summary.contains("guess"), "{}", f.summary);
}

/// A kube-apiserver scrape of `version` without a start time: `objects` (resource, count)
/// and the database size at storage `storage_cluster_id`.
fn cluster_scrape(version: &str, objects: &[(&str, u64)], storage: &str) -> String {
    let mut out = format!(
        "# TYPE kubernetes_build_info gauge\nkubernetes_build_info{{git_version=\"v{version}\"}} 1\n\
# TYPE apiserver_storage_size_bytes gauge\napiserver_storage_size_bytes{{storage_cluster_id=\"{storage}\"}} 2.4e+06\n\
# TYPE apiserver_storage_objects gauge\n"
    );
    for (resource, count) in objects {
        out.push_str(&format!("apiserver_storage_objects{{resource=\"{resource}\"}} {count}\n"));
    }
    out
}

/// Metrics review (rev-metrics) item 1: a 1.30 scrape of cluster A with 12,000 pods and
/// 1,200,000 events, given with an older file time than a 1.35 scrape of cluster B, gave no
/// finding (the gauges were judged on the last scrape only); the other way round, the
/// difference of their secrets (2 → 10,000) was read as growth (a false MET003). API servers
/// more than one minor version apart cannot share one etcd: each is judged on its own.
#[test]
fn gauges_of_two_clusters_were_merged_and_judged_on_the_last_scrape_only() {
    let a_objects = [("pods", 12_000), ("events", 1_200_000), ("secrets", 10_000)];
    let b_objects = [("pods", 40), ("events", 100), ("secrets", 2)];
    let a = cluster_scrape("1.30.2", &a_objects, "etcd-0");
    let b = cluster_scrape("1.35.0", &b_objects, "etcd-0");
    for (a_ms, b_ms) in [(T0, T0 + 1_689_000), (T0 + 1_689_000, T0)] {
        let files = [snap("clusterA.prom", &a, Some(a_ms)), snap("clusterB.prom", &b, Some(b_ms))];
        let ev = MetricsEvidence::from_snapshots(&files, None);
        assert_eq!(ev.apiservers.len(), 2, "one per cluster, no merged one: {:#?}", ev.apiservers);
        assert!(ev.apiservers.iter().all(|a| a.objects.len() == 3), "each keeps its counts");
        let notes = ev.notes.join("\n");
        assert!(
            notes.contains(
                "The API server scrapes are of 2 control planes that cannot share one etcd (clusterA.prom and \
                 clusterB.prom: kube-apiserver 1.30.2 and kube-apiserver 1.35.0 are more than one minor version \
                 apart"
            ),
            "{notes}"
        );
        let findings = metrics::checks::run(&ev, &Thresholds::default());
        let met002: Vec<(&str, Severity)> =
            findings.iter().filter(|f| f.code == "MET002").map(|f| (f.title.as_str(), f.severity)).collect();
        assert_eq!(
            met002,
            [
                ("1,200,000 events objects are stored in etcd (over 1,000,000)", Severity::Critical),
                ("12,000 pods objects are stored in etcd (over 10,000)", Severity::Warning),
            ],
            "{findings:#?}"
        );
        assert!(findings.iter().all(|f| f.code != "MET003"), "no growth across clusters: {findings:#?}");
        assert_eq!(findings.iter().filter(|f| f.code == "MET004").count(), 0, "2.4 MB each: {findings:#?}");
    }
    // Replicas one minor version apart (an upgrade in progress) with the same storage are
    // still one control plane: judged once, across them.
    let files = [
        snap("replica-a.prom", &cluster_scrape("1.30.2", &a_objects, "etcd-0"), Some(T0)),
        snap("replica-b.prom", &cluster_scrape("1.31.0", &a_objects, "etcd-0"), Some(T0 + 60_000)),
    ];
    let ev = MetricsEvidence::from_snapshots(&files, None);
    assert_eq!(ev.apiservers.len(), 3, "two processes and their control plane's gauges");
    let findings = metrics::checks::run(&ev, &Thresholds::default());
    assert_eq!(findings.iter().filter(|f| f.code == "MET002").count(), 2, "judged once: {findings:#?}");
    // The same version but a different etcd storage: two processes of two control planes.
    let started = |text: String, at: f64| format!("{text}process_start_time_seconds {at}\n");
    let files = [
        snap("a.prom", &started(cluster_scrape("1.30.2", &a_objects, "etcd-0"), STARTED), Some(T0)),
        snap("b.prom", &started(cluster_scrape("1.30.2", &b_objects, "etcd-1"), 1.7416e9), Some(T0 + 60_000)),
    ];
    let ev = MetricsEvidence::from_snapshots(&files, None);
    assert_eq!(ev.apiservers.len(), 2, "{:#?}", ev.apiservers);
    assert!(
        ev.notes
            .join("\n")
            .contains("they report different etcd storage (storage_cluster_id etcd-0 against etcd-1)"),
        "{:#?}",
        ev.notes
    );
}
