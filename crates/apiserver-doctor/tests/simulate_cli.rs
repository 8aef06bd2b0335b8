//! `apiserver-doctor simulate`: its output directory and the arguments it refuses. Small
//! clusters, so the debug build runs them in seconds.

mod common;

use std::path::Path;

use common::{assert_usage_error, doctor, doctor_alone, stderr};

/// `simulate --out out ARGS` of 20 nodes for 5 minutes: its output.
fn simulate(out: &Path, args: &[&str], cache: &Path) -> std::process::Output {
    let mut all = vec!["simulate", "--quiet", "--out", out.to_str().expect("utf-8"), "--nodes", "20"];
    all.extend_from_slice(&["--duration", "5m"]);
    all.extend_from_slice(args);
    doctor(&all, cache)
}

/// The files under `dir/audit`, sorted, as `audit/NAME`.
fn audit_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("audit"))
        .expect("audit/")
        .map(|e| format!("audit/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    names.sort();
    names
}

/// The audit files `scenario.json` says the run wrote, sorted.
fn audit_files_of_scenario(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("scenario.json")).expect("scenario.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("scenario.json parses");
    let mut names: Vec<String> = v["audit"]["files"]
        .as_array()
        .expect("audit.files")
        .iter()
        .map(|f| f.as_str().expect("a name").to_owned())
        .collect();
    names.sort();
    names
}

/// Review 26 §7: a second simulation into the same --out left the first one's audit files
/// beside its own, so `diagnose DIR/audit` of a `healthy` run found the list storm of the one
/// before. A previous run's files are now replaced, and a directory holding anything a run does
/// not write is refused, untouched, naming what is there.
#[test]
fn simulate_into_a_previous_simulation_replaces_its_files_and_refuses_anything_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, cache) = (dir.path().join("sim"), dir.path().join("cache"));
    let first = simulate(&out, &["--scenario", "list-storm"], &cache);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(audit_files(&out), ["audit/kube-apiserver-audit-000.log"]);
    // Another file name (gzip), another scenario: only the second run's files are left.
    let second = simulate(&out, &["--scenario", "healthy", "--gzip"], &cache);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(audit_files(&out), ["audit/kube-apiserver-audit-000.log.gz"]);
    assert_eq!(audit_files(&out), audit_files_of_scenario(&out));

    // Files a run does not write: refused, and nothing removed.
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    std::fs::write(out.join("audit/real-cluster.log"), "{}\n").expect("write");
    let refused = simulate(&out, &["--scenario", "healthy"], &cache);
    assert_usage_error(&refused, "holds files `apiserver-doctor simulate` does not write", &"refused");
    assert!(
        stderr(&refused).contains("audit/real-cluster.log, notes.txt; nothing was changed"),
        "{}",
        stderr(&refused)
    );
    assert!(out.join("audit/kube-apiserver-audit-000.log.gz").is_file());
    assert!(out.join("scenario.json").is_file());

    // An argument refused after the check leaves a previous run's files alone too.
    std::fs::remove_file(out.join("notes.txt")).expect("remove");
    std::fs::remove_file(out.join("audit/real-cluster.log")).expect("remove");
    let bad = simulate(&out, &["--scenario", "healthy,list-storm"], &cache);
    assert_usage_error(&bad, "`healthy` cannot be combined", &"bad");
    assert!(out.join("audit/kube-apiserver-audit-000.log.gz").is_file());
}

/// Review 26 §7: `--max-file-mib 0` was accepted, undocumented, and meant 1 MiB.
#[test]
fn simulate_max_file_mib_0_is_refused() {
    let args = ["--out", "never-written", "--max-file-mib", "0"];
    let out = doctor_alone("simulate", &args);
    assert_usage_error(&out, "--max-file-mib", &args);
    assert!(stderr(&out).contains("at least 1 MiB"), "{}", stderr(&out));
    assert!(!common::workspace().join("never-written").exists());
}

/// Review s44: `--start 2262-04-11T23:00:00Z --duration 1h` wrote events up to 23:59:59, past
/// the last time a timestamp holds (23:47:16), which then read as events without time.
#[test]
fn a_run_past_the_last_time_a_timestamp_holds_is_refused_before_writing() {
    for (start, duration, says) in [
        ("2262-04-11T23:00:00Z", "1h", "runs past 2262-04-11T23:47:16Z, the last time a timestamp holds"),
        ("2262-04-11T23:00:00Z", "100000000d", "runs past 2262-04-11T23:47:16Z"),
        (
            "1677-09-21T00:30:00Z",
            "1h",
            "is too close to 1677-09-21T00:12:44Z, the first time a timestamp holds",
        ),
    ] {
        let args = ["--out", "never-written", "--start", start, "--duration", duration];
        let out = doctor_alone("simulate", &args);
        assert_usage_error(&out, says, &args);
        assert!(!common::workspace().join("never-written").exists());
    }
    // The last whole hour that fits is written.
    let args =
        ["--out", "never-written", "--start", "2262-04-11T22:00:00Z", "--duration", "1h", "--nodes", "0"];
    let out = doctor_alone("simulate", &args);
    assert!(!stderr(&out).contains("timestamp holds"), "{}", stderr(&out));
}
