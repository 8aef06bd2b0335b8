//! The store under hostile operations (review s20): a deleted lock file, another writer's
//! commit, a failed run's leftovers, thousands of small inputs, an input without events, a file
//! where the store should be.

mod common;

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use audit::ingest::{IngestOptions, ingest};
use audit::read::ReadOptions;
use audit::store::writer::{StoreWriter, WriterOptions};
use audit::store::{Store, StoreError};

use common::{events, write};

fn batches_of(path: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), audit::read::SinkError> {
        out.push(b);
        Ok(())
    };
    audit::read::read_paths(&[path.to_path_buf()], &ReadOptions::default(), &mut sink).expect("read");
    out
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
        }
    }
    out.sort();
    out
}

/// Review s20 item 1: `rm store/lock` (taken for a stale lock) let a second ingest run beside
/// the first, and one's events were lost.
#[test]
fn a_deleted_lock_file_does_not_let_a_second_writer_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let first = StoreWriter::open(&store, WriterOptions::default()).expect("first");
    std::fs::remove_file(store.join("lock")).expect("rm lock");
    match StoreWriter::open(&store, WriterOptions::default()) {
        Err(StoreError::Locked { .. }) => {}
        other => panic!("a second writer ran beside the first: {:?}", other.map(|_| ())),
    }
    drop(first);
}

/// Review s20 items 1 and 10: the refusal named only the lock file, which invited deleting it.
#[test]
fn the_lock_refusal_names_the_holders_pid_and_says_the_lock_is_never_stale() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let _first = StoreWriter::open(&store, WriterOptions::default()).expect("first");
    let text = std::fs::read_to_string(store.join("lock")).expect("lock text");
    assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
    let e = StoreWriter::open(&store, WriterOptions::default()).err().expect("refused");
    let msg = e.to_string();
    assert!(msg.contains(&format!("process {}", std::process::id())), "{msg}");
    assert!(msg.contains("released when that process exits, even if it crashes"), "{msg}");
    assert!(msg.contains("Do not delete"), "{msg}");
}

