//! What `ingest` and the diagnose cache say when a store refuses them or a run fails (review
//! s20r): ingests started together into a new store, a store on a read-only file system, an
//! input without events, a failed cache fill, a per-user cache directory that is a link.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{doctor, stderr, stdout, workspace};

/// A small real audit log (JSON lines), relative to the workspace.
const AUDIT_LOG: &str = "crates/audit/tests/fixtures/audit/audit2rbac_demo.log";

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"@ID@","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-03-01T00:00:@S@Z","stageTimestamp":"2024-03-01T00:00:@S@Z"}"#;

fn events(n: usize, prefix: &str) -> String {
    (0..n)
        .map(|i| {
            EVENT.replace("@ID@", &format!("{prefix}-{i}")).replace("@S@", &format!("{:02}", i % 60)) + "\n"
        })
        .collect()
}

fn text(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Whether mounting is allowed here (root): the tests that need a mount skip otherwise, but
/// not under CI, which runs them as root.
fn can_mount() -> bool {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if !root {
        assert!(std::env::var_os("CI").is_none(), "CI runs these tests as root: they must not skip");
        eprintln!("skipped: needs root (to mount a file system)");
    }
    root
}

/// A tmpfs mounted at a new temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mount -t tmpfs -o {options} failed");
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn remount(&self, options: &str) {
        let status =
            Command::new("mount").args(["-o", options]).arg(self.path()).status().expect("mount runs");
        assert!(status.success(), "mount -o {options} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Review s20r N2 (`burst.sh`): four ingests started at once into the same new store. A loser
/// was sometimes refused as "not empty and is not an apiserver-doctor store … choose an empty
/// or new directory", or as "a process that did not record its ID: an older apiserver-doctor".
#[test]
fn ingests_started_together_into_a_new_store_are_refused_only_as_another_ingest_is_writing() {
    const ROUNDS: usize = 15;
    const EVENTS: usize = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let inputs: Vec<PathBuf> = (0..4)
        .map(|i| {
            let p = dir.path().join(format!("p{i}.log"));
            std::fs::write(&p, events(EVENTS, &format!("p{i}"))).expect("write");
            p
        })
        .collect();
    for round in 0..ROUNDS {
        let store = dir.path().join(format!("st{round}"));
        let children: Vec<std::process::Child> = inputs
            .iter()
            .map(|input| {
                Command::new(env!("CARGO_BIN_EXE_apiserver-doctor"))
                    .args(["ingest", text(input), "--store", text(&store), "--quiet"])
                    .env("XDG_CACHE_HOME", &cache)
                    .env_remove("APISERVER_DOCTOR_STORE")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        let mut accepted = 0;
        for child in children {
            let out = child.wait_with_output().expect("wait");
            let err = stderr(&out);
            match out.status.code() {
                Some(0) => accepted += 1,
                Some(2) => assert!(
                    err.starts_with(&format!(
                        "error: {}: another ingest is writing to this store (process ",
                        store.display()
                    )),
                    "round {round}: {err}"
                ),
                other => panic!("round {round}: exit {other:?}: {err}"),
            }
        }
        let stats = doctor(&["stats", "--store", text(&store), "-o", "json"], &cache);
        assert_eq!(stats.status.code(), Some(0), "{}", stderr(&stats));
        let json: serde_json::Value = serde_json::from_str(&stdout(&stats)).expect("json");
        assert_eq!(
            json["events"].as_u64(),
            Some((accepted * EVENTS) as u64),
            "round {round}: {accepted} accepted"
        );
    }
}

/// Review s20r "Read-only mount" (and item 5): `ingest` into a store on a read-only file system
/// printed only `error: …/lock: Read-only file system (os error 30)`.
#[test]
fn ingest_into_a_store_on_a_read_only_file_system_says_what_and_why_and_that_it_still_reads() {
    if !can_mount() {
        return;
    }
    let fs = Tmpfs::mount("size=16m");
    let cache = tempfile::tempdir().expect("tempdir");
    let store = fs.path().join("st");
    let log = workspace().join(AUDIT_LOG);
    let first = doctor(&["ingest", text(&log), "--store", text(&store), "--quiet"], cache.path());
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    fs.remount("remount,ro");
    let input = tempfile::tempdir().expect("tempdir");
    let more = input.path().join("more.log");
    std::fs::write(&more, events(10, "more")).expect("write");
    let out = doctor(&["ingest", text(&more), "--store", text(&store), "--quiet"], cache.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with(&format!("error: cannot write to store {}: ", store.display())), "{err}");
    assert!(
        err.contains(&format!("the file system mounted at {} is read-only", fs.path().display())),
        "{err}"
    );
    assert!(err.contains("Nothing was written, and nothing in the store is damaged"), "{err}");
    assert!(err.contains("stats --store") && err.contains("diagnose --store"), "{err}");
    assert!(!err.contains("os error"), "{err}");
    // And it does read.
    let stats = doctor(&["stats", "--store", text(&store)], cache.path());
    assert_eq!(stats.status.code(), Some(0), "{}", stderr(&stats));
    let diagnose = doctor(&["diagnose", "--store", text(&store), "--fail-on", "never"], cache.path());
    assert_eq!(diagnose.status.code(), Some(0), "{}", stderr(&diagnose));
}

/// Review s20r N5: an empty file into an existing store exited 2 "nothing was ingested", yet the
/// manifest listed it; the next run said both "already ingested, unchanged" and "no audit event".
#[test]
fn an_empty_file_into_an_existing_store_is_not_recorded_and_the_store_is_said_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("st");
    let log = workspace().join(AUDIT_LOG);
    let first = doctor(&["ingest", text(&log), "--store", text(&store), "--quiet"], &cache);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let manifest = std::fs::read(store.join("manifest.json")).expect("manifest");
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").expect("write");
    for run in 0..2 {
        let out = doctor(&["ingest", text(&empty), "--store", text(&store)], &cache);
        let (out_text, err) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("nothing was ingested, and the store {} is unchanged", store.display())),
            "run {run}: {err}"
        );
        assert!(!out_text.contains("already ingested"), "run {run}: {out_text}");
        assert_eq!(std::fs::read(store.join("manifest.json")).expect("manifest"), manifest, "run {run}");
    }
}

/// Review s40, item 1: a file ingested before and then overwritten with garbage, read again,
/// replaced its manifest entry with one of no events (where the stored events came from was
/// lost) while the run said "the store is unchanged".
#[test]
fn a_reread_file_now_garbage_keeps_its_earlier_entry_and_the_store_is_truly_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("st");
    let log = dir.path().join("audit.log");
    std::fs::copy(workspace().join(AUDIT_LOG), &log).expect("copy");
    let first = doctor(&["ingest", text(&log), "--store", text(&store), "--quiet"], &cache);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let manifest = std::fs::read(store.join("manifest.json")).expect("manifest");
    let stats = |store: &Path| {
        let out = doctor(&["stats", "--store", text(store), "-o", "json"], &cache);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("stats json")
    };
    let before = stats(&store);
    let stored = before["events"].as_u64().expect("events");
    assert!(stored > 0, "{before}");
    // The same file (same inode), its content replaced by bytes that are no audit log.
    std::fs::write(&log, b"\x00\x01garbage\xff\xfe not an audit log\n").expect("overwrite");
    let out = doctor(&["ingest", text(&log), "--store", text(&store)], &cache);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "gave no event this time: the {stored} events stored from it by an earlier run are kept"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("the store {} is unchanged", store.display())), "{err}");
    assert_eq!(std::fs::read(store.join("manifest.json")).expect("manifest"), manifest);
    let after = stats(&store);
    assert_eq!(after["events"], before["events"]);
    assert_eq!(after["input_files"], before["input_files"], "the earlier entry, with its events, is kept");
    assert_eq!(after["input_files"][0]["events"].as_u64(), Some(stored), "{after}");
}

