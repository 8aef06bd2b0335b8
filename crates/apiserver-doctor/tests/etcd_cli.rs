//! `apiserver-doctor etcd` from the command line, against a real etcd (Debian's `etcd-server`,
//! which `scripts/test` installs; without it the tests skip, except under `CI` or
//! `APISERVER_DOCTOR_REQUIRE_REAL`).

#[path = "../../../test-support/etcd.rs"]
mod etcd_server;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use etcd_server::{Etcd, spawn_one};

/// A one-member etcd, answering `apiserver-doctor etcd`; `None` (skip) when etcd is not
/// installed (see `etcd_binary`).
fn start() -> Option<Etcd> {
    let etcd = spawn_one("cli", &[])?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        // Listening is not yet serving: the status request must answer too.
        let status = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "-o", "json"]);
        if status.status.code() == Some(0) {
            return Some(etcd);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("etcd did not answer on {} within 30 s", etcd.endpoint);
}

fn doctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run apiserver-doctor")
}

/// Docs review s21 item 2: the report inside `etcd -o json` had no `summary`, which
/// docs/report-schema.md promises and CI gates read (`.report.summary.worst`).
#[test]
fn etcd_json_holds_the_documented_report_with_its_summary() {
    let Some(etcd) = start() else { return };
    let out = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "-o", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let report = &v["report"];
    for key in ["schema_version", "tool_version", "summary", "inputs", "overview", "findings", "checks_run"] {
        assert!(report.get(key).is_some(), "report.{key} missing: {report}");
    }
    let summary = &report["summary"];
    let findings = report["findings"].as_array().map_or(0, Vec::len);
    let counted: u64 = ["critical", "warning", "info"].iter().filter_map(|k| summary[*k].as_u64()).sum();
    assert_eq!(counted as usize, findings, "{summary}");
    assert!(v["etcd"]["members"].is_array(), "{}", v["etcd"]);
}

/// Docs review s21 item 12: `--prefix ""` printed "Keys under  at revision …".
#[test]
fn etcd_whole_key_space_is_named_in_the_text_report() {
    let Some(etcd) = start() else { return };
    let out = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--prefix", ""]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Keys under \"\" (the whole key space) at revision"), "{stdout}");
}

/// Review 26 §11: `--timeout 0` became 1 s without a word, and `--page-size 0` and
/// `--parallel 0` were accepted; each is now refused with exit 2, naming the option.
#[test]
fn zero_timeout_page_size_or_parallel_is_refused_naming_the_option() {
    for (option, value, why) in [
        ("--timeout", "0", "must be at least 1"),
        ("--page-size", "0", "must be at least 1"),
        ("--parallel", "0", "must be at least 1"),
        ("--parallel", "1000", "must be at most 64"),
        ("--page-size", "many", "not a whole number"),
    ] {
        // Nothing listens there: the value is refused before any connection.
        let out = doctor(&["etcd", "--endpoints", "http://127.0.0.1:1", option, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {stderr}");
        assert!(stderr.contains(option) && stderr.contains(why), "{option} {value}: {stderr}");
    }
}

/// Review s42: `etcd` had no `--config`: ETC001's quota ratios and the disk thresholds could
/// only be changed through `diagnose --etcd`. A bad file is refused before etcd is asked.
#[test]
fn etcd_reads_thresholds_from_config_and_refuses_a_bad_one_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "thresholds:\n  etcd_quota_warning_ratio: 80\n").expect("write");
    let bad = bad.to_str().expect("utf-8");
    // Nothing listens on port 1: the config is refused before any request.
    let out = doctor(&["etcd", "--endpoints", "http://127.0.0.1:1", "--config", bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:2:3: thresholds.etcd_quota_warning_ratio: threshold `etcd_quota_warning_ratio` is a fraction of 1"), "{err}");
    assert!(!err.contains("127.0.0.1"), "etcd was not asked: {err}");
    let Some(etcd) = start() else { return };
    // A warning ratio of one in a billion: the new database passes it.
    let low = dir.path().join("low.yaml");
    std::fs::write(&low, "thresholds:\n  etcd_quota_warning_ratio: 0.000000001\n").expect("write");
    let low = low.to_str().expect("utf-8");
    let with =
        doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "--config", low, "--fail-on", "never"]);
    let without = doctor(&["etcd", "--endpoints", &etcd.endpoint, "--no-keys", "--fail-on", "never"]);
    let (with, without) = (String::from_utf8_lossy(&with.stdout), String::from_utf8_lossy(&without.stdout));
    assert!(with.contains("WARNING  ETC001"), "{with}");
    assert!(with.contains("etcd_quota_warning_ratio = 0.000000001 (set by --config"), "{with}");
    assert!(!without.contains("WARNING  ETC001"), "{without}");
}

