//! The cache of stores `diagnose PATH` (and `query --input`) reads raw files through: what it
//! does when a store in it is damaged, when a fill fails, when it cannot be written at all, and
//! what a cache hit says; and what readers of a store say while an ingest is writing to it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{doctor, doctor_env, spawn_doctor, stderr, stdout, workspace};

/// A small real audit log (JSON lines), relative to the workspace.
const AUDIT_LOG: &str = "crates/audit/tests/fixtures/audit/audit2rbac_demo.log";

/// A copy of the small audit log in its own directory (its own cache key), with `extra`
/// appended.
fn copy_of_log(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(workspace().join(AUDIT_LOG)).expect("fixture");
    text.push_str(extra);
    std::fs::write(dir.path().join("audit.log"), text).expect("write");
    dir
}

fn path_of(dir: &tempfile::TempDir) -> String {
    dir.path().join("audit.log").display().to_string()
}

/// The stores in the cache.
fn store_dirs(cache: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(cache.join("apiserver-doctor/stores")) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(parquet_files(&p));
        } else if p.extension().is_some_and(|e| e == "parquet") {
            out.push(p);
        }
    }
    out
}

fn diagnose(log: &str, cache: &Path) -> Output {
    doctor(&["diagnose", log, "--fail-on", "never", "-o", "json"], cache)
}

#[test]
fn a_damaged_cache_store_is_dropped_and_rebuilt_from_the_raw_files() {
    // Before, each of these damages failed every later `diagnose` of the same files with exit 2
    // and advice to run `ingest`: the cache is the tool's own, and is rebuilt instead.
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 5] = [
        ("a data file cut", |store| {
            let part = &parquet_files(store)[0];
            let f = std::fs::OpenOptions::new().write(true).open(part).expect("open");
            f.set_len(100).expect("truncate");
        }),
        ("a data file deleted", |store| std::fs::remove_file(&parquet_files(store)[0]).expect("rm")),
        // Bad-input review s53, item 1: damage inside a file whose size and footer are whole was
        // not seen, and every later run's checks "could not run".
        ("a data page overwritten", |store| {
            let part = &parquet_files(store)[0];
            let mut bytes = std::fs::read(part).expect("read");
            let end = 4 + pages_len(&bytes) / 2;
            for b in &mut bytes[4..end] {
                *b ^= 0xff;
            }
            std::fs::write(part, &bytes).expect("write");
        }),
        ("the manifest deleted", |store| std::fs::remove_file(store.join("manifest.json")).expect("rm")),
        ("the manifest garbled", |store| {
            std::fs::write(store.join("manifest.json"), "{\"x\":").expect("write")
        }),
    ];
    let log = copy_of_log("");
    for (what, damage) in damages {
        let cache = tempfile::tempdir().expect("tempdir");
        let first = diagnose(&path_of(&log), cache.path());
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let stores = store_dirs(cache.path());
        assert_eq!(stores.len(), 1, "{stores:?}");
        damage(&stores[0]);
        let again = diagnose(&path_of(&log), cache.path());
        let err = stderr(&again);
        assert_eq!(again.status.code(), Some(0), "{what}: {err}");
        assert!(err.contains("is damaged") && err.contains("read again"), "{what}: {err}");
        assert!(!err.contains("ingest"), "{what}: {err}");
        assert_eq!(stdout(&first), stdout(&again), "{what}");
        // Rebuilt whole: the next run reads it without a word.
        let third = diagnose(&path_of(&log), cache.path());
        assert_eq!(third.status.code(), Some(0), "{what}: {}", stderr(&third));
        assert!(!stderr(&third).contains("damaged"), "{what}: {}", stderr(&third));
    }
}

