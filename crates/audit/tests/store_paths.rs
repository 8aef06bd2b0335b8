//! How the manifest names inputs (review s20 item 7). One test only: it changes the working
//! directory, which is the whole process's.

use std::path::{Path, PathBuf};

use audit::ingest::{IngestOptions, ingest};
use audit::store::Store;

const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"@ID@","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","user":{"username":"u"},"objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-03-01T00:00:01Z","stageTimestamp":"2024-03-01T00:00:01Z"}"#;

fn events(n: usize, prefix: &str) -> String {
    (0..n).map(|i| EVENT.replace("@ID@", &format!("{prefix}-{i}")) + "\n").collect()
}

fn inputs(store: &Path) -> Vec<audit::store::IngestedInput> {
    Store::open(store).expect("store").manifest().inputs.clone()
}

/// Review s20 item 7: inputs were keyed by the path as typed. `logs/a.log` ingested from
/// another directory (another file) replaced the first file's entry, and one file under five
/// spellings counted as five inputs, read five times.
#[test]
fn inputs_are_keyed_by_canonical_path_so_spellings_and_links_are_one_input_and_same_names_two() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = std::fs::canonicalize(dir.path()).expect("canonical");
    for d in ["rp/logs", "rp/other/logs"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("rp/logs/a.log"), events(5, "first")).expect("a");
    std::fs::write(root.join("rp/other/logs/a.log"), events(3, "second")).expect("other a");
    let store = root.join("rp/st");
    let opts = IngestOptions::default();
    std::env::set_current_dir(root.join("rp")).expect("cd");
    ingest(&store, &[PathBuf::from("logs/a.log")], &opts).expect("first");
    // The same file under other names: already ingested, not read again.
    std::fs::hard_link(root.join("rp/logs/a.log"), root.join("rp/hard.log")).expect("hard link");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("rp/logs/a.log"), root.join("rp/sym.log")).expect("symlink");
    for spelling in ["./logs/../logs/a.log", "hard.log", "sym.log"] {
        let r = ingest(&store, &[PathBuf::from(spelling)], &opts).expect("again");
        assert_eq!(r.unchanged, vec![spelling.to_owned()], "{spelling}");
        assert_eq!(r.unchanged_events, 5);
    }
    let abs = root.join("rp/logs/a.log");
    assert_eq!(ingest(&store, std::slice::from_ref(&abs), &opts).expect("abs").unchanged.len(), 1);
    // Another file of the same relative name, from another directory: a second input.
    std::env::set_current_dir(root.join("rp/other")).expect("cd");
    let r = ingest(&store, &[PathBuf::from("logs/a.log")], &opts).expect("second");
    assert!(r.unchanged.is_empty());
    std::env::set_current_dir(&root).expect("cd back");
    let listed = inputs(&store);
    let paths: Vec<Option<&str>> = listed.iter().map(|i| i.path.as_deref()).collect();
    let second = root.join("rp/other/logs/a.log");
    assert_eq!(paths, vec![abs.to_str(), second.to_str()]);
    assert_eq!(listed[0].file, "logs/a.log", "the path as typed is kept for display");
    assert_eq!(listed.iter().map(|i| i.events).sum::<u64>(), 8);
    assert_eq!(Store::open(&store).expect("store").manifest().totals().events, 8);

    // A name that is not UTF-8 is stored escaped, and found again.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname.log");
        let bad = root.join("rp").join(name);
        std::fs::write(&bad, events(2, "bad")).expect("bad name");
        ingest(&store, std::slice::from_ref(&bad), &opts).expect("bad");
        let listed = inputs(&store);
        let last = listed.last().expect("entry");
        let path = last.path.as_deref().expect("path");
        assert!(path.ends_with("rp/bad\\xffname.log"), "{path}");
        assert_eq!(ingest(&store, &[bad], &opts).expect("bad again").unchanged.len(), 1);
    }
}
