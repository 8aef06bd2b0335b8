//! What the store says when it refuses or fails (review s20r): ingests started together into a
//! new store, a store this user may not write, an input without events, a failed first run.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};

use audit::ingest::{IngestError, IngestOptions, ingest};
use audit::store::writer::{StoreWriter, WriterOptions};
use audit::store::{Store, StoreError};

use common::{events, write};

fn quiet() -> IngestOptions {
    IngestOptions::default()
}

/// Review s20r N2: four ingests started at once into the same new store. A loser was sometimes
/// refused as "not empty and not an apiserver-doctor store … choose an empty or new directory"
/// (it looked for the winner's manifest before taking the lock), or as "a process that did not
/// record its ID: an older apiserver-doctor, or one whose lock file was deleted" (the winner had
/// not yet written its PID). Every refusal must be "another ingest is writing", naming the
/// holder, and the store must hold exactly the accepted runs' events.
#[test]
fn ingests_started_together_into_a_new_store_are_refused_only_as_another_ingest_is_writing() {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 40;
    const EVENTS: usize = 200;
    let dir = tempfile::tempdir().expect("tmp");
    let inputs: Vec<PathBuf> = (0..WRITERS)
        .map(|i| write(dir.path(), &format!("p{i}.log"), &events(EVENTS, &format!("p{i}"))))
        .collect();
    let mut refusals = 0;
    for round in 0..ROUNDS {
        let store = dir.path().join(format!("st{round}"));
        let barrier = Arc::new(Barrier::new(WRITERS));
        let handles: Vec<_> = inputs
            .iter()
            .map(|input| {
                let (store, input, barrier) = (store.clone(), input.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    ingest(&store, &[input], &quiet())
                })
            })
            .collect();
        let mut accepted = 0;
        for h in handles {
            match h.join().expect("thread") {
                Ok(_) => accepted += 1,
                Err(IngestError::Store(StoreError::Locked { holder: Some(holder), .. })) => {
                    assert!(holder.starts_with(&format!("process {}", std::process::id())), "{holder}");
                    refusals += 1;
                }
                Err(e) => panic!("round {round}: refused other than as locked by a named process: {e}"),
            }
        }
        let stored = Store::open(&store).expect("store").manifest().totals().events;
        assert_eq!(stored, (accepted * EVENTS) as u64, "round {round}: {accepted} accepted");
    }
    eprintln!("{refusals} refusals in {ROUNDS} rounds");
}

/// Review s20r N2, without the timing: the first writer of a new store holds the lock and has
/// written its first data file, but not its manifest yet. A second writer was refused as if the
/// directory held a store that had lost its manifest.
#[test]
fn a_writer_arriving_while_another_makes_a_new_store_is_told_another_ingest_is_writing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    std::fs::create_dir_all(store.join("data/hour=2024-03-01T00")).expect("mkdir");
    let lock = std::fs::File::create(store.join("lock")).expect("lock");
    std::fs::write(store.join("lock"), format!("pid {}\ncommand first ingest\n", std::process::id()))
        .expect("holder");
    lock.try_lock().expect("the first writer's lock");
    for name in [".part-1-00001.parquet.tmp", "part-1-00001.parquet"] {
        std::fs::write(store.join("data/hour=2024-03-01T00").join(name), b"PAR1").expect("part");
        match StoreWriter::open(&store, WriterOptions::default()) {
            Err(e @ StoreError::Locked { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("another ingest is writing to this store"), "{msg}");
                assert!(msg.contains(&format!("process {}: first ingest", std::process::id())), "{msg}");
            }
            other => panic!("with {name}: expected Locked, got {:?}", other.err().map(|e| e.to_string())),
        }
    }
    // Released with its files still there (a killed first run): the directory is what it is,
    // a store that lost its manifest, and is refused as such.
    drop(lock);
    assert!(matches!(
        StoreWriter::open(&store, WriterOptions::default()),
        Err(StoreError::ManifestMissing { .. })
    ));
}

