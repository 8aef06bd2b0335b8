//! What the commands say when their standard output cannot be written (a full disk,
//! `/dev/full`, a closed pipe), when Ctrl-C or SIGTERM stops a read, and how they name files
//! whose names are not UTF-8 (review s20r, item 11 and the notes on item 7).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{doctor, stderr, stdout, workspace};

/// A small real audit log (JSON lines), relative to the workspace.
const AUDIT_LOG: &str = "crates/audit/tests/fixtures/audit/audit2rbac_demo.log";

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"));
    c.current_dir(workspace()).env("NO_COLOR", "1").env_remove("APISERVER_DOCTOR_STORE");
    c
}

/// [`bin`] with every signal's disposition reset to the default (coreutils' `env
/// --default-signal`, which then runs the binary in its place, keeping the PID): a run ignores a
/// signal it was started ignoring, and a test suite started as a script's background job passes
/// an ignored SIGINT on to every process it starts. These tests send the signal themselves.
fn bin_with_default_signals() -> Command {
    bin_with_signals(&["--default-signal"])
}

/// [`bin`], run by coreutils' `env` with `signals` (its options setting signal dispositions).
fn bin_with_signals(signals: &[&str]) -> Command {
    let mut c = Command::new("env");
    c.args(signals)
        .arg(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env_remove("APISERVER_DOCTOR_STORE");
    c
}

/// `apiserver-doctor ARGS` run in `dir`, with its own cache.
fn doctor_in(dir: &Path, args: &[&str], cache: &Path) -> Output {
    bin().args(args).current_dir(dir).env("XDG_CACHE_HOME", cache).output().expect("runs")
}

/// `apiserver-doctor ARGS` with standard output going to `/dev/full`.
fn to_dev_full(args: &[&str], cache: &Path) -> Output {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    bin().args(args).env("XDG_CACHE_HOME", cache).stdout(full).output().expect("runs")
}

/// The small audit log ingested into a store of its own: `store`, inside `dir` (which goes
/// with it).
struct SmallStore {
    dir: tempfile::TempDir,
    store: PathBuf,
}

impl SmallStore {
    /// The store's path, as a command line gives it.
    fn arg(&self) -> &str {
        self.store.to_str().expect("utf-8")
    }
}

/// A store holding the small audit log.
fn small_store(cache: &Path) -> SmallStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("st");
    let o = doctor(&["ingest", AUDIT_LOG, "--store", store.to_str().expect("utf-8"), "--quiet"], cache);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    SmallStore { dir, store }
}

#[test]
fn ingest_summary_to_a_full_stdout_says_the_ingest_completed_and_was_committed() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("st");
    let o = to_dev_full(&["ingest", AUDIT_LOG, "--store", store.to_str().expect("utf-8")], cache.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the ingest completed and was committed: "), "{err}");
    assert!(err.contains("only its summary could not be written to standard output: "), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("that standard output goes to is full"), "{err}");
    // And it was: the store holds the events the message counts.
    let stats = doctor(&["stats", "--store", store.to_str().expect("utf-8"), "-o", "json"], cache.path());
    let json: serde_json::Value = serde_json::from_slice(&stats.stdout).expect("json");
    let events = json["events"].as_u64().expect("events");
    assert!(events > 0);
    assert!(err.contains(&format!("committed: {events} events into ")), "{err}");
}

