//! Charts as Kusto draws them (`timechart`, `linechart`, `columnchart`, `barchart`,
//! `piechart`) from a [`findings::Chart`]: SVG documents, PNG images and text for a terminal.
//!
//! ```
//! use findings::{Chart, Point, Series};
//! let chart = Chart {
//!     kind: "timechart".into(),
//!     title: "Average latency per client".into(),
//!     x_label: "start_time".into(),
//!     y_label: "avg latency (ms)".into(),
//!     series: vec![Series {
//!         name: "kubelet".into(),
//!         points: vec![
//!             Point { x: "2024-05-01T10:00:00Z".into(), y: 12.0 },
//!             Point { x: "2024-05-01T10:05:00Z".into(), y: 30.5 },
//!         ],
//!     }],
//! };
//! let svg = charts::svg(&chart, 800, 400);
//! assert!(svg.starts_with("<svg"));
//! let text = charts::text(&chart, 60, 12);
//! assert!(text.lines().all(|l| charts::display_width(l) <= 60));
//! ```
//!
//! How the model is read (see `docs/charts.md`): for `timechart`, `linechart` and
//! `columnchart`, x values that all parse as RFC 3339 times give a time axis (UTC), values
//! that all parse as numbers a numeric axis, anything else a category axis in first-seen
//! order. `barchart` and `piechart` are always by category. A `piechart` with one series
//! has a slice per point; with several, a slice per series (its total). An unknown kind is
//! drawn as a `linechart`. Non-finite values are gaps.

mod data;
mod labels;
mod png;
mod scale;
mod svg;
mod text;

use findings::Chart;

pub use png::PngError;
pub use svg::escape as escape_xml;

/// The chart kinds Kusto's `render` draws and this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    /// Lines over a time axis.
    Timechart,
    /// Lines over a numeric or category axis.
    Linechart,
    /// Vertical bars.
    Columnchart,
    /// Horizontal bars.
    Barchart,
    /// Slices of a whole.
    Piechart,
}

impl ChartKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [ChartKind; 5] = [
        ChartKind::Timechart,
        ChartKind::Linechart,
        ChartKind::Columnchart,
        ChartKind::Barchart,
        ChartKind::Piechart,
    ];

    /// Reads a `render` kind, case-insensitively; anything else is a line chart.
    pub fn parse(kind: &str) -> ChartKind {
        Self::from_name(kind).unwrap_or(ChartKind::Linechart)
    }

    /// What a caller tells the user when `kind` is not drawn as asked (`areachart`,
    /// `scatterchart`, …: [`ChartKind::parse`] draws them as lines); `None` for the kinds drawn
    /// as asked.
    pub fn drawn_instead(kind: &str) -> Option<String> {
        if Self::from_name(kind).is_some() {
            return None;
        }
        Some(format!(
            "`render {}` is drawn as a line chart: only timechart, linechart, columnchart, barchart and piechart are drawn as asked",
            kind.trim()
        ))
    }

    /// Reads a `render` kind, case-insensitively; `None` for kinds this crate does not draw.
    pub fn from_name(kind: &str) -> Option<ChartKind> {
        ChartKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(kind.trim()))
    }

    /// The kind's name as `render` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Timechart => "timechart",
            ChartKind::Linechart => "linechart",
            ChartKind::Columnchart => "columnchart",
            ChartKind::Barchart => "barchart",
            ChartKind::Piechart => "piechart",
        }
    }
}

/// Series colours, in order (Tableau 10: distinct, and readable by most colour-blind people).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac",
];

/// How to draw a chart as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Width in terminal columns; every line fits in it (at least 20).
    pub cols: usize,
    /// Height in lines, as a budget (at least 6).
    pub rows: usize,
    /// Colour series with ANSI 256-colour codes (only for a terminal without `NO_COLOR`).
    pub color: bool,
}

/// The chart as a standalone SVG document of `width` × `height` pixels.
///
/// Deterministic: the same chart gives the same bytes. The SVG holds no ids, so several can
/// sit in one HTML page; the root carries `class="chart"` and `data-kind`, each series of a
/// line, column or bar chart is a `<g class="series" data-series="…">` (a pie's slices are in
/// one `<g class="series">`, each a `class="slice" data-name="…"`), and every text is escaped.
pub fn svg(chart: &Chart, width: u32, height: u32) -> String {
    svg::render(&data::prepare(chart), width, height)
}