/// Review s20r N2: between taking the lock and writing its PID into it, a writer was named "a
/// process that did not record its ID: an older apiserver-doctor, or one whose lock file was
/// deleted". The kernel's lock table names it.
#[cfg(target_os = "linux")]
#[test]
fn a_writer_that_has_not_written_its_id_yet_is_named_not_blamed_on_an_old_version() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    drop(StoreWriter::open(&store, WriterOptions::default()).expect("store"));
    // The lock file as a writer that has just locked it finds it: an earlier writer's ID (a
    // process that has exited), or nothing.
    for text in ["pid 4194399\ncommand apiserver-doctor ingest old\n", ""] {
        std::fs::write(store.join("lock"), text).expect("lock text");
        let holder = std::fs::OpenOptions::new().write(true).open(store.join("lock")).expect("open");
        holder.try_lock().expect("lock");
        let msg = StoreWriter::open(&store, WriterOptions::default()).err().expect("refused").to_string();
        assert!(msg.contains(&format!("(process {}: ", std::process::id())), "{msg}");
        assert!(!msg.contains("older apiserver-doctor"), "{msg}");
    }
}

/// Review s20r item 5 and "Read-only mount": `ingest` into a store it may not write printed
/// only `…/lock: Read-only file system (os error 30)` or `…: Permission denied (os error 13)`.
/// (Permissions do not hold for root: the errors are made here; the CLI test mounts a real
/// read-only file system.)
#[test]
fn a_store_this_user_may_not_write_is_said_in_plain_words_and_said_to_be_undamaged() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    ingest(&store, &[write(dir.path(), "a.log", &events(3, "a"))], &quiet()).expect("ingest");
    let lock = store.join("lock");
    let denied = StoreError::Io { path: lock.clone(), source: std::io::Error::from_raw_os_error(13) };
    let msg = denied.plain_at_open(&store).to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot write to store {}: {}: permission denied (",
            store.display(),
            lock.display()
        )),
        "{msg}"
    );
    assert!(msg.contains(" owns ") && msg.contains("(mode "), "{msg}");
    assert!(msg.contains("Nothing was written, and nothing in the store is damaged"), "{msg}");
    assert!(
        msg.contains("stats --store") && msg.contains("query --store") && msg.contains("diagnose --store"),
        "{msg}"
    );
    assert!(!msg.contains("os error"), "{msg}");
    let read_only = StoreError::Io { path: lock.clone(), source: std::io::Error::from_raw_os_error(30) };
    let msg = read_only.plain_at_open(&store).to_string();
    assert!(msg.contains("read-only"), "{msg}");
    assert!(msg.contains("Nothing was written, and nothing in the store is damaged"), "{msg}");
    assert!(msg.contains("remount"), "{msg}");
    // A new store that cannot be made: there is nothing to read either.
    let new = dir.path().join("new");
    let e = StoreError::Io { path: new.clone(), source: std::io::Error::from_raw_os_error(13) };
    let msg = e.plain_at_open(&new).to_string();
    assert!(
        msg.starts_with(&format!("cannot make a store at {}: permission denied (", new.display())),
        "{msg}"
    );
    assert!(msg.contains("Nothing was written") && !msg.contains("stats"), "{msg}");
    // Part way through a run: the store's own cleanup message says what stays.
    let hour = store.join("data/hour=x");
    let later = StoreError::Io {
        path: hour.join(".part-1.parquet.tmp"),
        source: std::io::Error::from_raw_os_error(13),
    };
    let msg = later.plain(&store).to_string();
    assert!(msg.contains("Nothing in the store is damaged") && !msg.contains("Nothing was written"), "{msg}");
    assert!(
        msg.contains(&format!("{}: permission denied", hour.display())) && !msg.contains(".part-"),
        "{msg}"
    );
}

