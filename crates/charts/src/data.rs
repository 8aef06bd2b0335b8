//! From a [`findings::Chart`] to positioned numbers: which x axis, the series as (x, y)
//! pairs, and the value range. Every renderer (SVG, text) starts here, so they agree.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use findings::Chart;

use crate::ChartKind;

/// What the x values are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XAxis {
    /// Times in milliseconds since the Unix epoch (UTC); `bin` is the step of the grid the
    /// times lie on ([`grid_bin`]), when at least three distinct times show it.
    Time { min: i64, max: i64, bin: Option<i64> },
    /// Plain numbers.
    Numeric { min: f64, max: f64 },
    /// Labels, in first-seen order; a point's x is its label's index.
    Category(Vec<String>),
}

/// One series with numeric x positions (ms, number or category index) and finite y values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub name: String,
    /// Points in x order; a `None` y is a gap (the model held NaN or infinity there).
    pub points: Vec<(f64, Option<f64>)>,
}

/// A chart ready to lay out.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub kind: ChartKind,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: XAxis,
    pub lines: Vec<Line>,
}

impl Prepared {
    /// True when there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.iter().all(|(_, y)| y.is_none()))
    }

    /// Smallest and largest y, always including zero (Kusto's value axes start at zero).
    pub fn y_range(&self) -> (f64, f64) {
        let mut lo = 0.0f64;
        let mut hi = 0.0f64;
        for y in self.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1)) {
            lo = lo.min(y);
            hi = hi.max(y);
        }
        (lo, hi)
    }

    /// Category labels, or the x values formatted, for charts drawn by category.
    pub fn categories(&self) -> Vec<String> {
        match &self.x {
            XAxis::Category(c) => c.clone(),
            XAxis::Time { .. } | XAxis::Numeric { .. } => {
                let mut xs: Vec<f64> = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).collect();
                xs.sort_by(f64::total_cmp);
                xs.dedup();
                xs.iter().map(|&x| self.format_x(x)).collect()
            }
        }
    }

    /// For charts drawn by category: each series' value per category (None when absent).
    pub fn by_category(&self) -> (Vec<String>, Vec<Vec<Option<f64>>>) {
        let mut xs: Vec<f64> = match &self.x {
            XAxis::Category(c) => (0..c.len()).map(|i| i as f64).collect(),
            _ => self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).collect(),
        };
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let labels = self.categories();
        // Column of each x, found by binary search in the sorted, deduplicated xs.
        let column = |x: f64| xs.binary_search_by(|probe| probe.total_cmp(&x)).ok();
        let values = self
            .lines
            .iter()
            .map(|l| {
                let mut row: Vec<Option<f64>> = vec![None; xs.len()];
                for &(x, y) in &l.points {
                    // Several points at one x (the model allows it): their sum, as a stacked bar would show.
                    if let (Some(c), Some(y)) = (column(x), y) {
                        row[c] = Some(row[c].unwrap_or(0.0) + y);
                    }
                }
                row
            })
            .collect();
        (labels, values)
    }

    /// An x position as text, as an axis shows it.
    pub fn format_x(&self, x: f64) -> String {
        match &self.x {
            XAxis::Time { .. } => format_time_full(x as i64),
            XAxis::Numeric { .. } => crate::scale::format_value(x),
            XAxis::Category(c) => c.get(x as usize).cloned().unwrap_or_default(),
        }
    }
}

/// Model text made safe to draw: control characters (which could move a terminal's cursor or
/// break XML) become spaces for line breaks and tabs; they, BiDi controls (which reverse the
/// rest of a label) and U+2028/U+2029 become U+FFFD otherwise ([`findings::text::one_line`]).
pub(crate) fn clean(s: &str) -> String {
    findings::text::one_line(&s.replace('\r', " "))
}

/// Parses an x value as a time: RFC 3339, or `YYYY-MM-DD[ T]HH:MM:SS[.f]` taken as UTC.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis());
    }
    None
}

/// A time as `YYYY-MM-DD HH:MM[:SS]` UTC, for tooltips and category labels.
pub(crate) fn format_time_full(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms % 60_000 == 0 => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) if ms % 1000 == 0 => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