#[test]
fn stats_query_and_diagnose_to_a_full_stdout_say_their_output_could_not_be_written() {
    let cache = tempfile::tempdir().expect("tempdir");
    let small = small_store(cache.path());
    let store = small.arg();
    let cases: [(&[&str], &str); 4] = [
        (&["stats", "--store", store], "the store's summary"),
        (&["stats", "--store", store, "-o", "json"], "the store's summary"),
        (&["query", "--store", store, "KubeAudit | take 10"], "the query's result"),
        (&["diagnose", "--store", store, "--fail-on", "never"], "the report"),
    ];
    for (args, what) in cases {
        let o = to_dev_full(args, cache.path());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "error: {what} could not be written to standard output: No space left on device"
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn stats_query_and_diagnose_into_a_closed_pipe_exit_quietly() {
    let cache = tempfile::tempdir().expect("tempdir");
    let small = small_store(cache.path());
    let store = small.arg();
    let cases: [&[&str]; 3] = [
        &["stats", "--store", store],
        &["query", "--store", store, "KubeAudit | take 100000"],
        &["diagnose", "--store", store, "--fail-on", "never"],
    ];
    for args in cases {
        let o = into_closed_pipe(args, cache.path());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
}

/// `apiserver-doctor ARGS` with its standard output read by nobody: the reader goes away at
/// once, as `| head -0` does.
fn into_closed_pipe(args: &[&str], cache: &Path) -> Output {
    let mut child = bin()
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    child.wait_with_output().expect("waits")
}

/// Review 27 (kql §8): `query --chart c.svg … | head -0` exited quietly without writing the
/// chart, because the rows went first and the closed pipe ended the run. The file asked for is
/// written first now.
#[test]
fn a_chart_is_written_when_standard_output_is_a_closed_pipe() {
    let cache = tempfile::tempdir().expect("tempdir");
    let small = small_store(cache.path());
    let chart = small.dir.path().join("c.svg");
    let o = into_closed_pipe(
        &[
            "query",
            "--store",
            small.arg(),
            "--chart",
            chart.to_str().expect("utf-8"),
            "AKSAudit | summarize n = count() by bin(TimeGenerated, 1m) | render timechart",
        ],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&chart).expect("the chart is written");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
}

/// The audit log the interrupted runs read: 20,000 lines of the small log's events made
/// unique (their audit IDs), a few MB, enough for several chunks of 4 MiB.
fn big_log(dir: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(workspace().join(AUDIT_LOG)).expect("fixture");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("\"auditID\"")).collect();
    assert!(!lines.is_empty());
    let mut out = Vec::new();
    let mut i = 0usize;
    while out.len() < 24 << 20 {
        let line = lines[i % lines.len()];
        let unique = line.replacen("\"auditID\":\"", &format!("\"auditID\":\"{i:08}-"), 1);
        out.extend_from_slice(unique.as_bytes());
        out.push(b'\n');
        i += 1;
    }
    std::fs::write(dir.join("big.log"), &out).expect("write");
    out
}

/// Waits until `path` exists (the run reached its read), at most a minute.
fn wait_for(what: impl Fn() -> bool, child: &mut Child) {
    let start = Instant::now();
    while !what() {
        assert!(child.try_wait().expect("try_wait").is_none(), "the run ended before it was interrupted");
        assert!(start.elapsed() < Duration::from_secs(60), "the run never started reading");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(child: &Child, signal: &str) {
    let ok =
        Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().expect("kill");
    assert!(ok.success());
}

/// Every file under `dir`, relative to it, sorted, with the manifest's bytes.
fn snapshot(dir: &Path) -> (Vec<PathBuf>, Vec<u8>) {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    (files, std::fs::read(dir.join("manifest.json")).expect("manifest"))
}

/// `ingest -` fed half of the big log, stopped by `signal`, then fed the rest: the read stops
/// at its next chunk. What it says, its exit code, and the store after it.
fn interrupted_ingest(signal: &str) -> (Output, SmallStore, Vec<u8>) {
    ingest_sent(signal, bin_with_default_signals())
}

/// [`interrupted_ingest`], the ingest started by `command` (the binary, as [`bin`] or
/// [`bin_with_default_signals`] runs it).
fn ingest_sent(signal: &str, mut command: Command) -> (Output, SmallStore, Vec<u8>) {
    let cache = tempfile::tempdir().expect("tempdir");
    let small = small_store(cache.path());
    let log = big_log(small.dir.path());
    let mut child = command
        .args(["ingest", "-", "--store", small.arg()])
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut input = child.stdin.take().expect("stdin");
    let half = log.len() / 2;
    input.write_all(&log[..half]).expect("first half");
    // The writer holds the store's lock with this run's ID once it reads.
    let lock = small.store.join("lock");
    let pid = child.id().to_string();
    wait_for(|| std::fs::read_to_string(&lock).is_ok_and(|l| l.contains(&format!("pid {pid}"))), &mut child);
    kill(&child, signal);
    std::thread::sleep(Duration::from_millis(300));
    // The rest (if the read has stopped, the pipe is closed: that is fine too).
    let _ = input.write_all(&log[half..]);
    drop(input);
    let o = child.wait_with_output().expect("waits");
    (o, small, log)
}

#[test]
fn ingest_interrupted_by_ctrl_c_commits_nothing_says_so_and_exits_130() {
    let cache = tempfile::tempdir().expect("tempdir");
    let before = snapshot(&small_store(cache.path()).store);
    let (o, small, log) = interrupted_ingest("INT");
    let store = &small.store;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.starts_with("interrupted (Ctrl-C, SIGINT): the ingest was interrupted while reading stdin: "),
        "{err}"
    );
    assert!(err.contains(&format!(
        "nothing of this run was committed: the store {} is as its last commit left it",
        store.display()
    )));
    assert!(err.contains("run the same command again to ingest it"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(stdout(&o), "", "no summary of a run that did not complete");
    // The store is as its last commit left it: the same files (no uncommitted part, no
    // temporary file) and the same manifest as a store that only had the small log ingested,
    // but for the run's own part file names and times.
    let (files, manifest) = snapshot(store);
    assert!(files.iter().all(|f| !f.to_string_lossy().contains(".tmp")), "{files:?}");
    assert_eq!(files.len(), before.0.len(), "{files:?} vs {:?}", before.0);
    let events = |m: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(m).expect("manifest");
        v["inputs"].as_array().map(|i| i.len()).unwrap_or_default()
    };
    assert_eq!(events(&manifest), events(&before.1));
    // Running it again completes it.
    let mut again = bin()
        .args(["ingest", "-", "--store", store.to_str().expect("utf-8"), "--quiet"])
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    again.stdin.take().expect("stdin").write_all(&log).expect("write");
    let again = again.wait_with_output().expect("waits");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).starts_with("ingested "), "{}", stdout(&again));
}

/// A run started with SIGINT ignored (as `nohup`, or a script's background job, starts it)
/// keeps ignoring it: it ingests everything and exits 0. Found when the suite, started as a
/// background job, saw the Ctrl-C tests' runs exit 0.
#[test]
fn an_ingest_started_with_sigint_ignored_is_not_stopped_by_it() {
    let ignoring = bin_with_signals(&["--default-signal", "--ignore-signal=INT"]);
    let (o, _store, _) = ingest_sent("INT", ignoring);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().any(|l| l.starts_with("ingested ") && l.contains("read from 1 file")), "{out}");
    assert!(!stderr(&o).contains("interrupted"), "{}", stderr(&o));
}

#[test]
fn ingest_stopped_by_sigterm_commits_nothing_and_exits_143() {
    let (o, small, _) = interrupted_ingest("TERM");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(143), "{err}");
    assert!(err.starts_with("stopped by SIGTERM: the ingest was interrupted while reading stdin: "), "{err}");
    assert!(err.contains("nothing of this run was committed"), "{err}");
    let (files, _) = snapshot(&small.store);
    assert!(files.iter().all(|f| !f.to_string_lossy().contains(".tmp")), "{files:?}");
}