/// Review s40, item 1: a file that is not an audit log, given to an existing store, is listed
/// in its manifest (so that `stats` says why it was not read): the run said "the store is
/// unchanged" of a store whose manifest it had rewritten.
#[test]
fn a_non_audit_file_into_an_existing_store_is_said_listed_not_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let store = dir.path().join("st");
    let first =
        doctor(&["ingest", text(&workspace().join(AUDIT_LOG)), "--store", text(&store), "--quiet"], &cache);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let metrics = dir.path().join("metrics.txt");
    std::fs::write(&metrics, "# TYPE up gauge\nup 1\n").expect("write");
    let out = doctor(&["ingest", text(&metrics), "--store", text(&store)], &cache);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("unchanged"), "{err}");
    assert!(
        err.contains(&format!(
            "nothing was ingested; the store {} holds the events it held, and lists the files not read (see `stats`)",
            store.display()
        )),
        "{err}"
    );
}

/// Review s20r N5: after a failed fill of a new diagnose cache store, the message said "the
/// store … is unchanged (as its last commit left it)" of a store that never had a commit.
#[test]
fn a_failed_fill_of_a_new_cache_store_says_the_half_made_store_was_removed() {
    if !can_mount() {
        return;
    }
    let fs = Tmpfs::mount("size=64k");
    let cache = fs.path().join("cache");
    let big = tempfile::tempdir().expect("tempdir");
    let log = big.path().join("audit.log");
    std::fs::write(&log, events(20_000, "big")).expect("write");
    let out = doctor(&["diagnose", text(&log), "--fail-on", "never"], &cache);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("diagnose cache"), "{err}");
    assert!(!err.contains("unchanged"), "{err}");
    assert!(err.contains("nothing was ingested: the new store this run had begun in "), "{err}");
}