/// Review s44: `https://` to a member that serves plain http was a critical "No etcd member
/// answered" with exit code 1, although the member answered; docs/metrics.md calls a failed
/// TLS handshake with no other endpoint working an error of the options, exit code 2. With a
/// second endpoint that works, the wrong one is a collection error and the report goes on.
#[test]
fn https_to_a_plain_member_is_an_options_error_not_an_etcd_outage() {
    let Some(etcd) = start() else { return };
    let https = etcd.endpoint.replacen("http://", "https://", 1);
    let out = doctor(&["etcd", "--endpoints", &https, "--no-keys"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stderr}\n{stdout}");
    assert!(stderr.contains(&format!("try {}", etcd.endpoint)), "{stderr}");
    assert!(!stdout.contains("No etcd member answered"), "{stdout}");
    let both = format!("{https},{}", etcd.endpoint);
    let out = doctor(&["etcd", "--endpoints", &both, "--no-keys", "-o", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let errors = v["etcd"]["collection_errors"].to_string();
    assert!(errors.contains(&format!("try {}", etcd.endpoint)), "{errors}");
    assert_eq!(v["etcd"]["members"].as_array().map_or(0, Vec::len), 1, "{}", v["etcd"]);
}

/// Review: `etcd --cert empty.log --key empty.log` said `error: empty.log: no PEM certificate in
/// it`, naming no option, and `--cacert some_dir` said `some_dir: Is a directory (os error 21)`.
/// The files are read before etcd is asked: nothing needs to listen.
#[test]
fn a_tls_file_error_named_the_file_but_not_its_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    let (empty, some_dir) = (empty.to_str().expect("utf-8"), dir.path().to_str().expect("utf-8"));
    for (args, says) in [
        (vec!["--cert", empty, "--key", empty], format!("error: --cert {empty}: no PEM certificate in it")),
        (vec!["--cacert", some_dir], format!("error: --cacert {some_dir}: is a directory, not a PEM file")),
    ] {
        let mut all = vec!["etcd", "--endpoints", "https://127.0.0.1:1"];
        all.extend(&args);
        let out = doctor(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&says), "{args:?}: {stderr}");
        assert!(!stderr.contains("os error"), "{args:?}: {stderr}");
    }
}

/// Review: `--timeout -1`, `--page-size -10`, `--parallel -3` and `--largest -3` were clap's
/// "unexpected argument '-1' found" (`-10` read as the flags `-1 -0`), naming neither the option
/// nor its range. Each is now refused before any connection with exit 2, naming both.
#[test]
fn a_negative_timeout_page_size_or_parallel_was_taken_for_an_unexpected_argument() {
    for (option, value, says) in [
        ("--timeout", "-1", "`-1` is negative: give a whole number of seconds, 1 or more"),
        ("--page-size", "-10", "`-10` is negative: give a whole number of keys, 1 or more"),
        ("--parallel", "-3", "`-3` is negative: give a whole number of requests, from 1 to 64"),
        ("--largest", "-3", "`-3` is negative: give a whole number of objects, 0 or more"),
        ("--timeout", "1.5", "`1.5` is not a whole number of seconds (1 or more)"),
    ] {
        // Nothing listens there: the value is refused before any connection.
        let out = doctor(&["etcd", "--endpoints", "http://127.0.0.1:1", option, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{value}' for '{option} <")),
            "{option} {value}: {stderr}"
        );
        assert!(stderr.contains(says), "{option} {value}: {stderr}");
        assert!(!stderr.contains("unexpected argument"), "{option} {value}: {stderr}");
        assert!(out.stdout.is_empty(), "{option} {value}");
    }
}
