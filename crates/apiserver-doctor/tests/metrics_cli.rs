//! `apiserver-doctor metrics` from the command line: the text report of real scrapes (insta
//! snapshots), exit codes, and bad input named by file and line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn doctor(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run apiserver-doctor")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// Real scrapes copied into the etcd crate's fixtures (licenses in their SOURCES.md).
fn fixtures() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("../etcd/tests/fixtures")
}

/// The shared data's real kube-apiserver dumps; `None` (skip) when absent, except under `CI`.
fn shared_apiserver_dumps() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("APISERVER_DOCTOR_SHARED_DATA").map(PathBuf::from),
        Some(
            PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
                .join("../../../shared/data"),
        ),
        Some(PathBuf::from("/work/shared/data")),
    ];
    let found =
        candidates.into_iter().flatten().map(|p| p.join("real/metrics/apiserver")).find(|p| p.is_dir());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "shared data (real/metrics) is required under CI");
        eprintln!("skipping: shared data with real/metrics not found (set APISERVER_DOCTOR_SHARED_DATA)");
    }
    found
}

#[test]
fn real_kube_apiserver_dump_text_report() {
    let Some(dir) = shared_apiserver_dumps() else { return };
    let out = doctor(&dir, &["metrics", "nri-kubernetes_k8s1_29_apiserver.prom"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "a real dump has no bad line");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("kube-apiserver 1.29.5"), "{stdout}");
    insta::assert_snapshot!("real_apiserver_1_29_text", stdout);
}

#[test]
fn real_etcd_dump_text_report() {
    let out = doctor(&fixtures(), &["metrics", "etcd-3.6.6-nri-k8s1_35.prom"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("etcd 3.6.6"), "{stdout}");
    insta::assert_snapshot!("real_etcd_3_6_6_text", stdout);
}

#[test]
fn a_bad_line_is_named_by_file_and_line_and_the_good_samples_are_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = std::fs::read_to_string(fixtures().join("etcd-3.6.6-nri-k8s1_35.prom")).expect("fixture");
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, "etcd_server_has_leader{ 1");
    std::fs::write(dir.path().join("broken.prom"), lines.join("\n") + "\n").expect("write");
    let out = doctor(dir.path(), &["metrics", "broken.prom"]);
    assert_eq!(out.status.code(), Some(0), "bad lines warn; stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("warning: broken.prom:3: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The summary counts the skipped line; everything else was read: the same report as the
    // intact file.
    let report = text(&out.stdout);
    assert!(report.contains("broken.prom: 1,461 records, 1 skipped"), "{report}");
    let intact = doctor(&fixtures(), &["metrics", "etcd-3.6.6-nri-k8s1_35.prom"]);
    assert_eq!(
        report.replace("broken.prom", "F").replace(", 1 skipped", ""),
        text(&intact.stdout).replace("etcd-3.6.6-nri-k8s1_35.prom", "F")
    );
}