/// Review s20 item 1: a writer committed its manifest over another writer's commit.
#[test]
fn a_commit_over_another_writers_commit_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let input = write(dir.path(), "a.log", &events(10, "a"));
    let mut w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    // Another writer's commit (an older build, or one let in some other way).
    let path = store.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let g = m["generation"].as_u64().expect("generation");
    m["generation"] = serde_json::json!(g + 1);
    std::fs::write(&path, serde_json::to_vec(&m).expect("json")).expect("write");
    for b in batches_of(&input) {
        w.write(&b).expect("write");
    }
    match w.commit() {
        Err(e @ StoreError::ConcurrentCommit(_)) => {
            assert!(e.to_string().contains("another ingest committed"))
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Review s20 item 1: a writer whose lock file was replaced by one another process holds (an
/// older build's writer, which locks only the file) must not commit beside it; one whose lock
/// file was only deleted takes it back and commits.
#[test]
fn a_writer_whose_lock_file_was_replaced_commits_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let input = write(dir.path(), "a.log", &events(10, "a"));
    let mut w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    std::fs::remove_file(store.join("lock")).expect("rm");
    let other = std::fs::File::create(store.join("lock")).expect("new lock");
    other.try_lock().expect("the other process's lock");
    for b in batches_of(&input) {
        w.write(&b).expect("write");
    }
    assert!(matches!(w.commit(), Err(StoreError::LockLost(_))));
    drop(w);
    drop(other);

    let store = dir.path().join("t");
    let mut w = StoreWriter::open(&store, WriterOptions::default()).expect("open");
    std::fs::remove_file(store.join("lock")).expect("rm");
    // A second writer is refused, and leaves no lock file of its own behind.
    assert!(matches!(StoreWriter::open(&store, WriterOptions::default()), Err(StoreError::Locked { .. })));
    assert!(!store.join("lock").exists());
    for b in batches_of(&input) {
        w.write(&b).expect("write");
    }
    w.commit().expect("the first writer takes its lock back and commits");
    let text = std::fs::read_to_string(store.join("lock")).expect("lock again");
    assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
}

/// Review s20 item 2: `abort` stopped at the first file it could not find (the one whose
/// encoding failed) and left the others, and every `.tmp` file, filling the disk.
#[test]
fn an_aborted_run_removes_all_its_uncommitted_and_temporary_files_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    ingest(&store, &[write(dir.path(), "first.log", &events(5, "f"))], &IngestOptions::default())
        .expect("ingest");
    let before = files_under(&store.join("data"));
    let opts = WriterOptions { flush_rows: 2, compact_min_files: 0, ..WriterOptions::default() };
    let mut w = StoreWriter::open(&store, opts).expect("open");
    for b in batches_of(&write(dir.path(), "b.log", &events(20, "b"))) {
        w.write(&b).expect("write");
    }
    w.commit().expect("a first commit");
    let committed = files_under(&store.join("data"));
    for b in batches_of(&write(dir.path(), "c.log", &events(20, "c"))) {
        // Two rows at a time: a file each.
        for i in (0..b.num_rows()).step_by(2) {
            w.write(&b.slice(i, 2.min(b.num_rows() - i))).expect("write");
        }
    }
    assert!(w.uncommitted_files() > 1);
    // Files under their final names only: the encoder thread may be writing (then renaming)
    // a temporary one right now.
    let mine: Vec<PathBuf> = files_under(&store.join("data"))
        .into_iter()
        .filter(|p| !committed.contains(p))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| !n.starts_with('.')))
        .collect();
    assert!(mine.len() > 1, "{mine:?}");
    // The first file vanished (as one whose encoding failed never got its name), and a
    // temporary file of this run is left, as a full disk leaves it.
    std::fs::remove_file(&mine[0]).expect("rm");
    let name = mine[1].file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    let tmp = mine[1].with_file_name(format!(".{}.tmp", name.replace(".parquet", "9.parquet")));
    std::fs::write(&tmp, b"half").expect("tmp");
    let foreign = mine[1].with_file_name("notes.txt");
    std::fs::write(&foreign, b"mine").expect("other file");
    std::fs::write(store.join("manifest.json.tmp"), b"{").expect("manifest tmp");
    let done = w.abort();
    assert!(done.not_removed.is_empty(), "{done:?}");
    assert!(done.files >= mine.len(), "{done:?}");
    let mut left = files_under(&store.join("data"));
    left.retain(|p| *p != foreign);
    assert_eq!(left, committed, "exactly the committed files are left");
    assert!(foreign.exists() && !store.join("manifest.json.tmp").exists());
    assert!(before.iter().all(|p| p.exists()));
}

/// Review s20 item 2 (and 11): a full disk was reported as the Parquet library's error on a
/// hidden temporary file's name, and nothing said what was left.
#[test]
fn a_full_disk_is_said_in_plain_words_naming_the_store_and_what_was_removed() {
    let store = Path::new("/data/store");
    let e = StoreError::Io {
        path: store.join("data/hour=x/.part-1.parquet.tmp"),
        source: std::io::Error::from_raw_os_error(28),
    };
    let msg = e.plain(store).to_string();
    assert!(msg.starts_with("no space left on device: the disk holding /data/store is full"), "{msg}");
    assert!(!msg.contains(".tmp"), "{msg}");
    let e = StoreError::Parquet {
        path: store.join("data/hour=x/.part-1.parquet.tmp"),
        message: "External: No space left on device (os error 28)".into(),
    };
    assert!(matches!(e.plain(store), StoreError::NoSpace { .. }));
    let failed = audit::ingest::IngestError::Failed {
        error: Box::new(StoreError::NoSpace { dir: store.to_path_buf() }),
        store: store.to_path_buf(),
        committed: false,
        cleanup: Box::new(audit::store::writer::Aborted { files: 3, bytes: 3_700_000, ..Default::default() }),
    };
    let msg = failed.to_string();
    assert!(msg.contains("the store /data/store is unchanged"), "{msg}");
    assert!(msg.contains("its 3 uncommitted files (3.7 MB) were removed"), "{msg}");
}