/// Review s20r N5 (`tmpcache2.sh`): the per-user cache directory under the temporary directory,
/// when it is a symbolic link, was refused as "… is not a directory".
#[test]
fn a_per_user_cache_directory_that_is_a_symbolic_link_is_refused_as_one() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let victim = tmp.path().join("victim");
    std::fs::create_dir(&victim).expect("mkdir");
    let uid = std::fs::metadata("/proc/self").expect("/proc/self").uid();
    let link = tmp.path().join(format!("apiserver-doctor-{uid}"));
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let log = workspace().join(AUDIT_LOG);
    let out = common::diagnose_without_home(text(&log), tmp.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("{} is a symbolic link", link.display())), "{err}");
    assert!(!err.contains("is not a directory"), "{err}");
    assert!(std::fs::read_dir(&victim).expect("victim").next().is_none(), "the link was followed");
}

/// Bad-input review s53, item 11: a store that lost its manifest.json was "not an
/// apiserver-doctor store (run `apiserver-doctor ingest` first)" to `stats`, `query` and
/// `diagnose`, while `ingest` said it holds data files and refused to write. Readers now say
/// the same: the data files counted, the manifest lost, what to do.
#[test]
fn a_store_that_lost_its_manifest_was_called_no_store_by_readers() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = tmp.path().join("s");
    let cache = tmp.path().join("cache");
    let out = doctor(&["ingest", "-q", "--store", text(&store), AUDIT_LOG], &cache);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = audit::store::Store::open(&store).expect("store").data_files().len();
    std::fs::remove_file(store.join("manifest.json")).expect("rm manifest");
    for args in [
        &["stats", "--store", text(&store)][..],
        &["query", "--store", text(&store), "KubeAudit | count"][..],
        &["diagnose", "--store", text(&store)][..],
    ] {
        let out = doctor(args, &cache);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{} holds {files} data file{} (data/hour=*/part-*.parquet) but no manifest.json: the store lost \
                 its manifest",
                text(&store),
                if files == 1 { "" } else { "s" }
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("run `apiserver-doctor ingest` first"), "{args:?}: {err}");
    }
}