#[test]
fn a_store_left_incomplete_under_another_key_is_removed_and_blocks_no_later_run() {
    // A fill that failed (disk full) or was killed leaves a store without its marker; before,
    // only a run of the same files removed it, and its space kept every other run failing.
    let cache = tempfile::tempdir().expect("tempdir");
    let stores = cache.path().join("apiserver-doctor/stores");
    let left = stores.join("00000000deadbeef");
    std::fs::create_dir_all(left.join("data/hour=2025-01-01T00")).expect("mkdir");
    std::fs::write(left.join("data/hour=2025-01-01T00/.part-x.parquet.tmp"), vec![0u8; 4096]).expect("write");
    std::fs::write(left.join("manifest.json.tmp"), b"{").expect("write");
    let log = copy_of_log("");
    let out = diagnose(&path_of(&log), cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!left.exists(), "the incomplete store of another key stays");
    assert_eq!(store_dirs(cache.path()).len(), 1);
}

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_cache_fill_that_runs_out_of_space_removes_its_store_and_names_the_cache() {
    // Needs a small tmpfs (root): skipped otherwise.
    let mnt = tempfile::tempdir().expect("tempdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(mnt.path())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _mount = Mount(mnt.path().to_path_buf());
    let cache = mnt.path().join("cache");
    // Far more than 64 KiB of events.
    let big = tempfile::tempdir().expect("tempdir");
    let line = std::fs::read_to_string(workspace().join(AUDIT_LOG)).expect("fixture");
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&line.replace("\"auditID\":\"", &format!("\"auditID\":\"{i}-")));
    }
    std::fs::write(big.path().join("audit.log"), text).expect("write");
    let out = diagnose(&path_of(&big), &cache);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("diagnose cache") && err.contains("XDG_CACHE_HOME"), "{err}");
    assert!(err.contains(&cache.join("apiserver-doctor").display().to_string()), "{err}");
    assert!(store_dirs(&cache).is_empty(), "the half-filled store stays: {:?}", store_dirs(&cache));
    // A small input still fits.
    let small = copy_of_log("");
    let out = diagnose(&path_of(&small), &cache);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The entries of `dir` whose names start with `prefix`.
fn named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)))
        .collect();
    v.sort();
    v
}

#[test]
fn a_cache_that_cannot_be_created_falls_back_to_a_private_temporary_store() {
    // XDG_CACHE_HOME a file (as with HOME unwritable, or a read-only cache): before, exit 2.
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("not-a-dir");
    std::fs::write(&file, b"").expect("write");
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = copy_of_log("");
    let out = doctor_env(
        &["diagnose", &path_of(&log), "--fail-on", "never", "-o", "json"],
        &file,
        &[("TMPDIR", tmp.path().as_os_str())],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("cannot be used") && err.contains("XDG_CACHE_HOME"), "{err}");
    assert!(err.contains("temporary store"), "{err}");
    // Removed when the run ended.
    assert_eq!(named(tmp.path(), "apiserver-doctor"), Vec::<PathBuf>::new());
    let warm = tempfile::tempdir().expect("tempdir");
    assert_eq!(stdout(&out), stdout(&diagnose(&path_of(&log), warm.path())));
}

/// Regression review s20 N1: a run interrupted (Ctrl-C, SIGTERM) while reading into its
/// private temporary store left it in $TMPDIR for good; the next run that needs one removes
/// those of processes that no longer run, and leaves a live run's alone.
#[cfg(target_os = "linux")]
#[test]
fn temporary_stores_left_by_interrupted_runs_are_removed_by_the_next() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("not-a-dir");
    std::fs::write(&file, b"").expect("write");
    let tmp = tempfile::tempdir().expect("tempdir");
    // A process ID above the kernel's maximum (4194304) never runs.
    let dead = tmp.path().join("apiserver-doctor-run-4194399-1-0");
    let live = tmp.path().join(format!("apiserver-doctor-run-{}-1-0", std::process::id()));
    for d in [&dead, &live] {
        std::fs::create_dir_all(d.join("store/data")).expect("stale store");
        std::fs::write(d.join("store/data/part.parquet"), b"x").expect("part");
    }
    let log = copy_of_log("");
    let out = doctor_env(
        &["diagnose", &path_of(&log), "--fail-on", "never"],
        &file,
        &[("TMPDIR", tmp.path().as_os_str())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!dead.exists(), "the store of a run that no longer runs stays");
    assert!(live.exists(), "a running process's store was removed");
}