/// Review s20 item 3: each small input's batch kept its reader's buffers (hundreds of KB for a
/// few events), so 5,867 small files took 2.4 GB.
#[test]
fn thousands_of_small_files_do_not_each_keep_their_readers_buffers() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = dir.path().join("s");
    let mut w = StoreWriter::open(&store, WriterOptions { compact_min_files: 0, ..WriterOptions::default() })
        .expect("open");
    let mut capacity = 0;
    for i in 0..200 {
        let f = write(dir.path(), &format!("f{i}.log"), &events(2, &format!("f{i}")));
        for b in batches_of(&f) {
            capacity += b.get_array_memory_size();
            w.write(&b).expect("write");
        }
    }
    let held = w.buffered_memory();
    assert!(held * 20 < capacity, "{held} bytes held for 400 events, of {capacity} read");
    w.commit().expect("commit");
    let s = Store::open(&store).expect("store");
    assert_eq!(s.manifest().totals().events, 400);
}

/// Review s20 item 8: `ingest empty.log --store x/y/z` said "no audit event" (exit 2) and left
/// the store x/y/z behind, listing the empty file.
#[test]
fn a_run_without_any_audit_event_into_a_new_store_leaves_no_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = write(dir.path(), "empty.log", "");
    let store = dir.path().join("x/y/z");
    let report = ingest(&store, &[empty], &IngestOptions::default()).expect("ingest");
    assert!(report.new_store_removed);
    assert!(!dir.path().join("x").exists());
    // Ingest review s38 item 2: nor when the run took longer than a commit's interval (a slow
    // stream of no events): no commit of a new store before it holds an event.
    let slow = IngestOptions { commit_every: std::time::Duration::ZERO, ..IngestOptions::default() };
    let inputs = [write(dir.path(), "k.log", "{\"kind\": 0}\n"), write(dir.path(), "t.log", "not a log\n")];
    let report = ingest(&store, &inputs, &slow).expect("ingest");
    assert!(report.new_store_removed && report.events() == 0);
    assert!(!dir.path().join("x").exists());
    // An existing store is kept, whatever the run read.
    let store = dir.path().join("s");
    ingest(&store, &[write(dir.path(), "a.log", &events(3, "a"))], &IngestOptions::default())
        .expect("ingest");
    let report =
        ingest(&store, &[write(dir.path(), "e2.log", "")], &IngestOptions::default()).expect("ingest");
    assert!(!report.new_store_removed);
    assert_eq!(Store::open(&store).expect("store").manifest().totals().events, 3);
}

/// Review s20 item 11: a file given as the store said only "Not a directory (os error 20)".
#[test]
fn a_file_given_as_the_store_is_named_as_a_file_not_a_store_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = write(dir.path(), "afile", "x");
    let e = StoreWriter::open(&file, WriterOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("is a file, not a store directory"), "{e}");
    let e = StoreWriter::open(&file.join("sub"), WriterOptions::default()).err().expect("refused");
    assert!(e.to_string().contains("is a file, not a store directory"), "{e}");
    let e = Store::open(&file).expect_err("refused");
    assert!(e.to_string().contains("is a file, not a store directory"), "{e}");
    assert_eq!(std::fs::read(&file).expect("kept"), b"x");
}

/// Review s20 item 11: a file truncated while read (`copytruncate`) was reported as one
/// malformed record ("invalid JSON: EOF while parsing"), and the manifest took it as read whole.
#[test]
fn a_file_that_shrinks_while_it_is_read_is_said_to_have_shrunk() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path(), "trunc.log", &events(150_000, "t"));
    let size = std::fs::metadata(&path).expect("meta").len();
    let mut first = true;
    let mut sink = |_: &str, _: RecordBatch| -> Result<(), audit::read::SinkError> {
        if std::mem::take(&mut first) {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_len(100_000))
                .expect("cut");
        }
        Ok(())
    };
    let summary = audit::read::read_paths(std::slice::from_ref(&path), &ReadOptions::default(), &mut sink)
        .expect("read");
    let file = &summary.files[0];
    if file.bytes >= size {
        // Read whole before the cut (a machine reading far ahead): nothing to say.
        assert!(file.incomplete.is_none());
        return;
    }
    let cut = file.incomplete.as_ref().expect("read only in part");
    assert!(
        cut.message.starts_with(&format!("the file shrank while it was read, from {size} to 100000 bytes")),
        "{}",
        cut.message
    );
}
