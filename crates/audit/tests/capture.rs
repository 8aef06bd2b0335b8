//! Azure Event Hubs Capture: the Avro files an Event Hub's Capture writes to storage, whose
//! messages are what AKS's diagnostic settings send (`{"records": […]}`). The fixtures are made
//! by `tests/generated/capture/make.py` from the real events of audit2rbac's demo log, in
//! Capture's schema, with each codec.

mod reading;

use std::path::Path;

use arrow::array::AsArray;
use audit::read::Container;
use audit::read::ReadOptions;
use audit::{InputFormat, col};
use reading::{demo_lines, messages, read, read_with};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/generated/capture")
        .join(name);
    std::fs::read(path).expect("fixture")
}

#[test]
fn capture_files_read_to_the_records_of_their_messages_whatever_the_codec() {
    // What the messages hold, read as JSON lines: the rows each Avro file must give.
    let (f, want) = read("bodies.jsonl", &fixture("bodies.jsonl"));
    assert_eq!((f.events, f.skipped), (37, 0), "{:?}", messages(&f));
    // Which are the demo log's events, in its order.
    let ids: Vec<String> = demo_lines()
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["auditID"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    let got_ids = want.column_by_name(col::AUDIT_ID).expect("audit id").as_string::<i32>();
    assert_eq!(got_ids.iter().map(|v| v.unwrap_or_default().to_owned()).collect::<Vec<_>>(), ids);
    for name in ["capture-null.avro", "capture-deflate.avro", "capture-snappy.avro"] {
        let (f, got) = read(name, &fixture(name));
        assert_eq!(f.container, Some(Container::Avro), "{name}");
        assert_eq!(
            f.formats.keys().copied().collect::<Vec<_>>(),
            [InputFormat::DiagnosticEnvelope],
            "{name}"
        );
        assert_eq!(f.events, 37, "{name}: {:?}", messages(&f));
        assert_eq!(got, want, "{name}");
        if name == "capture-deflate.avro" {
            // The messages after the audit log's: one without a body, one of text.
            assert_eq!(
                messages(&f),
                [
                    "record 5 an Event Hub message without a body",
                    "record 6 an Event Hub message whose body is not JSON: \"Connection test from the Azure portal\"",
                ]
            );
        } else {
            assert_eq!(f.skipped, 0, "{name}: {:?}", messages(&f));
        }
    }
}

#[test]
fn a_capture_file_cut_short_keeps_the_messages_before_the_cut() {
    let whole = fixture("capture-null.avro");
    let (f, whole_rows) = read("whole.avro", &whole);
    assert_eq!((f.events, f.skipped), (37, 0));
    // Cut inside the last message: the first three (30 events) are read, the cut is named.
    let cut = &whole[..whole.len() - 2000];
    let (f, got) = read("cut.avro", cut);
    assert_eq!(f.events, 30, "{:?}", messages(&f));
    assert_eq!(got, whole_rows.slice(0, 30));
    let m = messages(&f);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].starts_with("record 4 damaged or cut-short Avro data, rest of file skipped: "), "{m:?}");
}

#[test]
fn damage_inside_a_message_costs_that_message_and_is_named() {
    let whole = fixture("capture-null.avro");
    let (_, whole_rows) = read("whole.avro", &whole);
    // Every block ends with the file's sync marker (its last 16 bytes), as the header does.
    let sync = &whole[whole.len() - 16..];
    let ends: Vec<usize> = (0..=whole.len() - 16).filter(|&i| &whole[i..i + 16] == sync).collect();
    assert_eq!(ends.len(), 1 + 4, "the header and four blocks");
    // Zeros in the middle of the second message's body: that message is skipped, named.
    let mut damaged = whole.clone();
    let middle = (ends[1] + ends[2]) / 2;
    damaged[middle..middle + 64].fill(0);
    let (f, got) = read("zeros.avro", &damaged);
    assert_eq!(f.events, 27);
    assert_eq!(
        messages(&f),
        [
            "record 2 invalid JSON: control character (\\u0000-\\u001F) found while parsing a string at column 4691"
        ]
    );
    let kept =
        arrow::compute::concat_batches(&got.schema(), &[whole_rows.slice(0, 10), whole_rows.slice(20, 17)])
            .expect("concat");
    assert_eq!(got, kept);
}