#[cfg(unix)]
#[test]
fn without_home_or_xdg_cache_home_the_cache_is_a_private_per_user_directory() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    // Before: a shared /tmp/apiserver-doctor, world-readable, that locked out every other user.
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = copy_of_log("");
    let out = common::diagnose_without_home(&path_of(&log), tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let made = named(tmp.path(), "apiserver-doctor");
    assert_eq!(made.len(), 1, "{made:?}");
    let meta = std::fs::symlink_metadata(&made[0]).expect("meta");
    let me = std::fs::metadata(tmp.path()).expect("meta").uid();
    assert_eq!(
        made[0].file_name().map(|n| n.to_string_lossy().into_owned()),
        Some(format!("apiserver-doctor-{me}"))
    );
    assert_eq!(meta.uid(), me);
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    assert_eq!(
        std::fs::read_dir(made[0].join("stores"))
            .expect("stores")
            .flatten()
            .filter(|e| e.path().is_dir())
            .count(),
        1
    );
}

#[test]
fn a_relative_xdg_cache_home_is_ignored() {
    let home = tempfile::tempdir().expect("tempdir");
    let cwd = tempfile::tempdir().expect("tempdir");
    let log = copy_of_log("");
    let out = Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
        .args(["diagnose", &path_of(&log), "--fail-on", "never"])
        .current_dir(cwd.path())
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", "relcache")
        .env_remove("APISERVER_DOCTOR_STORE")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!cwd.path().join("relcache").exists());
    assert_eq!(store_dirs(&home.path().join(".cache")).len(), 1);
}

#[test]
fn a_cache_hit_prints_the_skipped_records_file_and_line_again() {
    let cache = tempfile::tempdir().expect("tempdir");
    let log = copy_of_log("{\"kind\": oops\n");
    let cold = diagnose(&path_of(&log), cache.path());
    assert_eq!(cold.status.code(), Some(0), "{}", stderr(&cold));
    let warning = stderr(&cold)
        .lines()
        .find(|l| l.starts_with("warning: skipped") && l.contains("audit.log: line "))
        .map(str::to_owned)
        .expect("the cold run names the skipped line");
    let warm = diagnose(&path_of(&log), cache.path());
    assert_eq!(warm.status.code(), Some(0), "{}", stderr(&warm));
    assert!(stderr(&warm).lines().any(|l| l == warning), "{warning}\n---\n{}", stderr(&warm));
}

#[cfg(target_os = "linux")]
#[test]
fn readers_of_a_store_an_ingest_is_writing_say_so() {
    let cache = tempfile::tempdir().expect("tempdir");
    let st = tempfile::tempdir().expect("tempdir");
    let store = st.path().join("st");
    let store_arg = store.display().to_string();
    let made = doctor(&["ingest", AUDIT_LOG, "--store", &store_arg, "--quiet"], cache.path());
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    // Held as the writer holds it (an exclusive lock on the store's lock file).
    let lock = std::fs::File::open(store.join("lock")).expect("lock file");
    lock.lock().expect("lock");
    const SAID: &str = "an ingest is writing to it right now: run again when it ends";
    let stats = doctor(&["stats", "--store", &store_arg], cache.path());
    assert_eq!(stats.status.code(), Some(0), "{}", stderr(&stats));
    assert!(stderr(&stats).contains(SAID), "{}", stderr(&stats));
    let diag = doctor(&["diagnose", "--store", &store_arg, "--fail-on", "never"], cache.path());
    assert_eq!(diag.status.code(), Some(0), "{}", stderr(&diag));
    // The report's notes wrap at the terminal width.
    let text = stdout(&diag).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains(SAID), "{text}");
    // An empty store (the first ingest into it has committed nothing yet).
    let empty = st.path().join("empty");
    std::fs::create_dir_all(empty.join("data")).expect("mkdir");
    std::fs::write(
        empty.join("manifest.json"),
        std::fs::read_to_string(store.join("manifest.json"))
            .map(|m| {
                let mut v: serde_json::Value = serde_json::from_str(&m).expect("json");
                v["files"] = serde_json::json!([]);
                v["inputs"] = serde_json::json!([]);
                v.to_string()
            })
            .expect("manifest"),
    )
    .expect("write");
    let empty_lock = std::fs::File::create(empty.join("lock")).expect("lock file");
    empty_lock.lock().expect("lock");
    let diag = doctor(&["diagnose", "--store", &empty.display().to_string()], cache.path());
    assert_eq!(diag.status.code(), Some(2), "{}", stderr(&diag));
    assert!(stderr(&diag).contains(SAID), "{}", stderr(&diag));
    drop(lock);
    let stats = doctor(&["stats", "--store", &store_arg], cache.path());
    assert!(!stderr(&stats).contains(SAID), "{}", stderr(&stats));
}

