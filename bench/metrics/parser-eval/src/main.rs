//! Prints what each candidate parser makes of edge cases, then times both on the files given.
use std::time::Instant;
fn main() {
    let cases: Vec<(&str, String)> = vec![
        ("comma", "# TYPE h histogram\nh_bucket{group=\"a,b\",le=\"1\"} 3\nh_bucket{group=\"a,b\",le=\"+Inf\"} 4\nh_sum{group=\"a,b\"} 2\nh_count{group=\"a,b\"} 4\n".into()),
        ("escaped quote", "m{path=\"say \\\"hi\\\"\"} 1\n".into()),
        ("brace in value", "m{path=\"/a}b\"} 1\n".into()),
        ("empty labels", "m{} 1\n".into()),
        ("timestamp", "m{a=\"b\"} 1 1395066363000\n".into()),
        ("openmetrics eof", "# TYPE m counter\nm_total 1\n# EOF\n".into()),
        ("exemplar", "# TYPE h histogram\nh_bucket{le=\"1\"} 3 # {trace_id=\"abc\"} 0.5 123\nh_bucket{le=\"+Inf\"} 4\n".into()),
        ("bad line", "m{a=\"b\"} 1\ngarbage line here\nn 2\n".into()),
    ];
    for (name, text) in &cases {
        let (m, err) = prom_text_format_parser::parse_scrape(text);
        let samples: Vec<String> = m
            .iter()
            .flat_map(|m| m.samples.iter().map(move |s| format!("{}{} {}", m.name, s.labels, s.value)))
            .collect();
        println!(
            "ptfp [{name}]: {:?} err={:?}",
            samples,
            err.map(|e| format!("{e:?}").chars().take(120).collect::<String>())
        );
        let s = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())));
        match s {
            Ok(s) => println!(
                "ppar [{name}]: {:?}",
                s.samples
                    .iter()
                    .map(|s| format!("{} {:?} {:?}", s.metric, s.labels, s.value))
                    .collect::<Vec<_>>()
            ),
            Err(e) => println!("ppar err {e}"),
        }
    }
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let t = Instant::now();
        let mut n = 0;
        let mut errs = 0;
        for _ in 0..10 {
            let (m, e) = prom_text_format_parser::parse_scrape(&text);
            n = m.iter().map(|m| m.samples.len()).sum::<usize>();
            if e.is_some() {
                errs += 1
            }
        }
        let a = t.elapsed() / 10;
        let t = Instant::now();
        let mut n2 = 0;
        for _ in 0..10 {
            let s = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
            n2 = s.samples.len();
        }
        let b = t.elapsed() / 10;
        println!("{path}: ptfp {n} samples err={errs} {a:?}; ppar {n2} samples {b:?}");
    }
}
