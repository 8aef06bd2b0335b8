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

/// Review: `simulate --duration 1` (and `demo`) simulated one second, said "for 1", where
/// `diagnose --since 1` is refused; `--duration 0s` was "not a duration such as 1h", though it
/// is one; `--duration -1h` was clap's "unexpected argument '-1'".
#[test]
fn a_bare_number_duration_was_read_as_seconds() {
    for command in ["simulate", "demo"] {
        for (duration, says) in [
            ("1", "--duration: `1` has no unit: write 1h for hours, 1m for minutes or 1s for seconds"),
            ("90", "`90` has no unit"),
            ("0s", "--duration: `0s`: the window must be longer than zero"),
            ("0", "the window must be longer than zero"),
            ("-1h", "--duration: `-1h`: the window must be longer than zero"),
        ] {
            let args = ["--out", "never-written", "--nodes", "5", "--duration", duration];
            let out = doctor_alone(command, &args);
            assert_usage_error(&out, says, &(command, args));
            assert!(!stderr(&out).contains("is not a duration"), "{command} {duration}: {}", stderr(&out));
            assert!(!common::workspace().join("never-written").exists());
        }
    }
}

/// Review: `demo --out FILE` said "creating FILE: File exists (os error 17)" and `simulate --out
/// FILE` "FILE: Not a directory (os error 20)". Both now say what --out must be, before anything
/// is done, and leave the file alone.
#[test]
fn an_out_that_is_a_file_said_file_exists_or_not_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("FILE");
    std::fs::write(&file, "mine").expect("write");
    let path = file.to_str().expect("utf-8");
    for command in ["simulate", "demo"] {
        let args = ["--out", path, "--nodes", "5", "--duration", "1m"];
        let out = doctor_alone(command, &args);
        let says = format!(
            "error: --out {path}: is a file, not a directory; give a directory to write into (it is created if \
             missing)"
        );
        assert_usage_error(&out, &says, &(command, args));
        assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&file).expect("read"), "mine");
        // Under a file: said in words too.
        let under = format!("{path}/sub");
        let args = ["--out", &under, "--nodes", "5", "--duration", "1m"];
        let out = doctor_alone(command, &args);
        assert_usage_error(&out, "a part of its path is a file, not a directory", &(command, args));
        assert!(!stderr(&out).contains("os error"), "{}", stderr(&out));
    }
}

/// Review: `demo --nodes -5` and `simulate --nodes -5` were clap's "unexpected argument '-5'
/// found", whose tip (`-- -5`) would have made the value a file argument.
#[test]
fn a_negative_node_count_was_taken_for_an_unexpected_argument() {
    for command in ["simulate", "demo"] {
        for (nodes, says) in [
            ("-5", "`-5`: a cluster has at least 1 node; give 1 or more, e.g. 100"),
            ("0", "`0`: a cluster has at least 1 node"),
            ("many", "`many` is not a whole number of nodes"),
        ] {
            let args = ["--out", "never-written", "--nodes", nodes, "--duration", "1m"];
            let out = doctor_alone(command, &args);
            assert_usage_error(&out, says, &(command, args));
            assert!(stderr(&out).contains("--nodes"), "{}", stderr(&out));
            assert!(!stderr(&out).contains("unexpected argument"), "{}", stderr(&out));
            assert!(!common::workspace().join("never-written").exists());
        }
    }
}

/// Review: `simulate --seed -1`, `simulate --threads -2` and `demo --seed -1` were clap's
/// "unexpected argument '-1' found", naming neither the option nor what it takes; `--threads 0`
/// became 1 without a word. Each is now refused with exit 2, naming the option and its range.
#[test]
fn a_negative_seed_or_thread_count_was_taken_for_an_unexpected_argument() {
    for (command, option, value, says) in [
        ("simulate", "--seed", "-1", "`-1` is negative: give a whole number, 0 or more"),
        ("demo", "--seed", "-1", "`-1` is negative: give a whole number, 0 or more"),
        ("simulate", "--seed", "99999999999999999999", "is too large: a whole number is at most"),
        ("simulate", "--threads", "-2", "`-2` is negative: give a whole number of threads, 1 or more"),
        ("simulate", "--threads", "0", "`0` must be at least 1: give a whole number of threads, 1 or more"),
        ("simulate", "--threads", "two", "`two` is not a whole number of threads (1 or more)"),
    ] {
        let args = ["--out", "never-written", option, value, "--nodes", "5", "--duration", "1m"];
        let out = doctor_alone(command, &args);
        assert_usage_error(&out, says, &(command, args));
        assert!(stderr(&out).contains(&format!("for '{option} <")), "{}", stderr(&out));
        assert!(!stderr(&out).contains("unexpected argument"), "{}", stderr(&out));
        assert!(!common::workspace().join("never-written").exists());
    }
}