/// The chart as a PNG image of `width` × `height` pixels (drawn from [`svg`] with the
/// embedded DejaVu Sans font, so it looks the same everywhere).
pub fn png(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, PngError> {
    png::render(&svg(chart, width, height), width, height)
}

/// The chart as plain text, `cols` columns wide, in about `rows` lines.
pub fn text(chart: &Chart, cols: usize, rows: usize) -> String {
    text_with(chart, &TextOptions { cols, rows, color: false })
}

/// The chart as text with the given options (e.g. colour for a terminal).
pub fn text_with(chart: &Chart, options: &TextOptions) -> String {
    text::render(&data::prepare(chart), options)
}

/// Most points of no value [`with_gaps`] adds in one gap: a line with one point a year apart
/// in 5-minute bins would otherwise get 100,000 of them.
const MAX_GAP_POINTS: usize = 1000;

/// The chart with a point of no value (`y` NaN, `null` in JSON) in every empty bin of a line
/// over time: the gaps [`svg`], [`png`] and [`text`] draw, for readers of the model itself
/// (the JSON report). `summarize … by bin()` writes no row for a bin without data, so without
/// these points a script would join the points on either side. The bin is the smallest step
/// between two times of the chart; a step of more than one and a half bins skips a bin. Only
/// `timechart` and `linechart` over a time axis change; series with a gap come back sorted
/// by time, the others as they were.
pub fn with_gaps(chart: &Chart) -> Chart {
    let mut out = chart.clone();
    if !data::breaks_lines(ChartKind::parse(&chart.kind)) {
        return out;
    }
    let Some(times) = chart
        .series
        .iter()
        .map(|s| s.points.iter().map(|p| data::parse_time(&p.x)).collect::<Option<Vec<i64>>>())
        .collect::<Option<Vec<Vec<i64>>>>()
    else {
        return out;
    };
    let mut distinct: Vec<i64> = times.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let Some(bin) = data::grid_bin(&distinct) else { return out };
    for (series, times) in out.series.iter_mut().zip(&times) {
        let mut points: Vec<(i64, findings::Point)> =
            times.iter().copied().zip(series.points.iter().cloned()).collect();
        // Stable: points at one time keep the model's order.
        points.sort_by_key(|p| p.0);
        if !points.windows(2).any(|w| data::skips_a_bin(w[0].0, w[1].0, bin)) {
            continue;
        }
        let mut filled = Vec::with_capacity(points.len() + 1);
        let mut prev: Option<i64> = None;
        for (t, point) in points {
            if let Some(p) = prev
                && data::skips_a_bin(p, t, bin)
            {
                // One point per empty bin, as many as fit before `t` (a bin and a half, as
                // `skips_a_bin` counts), up to a bound for very sparse data.
                let mut gap = p + bin;
                let mut added = 0;
                while gap + bin / 2 < t && added < MAX_GAP_POINTS {
                    filled.push(findings::Point { x: data::format_rfc3339(gap), y: f64::NAN });
                    gap += bin;
                    added += 1;
                }
            }
            prev = Some(t);
            filled.push(point);
        }
        series.points = filled;
    }
    out
}

/// Width of a string in terminal columns, ignoring ANSI colour sequences.
pub fn display_width(s: &str) -> usize {
    let mut width = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip a CSI sequence: ESC [ … final byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        width += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    width
}

/// Width of `s` in pixels, drawn in DejaVu Sans at `font_px` (advance widths from the font,
/// 1 em for characters outside its Latin table), as the SVG lays out its labels.
pub fn svg_text_width(s: &str, font_px: f64) -> f64 {
    labels::width(s, &|c| labels::advance_em(c, false) * font_px)
}

/// Cuts `s` to at most `max` columns, ending with `…` when it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    labels::cut_end(s, max as f64, &labels::columns)
}

/// Cuts `s` to at most `max` columns by taking out its middle (`…` in its place): series
/// names that differ only at their end (`kube-controller-manager/…:job-controller` and
/// `…:cronjob-controller`) stay apart. Names that share their end too can still come out the
/// same: cut the names of one chart or table column together with [`distinct_labels`].
pub fn truncate_middle(s: &str, max: usize) -> String {
    labels::cut_middle(s, max as f64, &labels::columns)
}

/// Each name cut to at most `max` columns as [`truncate_middle`] cuts it, except that
/// different names never get the same label: where two cuts would be equal
/// (`…:pv-protection-controller` and `…:pvc-protection-controller`), each keeps the part where
/// the names differ (`kube-…:pv-prot…controller`), and failing room for that, a number
/// (`… #1`, `… #2`). Equal names keep equal labels.
pub fn distinct_labels(names: &[String], max: usize) -> Vec<String> {
    labels::distinct(names, &vec![max as f64; names.len()], &labels::columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_truncation_keeps_the_ends_that_tell_names_apart() {
        let job = "kube-controller-manager/system:serviceaccount:kube-system:job-controller";
        let cron = "kube-controller-manager/system:serviceaccount:kube-system:cronjob-controller";
        let (a, b) = (truncate_middle(job, 28), truncate_middle(cron, 28));
        assert_ne!(a, b);
        assert_eq!(a, "kube-cont…tem:job-controller");
        assert!(display_width(&a) <= 28 && display_width(&b) <= 28, "{a} {b}");
        assert_eq!(truncate_middle("kubelet", 28), "kubelet");
        assert_eq!(truncate_middle("日本語テキストです日本語", 9), "日…日本語");
    }

    #[test]
    fn kinds_parse_case_insensitively_and_unknown_is_a_line() {
        assert_eq!(ChartKind::parse("TimeChart"), ChartKind::Timechart);
        assert_eq!(ChartKind::parse("scatterchart"), ChartKind::Linechart);
        assert_eq!(ChartKind::from_name("scatterchart"), None);
    }

    /// Review s21 item 11: `render areachart` and `scatterchart` were drawn as line charts
    /// without a word.
    #[test]
    fn area_and_scatter_charts_say_they_are_drawn_as_lines() {
        for kind in ["areachart", "scatterchart", "stackedareachart"] {
            let note = ChartKind::drawn_instead(kind).unwrap_or_default();
            assert!(note.starts_with(&format!("`render {kind}` is drawn as a line chart")), "{note}");
        }
        for kind in ["timechart", "LineChart", "columnchart", "barchart", "piechart"] {
            assert_eq!(ChartKind::drawn_instead(kind), None, "{kind}");
        }
    }

    #[test]
    fn truncate_counts_columns_and_marks_the_cut() {
        assert_eq!(truncate("kubelet", 7), "kubelet");
        assert_eq!(truncate("kube-controller-manager", 8), "kube-co…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert_eq!(display_width("\x1b[38;5;68m⣿\x1b[0m"), 1);
    }
}