#[test]
fn diagnose_interrupted_while_it_fills_its_cache_removes_the_half_made_store() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = big_log(dir.path());
    // A FIFO: the run reads what the test feeds it, so the signal comes mid-read.
    let fifo = dir.path().join("audit.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let mut child = bin_with_default_signals()
        .args(["diagnose", fifo.to_str().expect("utf-8"), "--fail-on", "never"])
        .env("XDG_CACHE_HOME", cache.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut input = std::fs::OpenOptions::new().write(true).open(&fifo).expect("fifo");
    let half = log.len() / 2;
    input.write_all(&log[..half]).expect("first half");
    let stores = cache.path().join("apiserver-doctor/stores");
    let reading = || {
        std::fs::read_dir(&stores)
            .map(|d| d.flatten().any(|e| e.path().join("lock").is_file()))
            .unwrap_or(false)
    };
    wait_for(reading, &mut child);
    kill(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    let _ = input.write_all(&log[half..]);
    drop(input);
    let o = child.wait_with_output().expect("waits");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted (Ctrl-C, SIGINT) while the files were read into "), "{err}");
    assert!(err.contains("what it had read was removed"), "{err}");
    assert_eq!(stdout(&o), "");
    // Only the key's lock file is left in the cache: no half-made store.
    let left: Vec<String> = std::fs::read_dir(&stores)
        .expect("stores")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| n.ends_with(".lock")), "{left:?}");
}

#[cfg(target_os = "linux")]
#[test]
fn stats_text_escapes_a_non_utf8_file_name_as_its_path_is() {
    use std::os::unix::ffi::OsStrExt;
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("nu");
    std::fs::create_dir(&logs).expect("mkdir");
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\xfename.log");
    std::fs::copy(workspace().join(AUDIT_LOG), logs.join(name)).expect("copy");
    let store = dir.path().join("st");
    let o = doctor_in(dir.path(), &["ingest", "nu", "--store", store.to_str().expect("utf-8")], cache.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("nu/bad\\xff\\xfename.log: "), "{}", stdout(&o));
    let stats = doctor(&["stats", "--store", store.to_str().expect("utf-8")], cache.path());
    let text = stdout(&stats);
    assert!(text.contains("nu/bad\\xff\\xfename.log"), "{text}");
    assert!(!text.contains('\u{fffd}'), "{text}");
    let json = doctor(&["stats", "--store", store.to_str().expect("utf-8"), "-o", "json"], cache.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let input = &v["input_files"][0];
    assert_eq!(input["file"], "nu/bad\\xff\\xfename.log");
    assert!(input["path"].as_str().expect("path").ends_with("/nu/bad\\xff\\xfename.log"));
}

#[test]
fn strict_names_a_dangling_symlink_without_a_line_number() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let sd = dir.path().join("sd");
    std::fs::create_dir(&sd).expect("mkdir");
    std::fs::copy(workspace().join(AUDIT_LOG), sd.join("a.log")).expect("copy");
    #[cfg(unix)]
    std::os::unix::fs::symlink("nowhere", sd.join("b.log")).expect("symlink");
    let o = doctor_in(dir.path(), &["ingest", "sd", "--store", "st", "--strict"], cache.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "error: --strict: sd/b.log: a symbolic link to nothing (its target does not exist)\n"
        ),
        "{err}"
    );
}