#[test]
fn a_file_without_samples_a_missing_file_and_a_bad_interval_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "this is not\na scrape {\n").expect("write");
    let out = doctor(dir.path(), &["metrics", "notes.txt"]);
    assert_eq!(out.status.code(), Some(2));
    // Text that is no scrape at all is said so in one line quoting its start (review s53,
    // item 12), without a warning for each of its lines.
    assert_eq!(
        text(&out.stderr),
        "error: notes.txt: no metric samples in it; not a /metrics scrape: it starts with `this is not`\n"
    );
    assert_eq!(text(&out.stdout), "");

    let out = doctor(dir.path(), &["metrics", "missing.prom"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.prom"), "{}", text(&out.stderr));

    let out = doctor(&fixtures(), &["metrics", "--interval=-5", "etcd-3.6.6-nri-k8s1_35.prom"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--interval must be a positive number"), "{}", text(&out.stderr));
    // Review s40: 1e308 was taken, and made every rate zero.
    let out = doctor(&fixtures(), &["metrics", "--interval=1e308", "etcd-3.6.6-nri-k8s1_35.prom"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--interval must be at most 31622400 seconds (a year), got 1e308"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn critical_findings_exit_1_unless_fail_on_never() {
    let files = [
        "troubled-apiserver-1.prom",
        "troubled-apiserver-2.prom",
        "troubled-etcd-1.prom",
        "troubled-etcd-2.prom",
    ];
    let mut args = vec!["metrics"];
    args.extend(files);
    let out = doctor(&fixtures(), &args);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("MET009") && stdout.contains("ETC001"), "{stdout}");
    args.extend(["--fail-on", "never", "-o", "json"]);
    let out = doctor(&fixtures(), &args);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert!(json["findings"].as_array().is_some_and(|f| !f.is_empty()), "{json}");
}

#[test]
fn one_bad_file_is_reported_and_skipped_and_the_good_ones_are_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("empty.prom"), "").expect("write");
    std::fs::write(dir.path().join("notprom.json"), "{\"kind\":\"Event\"}\n").expect("write");
    std::fs::create_dir(dir.path().join("adir")).expect("mkdir");
    let good = fixtures().join("etcd-3.6.6-nri-k8s1_35.prom");
    std::fs::copy(good, dir.path().join("good.prom")).expect("copy");
    let out = doctor(dir.path(), &["metrics", "empty.prom", "good.prom", "adir", "notprom.json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("warning: empty.prom: no metric samples in it (it is empty)"), "{stderr}");
    // An empty directory (a directory stands for the files under it).
    assert!(stderr.contains("warning: adir: a directory holding no file; skipped"), "{stderr}");
    // JSON (an audit event) is said to be JSON, in one line, not with a warning per line.
    assert!(!stderr.contains("warning: notprom.json:1: "), "{stderr}");
    assert!(
        stderr.contains(
            "warning: notprom.json: no metric samples in it: it is JSON (`{` at its start), not the Prometheus text \
             format of /metrics. An audit log is read by `apiserver-doctor diagnose PATH` or `ingest`"
        ),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("good.prom: 1,461 records [etcd 3.6.6]"), "{stdout}");
    assert!(
        stdout.contains("Input:   metrics adir: 0 records [not used: a directory holding no file]"),
        "{stdout}"
    );
    // None usable: exit 2, each named.
    let out = doctor(dir.path(), &["metrics", "empty.prom", "adir"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no file holds a usable metrics scrape") && stderr.contains("  adir: "),
        "{stderr}"
    );
}

/// Docs review 51, section 2: `metrics DIR` where the directory holds only audit logs said
/// `no metric samples in it: not a /metrics scrape`, without the hint the same file named
/// directly gets (it is JSON; an audit log is read by `diagnose PATH`).
#[test]
fn metrics_of_a_directory_of_audit_logs_keeps_the_audit_log_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("audit")).expect("mkdir");
    let event = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"get\"}\n";
    std::fs::write(dir.path().join("audit/kube-apiserver-audit-000.log"), event).expect("write");
    let out = doctor(dir.path(), &["metrics", "audit"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "audit/kube-apiserver-audit-000.log: no metric samples in it: it is JSON (`{` at its start), not the \
             Prometheus text format of /metrics. An audit log is read by `apiserver-doctor diagnose PATH` or `ingest`"
        ),
        "{stderr}"
    );
}

#[test]
fn a_truncated_scrape_does_not_say_every_number_was_within_its_threshold() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The real 1.35 excerpt cut mid-line in its request latencies (families come sorted by
    // name): no object counts, database size, etcd latency, nor version after the cut.
    let whole = std::fs::read_to_string(fixtures().join("apiserver-1.35-excerpt-nri.prom")).expect("fixture");
    let mut cut: String = whole.lines().take(300).map(|l| format!("{l}\n")).collect();
    cut.push_str("apiserv");
    std::fs::write(dir.path().join("cut.prom"), cut).expect("write");
    let out = doctor(dir.path(), &["metrics", "cut.prom", "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Note: MET002"), "{stdout}");
    assert!(stdout.contains("had no input: no scrape has"), "{stdout}");
    insta::assert_snapshot!("truncated_apiserver_text", stdout);
}

#[test]
fn scrapes_copied_in_reverse_order_are_ordered_by_their_counters_not_their_mtimes() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The troubled fixtures without their sample timestamps; the later scrape's file is the older.
    let strip = |name: &str| -> String {
        let text = std::fs::read_to_string(fixtures().join(name)).expect("fixture");
        text.lines()
            .map(|l| match l.rsplit_once(' ') {
                Some((head, ts))
                    if !l.starts_with('#') && ts.len() == 13 && ts.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    head.to_owned()
                }
                _ => l.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let (before, after) = (dir.path().join("before.prom"), dir.path().join("after.prom"));
    std::fs::write(&after, strip("troubled-apiserver-2.prom")).expect("write");
    std::fs::write(&before, strip("troubled-apiserver-1.prom")).expect("write");
    let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_741_680_000);
    let set = |p: &Path, t| std::fs::File::options().write(true).open(p).and_then(|f| f.set_modified(t));
    set(&before, t + std::time::Duration::from_secs(900)).expect("mtime");
    set(&after, t).expect("mtime");
    let args =
        ["metrics", "--interval", "900", "before.prom", "after.prom", "--fail-on", "never", "-o", "json"];
    let reversed = doctor(dir.path(), &args);
    assert_eq!(reversed.status.code(), Some(0), "stderr: {}", text(&reversed.stderr));
    let reversed: serde_json::Value = serde_json::from_slice(&reversed.stdout).expect("json");
    let notes = reversed["overview"]["notes"].to_string();
    assert!(notes.contains("before.prom → after.prom are taken in that order because"), "{notes}");
    assert!(notes.contains("modification times say the opposite order and were not used"), "{notes}");
    // The same findings as the stamped originals, in order.
    let stamped = doctor(
        &fixtures(),
        &[
            "metrics",
            "troubled-apiserver-1.prom",
            "troubled-apiserver-2.prom",
            "--fail-on",
            "never",
            "-o",
            "json",
        ],
    );
    let stamped: serde_json::Value = serde_json::from_slice(&stamped.stdout).expect("json");
    let titles = |r: &serde_json::Value| -> Vec<String> {
        r["findings"].as_array().map_or(vec![], |f| f.iter().map(|x| x["title"].to_string()).collect())
    };
    assert_eq!(titles(&reversed), titles(&stamped));
    assert!(!titles(&stamped).is_empty());
}

#[test]
fn a_closed_stderr_pipe_keeps_exit_2_instead_of_panicking() {
    // `apiserver-doctor metrics bin.bin 2>&1 | head -5` exited 101 (a panic in eprintln!).
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: String = (0..50).map(|i| format!("this is not a metric line {i}\n")).collect();
    std::fs::write(dir.path().join("not.prom"), lines).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .current_dir(dir.path())
        .args(["metrics", "not.prom"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // Close the reading end of standard error at once, as `head` does.
    drop(child.stderr.take());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_warning_fails_the_run_even_when_the_output_pipe_closes_early() {
    // `metrics … | head -1` with pipefail: a closed stdout was taken as success (exit 0).
    let cache = tempfile::tempdir().expect("tempdir");
    let sim = common::simulate("object-leak", cache.path());
    let scrape = |n: u32| sim.path().join(format!("metrics/apiserver-{n}.prom")).display().to_string();
    let args = ["metrics", &scrape(1), &scrape(2), "--fail-on", "warning"];
    let whole = common::doctor(&args, cache.path());
    assert_eq!(whole.status.code(), Some(1), "{}", common::stderr(&whole));
    let mut child = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // Close the reading end at once, as `head` does after its line.
    drop(child.stdout.take());
    let status = child.wait().expect("waits");
    assert_eq!(status.code(), Some(1));
}

#[test]
fn a_scrape_of_no_known_kind_is_nothing_to_check_not_all_is_well() {
    // `/metrics/slis` (kubernetes_healthcheck only): no check reads it; it said "no findings"
    // and exited 0, in `metrics` and in `diagnose --metrics`.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("slis.prom"), "kubernetes_healthcheck{name=\"etcd\",type=\"readyz\"} 1\n")
        .expect("write");
    let out = doctor(dir.path(), &["metrics", "slis.prom"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("nothing to check: slis.prom is neither a kube-apiserver nor an etcd"), "{err}");
    let out = doctor(dir.path(), &["diagnose", "--metrics", "slis.prom"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("nothing to diagnose"), "{err}");
    assert!(err.contains("slis.prom is neither a kube-apiserver nor an etcd"), "{err}");
}

/// `metrics DIR` said "cannot read it: Is a directory (os error 21)", for the directory `demo`
/// itself writes its scrapes to. A directory now stands for the files under it, by name; a file
/// there that is not a scrape (a README) is skipped in one warning, and a hidden one is not read.
#[test]
fn a_directory_of_scrapes_is_read_as_its_files_named_one_by_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir_all(scrapes.join("etcd")).expect("mkdir");
    let files = ["troubled-apiserver-1.prom", "troubled-apiserver-2.prom"];
    for f in files {
        std::fs::copy(fixtures().join(f), scrapes.join(f)).expect("copy");
    }
    std::fs::copy(fixtures().join("etcd-3.6.6-nri-k8s1_35.prom"), scrapes.join("etcd/etcd.prom"))
        .expect("copy");
    std::fs::write(scrapes.join("README.md"), "# Scrapes\n\nTaken at 09:00 and 09:05.\n").expect("write");
    std::fs::write(scrapes.join(".notes"), "not { a scrape\n").expect("write");

    let by_dir = doctor(dir.path(), &["metrics", "scrapes", "--interval", "300", "--fail-on", "never"]);
    let by_file = doctor(
        dir.path(),
        &[
            "metrics",
            "scrapes/etcd/etcd.prom",
            "scrapes/troubled-apiserver-1.prom",
            "scrapes/troubled-apiserver-2.prom",
            "--interval",
            "300",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(by_dir.status.code(), Some(0), "{}", text(&by_dir.stderr));
    assert_eq!(by_file.status.code(), Some(0), "{}", text(&by_file.stderr));
    // The same report, but for the file it skipped, which it lists.
    // The file skipped says why (review s53, item 12: in a directory the reason was lost).
    let why =
        "no metric samples in it (line 3: `at` is not a number (value of `Taken`)): not a /metrics scrape";
    let skipped = format!("Input:   metrics scrapes/README.md: 0 records [not used: {why}]\n");
    let dir_out = text(&by_dir.stdout);
    assert!(dir_out.contains(&skipped), "{dir_out}");
    assert_eq!(dir_out.replace(&skipped, ""), text(&by_file.stdout));
    assert!(dir_out.contains("Input:   etcd-metrics scrapes/etcd/etcd.prom: 1,461 records"), "{dir_out}");
    let stderr = text(&by_dir.stderr);
    assert_eq!(stderr, format!("warning: scrapes/README.md: {why}; skipped, the other files are read\n"));

    // A symbolic link back up the tree is not followed round and round; one to another
    // directory is followed, as --manifests and audit directories are (review s53, item 12:
    // "cannot read it: Is a directory").
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", scrapes.join("etcd/up")).expect("symlink");
        let out = doctor(dir.path(), &["metrics", "scrapes", "--interval", "300", "--fail-on", "never"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), stderr);
        assert_eq!(text(&out.stdout), dir_out);
        let linked = dir.path().join("linked");
        std::fs::create_dir(&linked).expect("mkdir");
        std::os::unix::fs::symlink("../scrapes/etcd", linked.join("etcd")).expect("symlink");
        let out = doctor(dir.path(), &["metrics", "linked", "--fail-on", "never"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Input:   etcd-metrics linked/etcd/etcd.prom: 1,461 records"));
    }

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let out = doctor(dir.path(), &["metrics", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error: empty: a directory holding no file\n");
}

/// Review 26 §1: `kubectl get --raw /metrics > f` stopped mid-write left
/// `apiserver_storage_objects{resource="pods"} 16` (of 160000) as the last line, without a
/// newline; it was read as 16 pods without a word. Review s53, item 12: skipping every such
/// line lost the real last sample of files that merely lack the final newline (DataDog's
/// 1.27.3 fixture): a last line that parses whole is kept, with a note naming it; one that does
/// not parse is the cut one, skipped.
#[test]
fn a_last_line_without_a_newline_is_kept_with_a_note_and_a_cut_one_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cut = "kubernetes_build_info{git_version=\"v1.30.0\",major=\"1\",minor=\"30\"} 1\n\
               process_start_time_seconds 1.7e9\n\
               apiserver_storage_objects{resource=\"jobs.batch\"} 12000\n\
               apiserver_storage_objects{resource=\"pods\"} 16";
    std::fs::write(dir.path().join("cut.prom"), cut).expect("write");
    let out = doctor(dir.path(), &["metrics", "-o", "json", "cut.prom"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("note: cut.prom:4: the file ends without a newline after this line; the line parses whole, so it is kept"),
        "{stderr}"
    );
    let report = text(&doctor(dir.path(), &["metrics", "cut.prom"]).stdout);
    assert!(report.contains("cut.prom: 4 records [kube-apiserver"), "{report}");
    // Cut inside its label set: skipped, and said to be the cut.
    std::fs::write(dir.path().join("cut2.prom"), cut.replace("{resource=\"pods\"} 16", "{resource=\"po"))
        .expect("write");
    let out = doctor(dir.path(), &["metrics", "cut2.prom"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: cut2.prom:4: label value has no closing quote: the file ends without a newline in this line, so the scrape was cut short here; the line is skipped"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("cut2.prom: 3 records, 1 skipped"), "{}", text(&out.stdout));

    // A last comment or OpenMetrics `# EOF` needs no newline: nothing is skipped.
    let whole = cut.replace("} 16", "} 160000");
    std::fs::write(dir.path().join("comment.prom"), format!("{whole}\n# end of scrape")).expect("write");
    std::fs::write(dir.path().join("eof.om"), format!("{whole}\n# EOF")).expect("write");
    for file in ["comment.prom", "eof.om"] {
        let out = doctor(dir.path(), &["metrics", file]);
        assert_eq!(text(&out.stderr), "", "{file}");
        let report = text(&out.stdout);
        assert!(report.contains(&format!("{file}: 4 records")) && !report.contains("skipped"), "{report}");
        assert!(report.contains("160,000 pods"), "{report}");
    }
}

/// The etcd 3.6.6 fixture with its database and quota replaced by `values` (name → value).
fn etcd_scrape_with(values: &[(&str, &str)]) -> String {
    let good = std::fs::read_to_string(fixtures().join("etcd-3.6.6-nri-k8s1_35.prom")).expect("fixture");
    let mut out = String::new();
    for line in good.lines() {
        let replaced = values.iter().find(|(name, _)| line.split(' ').next() == Some(name));
        match replaced {
            Some((name, value)) => out.push_str(&format!("{name} {value}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Review 26 §4: with the quota already 8 GiB, ETC001 proposed setting
/// `--quota-backend-bytes=8589934592` on every member and restarting them: the value it had.
#[test]
fn a_quota_already_at_etcds_suggested_maximum_is_not_raised_to_the_same_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scrape = etcd_scrape_with(&[
        ("etcd_mvcc_db_total_size_in_bytes", "7e9"),
        ("etcd_mvcc_db_total_size_in_use_in_bytes", "3e9"),
        ("etcd_server_quota_backend_bytes", "8589934592"),
    ]);
    std::fs::write(dir.path().join("e1.prom"), scrape).expect("write");
    let out = doctor(dir.path(), &["metrics", "e1.prom"]);
    // The report wraps its paragraphs: words are compared, not lines.
    let report = text(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(report.contains("ETC001"), "{report}");
    assert!(!report.contains("restart the members"), "{report}");
    assert!(!report.contains("Raise the quota"), "{report}");
    assert!(
        report.contains("The quota is 8.0 GiB, already at etcd's suggested maximum of 8 GiB"),
        "{report}"
    );
    assert!(report.contains("compact old revisions, then defragment each member"), "{report}");
}

/// Review 26 §5: two scrapes of one etcd member with equal file times made an ETC006 finding
/// while `checks_run` and the note said ETC006 had not run. It needs two scrapes, not a
/// window length: it is now listed as run.
#[test]
fn etc006_is_listed_as_run_when_it_makes_a_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = etcd_scrape_with(&[("etcd_server_proposals_failed_total", "0")]);
    let second = etcd_scrape_with(&[("etcd_server_proposals_failed_total", "3")]);
    let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_000_000);
    for (name, body) in [("e1.prom", first), ("e2.prom", second)] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("write");
        let file = std::fs::File::options().write(true).open(&path).expect("open");
        file.set_modified(when).expect("equal mtimes: a window of unknown length");
    }
    let out = doctor(dir.path(), &["metrics", "-o", "json", "e1.prom", "e2.prom"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> =
        json["findings"].as_array().expect("findings").iter().filter_map(|f| f["code"].as_str()).collect();
    assert!(codes.contains(&"ETC006"), "{codes:?}");
    let run: Vec<&str> =
        json["checks_run"].as_array().expect("checks_run").iter().filter_map(|c| c.as_str()).collect();
    for code in &codes {
        assert!(run.contains(code), "{code} made a finding but is not in checks_run {run:?}");
    }
    let report = text(&doctor(dir.path(), &["metrics", "e1.prom", "e2.prom"]).stdout);
    let notes: String = report.lines().filter(|l| !l.starts_with(char::is_numeric)).take(12).collect();
    assert!(!notes.contains("ETC006, ETC009 had no input"), "{report}");
    assert!(report.contains("ETC009 had no input"), "{report}");
}

/// A minimal kube-apiserver scrape of the process started at `started`: object counts and
/// the database size.
fn replica_scrape(started: &str, pods: u64, jobs: u64, db_bytes: f64) -> String {
    format!(
        "kubernetes_build_info{{git_version=\"v1.30.0\",major=\"1\",minor=\"30\"}} 1\n\
         process_start_time_seconds {started}\n\
         # TYPE apiserver_storage_objects gauge\n\
         apiserver_storage_objects{{resource=\"jobs.batch\"}} {jobs}\n\
         apiserver_storage_objects{{resource=\"pods\"}} {pods}\n\
         # TYPE apiserver_storage_size_bytes gauge\n\
         apiserver_storage_size_bytes{{storage_cluster_id=\"etcd-0\"}} {db_bytes}\n"
    )
}

/// Review 26 §2: two scrapes 15 min apart that reached different API server replicas (an HA
/// control plane behind a load balancer) gave no MET003/MET005 ("no window between scrapes
/// could be formed") and every MET002/MET004 twice, once per replica, unnamed.
#[test]
fn two_scrapes_from_different_replicas_still_give_cluster_wide_growth_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a.prom"), replica_scrape("1.7e9", 160_000, 9_000, 1.8e9)).expect("write");
    std::fs::write(dir.path().join("b.prom"), replica_scrape("1.76229e9", 170_000, 9_500, 1.85e9))
        .expect("write");
    let out = doctor(dir.path(), &["metrics", "--interval", "900", "-o", "json", "a.prom", "b.prom"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = json["findings"].as_array().expect("findings");
    let of = |code: &str| findings.iter().filter(|f| f["code"] == code).collect::<Vec<_>>();
    // One MET002 for pods (jobs.batch is under 10,000), on the latest value.
    let met002 = of("MET002");
    assert_eq!(met002.len(), 1, "pods once, not once per replica: {met002:?}");
    let pods = met002.iter().find(|f| f["subject"]["name"] == "pods").expect("pods");
    assert!(pods["title"].as_str().unwrap_or("").starts_with("170,000 pods objects"), "{pods}");
    assert_eq!(of("MET004").len(), 1, "{:?}", of("MET004"));
    // Growth across the replicas: 500 jobs in 15 min, 50 MB in 15 min.
    let met003 = of("MET003");
    assert_eq!(met003.len(), 1, "{met003:?}");
    assert!(met003[0]["title"].as_str().unwrap_or("").contains("jobs.batch grows by 2,000 objects per hour"));
    assert_eq!(of("MET005").len(), 1, "{:?}", of("MET005"));
    let source = met003[0]["evidence"]["source"].as_str().unwrap_or("");
    assert!(source.contains("a.prom → b.prom (different API server processes)"), "{source}");
    let run: Vec<&str> =
        json["checks_run"].as_array().expect("checks_run").iter().filter_map(|c| c.as_str()).collect();
    assert!(run.contains(&"MET003") && run.contains(&"MET005"), "{run:?}");
    let notes = json["overview"]["notes"].to_string();
    assert!(notes.contains("compared across the scrapes of different processes"), "{notes}");
}

/// Review s40: the same file named twice was read as two scrapes taken at the same time.
#[test]
fn a_file_named_twice_is_one_scrape() {
    let out = doctor(
        &fixtures(),
        &[
            "metrics",
            "etcd-3.6.6-nri-k8s1_35.prom",
            "./etcd-3.6.6-nri-k8s1_35.prom",
            "--fail-on",
            "never",
            "-o",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "warning: ./etcd-3.6.6-nri-k8s1_35.prom: the same file as etcd-3.6.6-nri-k8s1_35.prom, read once"
        ),
        "{}",
        text(&out.stderr)
    );
    let once =
        doctor(&fixtures(), &["metrics", "etcd-3.6.6-nri-k8s1_35.prom", "--fail-on", "never", "-o", "json"]);
    assert_eq!(text(&out.stdout), text(&once.stdout));
}

/// Review s40: `--interval 1.5` was said to be "the 2 s between" the two scrapes.
#[test]
fn a_short_interval_is_shown_as_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["a1.prom", "a2.prom"] {
        std::fs::copy(fixtures().join("apiserver-1.35-excerpt-nri.prom"), dir.path().join(name))
            .expect("copy");
    }
    let out =
        doctor(dir.path(), &["metrics", "a1.prom", "a2.prom", "--interval", "1.5", "--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout).replace('\n', " ");
    assert!(stdout.contains("the 1.5 s between a1.prom and a2.prom is taken from --interval"), "{stdout}");
}

/// Review s42: `metrics` had no `--config`, so the thresholds of its findings (MET006's
/// rejections, the SLOs) could be changed only through `diagnose --metrics`. The same file
/// works here, and a bad one is a usage error naming its line.
#[test]
fn metrics_reads_thresholds_from_config_as_diagnose_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scrape = dir.path().join("apf.prom");
    std::fs::write(
        &scrape,
        "# TYPE kubernetes_build_info gauge\nkubernetes_build_info{git_version=\"v1.30.0\"} 1\n\
         apiserver_request_total{verb=\"GET\",code=\"200\"} 5\n\
         # TYPE apiserver_flowcontrol_rejected_requests_total counter\n\
         apiserver_flowcontrol_rejected_requests_total{flow_schema=\"batch\",priority_level=\"workload-low\",reason=\"queue-full\"} 100\n",
    )
    .expect("write");
    let config = dir.path().join("doctor.yaml");
    let run = |cfg: &str| {
        std::fs::write(&config, cfg).expect("write");
        doctor(dir.path(), &["metrics", "apf.prom", "--config", "doctor.yaml", "--fail-on", "never"])
    };
    let default = run("");
    assert!(
        text(&default.stdout).contains("MET006  APF rejected 100 requests of flow schema batch"),
        "{}",
        text(&default.stdout)
    );
    let raised = run("thresholds:\n  apf_rejections_warning: 1000\n");
    assert_eq!(raised.status.code(), Some(0), "{}", text(&raised.stderr));
    assert!(!text(&raised.stdout).contains("MET006  APF rejected"), "{}", text(&raised.stdout));
    let bad = run("thresholds:\n  apf_rejections_warnin: 1000\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("doctor.yaml:2:3: thresholds.apf_rejections_warnin: unknown threshold"),
        "{}",
        text(&bad.stderr)
    );
    assert!(text(&bad.stdout).is_empty());
}

/// An audit log given to `metrics` by mistake, 1 GB of it, was read up to 512 MiB before it was
/// refused, with its path twice and the limit in bytes.
#[test]
fn a_file_too_large_for_a_scrape_is_refused_unread_with_its_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = std::fs::File::create(dir.path().join("audit.log")).expect("create");
    // Sparse: no bytes written, and none read.
    big.set_len(600 * 1024 * 1024).expect("set_len");
    let out = doctor(dir.path(), &["metrics", "audit.log"]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "audit.log: 0.6 GiB, larger than the 512 MiB a /metrics scrape is read up to; is it a scrape? (an audit \
             log goes to `apiserver-doctor diagnose PATH` or `ingest`)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("audit.log: audit.log"), "{stderr}");
}

/// Review s44 item 1: a server that accepts the connection and never answers (an overloaded
/// API server, a dead load balancer) made `metrics URL` wait for ever.
#[test]
fn a_server_that_never_answers_is_given_up_on_and_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        // Accept, read nothing, answer nothing; hold the connections open.
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let out = doctor(dir.path(), &["metrics", &url]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{url}: no answer in time: it took more than 30 s to answer")),
        "{stderr}"
    );
}

/// Review s44: a scrape of the API server filtered to its admission webhooks' series
/// (`kubectl get --raw /metrics | grep -E 'build_info|admission_webhook'`) was refused as
/// "neither a kube-apiserver nor an etcd /metrics scrape", exit 2, and its slow webhook unseen.
#[test]
fn a_scrape_of_the_webhook_series_alone_is_read_as_the_api_servers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut scrape = String::from(
        "kubernetes_build_info{git_version=\"v1.30.2\",major=\"1\",minor=\"30\"} 1\nprocess_start_time_seconds 1.7e+09\n",
    );
    let series = "apiserver_admission_webhook_admission_duration_seconds";
    let labels = "name=\"slow.example.com\",operation=\"CREATE\",rejected=\"false\",type=\"validating\"";
    // 2,000 calls: the 1,980th (P99) falls in (1, 2.5] s.
    for (le, n) in [("0.1", 1000), ("0.5", 1800), ("1", 1900), ("2.5", 1990), ("10", 2000), ("+Inf", 2000)] {
        scrape.push_str(&format!("{series}_bucket{{{labels},le=\"{le}\"}} {n}\n"));
    }
    scrape.push_str(&format!("{series}_sum{{{labels}}} 900\n{series}_count{{{labels}}} 2000\n"));
    std::fs::write(dir.path().join("webhooks.prom"), scrape).expect("write");
    let out = doctor(dir.path(), &["metrics", "webhooks.prom"]);
    let stdout = text(&out.stdout);
    assert_ne!(out.status.code(), Some(2), "{}\n{stdout}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("neither a kube-apiserver"), "{}", text(&out.stderr));
    assert!(stdout.contains("kube-apiserver 1.30.2"), "{stdout}");
    assert!(stdout.contains("MET008") && stdout.contains("slow.example.com"), "{stdout}");
}

/// The metrics crate's fixtures: the review s51 inputs, cut down.
fn metrics_fixtures() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("../metrics/tests/fixtures")
}

/// Review s51, items 1 and 2: a `/federate` scrape of three etcd members was read as its first
/// member (member 2 at 97% of its quota and member 3 without a leader were not reported), and
/// a file holding an API server's and an etcd's series was read as etcd only, with the false
/// note "MET001–MET011 had no input: no kube-apiserver scrape was given".
#[test]
fn a_file_of_several_targets_is_read_target_by_target() {
    let out = doctor(&metrics_fixtures(), &["metrics", "federate-three-etcd-members.prom"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}\n{stdout}", text(&out.stderr));
    for member in ["10.0.0.11", "10.0.0.12", "10.0.0.13"] {
        assert!(
            stdout.contains(&format!(
                "Input:   etcd-metrics federate-three-etcd-members.prom{{instance=\"{member}:2379\"}}: 10 records"
            )),
            "{stdout}"
        );
    }
    let out = doctor(&metrics_fixtures(), &["metrics", "federate-three-etcd-members.prom", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let critical: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "critical")
        .filter_map(|f| f["title"].as_str())
        .collect();
    assert_eq!(
        critical,
        [
            "etcd member federate-three-etcd-members.prom{instance=\"10.0.0.12:2379\"} holds 7.7 GiB of its 8.0 GiB \
             quota (97%)",
            "etcd member federate-three-etcd-members.prom{instance=\"10.0.0.13:2379\"} has no leader",
        ]
    );

    let out = doctor(&metrics_fixtures(), &["metrics", "apiserver-and-etcd-concatenated-2.prom"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}\n{stdout}", text(&out.stderr));
    assert!(
        stdout.contains(
            "Input:   apiserver-metrics apiserver-and-etcd-concatenated-2.prom (kube-apiserver series): 4 records \
             [kube-apiserver 1.29.5]"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("Input:   etcd-metrics apiserver-and-etcd-concatenated-2.prom (etcd series): 13 records [etcd 3.5.12]"),
        "{stdout}"
    );
    assert!(!stdout.contains("no kube-apiserver scrape was given"), "{stdout}");
    assert!(stdout.contains("CRITICAL MET009") && stdout.contains("MET002"), "{stdout}");
}

/// A real scrape, and the same scrape later with 900 prepended to its configmap counts (90,013
/// and more: over MET002's threshold).
fn scrape_and_grown() -> (String, String) {
    let scrape =
        std::fs::read_to_string(fixtures().join("apiserver-1.35-excerpt-nri.prom")).expect("fixture");
    let grown = scrape
        .replace(
            "apiserver_storage_objects{resource=\"configmaps\"} ",
            "apiserver_storage_objects{resource=\"configmaps\"} 900",
        )
        .replace(
            "objects{group=\"\",resource=\"configmaps\"} ",
            "objects{group=\"\",resource=\"configmaps\"} 900",
        );
    assert_ne!(grown, scrape);
    (scrape, grown)
}

/// Review s53, item 2: `cat s1.prom s2.prom > f` (or `>>`) was read as one scrape whose second
/// half was thousands of duplicate series: the newer scrape, its 90,013 configmaps, lost, and
/// "no findings". A tar archive was parsed as text.
#[test]
fn two_scrapes_in_one_file_lost_the_later_one_and_a_tar_was_read_as_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (scrape, grown) = scrape_and_grown();
    std::fs::write(dir.path().join("appended.prom"), format!("{scrape}{grown}")).expect("write");
    let out = doctor(dir.path(), &["metrics", "--fail-on", "warning", "appended.prom"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let second = scrape.lines().count() + 1;
    assert!(
        text(&out.stderr).starts_with(&format!(
            "note: appended.prom: this file holds 2 scrapes one after the other (the last from line {second})"
        )),
        "{}",
        text(&out.stderr)
    );
    assert!(stdout.contains(&format!("appended.prom (scrape 2 of 2, from line {second}): ")), "{stdout}");
    assert!(stdout.contains("WARNING  MET002"), "{stdout}");
    assert!(!stdout.contains("skipped"), "{stdout}");

    // A tar archive is read now (`a_tar_of_scrapes_was_named_not_read`); this one, a header
    // and nothing else right, is named as damaged, not read as text.
    let mut tar = vec![0u8; 1024];
    tar[257..262].copy_from_slice(b"ustar");
    std::fs::write(dir.path().join("s.tar"), tar).expect("write");
    let out = doctor(dir.path(), &["metrics", "s.tar"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: s.tar: damaged tar archive ("), "{stderr}");
    assert!(stderr.ends_with("): no member could be read\n"), "{stderr}");
}

/// Two scrapes of one API server in a `.tgz` (a support bundle's), with a README beside them:
/// `metrics bundle.tgz` refused it, naming the archive and the command that extracts it. Now
/// each member is read as a scrape named `ARCHIVE!MEMBER`, in messages and in the report, the
/// README skipped in one line as in a directory; a damaged archive keeps the members before
/// the damage, and the damage is named.
#[test]
fn a_tar_of_scrapes_was_named_not_read() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let (scrape, grown) = scrape_and_grown();
    let mut b = tar::Builder::new(Vec::new());
    for (path, bytes, mtime) in [
        ("bundle/metrics/s1.prom", scrape.as_bytes(), 1_700_000_000),
        ("bundle/metrics/s2.prom", grown.as_bytes(), 1_700_000_300),
        ("bundle/README.md", &b"Scrapes taken five minutes apart.\n"[..], 1_700_000_300),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_mtime(mtime);
        h.set_size(bytes.len() as u64);
        b.append_data(&mut h, path, bytes).expect("member");
    }
    let plain = b.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    // Named without `.tgz`: told by its content.
    std::fs::write(dir.path().join("bundle"), gz.finish().expect("gzip")).expect("write");
    let out = doctor(dir.path(), &["metrics", "--fail-on", "warning", "bundle"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "warning: bundle!bundle/README.md: no metric samples in it; not a /metrics scrape: it starts with \
         `Scrapes taken five minutes apart.`; skipped, the other files are read\n"
    );
    assert!(stdout.contains("WARNING  MET002"), "{stdout}");
    assert!(stdout.contains("bundle!bundle/metrics/s2.prom"), "{stdout}");
    // The members' own times, five minutes apart, give the window: a rate, not "no rate".
    assert!(!stdout.contains("no rate"), "{stdout}");

    // Cut in the README, after both scrapes: they are read, the damage named.
    let at = plain.windows(16).position(|w| w == b"bundle/README.md").expect("header");
    std::fs::write(dir.path().join("cut.tar"), &plain[..at + 512 + 10]).expect("write");
    let out = doctor(dir.path(), &["metrics", "--fail-on", "warning", "-o", "json", "cut.tar"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let damage = "cut.tar: tar archive cut short in its member bundle/README.md (10 of its 34 bytes), not \
                  read, read no further after 2 members: the rest of the archive was not read";
    assert_eq!(stderr, format!("warning: {damage}\n"));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let inputs = report["inputs"].as_array().cloned().unwrap_or_default();
    let sources: Vec<(&str, &str)> = inputs
        .iter()
        .map(|i| (i["source"].as_str().unwrap_or(""), i["detected"].as_str().unwrap_or("")))
        .collect();
    assert!(sources.iter().any(|(s, _)| *s == "cut.tar!bundle/metrics/s2.prom"), "{sources:?}");
    let in_part = damage.replacen("cut.tar: ", "read in part: ", 1);
    assert!(sources.contains(&("cut.tar", in_part.as_str())), "{sources:?}");
}

/// Review s53, item 3: a FIFO in a directory hung `metrics DIR` (opened, waiting for a writer
/// for ever); one named directly (`metrics <(kubectl get --raw /metrics)`) is still read.
#[cfg(unix)]
#[test]
fn a_fifo_in_a_directory_hung_the_walk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).expect("mkdir");
    std::fs::copy(fixtures().join("etcd-3.6.6-nri-k8s1_35.prom"), scrapes.join("etcd.prom")).expect("copy");
    let fifo = scrapes.join("p");
    assert!(Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    let out = doctor(dir.path(), &["metrics", "scrapes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "warning: scrapes/p: a named pipe (FIFO), not read in a directory walk; skipped, the other files are read\n"
    );
    // Named directly, it is read.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(
                &fifo,
                std::fs::read(fixtures().join("etcd-3.6.6-nri-k8s1_35.prom")).unwrap_or_default(),
            )
        })
    };
    let out = doctor(dir.path(), &["metrics", "scrapes/p"]);
    writer.join().ok();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("scrapes/p: 1,461 records"), "{}", text(&out.stdout));
}

/// UX review (metrics), item 10: `metrics some-webhooks.yaml` said only "not a /metrics
/// scrape: it starts with `---`", and YAML with `timeoutSeconds: 10` lines was read as a
/// scrape of unknown kind; an audit log given to `metrics` did not say what reads it. Each now
/// names where it belongs.
#[test]
fn yaml_manifests_and_audit_logs_given_to_metrics_did_not_say_where_they_belong() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("some-webhooks.yaml"),
        "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nwebhooks:\n- name: w\n  timeoutSeconds: 10\n",
    )
    .expect("write");
    let out = doctor(dir.path(), &["metrics", "some-webhooks.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("some-webhooks.yaml: no metric samples in it; not a /metrics scrape"),
        "{stderr}"
    );
    assert!(stderr.contains("`apiserver-doctor diagnose --manifests FILE`"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line, no warning per line: {stderr}");
    // Only `key: value` lines parse as samples: no metric name ends in `:`.
    std::fs::write(dir.path().join("limits.yaml"), "apiVersion: v1\nreplicas: 3\ntimeoutSeconds: 10\n")
        .expect("write");
    let out = doctor(dir.path(), &["metrics", "limits.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("its 2 `key: value` lines (the first `replicas: 3`) are YAML"), "{stderr}");
    assert!(stderr.contains("`apiserver-doctor diagnose --manifests FILE`"), "{stderr}");
    // An audit log: JSON, read by diagnose or ingest.
    std::fs::write(
        dir.path().join("audit.log"),
        "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"a\",\"verb\":\"get\"}\n",
    )
    .expect("write");
    let out = doctor(dir.path(), &["metrics", "audit.log"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("An audit log is read by `apiserver-doctor diagnose PATH` or `ingest`"),
        "{stderr}"
    );
}

/// UX review (metrics), item 11: `metrics DIR` read any text file holding a `name number` line
/// (a store's `lock` file: `pid 1234`, then its command) as a scrape of unknown kind, with a
/// warning for each other line. It is skipped with one warning; the scrapes beside it are read.
#[test]
fn a_directory_walk_read_a_lock_file_as_a_scrape_of_unknown_kind() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scrapes = dir.path().join("scrapes");
    std::fs::create_dir(&scrapes).expect("mkdir");
    let (scrape, _) = scrape_and_grown();
    std::fs::write(scrapes.join("apiserver.prom"), scrape).expect("write");
    std::fs::write(scrapes.join("lock"), "pid 1234\ncommand apiserver-doctor ingest audit/\n")
        .expect("write");
    let out = doctor(dir.path(), &["metrics", "scrapes"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // One line at most on stderr (under CI the skipped file is warned of there too), never a
    // warning per line.
    assert!(
        stderr.is_empty()
            || stderr
                == "warning: scrapes/lock: not a /metrics scrape: 1 of its lines is not Prometheus samples (line 2: \
                    `apiserver-doctor` is not a number (value of `command`)), and it is neither a kube-apiserver nor \
                    an etcd scrape; skipped, the other files are read\n",
        "{stderr}"
    );
    assert!(
        stdout.contains(
            "metrics scrapes/lock: 0 records [not used: not a /metrics scrape: 1 of its lines is not Prometheus \
             samples (line 2: `apiserver-doctor` is not a number (value of `command`)), and it is neither a \
             kube-apiserver nor an etcd scrape]"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("unknown"), "{stdout}");
}

/// Review: `metrics --interval -5` and `diagnose --metrics-interval -5` (a space, not `=`) were
/// clap's "unexpected argument '-5' found", naming neither the option nor what it takes. Both
/// now reach the interval's own check: exit 2, naming the option.
#[test]
fn a_negative_interval_was_taken_for_an_unexpected_argument() {
    let scrape = "etcd-3.6.6-nri-k8s1_35.prom";
    for args in [
        vec!["metrics", "--interval", "-5", scrape],
        vec!["diagnose", "--metrics", scrape, "--metrics-interval", "-5", "missing.log"],
    ] {
        let out = doctor(&fixtures(), &args);
        let option = args.iter().find(|a| a.contains("interval")).copied().unwrap_or_default();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!("error: {option} must be a positive number of seconds, got -5\n"),
            "{args:?}"
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
    }
}