/// Where each block of `file` begins and ends: the sync marker (the file's last 16 bytes) ends
/// the header and every block.
fn block_bounds(file: &[u8]) -> Vec<(usize, usize)> {
    let sync = &file[file.len() - 16..];
    let ends: Vec<usize> =
        (0..=file.len() - 16).filter(|&i| &file[i..i + 16] == sync).map(|i| i + 16).collect();
    ends.windows(2).map(|w| (w[0], w[1])).collect()
}

/// A damaged block's framing (its length) cost every message after it: "damaged or cut-short
/// Avro data, rest of file skipped". The block's messages are skipped, named, and reading
/// resumes at the next block, found by the file's sync marker; a damaged sync marker costs
/// nothing.
#[test]
fn a_damaged_avro_block_lost_the_rest_of_the_file() {
    let whole = fixture("capture-null.avro");
    let (_, whole_rows) = read("whole.avro", &whole);
    let blocks = block_bounds(&whole);
    assert_eq!(blocks.len(), 4, "four blocks of one message each: 10, 10, 10 and 7 events");
    let (start, _) = blocks[1];
    // The block's length (a zig-zag varint after its message count, one byte) made 32 bytes
    // longer or shorter, 16 bytes, or negative: the second block's messages are lost, the
    // others kept.
    for flip in [0x40u8, 0x20, 0x01] {
        let mut damaged = whole.clone();
        assert_eq!(damaged[start], 2, "one message");
        damaged[start + 1] ^= flip;
        let (f, got) = read("length.avro", &damaged);
        let kept = arrow::compute::concat_batches(
            &got.schema(),
            &[whole_rows.slice(0, 10), whole_rows.slice(20, 17)],
        )
        .expect("concat");
        assert_eq!(got, kept, "flip {flip:#x}: {:?}", messages(&f));
        let m = messages(&f);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("record 2 damaged Avro data (a block ")
                && m[0].ends_with("reading resumed at the next block"),
            "{m:?}"
        );
        assert_eq!(f.skipped, 1);
    }
    // A byte of the second block's sync marker: its messages are read all the same.
    let mut damaged = whole.clone();
    damaged[blocks[1].1 - 5] ^= 0xff;
    let (f, got) = read("marker.avro", &damaged);
    assert_eq!((f.events, f.skipped), (37, 0), "{:?}", messages(&f));
    assert_eq!(got, whole_rows);
    // Compressed: 64 bytes of the second block's deflate data overwritten (deflate has no
    // checksum: a single byte may decompress to other text, undetected).
    let deflate = fixture("capture-deflate.avro");
    let (_, deflate_rows) = read("whole.avro", &deflate);
    let (start, end) = block_bounds(&deflate)[1];
    let mut damaged = deflate.clone();
    damaged[(start + end) / 2..(start + end) / 2 + 64].fill(0xff);
    let (f, got) = read("deflate.avro", &damaged);
    let m = messages(&f);
    assert!(m.iter().any(|m| m.contains("reading resumed at the next block")), "{m:?}");
    assert!(f.events >= 27 && f.events < 37, "{}: {m:?}", f.events);
    // What was kept is the whole file's rows, less the second block's.
    let ids = |b: &arrow::array::RecordBatch| -> Vec<String> {
        let c = b.column_by_name(col::AUDIT_ID).expect("id").as_string::<i32>();
        c.iter().map(|v| v.unwrap_or_default().to_owned()).collect()
    };
    let all = ids(&deflate_rows);
    let got_ids = ids(&got);
    assert_eq!(got_ids[..10], all[..10]);
    assert_eq!(got_ids[got_ids.len() - 17..], all[20..]);
}

#[test]
fn an_avro_file_of_another_schema_is_named_not_an_audit_log() {
    let (f, got) = read("metrics.avro", &fixture("other.avro"));
    assert_eq!(got.num_rows(), 0);
    let why = f.not_audit.expect("not audit");
    assert_eq!(
        why,
        "an Avro file that is not Event Hubs Capture's: its records have no `Body` (the message) to read the audit \
         log from"
    );
}

