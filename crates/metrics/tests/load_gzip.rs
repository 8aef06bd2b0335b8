//! Loading gzip scrapes: whole, and cut short.

use std::io::Write;

/// A small kube-apiserver scrape: 200 object counts and the build info.
fn scrape() -> String {
    let mut text = String::from(
        "# TYPE kubernetes_build_info gauge\nkubernetes_build_info{git_version=\"v1.30.2\"} 1\n\
         # TYPE apiserver_storage_objects gauge\n",
    );
    for i in 0..200 {
        text.push_str(&format!(
            "apiserver_storage_objects{{resource=\"widgets{i}.example.com\"}} {}\n",
            1000 + i
        ));
    }
    text
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn a_whole_gzip_scrape_loads_every_sample() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("metrics.gz");
    std::fs::write(&path, gzip(&scrape())).expect("write");
    let s = metrics::load::load(&path.display().to_string()).expect("loads");
    assert_eq!(s.exposition.samples.len(), 201);
    assert_eq!(s.exposition.error_count, 0, "{:?}", s.exposition.errors);
}

/// Review s40, item 5: a gzip scrape cut short (a download or copy cut off) lost every sample
/// (`incomplete deflate stream`), where a plain one cut short keeps the lines before the cut.
#[test]
fn a_gzip_scrape_cut_short_keeps_the_lines_before_the_cut_and_names_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cut.gz");
    let whole = gzip(&scrape());
    std::fs::write(&path, &whole[..whole.len() * 2 / 3]).expect("write");
    let s = metrics::load::load(&path.display().to_string()).expect("loads what is there");
    let e = &s.exposition;
    let read = e.samples.len();
    assert!(read > 20 && read < 201, "{read} samples");
    // Every sample read is whole: the last, cut line is left out, not read as a wrong number.
    for sample in e.samples.iter().skip(1) {
        let i: f64 = sample.labels.get("resource").map_or(-1.0, |v| {
            v.trim_start_matches("widgets").trim_end_matches(".example.com").parse().unwrap_or(-1.0)
        });
        assert_eq!(sample.value, 1000.0 + i, "{sample:?}");
    }
    assert_eq!(e.error_count, 1, "{:?}", e.errors);
    let cut = &e.errors[0];
    // Line numbers count the text's lines: the three header lines, then one per sample.
    assert_eq!(cut.line, read + 3, "{cut:?}");
    assert!(cut.message.starts_with("the gzip stream is cut short ("), "{}", cut.message);
    assert!(
        cut.message.ends_with("the lines before were read, the rest of the scrape is missing"),
        "{}",
        cut.message
    );
    // Cut before its first whole line: an error naming the file, not an empty scrape.
    std::fs::write(&path, &whole[..12]).expect("write");
    match metrics::load::load(&path.display().to_string()) {
        Err(e) => assert!(e.to_string().contains("cut.gz"), "{e}"),
        Ok(s) => panic!("loaded {} samples from 12 bytes", s.exposition.samples.len()),
    }
}
