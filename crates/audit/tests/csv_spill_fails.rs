//! A CSV export whose display-date rows must go to the temporary file while no row has told
//! their order, with no temporary file to be had: the read stops there, says why, keeps the
//! rows read before, and reports the file as read only in part (so the next ingest reads it
//! again). Its own test binary: the temporary directory is overridden for the whole process.

use std::path::Path;

use arrow::array::RecordBatch;
use audit::read::{ReadOptions, SinkError, read_bytes};

#[test]
fn a_csv_whose_held_rows_find_no_temporary_file_is_reported_as_read_only_in_part() {
    tempfile::env::override_temp_dir(Path::new("/nonexistent/apiserver-doctor-test"))
        .expect("first override");
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
    assert_eq!((f.events, rows), (2, 2));
    let cut = f.incomplete.as_ref().expect("read only in part");
    assert!(
        cut.message
            .contains("could not create the temporary file of CSV rows held until their date order is known"),
        "{}",
        cut.message
    );
    assert!(
        cut.message.starts_with("read error after line 3: the rest of the file was not read ("),
        "{}",
        cut.message
    );
}