#[test]
fn any_byte_of_a_capture_file_damaged_or_cut_is_read_without_a_panic() {
    // Each byte of the deflate file (header, block framing, compressed data) overwritten in
    // turn with a pseudo-random value, and the file cut at every 97th byte: each read ends
    // in rows or named skips, never a panic (a panic fails the test).
    let whole = fixture("capture-deflate.avro");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut read_some = 0;
    for at in 0..whole.len() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut damaged = whole.clone();
        damaged[at] ^= (state as u8) | 1;
        let (f, got) = read("damaged.avro", &damaged);
        assert!(got.num_rows() <= 37);
        read_some += usize::from(f.events > 0);
    }
    for cut in (0..whole.len()).step_by(97) {
        let (f, got) = read("cut.avro", &whole[..cut]);
        assert_eq!(got.num_rows() as u64, f.events);
        assert!(f.events == 37 || f.skipped > 0 || f.not_audit.is_some() || cut < 8, "cut at {cut}: {f:?}");
    }
    assert!(read_some > whole.len() / 2, "{read_some} of {} damaged files read at all", whole.len());
}

/// A Capture file's messages are decoded on the reading thread and their bodies read on the
/// rayon pool in chunks: one message to a chunk (here, many chunks in flight at once) gives
/// the rows and the skips of one chunk for the whole file, in the file's order.
#[test]
fn messages_read_in_parallel_chunks_keep_the_files_order() {
    let file = fixture("capture-deflate.avro");
    let (whole_f, whole) =
        read_with("one-chunk.avro", &file, &ReadOptions { chunk_bytes: 1 << 30, ..ReadOptions::default() });
    let (f, got) = read_with("chunks.avro", &file, &ReadOptions { chunk_bytes: 1, ..ReadOptions::default() });
    assert_eq!((f.events, f.skipped), (37, 2));
    assert_eq!(messages(&f), messages(&whole_f));
    assert_eq!(got, whole);
    // And the damaged file's cut is still named after the messages before it.
    let cut = &file[..file.len() - 300];
    let (f, got) = read_with("cut.avro", cut, &ReadOptions { chunk_bytes: 1, ..ReadOptions::default() });
    let (f_one, got_one) =
        read_with("cut.avro", cut, &ReadOptions { chunk_bytes: 1 << 30, ..ReadOptions::default() });
    assert_eq!(messages(&f), messages(&f_one));
    assert_eq!(got, got_one);
    assert!(f.skipped >= 1, "{:?}", messages(&f));
}

/// A Capture file of the given message bodies, in Capture's schema (`Body` as bytes).
fn capture_of(bodies: &[Vec<u8>]) -> Vec<u8> {
    use apache_avro::types::{Record, Value};
    let schema = apache_avro::Schema::parse_str(
        r#"{"type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging",
            "fields": [{"name": "SequenceNumber", "type": "long"}, {"name": "Body", "type": "bytes"}]}"#,
    )
    .expect("schema");
    let mut writer = apache_avro::Writer::new(&schema, Vec::new()).expect("writer");
    for (i, body) in bodies.iter().enumerate() {
        let mut record = Record::new(writer.schema()).expect("record schema");
        record.put("SequenceNumber", Value::Long(i as i64));
        record.put("Body", Value::Bytes(body.clone()));
        writer.append_value(record).expect("append");
    }
    writer.into_inner().expect("avro")
}

/// Ingest review s51, item 9: a message whose body started with a UTF-8 BOM was "not JSON", one
/// gzip- or zstd-compressed was "not JSON", and one of several NDJSON lines (as forwarders
/// other than AKS's diagnostic settings batch them) was one bad record: all their events were
/// lost. Each now reads to the same rows as its events as plain lines, and a bad line among
/// them is named alone.
#[test]
fn capture_bodies_with_a_bom_compressed_or_of_several_lines_read_to_their_events() {
    use std::io::Write;
    let lines = demo_lines();
    let (_, want) = read("plain.jsonl", lines[..9].join("\n").as_bytes());
    let envelope = |ls: &[String]| {
        let records: Vec<serde_json::Value> = ls
            .iter()
            .map(|l| serde_json::json!({"category": "kube-audit", "properties": {"log": l}}))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "records": records })).expect("json")
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&envelope(&lines[1..2])).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let zst = zstd::encode_all(envelope(&lines[2..3]).as_slice(), 3).expect("zstd");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(envelope(&lines[0..1]));
    // Three events as NDJSON lines, and a pretty-printed envelope of two.
    let ndjson = lines[3..6].join("\n").into_bytes();
    let pretty = serde_json::to_vec_pretty(
        &serde_json::from_slice::<serde_json::Value>(&envelope(&lines[6..8])).expect("json"),
    )
    .expect("json");
    // Two events as lines around one that is cut short.
    let with_bad = format!("{}\n{{\"kind\":\"Event\",\"auditID\":\n{}\n", lines[8], lines[8]).into_bytes();
    let file = capture_of(&[bom, gz, zst, ndjson, pretty, with_bad]);
    let (f, got) = read("bodies.avro", &file);
    assert_eq!((f.events, f.skipped), (10, 1), "{:?}", messages(&f));
    assert_eq!(messages(&f).len(), 1);
    assert!(messages(&f)[0].starts_with("record 6 "), "{:?}", messages(&f));
    // The last event twice (the line after the bad one repeats it): the same rows as the plain lines.
    let ids = |b: &arrow::array::RecordBatch| -> Vec<String> {
        b.column_by_name(col::AUDIT_ID)
            .expect("id")
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or_default().to_owned())
            .collect()
    };
    let mut want_ids = ids(&want);
    want_ids.push(want_ids[8].clone());
    assert_eq!(ids(&got), want_ids);
}

