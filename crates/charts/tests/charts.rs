//! Golden SVGs for every chart kind, PNG size, and text snapshots.
//!
//! Golden files live in `tests/golden/*.svg` (open them in a browser to review). To update
//! them after an intended change: `UPDATE_GOLDEN=1 cargo test -p charts`, then review the diff.

use std::path::PathBuf;

use charts::{ChartKind, TextOptions};
use findings::{Chart, Point, Series};

fn times(values: &[f64], start_minute: u32) -> Vec<Point> {
    values
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let minute = start_minute + 5 * i as u32;
            Point { x: format!("2024-05-01T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60), y }
        })
        .collect()
}

fn labels(pairs: &[(&str, f64)]) -> Vec<Point> {
    pairs.iter().map(|(x, y)| Point { x: (*x).into(), y: *y }).collect()
}

/// The guide's latency query as a chart: avg latency per user agent in 5-minute bins.
fn timechart() -> Chart {
    Chart {
        kind: "timechart".into(),
        title: "Average latency per client (5-minute bins)".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![
            Series {
                name: "list-storm-operator/v0.3.1".into(),
                points: times(
                    &[
                        850.0, 1160.0, 1470.0, 1780.0, 2090.0, 2400.0, 2710.0, 3020.0, 3330.0, 4840.0,
                        3950.0, 4260.0,
                    ],
                    0,
                ),
            },
            Series {
                name: "kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33".into(),
                points: times(
                    &[42.0, 48.5, 55.0, 61.5, 68.0, 74.5, 81.0, 87.5, 94.0, 180.5, 107.0, 113.5],
                    0,
                ),
            },
            // Starts late and has a gap (NaN): the line breaks there.
            Series {
                name: "kyverno".into(),
                points: times(&[120.0, 118.0, f64::NAN, 2520.0, 121.0, 119.0], 30),
            },
        ],
    }
}

fn linechart() -> Chart {
    Chart {
        kind: "linechart".into(),
        title: "Requests by response size".into(),
        x_label: "size (KiB)".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "requests".into(),
            points: labels(&[
                ("1", 120_000.0),
                ("2", 98_000.0),
                ("4", 61_000.0),
                ("8", 22_000.0),
                ("16", 4_100.0),
                ("64", 310.0),
            ]),
        }],
    }
}

fn columnchart() -> Chart {
    Chart {
        kind: "columnchart".into(),
        title: "Requests per verb".into(),
        x_label: "Verb".into(),
        y_label: "requests".into(),
        series: vec![
            Series {
                name: "2xx".into(),
                points: labels(&[
                    ("get", 391_205.0),
                    ("list", 2_941_555.0),
                    ("watch", 51_002.0),
                    ("create", 52_310.0),
                    ("patch", 1_021_540.0),
                ]),
            },
            Series { name: "429".into(), points: labels(&[("list", 3_100.0), ("create", 312.0)]) },
        ],
    }
}

fn barchart() -> Chart {
    Chart {
        kind: "barchart".into(),
        title: "Top clients by request count".into(),
        x_label: "UserAgent".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "count_".into(),
            points: labels(&[
                ("kubelet", 4_102_311.0),
                ("list-storm-operator/v0.3.1", 2_893_004.0),
                ("kube-controller-manager", 1_250_877.0),
                ("kube-scheduler", 420_112.0),
                ("evil <script>alert(\"x\")</script> & co", 317.0),
            ]),
        }],
    }
}

fn piechart() -> Chart {
    Chart {
        kind: "piechart".into(),
        title: "Requests by verb".into(),
        x_label: String::new(),
        y_label: String::new(),
        series: vec![Series {
            name: "count_".into(),
            points: labels(&[
                ("list", 2_944_655.0),
                ("get", 391_205.0),
                ("patch", 1_021_540.0),
                ("watch", 51_002.0),
                ("create", 52_622.0),
            ]),
        }],
    }
}