/// A time as RFC 3339 in UTC (`2025-03-11T09:05:00Z`, milliseconds only when it has them).
pub(crate) fn format_rfc3339(ms: i64) -> String {
    let format = if ms % 1000 == 0 { chrono::SecondsFormat::Secs } else { chrono::SecondsFormat::Millis };
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339_opts(format, true))
}

/// Decides the x axis and positions every point.
pub(crate) fn prepare(chart: &Chart) -> Prepared {
    let kind = ChartKind::parse(&chart.kind);
    let all_x = || chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.x.as_str()));
    let any_point = all_x().next().is_some();
    // Bars and pies are drawn by category; lines use a continuous axis when every x allows it.
    let continuous = matches!(kind, ChartKind::Timechart | ChartKind::Linechart | ChartKind::Columnchart);
    let times: Option<Vec<i64>> =
        if continuous && any_point { all_x().map(parse_time).collect() } else { None };
    let numbers: Option<Vec<f64>> = if continuous && any_point && times.is_none() {
        all_x().map(|x| x.trim().parse::<f64>().ok().filter(|v| v.is_finite())).collect()
    } else {
        None
    };
    let y = |v: f64| if v.is_finite() { Some(v) } else { None };
    let (x, lines) = if let Some(times) = times {
        let min = times.iter().copied().min().unwrap_or(0);
        let max = times.iter().copied().max().unwrap_or(0);
        let mut distinct = times.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let grid = grid_bin(&distinct);
        // The bin the captions name: the grid's step, and only when three times or more show
        // it. Two times say nothing of the bin (18:30 and 23:50 of 5-minute bins read "320m
        // bins"), nor do raw times off any grid.
        let bin = grid.filter(|_| distinct.len() >= 3);
        let mut it = times.into_iter();
        let lines = chart
            .series
            .iter()
            .map(|s| {
                let points =
                    sorted(s.points.iter().map(|p| (it.next().unwrap_or(0) as f64, y(p.y))).collect());
                Line { name: clean(&s.name), points: break_at_empty_bins(kind, grid, points) }
            })
            .collect();
        (XAxis::Time { min, max, bin }, lines)
    } else if let Some(numbers) = numbers {
        let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
        let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut it = numbers.into_iter();
        let lines = chart
            .series
            .iter()
            .map(|s| Line {
                name: clean(&s.name),
                points: sorted(s.points.iter().map(|p| (it.next().unwrap_or(0.0), y(p.y))).collect()),
            })
            .collect();
        (XAxis::Numeric { min, max }, lines)
    } else {
        // First-seen order in `labels`; the map only speeds up the lookup.
        let mut labels: Vec<String> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut index = |x: &str| {
            let label = clean(x);
            *seen.entry(label).or_insert_with_key(|label| {
                labels.push(label.clone());
                labels.len() - 1
            })
        };
        let lines = chart
            .series
            .iter()
            .map(|s| Line {
                name: clean(&s.name),
                points: s.points.iter().map(|p| (index(&p.x) as f64, y(p.y))).collect(),
            })
            .collect();
        (XAxis::Category(labels), lines)
    };
    Prepared {
        kind,
        title: clean(&chart.title),
        x_label: clean(&chart.x_label),
        y_label: clean(&chart.y_label),
        x,
        lines,
    }
}

/// The bin of times that lie on a regular grid (`summarize … by bin(t, 5m)`): the smallest
/// step between them, when every time is a whole number of such steps from the first. `None`
/// for raw times (a `render timechart` over the events themselves), whose smallest step says
/// nothing of a bin: breaking their lines at every larger step left only dots.
pub(crate) fn grid_bin(distinct_sorted: &[i64]) -> Option<i64> {
    let step = distinct_sorted.windows(2).map(|w| w[1] - w[0]).min().filter(|s| *s > 0)?;
    let first = *distinct_sorted.first()?;
    distinct_sorted.iter().all(|t| (t - first) % step == 0).then_some(step)
}

/// Whether two consecutive times of a line leave at least one bin without a point between
/// them: the step is more than one and a half bins (so a little jitter in scrape times is
/// not a gap).
pub(crate) fn skips_a_bin(prev: i64, next: i64, bin: i64) -> bool {
    bin > 0 && next.saturating_sub(prev) > bin.saturating_add(bin / 2)
}

/// Whether lines of this kind break where a bin has no point (lines over time do; bars simply
/// have no bar there).
pub(crate) fn breaks_lines(kind: ChartKind) -> bool {
    matches!(kind, ChartKind::Timechart | ChartKind::Linechart)
}

