//! `query --input` holds the events' own size, whatever the number of files they come in.

mod common;

use arrow::array::RecordBatch;
use common::{cluster_events, write_format};

fn held(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::get_array_memory_size).sum()
}

/// Review s20r ops item 3: `query --input` over 5,867 files of 3 lines (one 17 MB log split)
/// peaked at 1.3 GB where the one file took 50 MB: every file's batch kept its reader's
/// buffers, sized for a full 4 MiB chunk, for the whole query.
#[test]
fn input_memory_does_not_grow_with_the_number_of_files() {
    let events = cluster_events(6000);
    let dir = tempfile::tempdir().expect("temp dir");
    let one = write_format(dir.path(), "k8s-log", &events);
    let text = std::fs::read_to_string(&one).expect("readable");
    let lines: Vec<&str> = text.lines().collect();
    let many = dir.path().join("many");
    std::fs::create_dir(&many).expect("writable temp dir");
    for (i, part) in lines.chunks(3).enumerate() {
        std::fs::write(many.join(format!("f{i:04}")), part.join("\n") + "\n").expect("writable temp dir");
    }
    assert_eq!(std::fs::read_dir(&many).expect("listable").count(), 2000);

    let single = engine::input::read_paths(&[one]).expect("readable");
    let split = engine::input::read_paths(&[many]).expect("readable");
    assert!(
        single.warnings.is_empty() && split.warnings.is_empty(),
        "{:?} {:?}",
        single.warnings,
        split.warnings
    );
    let rows = |b: &[RecordBatch]| b.iter().map(RecordBatch::num_rows).sum::<usize>();
    assert_eq!(rows(&single.batches), events.len());
    assert_eq!(rows(&split.batches), events.len());

    let (a, b) = (held(&single.batches), held(&split.batches));
    assert!(b <= 2 * a, "2,000 files hold {b} bytes of Arrow memory, one file of the same events {a}");
    // Merged, not one batch per file.
    assert!(split.batches.len() <= 2000 / 16, "{} batches for 2,000 files", split.batches.len());
}