/// Real audit logs for the cache's stores that start from an earlier one, relative to the
/// workspace.
const MORE_LOGS: [&str; 2] = [
    "crates/audit/tests/fixtures/audit/panther_eks_audit_rule_test_events.jsonl",
    "crates/audit/tests/fixtures/audit/sysdig-aks-audit-log_sample_KubeAuditLog_event_RequestResponse.json",
];

/// The inodes of a store's data files.
#[cfg(unix)]
fn data_inodes(store: &Path) -> std::collections::BTreeSet<u64> {
    use std::os::unix::fs::MetadataExt;
    parquet_files(store).iter().map(|p| std::fs::metadata(p).expect("metadata").ino()).collect()
}

/// `diagnose DIR` with its cache in `cache`: its JSON report and standard error.
fn diagnose_dir(dir: &Path, cache: &Path) -> (String, String) {
    let out = diagnose(dir.to_str().expect("utf-8"), cache);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (stdout(&out), stderr(&out))
}

/// The store `diagnose` made in `cache` since `before` was listed.
fn new_store(cache: &Path, before: &[PathBuf]) -> PathBuf {
    let made: Vec<PathBuf> = store_dirs(cache).into_iter().filter(|s| !before.contains(s)).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    made[0].clone()
}

/// The files a cache store's manifest lists as its inputs, with their events, by name.
fn inputs_of(store: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(store.join("manifest.json")).expect("manifest");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let name = |i: &serde_json::Value| {
        let file = i["file"].as_str().expect("file");
        Path::new(file).file_name().expect("name").to_string_lossy().into_owned()
    };
    let mut inputs: Vec<(String, u64)> = v["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| (name(i), i["events"].as_u64().expect("events")))
        .collect();
    inputs.sort();
    inputs
}

#[cfg(unix)]
#[test]
fn a_new_file_beside_cached_ones_is_read_alone_and_the_rest_taken_from_the_cache() {
    // Before, a directory diagnosed again after one more file arrived in it (the next hour of
    // an export) was read again whole: its cache key is all its files.
    let logs = copy_of_log("{\"kind\": oops\n");
    std::fs::copy(workspace().join(MORE_LOGS[0]), logs.path().join("b.jsonl")).expect("copy");
    let cache = tempfile::tempdir().expect("tempdir");
    let (_, cold) = diagnose_dir(logs.path(), cache.path());
    let skipped = cold
        .lines()
        .find(|l| l.starts_with("warning: skipped") && l.contains("audit.log: line "))
        .map(str::to_owned)
        .expect("the cold run names the skipped line");
    let earlier = store_dirs(cache.path());
    assert_eq!(earlier.len(), 1, "{earlier:?}");

    std::fs::copy(workspace().join(MORE_LOGS[1]), logs.path().join("c.json")).expect("copy");
    let (report, err) = diagnose_dir(logs.path(), cache.path());
    let store = new_store(cache.path(), &earlier);
    // Every data file of the earlier store is in the new one (hard links), and more.
    let (was, now) = (data_inodes(&earlier[0]), data_inodes(&store));
    assert!(!was.is_empty() && was.is_subset(&now) && now.len() > was.len(), "{was:?} {now:?}");
    assert_eq!(inputs_of(&store), [("audit.log".into(), 37), ("b.jsonl".into(), 188), ("c.json".into(), 1)]);
    // What the run that read the earlier files said about them is said again.
    assert!(err.lines().any(|l| l == skipped), "{skipped}\n---\n{err}");

    // The same report as from the three files read into an empty cache, and from the cache.
    let fresh = tempfile::tempdir().expect("tempdir");
    assert_eq!(report, diagnose_dir(logs.path(), fresh.path()).0);
    assert_eq!(report, diagnose_dir(logs.path(), cache.path()).0);
}

#[cfg(unix)]
#[test]
fn a_cached_store_holding_a_file_since_removed_or_changed_is_not_started_from() {
    // Its events would stay in the new store: the report would count a removed file's events,
    // or a changed file's old ones beside its new ones.
    let logs = copy_of_log("");
    let b = logs.path().join("b.jsonl");
    std::fs::copy(workspace().join(MORE_LOGS[0]), &b).expect("copy");
    let cache = tempfile::tempdir().expect("tempdir");
    diagnose_dir(logs.path(), cache.path());
    // Every file read again: the new store shares no data file with the cache's others, holds
    // `inputs`, and gives the report of an empty cache.
    let read_afresh = |inputs: [(String, u64); 2]| {
        let before = store_dirs(cache.path());
        let (report, _) = diagnose_dir(logs.path(), cache.path());
        let store = new_store(cache.path(), &before);
        let now = data_inodes(&store);
        for earlier in &before {
            assert!(
                data_inodes(earlier).is_disjoint(&now),
                "{} shares files with {}",
                store.display(),
                earlier.display()
            );
        }
        assert_eq!(inputs_of(&store), inputs);
        assert_eq!(report, diagnose_dir(logs.path(), tempfile::tempdir().expect("tempdir").path()).0);
    };

    // Removed, and another file added.
    std::fs::remove_file(&b).expect("remove");
    std::fs::copy(workspace().join(MORE_LOGS[1]), logs.path().join("c.json")).expect("copy");
    read_afresh([("audit.log".into(), 37), ("c.json".into(), 1)]);

    // Changed: one event more in audit.log, at its start, which both stores of the cache hold
    // as it was (one added at its end is a log that grew: see the test after this one).
    let log = logs.path().join("audit.log");
    let text = std::fs::read_to_string(&log).expect("read");
    let last = text.lines().last().expect("a line").replace("\"auditID\":\"", "\"auditID\":\"0");
    std::fs::write(&log, format!("{last}\n{text}")).expect("write");
    read_afresh([("audit.log".into(), 38), ("c.json".into(), 1)]);
}

#[cfg(unix)]
#[test]
fn a_rotated_log_keeps_its_cached_events_under_its_new_name() {
    // logrotate's numbering: `audit.log.1` renamed to `audit.log.2`, `audit.log` to
    // `audit.log.1`, and a new `audit.log` begun. The rotated files are the same files (their
    // inodes), unchanged, and only the new one is read.
    let logs = copy_of_log("{\"kind\": oops\n");
    let dir = logs.path();
    std::fs::copy(workspace().join(MORE_LOGS[0]), dir.join("audit.log.1")).expect("copy");
    let cache = tempfile::tempdir().expect("tempdir");
    diagnose_dir(dir, cache.path());
    let earlier = store_dirs(cache.path());
    std::fs::rename(dir.join("audit.log.1"), dir.join("audit.log.2")).expect("rename");
    std::fs::rename(dir.join("audit.log"), dir.join("audit.log.1")).expect("rename");
    std::fs::copy(workspace().join(MORE_LOGS[1]), dir.join("audit.log")).expect("copy");
    let (report, err) = diagnose_dir(dir, cache.path());
    let store = new_store(cache.path(), &earlier);
    assert!(data_inodes(&earlier[0]).is_subset(&data_inodes(&store)));
    assert_eq!(
        inputs_of(&store),
        [("audit.log".into(), 1), ("audit.log.1".into(), 37), ("audit.log.2".into(), 188)]
    );
    assert!(report.contains("audit.log.2"), "{report}");
    // The skipped line is named in the file that holds it now. Before, the names were changed
    // one input after another, and the line moved on with the second rename, to audit.log.2.
    let skipped: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: skipped")).collect();
    assert_eq!(skipped.len(), 1, "{err}");
    assert!(skipped[0].contains("audit.log.1: line 38"), "{err}");
    assert_eq!(report, diagnose_dir(dir, tempfile::tempdir().expect("tempdir").path()).0);
}

#[cfg(unix)]
#[test]
fn runs_starting_at_once_from_one_cached_store_each_get_their_own_files() {
    // Six runs at once, each over the cached file and one new file of its own: more stores than
    // the four kept, so the runs evict while others copy the store they share (its lock, held
    // shared while it is copied, keeps it). Each run's report is that of its files read into an
    // empty cache.
    let cache = tempfile::tempdir().expect("tempdir");
    let shared = copy_of_log("");
    diagnose_dir(shared.path(), cache.path());
    let shared_files = data_inodes(&store_dirs(cache.path())[0]);
    let sets: Vec<tempfile::TempDir> = (0..6)
        .map(|i| {
            let set = tempfile::tempdir().expect("tempdir");
            // The same file (a hard link), so the cached store holds it unchanged.
            std::fs::hard_link(shared.path().join("audit.log"), set.path().join("audit.log")).expect("link");
            let extra = if i % 2 == 0 { MORE_LOGS[0] } else { MORE_LOGS[1] };
            std::fs::copy(workspace().join(extra), set.path().join(format!("new{i}.json"))).expect("copy");
            set
        })
        .collect();
    let runs: Vec<std::process::Child> = sets
        .iter()
        .map(|set| {
            let args = ["diagnose", "-o", "json", "--fail-on", "never"].map(std::ffi::OsStr::new);
            spawn_doctor(&[&args[..], &[set.path().as_os_str()]].concat(), cache.path())
        })
        .collect();
    for (set, run) in sets.iter().zip(runs) {
        let out = run.wait_with_output().expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let fresh = tempfile::tempdir().expect("tempdir");
        assert_eq!(stdout(&out), diagnose_dir(set.path(), fresh.path()).0, "{}", set.path().display());
    }
    // At least one of the stores kept started from the shared one (a run that found it being
    // evicted reads both its files).
    let started_from_it =
        store_dirs(cache.path()).iter().filter(|s| shared_files.is_subset(&data_inodes(s))).count();
    assert!(started_from_it >= 1, "{:?}", store_dirs(cache.path()));
}

#[cfg(unix)]
#[test]
fn a_log_still_being_written_is_read_again_and_the_rotated_ones_taken_from_the_cache() {
    // A log backend's directory: a rotated file that no longer changes, and `audit.log`, which
    // grows. Before, every run after the log grew read every file again.
    let logs = copy_of_log("{\"kind\": oops\n");
    let dir = logs.path();
    std::fs::copy(workspace().join(MORE_LOGS[0]), dir.join("audit-2025-01-01T00-00-00.000.log"))
        .expect("copy");
    let cache = tempfile::tempdir().expect("tempdir");
    diagnose_dir(dir, cache.path());
    let earlier = store_dirs(cache.path());

    // The log grows by one event (written in place: the same file, its inode).
    let log = dir.join("audit.log");
    let text = std::fs::read_to_string(&log).expect("read");
    let first = text.lines().next().expect("a line").replace("\"auditID\":\"", "\"auditID\":\"grown-");
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).expect("open");
    std::io::Write::write_all(&mut file, format!("{first}\n").as_bytes()).expect("append");
    drop(file);
    let (report, err) = diagnose_dir(dir, cache.path());
    let store = new_store(cache.path(), &earlier);
    assert!(
        data_inodes(&earlier[0]).is_subset(&data_inodes(&store)),
        "the cached store was not started from"
    );
    assert_eq!(
        inputs_of(&store),
        [("audit-2025-01-01T00-00-00.000.log".into(), 188), ("audit.log".into(), 38)]
    );
    // The grown file's bad line is said once, by the run that read it again.
    let skipped: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: skipped")).collect();
    assert_eq!(skipped.len(), 1, "{err}");
    assert_eq!(report, diagnose_dir(dir, tempfile::tempdir().expect("tempdir").path()).0);

    // Rewritten in place with other content, longer: not grown, and every file is read again.
    let before = store_dirs(cache.path());
    std::fs::write(&log, std::fs::read_to_string(workspace().join(MORE_LOGS[0])).expect("read"))
        .expect("write");
    let (report, _) = diagnose_dir(dir, cache.path());
    let store = new_store(cache.path(), &before);
    let now = data_inodes(&store);
    assert!(
        before.iter().all(|b| data_inodes(b).is_disjoint(&now)),
        "a store holding the old audit.log was started from"
    );
    assert_eq!(report, diagnose_dir(dir, tempfile::tempdir().expect("tempdir").path()).0);
}

/// The bytes of a Parquet file's pages: between its leading magic and its footer (whose length
/// is the four bytes before the trailing magic).
fn pages_len(file: &[u8]) -> usize {
    let n = file.len();
    let footer = u32::from_le_bytes([file[n - 8], file[n - 7], file[n - 6], file[n - 5]]) as usize;
    n - 8 - footer - 4
}