fn all() -> Vec<(&'static str, Chart)> {
    vec![
        ("timechart", timechart()),
        ("linechart", linechart()),
        ("columnchart", columnchart()),
        ("barchart", barchart()),
        ("piechart", piechart()),
    ]
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()))
        .join("tests/golden")
        .join(format!("{name}.svg"))
}

#[test]
fn svg_matches_the_golden_file_for_every_kind() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for (name, chart) in all() {
        let svg = charts::svg(&chart, 800, 400);
        let path = golden_path(name);
        if update {
            if let Err(e) = std::fs::write(&path, &svg) {
                panic!("cannot write {}: {e}", path.display());
            }
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(golden) if golden == svg => {}
            Ok(_) => {
                failures.push(format!("{name}: differs from {} (UPDATE_GOLDEN=1 to accept)", path.display()))
            }
            Err(e) => failures.push(format!("{name}: cannot read {}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn svg_is_deterministic_and_well_formed() {
    for (name, chart) in all() {
        let a = charts::svg(&chart, 640, 320);
        assert_eq!(a, charts::svg(&chart, 640, 320), "{name} differs between runs");
        // Parses as XML (resvg's parser is strict), carries its kind, and has no ids.
        assert!(a.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(a.contains(&format!("data-kind=\"{name}\"")));
        assert!(!a.contains(" id="), "{name} has an id: several charts share one page");
        assert!(charts::png(&chart, 640, 320).is_ok(), "{name} SVG does not parse");
    }
}

#[test]
fn svg_escapes_labels() {
    let svg = charts::svg(&barchart(), 800, 400);
    assert!(!svg.contains("<script>"));
    assert!(svg.contains("evil &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
}

#[test]
fn svg_draws_what_each_kind_needs() {
    let svg = charts::svg(&timechart(), 800, 400);
    // One series group per series, the NaN splits kyverno's line in two.
    assert_eq!(svg.matches("<g class=\"series\"").count(), 3);
    assert_eq!(svg.matches("<polyline").count(), 4);
    // Time axis: 5-minute bins named, round tick labels, the date shown.
    assert!(svg.contains("start_time (UTC, 5m bins)"));
    assert!(svg.contains(">10:10</text>") && svg.contains(">2024-05-01</text>"));
    // Kusto's value axis starts at zero.
    assert!(svg.contains(">0</text>"));

    let svg = charts::svg(&columnchart(), 800, 400);
    // Five verbs for 2xx, two for 429.
    assert_eq!(svg.matches("<rect x=").count(), 7 + 2, "bars plus two legend swatches");

    let svg = charts::svg(&piechart(), 800, 400);
    assert_eq!(svg.matches("class=\"slice\"").count(), 5);
    assert!(svg.contains("list — 2.94M (66%)"));
}

#[test]
fn empty_and_degenerate_charts_still_draw() {
    let mut c = timechart();
    c.series.clear();
    assert!(charts::svg(&c, 400, 200).contains("no data"));
    assert!(charts::text(&c, 40, 10).contains("(no data)"));
    // One point, all zero, negative values, tiny sizes: no panic, valid output.
    let one = Chart { series: vec![Series { name: "a".into(), points: times(&[0.0], 0) }], ..timechart() };
    for kind in ChartKind::ALL {
        let c = Chart { kind: kind.as_str().into(), ..one.clone() };
        assert!(charts::svg(&c, 1, 1).ends_with("</svg>\n"));
        assert!(charts::png(&c, 10, 10).is_ok());
        assert!(!charts::text(&c, 1, 1).is_empty());
    }
    let neg = Chart {
        series: vec![Series { name: "delta".into(), points: labels(&[("a", -5.0), ("b", 12.0)]) }],
        ..columnchart()
    };
    assert!(
        charts::svg(&neg, 400, 200).contains(">-5</text>")
            || charts::svg(&neg, 400, 200).contains(">-10</text>")
    );
}

/// Width and height from a PNG, by decoding it fully.
fn decode(png: &[u8]) -> (u32, u32) {
    match resvg::tiny_skia::Pixmap::decode_png(png) {
        Ok(p) => (p.width(), p.height()),
        Err(e) => panic!("PNG does not decode: {e}"),
    }
}

#[test]
fn png_decodes_to_the_requested_size() {
    for (name, chart) in all() {
        let png = match charts::png(&chart, 640, 300) {
            Ok(p) => p,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(decode(&png), (640, 300), "{name}");
    }
}

#[test]
fn png_draws_text_with_the_embedded_font() {
    // The same chart with and without a title: the title's pixels must differ, which only
    // happens when a font was found for the text.
    let with = charts::png(&piechart(), 400, 200).unwrap_or_default();
    let without = charts::png(&Chart { title: String::new(), ..piechart() }, 400, 200).unwrap_or_default();
    let (Ok(a), Ok(b)) =
        (resvg::tiny_skia::Pixmap::decode_png(&with), resvg::tiny_skia::Pixmap::decode_png(&without))
    else {
        panic!("PNGs do not decode")
    };
    // Top strip (the title's place): not all white in the first, different from the second.
    let strip = |p: &resvg::tiny_skia::Pixmap| p.data()[..(400 * 20 * 4)].to_vec();
    assert!(strip(&a).iter().any(|&v| v < 200), "no dark pixel where the title is");
    assert_ne!(strip(&a), strip(&b));
}

#[test]
fn png_rejects_impossible_sizes() {
    assert!(matches!(charts::png(&piechart(), 0, 10), Err(charts::PngError::Size { .. })));
    assert!(matches!(charts::png(&piechart(), 100_000, 10), Err(charts::PngError::Size { .. })));
}

#[test]
fn text_snapshots() {
    for (name, chart) in all() {
        insta::assert_snapshot!(format!("text_{name}"), charts::text(&chart, 80, 18));
    }
}

#[test]
fn text_fits_any_width() {
    for (name, chart) in all() {
        for cols in [20, 37, 60, 80, 133] {
            let text = charts::text_with(&chart, &TextOptions { cols, rows: 16, color: true });
            for line in text.lines() {
                assert!(charts::display_width(line) <= cols, "{name} at {cols} cols: {line:?}");
            }
        }
    }
}

#[test]
fn text_colour_only_when_asked() {
    let plain = charts::text(&timechart(), 80, 16);
    assert!(!plain.contains('\x1b'));
    let colour = charts::text_with(&timechart(), &TextOptions { cols: 80, rows: 16, color: true });
    assert!(colour.contains("\x1b[38;5;68m"), "first series in the first palette colour");
}

/// Review of issue 5: the terminal report's bar labels were cut at the end, so three
/// kube-controller-manager controllers all read `kube-controller-manager/system…`.
#[test]
fn text_bar_labels_keep_the_end_that_tells_clients_apart() {
    let chart = Chart {
        kind: "columnchart".into(),
        title: "Requests per client".into(),
        x_label: "client".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "requests".into(),
            points: labels(&[
                (
                    "kube-controller-manager/system:serviceaccount:kube-system:horizontal-pod-autoscaler",
                    4854.0,
                ),
                (
                    "kube-controller-manager/system:serviceaccount:kube-system:endpointslice-controller",
                    1228.0,
                ),
                ("kube-controller-manager/system:serviceaccount:kube-system:job-controller", 1000.0),
            ]),
        }],
    };
    let text = charts::text(&chart, 80, 18);
    for end in ["autoscaler", "controller ", "job-controller"] {
        assert!(text.contains(end), "{end:?} in\n{text}");
    }
    let names: Vec<&str> =
        text.lines().filter(|l| l.contains('█')).filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(names.len(), 3, "{text}");
    assert!(names[0] != names[1] && names[1] != names[2], "{names:?}");
}

/// The overview's top-clients chart of a simulated cluster, as the HTML report draws it
/// (1000 × 380): only bars 1, 3, 5, 7 and 9 had a label, and two controllers both read
/// `kube-controller…` (report review item 5).
#[test]
fn every_bar_of_the_top_clients_chart_has_a_distinct_label() {
    let clients = [
        ("kubelet", 52_073.0),
        ("cilium-agent", 9_773.0),
        ("ama-logs", 9_000.0),
        ("kube-controller-manager/system:serviceaccount:kube-system:horizontal-pod-autoscaler", 2_368.0),
        ("kube-proxy", 1_253.0),
        ("approver/leader-election", 900.0),
        ("kube-controller-manager/system:serviceaccount:kube-system:replicaset-controller", 765.0),
        ("cluster-autoscaler", 648.0),
        ("kube-controller-manager/system:serviceaccount:kube-system:endpointslice-controller", 608.0),
        ("kube-controller-manager/system:serviceaccount:kube-system:job-controller", 474.0),
    ];
    let chart = Chart {
        kind: "columnchart".into(),
        title: "Requests per client".into(),
        x_label: "client".into(),
        y_label: "requests".into(),
        series: vec![Series { name: "requests".into(), points: labels(&clients) }],
    };
    for (width, height) in [(1000, 380), (900, 320)] {
        let svg = charts::svg(&chart, width, height);
        let found = category_labels(&svg);
        assert_eq!(found.len(), clients.len(), "{width}×{height}: every bar is named\n{svg}");
        let mut texts: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), clients.len(), "{width}×{height}: labels are distinct: {found:?}");
        assert!(found.iter().any(|f| f.2.ends_with("job-controller")), "{found:?}");
        assert_labels_fit(&found, width);
    }
}

/// `summarize … by bin(…, 5m)` writes no row for a bin without requests; the line was drawn
/// straight across it (report review item 6).
#[test]
fn an_empty_five_minute_bin_breaks_the_latency_line() {
    let chart = Chart {
        kind: "timechart".into(),
        title: "Average latency per client".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![
            Series { name: "kubelet".into(), points: times(&[20.0, 22.0, 21.0], 0) },
            Series {
                name: "inventory-exporter".into(),
                points: vec![
                    Point { x: "2024-05-01T10:00:00Z".into(), y: 4962.0 },
                    Point { x: "2024-05-01T10:10:00Z".into(), y: 4577.8 },
                ],
            },
        ],
    };
    let svg = charts::svg(&chart, 900, 320);
    let group = svg.split("data-series=\"inventory-exporter\"").nth(1).and_then(|g| g.split("</g>").next());
    let Some(group) = group else { panic!("no inventory-exporter series in\n{svg}") };
    assert!(!group.contains("<polyline"), "a line across the empty 10:05 bin:\n{group}");
    // Each bin with requests is a dot of its own.
    assert_eq!(group.matches("r=\"3\"").count(), 2, "{group}");
    // kubelet, with every bin, is still one line.
    let kubelet = svg.split("data-series=\"kubelet\"").nth(1).and_then(|g| g.split("</g>").next());
    assert_eq!(kubelet.map(|g| g.matches("<polyline").count()), Some(1));
    // The model for scripts gets a point of no value in the empty bin; full series are untouched.
    let filled = charts::with_gaps(&chart);
    assert_eq!(filled.series[0], chart.series[0]);
    let xs: Vec<(&str, bool)> =
        filled.series[1].points.iter().map(|p| (p.x.as_str(), p.y.is_nan())).collect();
    assert_eq!(
        xs,
        vec![
            ("2024-05-01T10:00:00Z", false),
            ("2024-05-01T10:05:00Z", true),
            ("2024-05-01T10:10:00Z", false)
        ]
    );
    // The terminal chart breaks too: the two dots are not joined (no braille between them).
    let text = charts::text(&chart, 60, 12);
    assert!(!text.is_empty());
}

/// Review 50 item 6: a client silent from 10:10 to 10:20 got one `null` point (10:10) in the
/// JSON, not one in each empty bin (10:10 and 10:15) as the docs say.
#[test]
fn a_run_of_empty_bins_gets_a_null_point_in_each() {
    let chart = Chart {
        kind: "timechart".into(),
        title: "Average latency per client".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![
            Series { name: "kubelet".into(), points: times(&[20.0, 22.0, 21.0, 20.0, 23.0, 22.0], 0) },
            Series {
                name: "gappy".into(),
                points: ["10:00", "10:05", "10:20", "10:25"]
                    .iter()
                    .map(|t| Point { x: format!("2024-05-01T{t}:00Z"), y: 7.0 })
                    .collect(),
            },
        ],
    };
    let filled = charts::with_gaps(&chart);
    let xs: Vec<(&str, bool)> =
        filled.series[1].points.iter().map(|p| (&p.x[11..16], p.y.is_nan())).collect();
    assert_eq!(
        xs,
        [
            ("10:00", false),
            ("10:05", false),
            ("10:10", true),
            ("10:15", true),
            ("10:20", false),
            ("10:25", false)
        ]
    );
    assert_eq!(filled.series[0], chart.series[0]);
}

#[test]
fn a_timechart_of_raw_event_times_is_one_line_not_dots() {
    // Regression review item 2: `query … | render timechart` over the events themselves (times
    // not on a bin grid) took the smallest step between two events as the bin, and broke the
    // line at every larger step: 60 points drew as dots.
    let points: Vec<Point> = (0..60)
        .map(|i: i64| {
            // Irregular: 0.7 s to 20 s apart.
            let ms = i * 7_000 + (i * i * 37) % 13_000;
            let t = chrono::DateTime::from_timestamp_millis(1_714_557_600_000 + ms).expect("time");
            Point { x: t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), y: (i % 7) as f64 }
        })
        .collect();
    let chart = Chart {
        kind: "timechart".into(),
        title: "latency".into(),
        x_label: "t".into(),
        y_label: "ms".into(),
        series: vec![Series { name: "kubectl".into(), points }],
    };
    let svg = charts::svg(&chart, 900, 320);
    let group = svg.split("data-series=\"kubectl\"").nth(1).and_then(|g| g.split("</g>").next());
    assert_eq!(group.map(|g| g.matches("<polyline").count()), Some(1), "{svg}");
    assert_eq!(charts::with_gaps(&chart), chart);
}

/// The x of the first `<circle` and the x of each label under the x axis.
fn circle_and_tick_xs(svg: &str) -> (Option<String>, Vec<String>) {
    let cx = svg.split("<circle cx=\"").nth(1).and_then(|s| s.split('"').next()).map(str::to_owned);
    let axis = svg.split("class=\"axis x-axis\"").nth(1).unwrap_or("");
    let axis = axis.split("</g>").next().unwrap_or("");
    let ticks =
        axis.split("<text x=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_owned).collect();
    (cx, ticks)
}

/// Review 27 (html, item 6): the only point of a one-bin chart was drawn mid-axis while its
/// tick (09:00:00) sat at the left edge.
#[test]
fn a_single_point_on_a_time_axis_sits_on_its_tick() {
    let one = Chart { series: vec![Series { name: "a".into(), points: times(&[120.0], 0) }], ..timechart() };
    let svg = charts::svg(&one, 750, 300);
    let (cx, ticks) = circle_and_tick_xs(&svg);
    let Some(cx) = cx else { panic!("no point drawn: {svg}") };
    assert!(!ticks.is_empty(), "{svg}");
    assert!(ticks.iter().all(|t| *t == cx), "point at {cx}, ticks at {ticks:?}");
}

/// Review 27 (html, item 5): two 5-minute bins at 18:30 and 23:50 made the caption say
/// "320m bins" under a title of 5-minute bins.
#[test]
fn the_caption_names_no_bin_that_two_points_cannot_show() {
    let point = |x: &str| Point { x: x.into(), y: 1.0 };
    let two = Chart {
        series: vec![Series {
            name: "a".into(),
            points: vec![point("2024-05-01T18:30:00Z"), point("2024-05-01T23:50:00Z")],
        }],
        ..timechart()
    };
    let svg = charts::svg(&two, 750, 300);
    assert!(!svg.contains("320m bins"), "{svg}");
    assert!(charts::svg(&timechart(), 750, 300).contains("start_time (UTC, 5m bins)"));
}

/// The text and x of every `<text>` line of `svg` (but the axis captions) that contains
/// `marker`, from the first line containing `after` on.
fn svg_texts(svg: &str, after: &str, marker: &str) -> Vec<(f64, String)> {
    svg.lines()
        .skip_while(|l| !l.contains(after))
        .filter(|l| l.starts_with("<text") && l.contains(marker) && !l.contains("axis-label"))
        .map(|l| {
            let x = l.split("x=\"").nth(1).and_then(|v| v.split('"').next()).and_then(|v| v.parse().ok());
            let text = l.split('>').nth(1).and_then(|t| t.split('<').next()).unwrap_or("");
            (x.unwrap_or(f64::NAN), text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
        })
        .collect()
}

/// Review 50 item 1: `…:pv-protection-controller` and `…:pvc-protection-controller` both read
/// `kube-co…ction-controller` under their bars and `kube-contr…protection-controller` in the
/// terminal; two service accounts of one name in two namespaces had the same legend entry.
#[test]
fn two_clients_that_share_start_and_end_get_different_labels() {
    let pv = "kube-controller-manager/system:serviceaccount:kube-system:pv-protection-controller";
    let pvc = "kube-controller-manager/system:serviceaccount:kube-system:pvc-protection-controller";
    let columns = Chart {
        kind: "columnchart".into(),
        title: "Requests per client".into(),
        x_label: "client".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "requests".into(),
            points: labels(&[
                (pv, 10_800.0),
                (pvc, 10_800.0),
                ("kubelet", 52_000.0),
                ("cilium-agent", 9_000.0),
            ]),
        }],
    };
    for width in [1000, 600] {
        let svg = charts::svg(&columns, width, 380);
        let found = svg_texts(&svg, "class=\"axis x-axis\"", "class=\"category\"");
        assert_eq!(found.len(), 4, "{svg}");
        assert_ne!(found[0].1, found[1].1, "{width}: {found:?}");
        // The full names stay in the tooltips.
        assert!(
            svg.contains(&format!("<title>{pv}</title>")) && svg.contains(&format!("<title>{pvc}</title>"))
        );
    }
    for cols in [60, 100] {
        let text = charts::text(&columns, cols, 12);
        let names: Vec<&str> =
            text.lines().filter(|l| l.contains('█')).filter_map(|l| l.split(" █").next()).collect();
        assert_eq!(names.len(), 4, "{text}");
        assert_ne!(names[0], names[1], "{text}");
    }
    let one = "team/system:serviceaccount:production-namespace-one:controller-alpha-reconciler-for-widgets";
    let two = "team/system:serviceaccount:production-namespace-two:controller-alpha-reconciler-for-widgets";
    let latency = Chart {
        kind: "timechart".into(),
        title: "Average latency per client".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![
            Series { name: one.into(), points: times(&[2200.0, 2300.0, 2100.0], 0) },
            Series { name: two.into(), points: times(&[10.0, 11.0, 9.0], 0) },
        ],
    };
    let svg = charts::svg(&latency, 1000, 400);
    let legend = svg_texts(&svg, "<g class=\"legend\">", "fill=\"#333333\"");
    assert_eq!(legend.len(), 2, "{svg}");
    assert!(legend[0].1.contains("one") && legend[1].1.contains("two"), "{legend:?}");
    let text = charts::text(&latency, 60, 16);
    let legend: Vec<&str> = text.lines().filter(|l| l.contains('●')).collect();
    assert!(legend.iter().any(|l| l.contains("one")) && legend.iter().any(|l| l.contains("two")), "{text}");
}

/// Review 50 item 4: labels were laid out at 0.6 em a character, but `W` is 0.99 em in DejaVu
/// Sans: a column label of W's ran into its neighbour, and legend entries ran past the edge.
#[test]
fn labels_of_wide_letters_neither_overlap_nor_leave_the_drawing() {
    let wide = format!("{}/1.0", "W".repeat(30));
    let em = format!("{}/1.0", "M".repeat(30));
    let mail = "someone.with.a.long.name@example.com";
    let latency = Chart {
        kind: "timechart".into(),
        title: "Average latency per client".into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: [wide.as_str(), em.as_str(), mail, "kubelet"]
            .iter()
            .map(|n| Series { name: (*n).into(), points: times(&[20.0, 22.0, 21.0], 0) })
            .collect(),
    };
    let svg = charts::svg(&latency, 1000, 400);
    let legend = svg_texts(&svg, "<g class=\"legend\">", "fill=\"#333333\"");
    assert_eq!(legend.len(), 4, "{svg}");
    for (x, text) in &legend {
        assert!(x + charts::svg_text_width(text, 12.0) <= 1000.0 - 8.0, "{text} at {x} leaves the drawing");
    }
    let columns = Chart {
        kind: "columnchart".into(),
        title: "Requests per client".into(),
        x_label: "client".into(),
        y_label: "requests".into(),
        series: vec![Series {
            name: "requests".into(),
            points: labels(&[
                (
                    "kube-controller-manager/system:serviceaccount:kube-system:pv-protection-controller",
                    10_800.0,
                ),
                (wide.as_str(), 9_000.0),
                (em.as_str(), 8_000.0),
                (mail, 7_000.0),
                ("kubelet", 6_000.0),
            ]),
        }],
    };
    for width in [1000, 700] {
        let svg = charts::svg(&columns, width, 380);
        let found = category_labels(&svg);
        assert_eq!(found.len(), 5, "{svg}");
        assert_labels_fit(&found, width);
    }
}

/// Review 50 item 5: the latency chart's title was cut before `19 other clients not drawn`,
/// which only the tooltip then said.
#[test]
fn a_long_title_wraps_so_that_its_end_stays_visible() {
    let chart = Chart {
        kind: "timechart".into(),
        title:
            "Average latency per client (5-minute bins, long-running requests excluded): the 5 busiest and \
                the 5 slowest clients (flagged first); 19 other clients not drawn"
                .into(),
        x_label: "start_time".into(),
        y_label: "avg latency (ms)".into(),
        series: vec![Series { name: "kubelet".into(), points: times(&[20.0, 22.0, 21.0], 0) }],
    };
    for width in [1000, 600] {
        let svg = charts::svg(&chart, width, 400);
        let title: Vec<String> =
            svg_texts(&svg, "<rect", "class=\"chart-title\"").into_iter().map(|(_, t)| t).collect();
        assert!(title.len() > 1 && title.join(" ").ends_with("19 other clients not drawn"), "{title:?}");
        for line in &title {
            // Bold is wider than regular: a tenth more is a bound for DejaVu Sans Bold's Latin.
            assert!(charts::svg_text_width(line, 14.0) * 1.17 <= f64::from(width), "{line}");
        }
    }
    let text = charts::text(&chart, 100, 16);
    assert!(text.contains("19 other clients not drawn"), "{text}");
}

/// (x, y, text) of every category label of an SVG chart.
fn category_labels(svg: &str) -> Vec<(f64, f64, String)> {
    svg.lines()
        .filter(|l| l.contains("class=\"category\""))
        .map(|l| {
            let attr = |name: &str| -> f64 {
                let from = l.find(&format!(" {name}=\"")).map_or(0, |i| i + name.len() + 3);
                l[from..].split('"').next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
            };
            let text = l.split('>').nth(1).and_then(|t| t.split('<').next()).unwrap_or("").to_owned();
            (attr("x"), attr("y"), text)
        })
        .collect()
}

/// Every label within a drawing `width` wide, and no two on one row overlapping (DejaVu Sans's
/// widths, as laid out).
fn assert_labels_fit(found: &[(f64, f64, String)], width: u32) {
    let half = |t: &str| charts::svg_text_width(t, 12.0) / 2.0;
    for (x, y, t) in found {
        assert!(x - half(t) >= 0.0 && x + half(t) <= f64::from(width), "{t} at {x} leaves the drawing");
        for (x2, y2, t2) in found {
            if t != t2 && y == y2 {
                assert!((x - x2).abs() >= half(t) + half(t2), "{width}: {t} and {t2} overlap at y {y}");
            }
        }
    }
}
