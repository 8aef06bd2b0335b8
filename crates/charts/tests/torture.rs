//! Charts from hostile models: every kind, random and extreme values, odd strings, many
//! series and points. Nothing may panic, every SVG must parse as XML, every text line must
//! fit its width.

use charts::{ChartKind, TextOptions};
use findings::{Chart, Point, Series};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "",
    "kubelet",
    "<script>alert(1)</script>",
    "a&b\"c'd",
    "\u{1b}[31mred\u{7}",
    "日本語のクライアント名",
    "emoji 🚀🔥 agent",
    "zero\u{200b}width",
    "right-to-left \u{202e}txet",
    "a very long user agent name that goes on kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55b6b33 and on",
    "line\nbreak",
    "tab\there",
];

const VALUES: &[f64] = &[
    0.0,
    1.0,
    -1.0,
    0.001,
    42.5,
    1e6,
    -3e7,
    1e300,
    -1e300,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    5e-324,
];

fn x_value(rng: &mut Rng, i: usize) -> String {
    match rng.below(6) {
        0 => format!("2024-05-01T10:{:02}:00Z", (i * 5) % 60),
        1 => format!("{}", i as f64 * 1.5),
        2 => rng.pick(STRINGS).to_string(),
        3 => format!("2024-12-31T23:59:{:02}.1234567+01:00", i % 60),
        4 => "9999-12-31T23:59:59Z".to_owned(),
        _ => format!("label-{i}"),
    }
}

fn random_chart(rng: &mut Rng) -> Chart {
    let kinds = ["timechart", "linechart", "columnchart", "barchart", "piechart", "scatterchart", ""];
    let series_count = *rng.pick(&[0usize, 1, 2, 3, 12, 40]);
    let consistent_x = rng.below(2) == 0;
    let series = (0..series_count)
        .map(|s| {
            let points = *rng.pick(&[0usize, 1, 2, 5, 30, 400]);
            Series {
                name: format!("{}{s}", rng.pick(STRINGS)),
                points: (0..points)
                    .map(|i| Point {
                        x: if consistent_x {
                            format!("2024-05-01T{:02}:{:02}:00Z", 10 + i / 12, (i % 12) * 5)
                        } else {
                            x_value(rng, i)
                        },
                        y: if rng.below(3) == 0 {
                            *rng.pick(VALUES)
                        } else {
                            (rng.below(100_000) as f64) / 7.0
                        },
                    })
                    .collect(),
            }
        })
        .collect();
    Chart {
        kind: rng.pick(&kinds).to_string(),
        title: rng.pick(STRINGS).to_string(),
        x_label: rng.pick(STRINGS).to_string(),
        y_label: rng.pick(STRINGS).to_string(),
        series,
    }
}

#[test]
fn random_charts_never_panic_and_stay_well_formed() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..150 {
        let chart = random_chart(&mut rng);
        let svg = charts::svg(&chart, 320, 200);
        assert!(svg.ends_with("</svg>\n"), "case {case}");
        // usvg is a strict XML parser: a parse error here is an escaping bug.
        if let Err(e) = charts::png(&chart, 64, 40) {
            panic!("case {case}: {e}\n{chart:?}");
        }
        for cols in [20, 57, 120] {
            let text = charts::text_with(&chart, &TextOptions { cols, rows: 12, color: case % 2 == 0 });
            for line in text.lines() {
                assert!(charts::display_width(line) <= cols, "case {case} at {cols} cols: {line:?}");
            }
        }
    }
}

#[test]
fn model_escape_sequences_never_reach_the_terminal() {
    for kind in ChartKind::ALL {
        let chart = Chart {
            kind: kind.as_str().into(),
            title: "\u{1b}]0;pwned\u{7}title".into(),
            x_label: "\u{1b}[2Jx".into(),
            y_label: "\u{1b}[31my".into(),
            series: vec![Series {
                name: "\u{1b}[5mblink".into(),
                points: vec![Point { x: "\u{1b}[1mcat".into(), y: 3.0 }, Point { x: "dog".into(), y: 4.0 }],
            }],
        };
        let plain = charts::text(&chart, 60, 12);
        assert!(!plain.contains('\u{1b}'), "{kind:?}: {plain:?}");
        let colour = charts::text_with(&chart, &TextOptions { cols: 60, rows: 12, color: true });
        assert!(
            !colour.contains("\u{1b}]0;") && !colour.contains("\u{1b}[2J") && !colour.contains("\u{1b}[5m"),
            "{kind:?}"
        );
    }
}

#[test]
fn a_big_timechart_stays_small_and_fast_enough_to_embed() {
    // 20 clients × 288 five-minute bins (a day): no per-point markers, one polyline each.
    let series = (0..20)
        .map(|s| Series {
            name: format!("client-{s}"),
            points: (0..288)
                .map(|i| Point {
                    x: format!("2024-05-01T{:02}:{:02}:00Z", i / 12, (i % 12) * 5),
                    y: (s * 10 + i % 17) as f64,
                })
                .collect(),
        })
        .collect();
    let chart = Chart {
        kind: "timechart".into(),
        title: "day".into(),
        x_label: String::new(),
        y_label: "ms".into(),
        series,
    };
    let svg = charts::svg(&chart, 1000, 400);
    assert_eq!(svg.matches("<polyline").count(), 20);
    assert!(!svg.contains("<circle"), "markers on 5,760 points");
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    // A day: ticks every few hours, labelled HH:MM, the bin named.
    assert!(svg.contains("(UTC, 5m bins)"));
}