/// A line over time with a gap (a `None` point one bin after the last point) wherever a bin
/// has no point: Kusto's `summarize … by bin()` writes no row for an empty bin, and a line
/// drawn across it would show values nobody measured.
fn break_at_empty_bins(
    kind: ChartKind,
    bin: Option<i64>,
    points: Vec<(f64, Option<f64>)>,
) -> Vec<(f64, Option<f64>)> {
    let Some(bin) = bin.filter(|_| breaks_lines(kind)) else { return points };
    let mut out = Vec::with_capacity(points.len());
    let mut prev: Option<i64> = None;
    for (x, y) in points {
        if let Some(p) = prev
            && skips_a_bin(p, x as i64, bin)
        {
            out.push(((p + bin) as f64, None));
        }
        prev = Some(x as i64);
        out.push((x, y));
    }
    out
}

fn sorted(mut points: Vec<(f64, Option<f64>)>) -> Vec<(f64, Option<f64>)> {
    // Stable: points at the same x keep the model's order.
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use findings::{Point, Series};

    fn chart(kind: &str, xs: &[&str]) -> Chart {
        Chart {
            kind: kind.into(),
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: vec![Series {
                name: "a".into(),
                points: xs.iter().enumerate().map(|(i, x)| Point { x: (*x).into(), y: i as f64 }).collect(),
            }],
        }
    }

    #[test]
    fn timechart_with_rfc3339_x_gets_a_time_axis_and_its_bin() {
        let p = prepare(&chart(
            "timechart",
            &["2024-05-01T10:05:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:15:00Z"],
        ));
        assert_eq!(p.x, XAxis::Time { min: 1_714_557_600_000, max: 1_714_558_500_000, bin: Some(300_000) });
        // Sorted by x, y kept with its x.
        assert_eq!(p.lines[0].points[0], (1_714_557_600_000.0, Some(1.0)));
    }

    #[test]
    fn timechart_with_seven_fraction_digits_parses() {
        assert_eq!(parse_time("2024-05-01T10:00:00.1234567Z"), Some(1_714_557_600_123));
        assert_eq!(parse_time("2024-05-01 10:00:00"), Some(1_714_557_600_000));
        assert_eq!(parse_time("kubelet"), None);
    }

    #[test]
    fn linechart_with_one_label_falls_back_to_categories() {
        let p = prepare(&chart("linechart", &["1", "two", "1"]));
        assert_eq!(p.x, XAxis::Category(vec!["1".into(), "two".into()]));
    }

    #[test]
    fn barchart_is_by_category_even_with_time_labels() {
        let p = prepare(&chart("barchart", &["2024-05-01T10:05:00Z"]));
        assert!(matches!(p.x, XAxis::Category(_)));
    }

    #[test]
    fn an_empty_bin_between_two_points_of_a_line_is_a_gap() {
        // kubelet at 09:00, 09:05, 09:10; the lister only at 09:00 and 09:10.
        let mut c =
            chart("timechart", &["2025-03-11T09:00:00Z", "2025-03-11T09:05:00Z", "2025-03-11T09:10:00Z"]);
        c.series.push(Series {
            name: "b".into(),
            points: vec![
                Point { x: "2025-03-11T09:00:00Z".into(), y: 1.0 },
                Point { x: "2025-03-11T09:10:00Z".into(), y: 2.0 },
            ],
        });
        let p = prepare(&c);
        let t0 = 1_741_683_600_000.0;
        assert_eq!(p.lines[0].points.len(), 3);
        assert_eq!(
            p.lines[1].points,
            vec![(t0, Some(1.0)), (t0 + 300_000.0, None), (t0 + 600_000.0, Some(2.0))]
        );
        // Bars have no line to break.
        c.kind = "columnchart".into();
        assert_eq!(prepare(&c).lines[1].points.len(), 2);
    }

    #[test]
    fn non_finite_values_are_gaps_and_do_not_stretch_the_axis() {
        let mut c = chart("linechart", &["1", "2", "3"]);
        c.series[0].points[1].y = f64::NAN;
        c.series[0].points[2].y = f64::INFINITY;
        let p = prepare(&c);
        assert_eq!(p.lines[0].points[1].1, None);
        assert_eq!(p.y_range(), (0.0, 0.0));
    }
}