/// A body that inflates to more than any Event Hub message could hold is named and skipped, not
/// read into memory whole.
#[test]
fn a_capture_body_that_inflates_past_the_bound_is_named_and_skipped() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..257 {
        gz.write_all(&zeros).expect("gzip");
    }
    let file = capture_of(&[gz.finish().expect("gzip")]);
    let (f, got) = read("bomb.avro", &file);
    assert_eq!(got.num_rows(), 0);
    assert_eq!(
        messages(&f),
        [
            "record 1 an Event Hub message whose gzip body inflates to more than 256 MiB: not a body of audit records"
        ]
    );
}

/// Review s53b, items 1, 2, 5 and 6: a block whose message count was damaged to fewer lost its
/// last messages without a word; two Capture files joined (`cat a.avro b.avro`) lost the second
/// whole; a sync marker damaged past a few bytes cost the next, intact block too; and a damage
/// that cost many messages counted as one skipped record.
#[test]
fn damaged_counts_joined_files_and_markers_cost_no_good_message_and_losses_are_counted() {
    let whole = fixture("capture-null.avro");
    let (_, whole_rows) = read("whole.avro", &whole);
    let blocks = block_bounds(&whole);
    // The second block's count (one message, zig-zag 2) said 0, then 2: its message is read.
    for count in [0u8, 4] {
        let mut damaged = whole.clone();
        damaged[blocks[1].0] = count;
        let (f, got) = read("count.avro", &damaged);
        assert_eq!((f.events, f.skipped), (37, 0), "count {count}: {:?}", messages(&f));
        assert_eq!(got, whole_rows);
    }
    // Every byte of the second block's marker damaged: that block decodes whole to its count,
    // so it is kept, and so is the next.
    let mut damaged = whole.clone();
    for b in &mut damaged[blocks[1].1 - 16..blocks[1].1] {
        *b ^= 0x5a;
    }
    let (f, got) = read("marker.avro", &damaged);
    assert_eq!((f.events, f.skipped), (37, 0), "{:?}", messages(&f));
    assert_eq!(got, whole_rows);
    // Two files joined: the second's header read where a block would begin.
    let mut joined = whole.clone();
    joined.extend_from_slice(&fixture("capture-deflate.avro"));
    let (f, got) = read("joined.avro", &joined);
    assert_eq!(f.events, 74, "{:?}", messages(&f));
    assert_eq!(got.slice(0, 37), whole_rows);
    assert_eq!(messages(&f).len(), 2, "the deflate file's own two: {:?}", messages(&f));
    // Ten messages in one block; the sixth one's length damaged: the five after the fifth are
    // lost, counted as five, named once.
    let lines = demo_lines();
    let bodies: Vec<Vec<u8>> = lines[..10].iter().map(|l| l.as_bytes().to_vec()).collect();
    let mut file = capture_of(&bodies);
    let sixth = memchr::memmem::find(&file, bodies[5].as_slice()).expect("the sixth body");
    file[sixth - 1] = 0xff;
    let (f, _) = read("lengths.avro", &file);
    assert_eq!((f.events, f.skipped), (5, 5), "{:?}", messages(&f));
    let m = messages(&f);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("record 6 a damaged Avro message (")
            && m[0].contains("after 5 good ones of its block"),
        "{m:?}"
    );
    assert!(m[0].contains(", 5 messages by its count) skipped"), "{m:?}");
}
