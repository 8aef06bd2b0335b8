//! A CSV export whose display-date rows must go to the temporary file while no row has told
//! their order, with no temporary file to be had: the read stops there, says why, keeps the
//! rows read before, and reports the file as read only in part (so the next ingest reads it
//! again). Its own test binary: the temporary directory is overridden for the whole process.

use std::path::Path;

use arrow::array::RecordBatch;
use audit::read::{ReadOptions, SinkError, read_bytes};

#[test]
fn a_csv_whose_held_rows_find_no_temporary_file_is_reported_as_read_only_in_part() {
    no_temporary_directory();
    let event = |i: usize| {
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","requestURI":"/api/v1/pods","verb":"list","stageTimestamp":"2025-03-11T09:00:00Z"}}"#
        )
    };
    let field = |s: String| format!("\"{}\"", s.replace('"', "\"\""));
    let mut text = "TimeGenerated [UTC],Category,log_s\n".to_owned();
    // Two rows with ISO times, read at once; then rows whose display dates could be either.
    for i in 0..2 {
        text += &format!("2025-03-11T09:00:00Z,kube-audit,{}\n", field(event(i)));
    }
    for i in 2..10 {
        text += &format!("\"11/3/2025, 9:00:00 AM\",kube-audit,{}\n", field(event(i)));
    }
    let opts = ReadOptions { hold_bytes: 0, ..ReadOptions::default() };
    let mut rows = 0;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        rows += b.num_rows();
        Ok(())
    };
    let f = read_bytes("never.csv", text.as_bytes(), &opts, &mut sink).expect("read");
    // Review s51, item 8: the row that found no temporary file is kept and read month-first
    // (with any held in memory), and the read stops after it.
    assert_eq!((f.events, rows), (3, 3));
    let cut = f.incomplete.as_ref().expect("read only in part");
    assert!(
        cut.message
            .contains("could not create the temporary file of CSV rows held until their date order is known"),
        "{}",
        cut.message
    );
    assert!(
        cut.message.starts_with("read error after line 4: the rest of the file was not read ("),
        "{}",
        cut.message
    );
    // The directory is named, and what was kept is said.
    assert!(cut.message.contains("known in /nonexistent/apiserver-doctor-test ("), "{}", cut.message);
    assert!(
        cut.message.contains("the 1 row held in memory until then was read as month-first dates"),
        "{}",
        cut.message
    );
}

/// The temporary directory of this process is one that does not exist (set once: the tests
/// of this binary share it).
fn no_temporary_directory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tempfile::env::override_temp_dir(Path::new("/nonexistent/apiserver-doctor-test")).expect("override");
    });
}

/// Review s51, item 8: with an unusable temporary directory, the rows held in memory were all
/// dropped while the run said "the events before the damage were ingested", and the directory
/// was not named.
#[test]
fn csv_spill_without_a_temporary_directory_keeps_the_rows_held_and_names_the_directory() {
    no_temporary_directory();
    let mut text = "TimeGenerated [UTC],Category,log_s\n".to_owned();
    for i in 0..40 {
        let event = format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"id-{i}","stage":"ResponseComplete","verb":"get","stageTimestamp":"2025-03-11T09:00:00Z"}}"#
        );
        text += &format!("\"11/3/2025, 9:00:00 AM\",kube-audit,\"{}\"\n", event.replace('"', "\"\""));
    }
    // Room in memory for some of the rows, not all.
    let opts = ReadOptions { hold_bytes: 2000, ..ReadOptions::default() };
    let mut rows = 0;
    let mut sink = |_: &str, b: RecordBatch| -> Result<(), SinkError> {
        rows += b.num_rows();
        Ok(())
    };
    let f = read_bytes("held.csv", text.as_bytes(), &opts, &mut sink).expect("read");
    assert!(f.events > 2 && f.events < 40, "{}", f.events);
    assert_eq!(rows as u64, f.events);
    let cut = f.incomplete.as_ref().expect("read only in part");
    let kept = format!("the {} rows held in memory until then were read as month-first dates", f.events);
    assert!(cut.message.contains(&kept), "{}", cut.message);
    assert!(cut.message.contains("/nonexistent/apiserver-doctor-test"), "{}", cut.message);
    assert!(cut.message.starts_with(&format!("read error after line {}:", f.events + 1)), "{}", cut.message);
}