/// The same through a real refusal, where permissions hold (not root).
#[cfg(unix)]
#[test]
fn ingest_into_a_store_whose_files_this_user_may_not_write_is_refused_in_plain_words() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        eprintln!("skipped: root may write anywhere (the read-only mount in the CLI tests covers root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    ingest(&store, &[write(dir.path(), "a.log", &events(3, "a"))], &quiet()).expect("ingest");
    let before = std::fs::read(store.join("manifest.json")).expect("manifest");
    std::fs::set_permissions(store.join("lock"), std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let e = ingest(&store, &[write(dir.path(), "b.log", &events(3, "b"))], &quiet()).expect_err("refused");
    std::fs::set_permissions(store.join("lock"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let msg = e.to_string();
    assert!(msg.contains("cannot write to store") && msg.contains("permission denied ("), "{msg}");
    assert!(msg.contains("Nothing was written, and nothing in the store is damaged"), "{msg}");
    assert_eq!(std::fs::read(store.join("manifest.json")).expect("manifest"), before);
}

/// Review s20r N5: an empty file ingested into an existing store exited 2 "nothing was
/// ingested", yet the manifest recorded it as an input; the next run then said both "already
/// ingested, unchanged" and "no audit event … nothing was ingested".
#[test]
fn an_input_without_events_is_not_recorded_and_leaves_the_store_unchanged() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    ingest(&store, &[write(dir.path(), "g.log", &events(5, "g"))], &quiet()).expect("ingest");
    let before = std::fs::read(store.join("manifest.json")).expect("manifest");
    let empty = write(dir.path(), "empty.log", "");
    // An empty file: not recorded, the store unchanged, and read again every time.
    for round in 0..2 {
        let report = ingest(&store, std::slice::from_ref(&empty), &quiet()).expect("ingest");
        assert_eq!(report.events(), 0);
        assert!(report.unchanged.is_empty(), "round {round}: {:?}", report.unchanged);
        assert!(!report.new_store_removed);
        assert_eq!(std::fs::read(store.join("manifest.json")).expect("manifest"), before, "round {round}");
    }
    // A file that is not an audit log is recorded, with why it was not read (`stats` lists it),
    // and still read again, never "already ingested": its entry is replaced, not added twice.
    let garbage = write(dir.path(), "notes.txt", "not an audit log\n");
    for round in 0..2 {
        let report = ingest(&store, &[empty.clone(), garbage.clone()], &quiet()).expect("ingest");
        assert_eq!(report.events(), 0);
        assert!(report.unchanged.is_empty(), "round {round}: {:?}", report.unchanged);
        let m = Store::open(&store).expect("store").manifest().clone();
        let files: Vec<(&str, bool)> =
            m.inputs.iter().map(|i| (i.file.as_str(), i.not_audit.is_some())).collect();
        assert_eq!(files.len(), 2, "round {round}: {files:?}");
        assert!(files.iter().any(|(f, not_audit)| f.ends_with("notes.txt") && *not_audit), "{files:?}");
    }
    // Beside an input with events, the empty one is still left out, and the other recorded.
    let report =
        ingest(&store, &[empty, write(dir.path(), "h.log", &events(2, "h"))], &quiet()).expect("ingest");
    assert_eq!(report.kept, 2);
    let m = Store::open(&store).expect("store").manifest().clone();
    let files: Vec<&str> = m.inputs.iter().map(|i| i.file.as_str()).collect();
    assert!(files.len() == 3 && files.iter().all(|f| !f.ends_with("empty.log")), "{files:?}");
}

/// Review s20r N5: a failed first run into a directory that was there (empty: `--store` made
/// beforehand, or the diagnose cache's) said "the store … is unchanged (as its last commit left
/// it)" of a store that never had a commit.
#[test]
fn a_failed_first_run_into_an_empty_directory_says_the_new_store_was_removed() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    std::fs::create_dir(&store).expect("mkdir");
    let mut w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    let input = write(dir.path(), "a.log", &events(3, "a"));
    let mut sink = |_: &str, b: arrow::array::RecordBatch| -> Result<(), audit::read::SinkError> {
        w.write(&b).map(|_| ()).map_err(|e| audit::read::SinkError::from(e.to_string()))
    };
    audit::read::read_paths(&[input], &audit::read::ReadOptions::default(), &mut sink).expect("read");
    let cleanup = w.abort();
    assert!(cleanup.new_store_undone && !cleanup.store_removed, "{cleanup:?}");
    assert!(
        store.is_dir() && std::fs::read_dir(&store).expect("dir").next().is_none(),
        "left as it was: empty"
    );
    let failed = IngestError::Failed {
        error: Box::new(StoreError::NoSpace { dir: store.clone() }),
        store: store.clone(),
        committed: false,
        cleanup: Box::new(cleanup),
    };
    let msg = failed.to_string();
    assert!(
        msg.contains(&format!(
            "nothing was ingested: the new store this run had begun in {} was removed",
            store.display()
        )),
        "{msg}"
    );
    assert!(!msg.contains("unchanged"), "{msg}");
}
