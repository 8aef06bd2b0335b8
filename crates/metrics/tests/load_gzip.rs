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

/// Review s44: a URL serving a gzip file (`…/metrics.gz`, as `python3 -m http.server` serves
/// one) was parsed as text: "line is not valid UTF-8 … is it a /metrics scrape?".
#[test]
fn a_gzip_scrape_served_at_a_url_is_gunzipped_as_a_file_is() {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let body = gzip(&scrape());
    std::thread::spawn(move || {
        if let Some(Ok(mut conn)) = listener.incoming().next() {
            // Read the request's head, then answer with the gzip bytes as a file download.
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes()).expect("head");
            conn.write_all(&body).expect("body");
        }
    });
    let url = format!("http://127.0.0.1:{port}/metrics.gz");
    let s = metrics::load::load(&url).expect("loads");
    assert_eq!(s.exposition.samples.len(), 201, "{:?}", s.exposition.errors);
    assert_eq!(s.exposition.error_count, 0, "{:?}", s.exposition.errors);
}
