//! SVG drawing. Written by hand rather than through a plotting library so that the output
//! is small, byte-for-byte deterministic, free of ids (several charts share one HTML page)
//! and styled the same way in the HTML report and in `query --chart x.svg`.

use std::fmt::Write as _;

use crate::data::{Prepared, XAxis};
use crate::labels::{self, advance_em};
use crate::scale::{
    format_date, format_span, format_tick, format_tick_context, format_time_tick, format_value, nice_ticks,
    time_ticks_on_bins,
};
use crate::{ChartKind, PALETTE};

const FONT: f64 = 12.0;
const TITLE_FONT: f64 = 14.0;
const PAD: f64 = 8.0;
const LEGEND_ROW: f64 = 16.0;
/// Above this many points in all, lines carry no per-point markers (keeps files small).
const MAX_MARKERS: usize = 600;

/// Most lines a long title wraps to (the rest is cut with `…`).
const TITLE_LINES: usize = 3;

/// Width of a character of the regular font at `FONT`, in pixels.
fn px(c: char) -> f64 {
    advance_em(c, false) * FONT
}

/// Width of a character of the bold title, in pixels.
fn title_px(c: char) -> f64 {
    advance_em(c, true) * TITLE_FONT
}

/// Width of a text in the regular font at `FONT`, in pixels (DejaVu Sans's advances).
fn text_width(s: &str) -> f64 {
    labels::width(s, &px)
}

/// `s` cut at its end to `max` pixels.
fn fit_end(s: &str, max: f64) -> String {
    labels::cut_end(s, max, &px)
}

/// `s` cut in its middle to `max` pixels.
fn fit_middle(s: &str, max: f64) -> String {
    labels::cut_middle(s, max, &px)
}

/// A value for a tooltip, with the unit of the value axis: the part of its label in
/// brackets (`avg latency (ms)` → `5.83k ms`), or the whole label (`requests`).
fn with_unit(v: f64, y_label: &str) -> String {
    let label = y_label.trim();
    let unit = match (label.rfind('('), label.strip_suffix(')')) {
        (Some(open), Some(inner)) => inner.get(open + 1..).unwrap_or("").trim(),
        _ => label,
    };
    if unit.is_empty() { format_value(v) } else { format!("{} {unit}", format_value(v)) }
}

/// Formats a coordinate with at most one decimal: deterministic and compact.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() { format!("{}", r as i64) } else { format!("{r:.1}") }
}

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even escaped, and U+FFFE/U+FFFF.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

struct Svg {
    out: String,
}

impl Svg {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f64, y: f64, anchor: &str, size: f64, fill: &str, extra: &str, content: &str) {
        let size_attr = if size == FONT { String::new() } else { format!(" font-size=\"{}\"", n(size)) };
        let anchor_attr =
            if anchor == "start" { String::new() } else { format!(" text-anchor=\"{anchor}\"") };
        let _ = writeln!(
            self.out,
            "<text x=\"{}\" y=\"{}\"{anchor_attr}{size_attr} fill=\"{fill}\"{extra}>{}</text>",
            n(x),
            n(y),
            escape(content)
        );
    }
}

struct Plot {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Plot {
    fn width(&self) -> f64 {
        self.right - self.left
    }
    fn height(&self) -> f64 {
        self.bottom - self.top
    }
}

/// Draws the chart as an SVG document of `width` × `height` pixels.
pub(crate) fn render(p: &Prepared, width: u32, height: u32) -> String {
    let w = f64::from(width.max(160));
    let h = f64::from(height.max(120));
    let mut svg = Svg { out: String::with_capacity(8192) };
    let _ = writeln!(
        svg.out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-kind=\"{}\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\" font-size=\"{}\">",
        p.kind.as_str(),
        n(w),
        n(h),
        n(w),
        n(h),
        escape(&p.title),
        n(FONT)
    );
    let _ = writeln!(svg.out, "<title>{}</title>", escape(&p.title));
    svg.line(&format!("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>", n(w), n(h)));
    let mut top = PAD;
    if !p.title.is_empty() {
        // A long title wraps rather than losing its end (`…; 19 other clients not drawn`).
        let lines = labels::wrap(&p.title, w - 2.0 * PAD, TITLE_LINES, &title_px);
        for (i, line) in lines.iter().enumerate() {
            svg.text(
                w / 2.0,
                top + TITLE_FONT + i as f64 * (TITLE_FONT + 3.0),
                "middle",
                TITLE_FONT,
                "#222222",
                " font-weight=\"bold\" class=\"chart-title\"",
                line,
            );
        }
        top += TITLE_FONT + PAD + lines.len().saturating_sub(1) as f64 * (TITLE_FONT + 3.0);
    }
    if p.is_empty() {
        svg.text(w / 2.0, (top + h) / 2.0, "middle", FONT, "#666666", " class=\"no-data\"", "no data");
    } else {
        match p.kind {
            ChartKind::Piechart => pie(&mut svg, p, w, h, top),
            ChartKind::Barchart => bars(&mut svg, p, w, h, top),
            ChartKind::Columnchart => columns(&mut svg, p, w, h, top),
            ChartKind::Timechart | ChartKind::Linechart => lines(&mut svg, p, w, h, top),
        }
    }
    svg.line("</svg>");
    svg.out
}

/// Legend entries down the right side; returns nothing, draws at `x`.
fn legend(svg: &mut Svg, names: &[String], x: f64, top: f64, bottom: f64, lw: f64) {
    let max_rows = (((bottom - top) / LEGEND_ROW).floor() as usize).max(1);
    let shown = if names.len() > max_rows { max_rows.saturating_sub(1) } else { names.len() };
    // The text starts 14 px in and ends by the legend's right edge; different names never
    // read the same.
    let texts = labels::distinct(&names[..shown], &vec![(lw - 14.0).max(0.0); shown], &px);
    svg.line("<g class=\"legend\">");
    for (i, (name, text)) in names.iter().zip(&texts).enumerate() {
        let y = top + i as f64 * LEGEND_ROW;
        let _ = writeln!(
            svg.out,
            "<g><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>",
            escape(name),
            n(x),
            n(y + 1.0),
            PALETTE[i % PALETTE.len()]
        );
        svg.text(x + 14.0, y + 10.0, "start", FONT, "#333333", "", text);
        svg.line("</g>");
    }
    if shown < names.len() {
        let y = top + shown as f64 * LEGEND_ROW;
        svg.text(x, y + 10.0, "start", FONT, "#666666", "", &format!("+{} more", names.len() - shown));
    }
    svg.line("</g>");
}

/// Width of a right-hand legend for these names.
fn legend_width(names: &[String], w: f64) -> f64 {
    let widest = names.iter().map(|s| text_width(s)).fold(0.0, f64::max);
    (widest + 16.0).clamp(60.0, (w * 0.3).max(60.0))
}

fn series_names(p: &Prepared) -> Vec<String> {
    p.lines.iter().map(|l| l.name.clone()).collect()
}

/// The y axis: grid lines, tick labels and the rotated label. Returns the ticks' span.
fn value_axis_vertical(svg: &mut Svg, p: &Prepared, plot: &Plot, label_x: f64) -> (f64, f64) {
    let (lo, hi) = p.y_range();
    let ticks = nice_ticks(lo, hi, ((plot.height() / 50.0) as usize).max(2));
    let y_of = |v: f64| plot.bottom - (v - ticks.lo) / (ticks.hi - ticks.lo) * plot.height();
    svg.line("<g class=\"axis y-axis\">");
    for &t in &ticks.values {
        let y = y_of(t);
        let _ = writeln!(
            svg.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e4e4e4\"/>",
            n(plot.left),
            n(y),
            n(plot.right),
            n(y)
        );
        svg.text(plot.left - 6.0, y + FONT * 0.35, "end", FONT, "#555555", "", &format_tick(t, ticks.step));
    }
    svg.line("</g>");
    if !p.y_label.is_empty() {
        let cy = (plot.top + plot.bottom) / 2.0;
        svg.text(
            label_x,
            cy,
            "middle",
            FONT,
            "#333333",
            &format!(" transform=\"rotate(-90 {} {})\" class=\"axis-label\"", n(label_x), n(cy)),
            &fit_end(&p.y_label, plot.height()),
        );
    }
    (ticks.lo, ticks.hi)
}

/// Left margin for a vertical value axis: room for its tick labels and its label.
fn value_axis_margin(p: &Prepared) -> f64 {
    let (lo, hi) = p.y_range();
    let ticks = nice_ticks(lo, hi, 6);
    let widest = ticks.values.iter().map(|&t| text_width(&format_tick(t, ticks.step))).fold(0.0, f64::max);
    PAD + if p.y_label.is_empty() { 0.0 } else { FONT + 6.0 } + widest + 8.0
}

/// The caption under the x axis: the label, and for times the zone and the bin.
fn x_caption(p: &Prepared) -> String {
    match &p.x {
        XAxis::Time { bin, .. } => {
            let name = if p.x_label.is_empty() { "time" } else { p.x_label.as_str() };
            match bin {
                Some(b) => format!("{name} (UTC, {} bins)", format_span(*b)),
                None => format!("{name} (UTC)"),
            }
        }
        _ => p.x_label.clone(),
    }
}

fn frame(svg: &mut Svg, plot: &Plot) {
    let _ = writeln!(
        svg.out,
        "<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"#888888\"/>",
        n(plot.left),
        n(plot.top),
        n(plot.bottom),
        n(plot.right)
    );
}

fn caption(svg: &mut Svg, p: &Prepared, plot: &Plot, h: f64) {
    let c = x_caption(p);
    if !c.is_empty() {
        svg.text(
            (plot.left + plot.right) / 2.0,
            h - PAD,
            "middle",
            FONT,
            "#333333",
            " class=\"axis-label\"",
            &fit_end(&c, plot.width()),
        );
    }
}

/// Room under the plot: tick labels, a date line for times, the caption.
fn bottom_margin(p: &Prepared) -> f64 {
    let mut b = PAD + FONT + 6.0;
    if matches!(p.x, XAxis::Time { .. }) {
        b += FONT + 2.0;
    }
    if !x_caption(p).is_empty() {
        b += FONT + 6.0;
    }
    b
}

/// Time and line charts.
fn lines(svg: &mut Svg, p: &Prepared, w: f64, h: f64, top: f64) {
    let names = series_names(p);
    let lw = legend_width(&names, w);
    let (left, right) = (value_axis_margin(p), w - PAD - lw - 12.0);
    let extra = if let XAxis::Category(c) = &p.x { category_rows_height(c, right - left) } else { 0.0 };
    let plot = Plot { left, top, right, bottom: h - bottom_margin(p) - extra };
    let (ylo, yhi) = value_axis_vertical(svg, p, &plot, PAD + FONT * 0.8);
    let y_of = |v: f64| plot.bottom - (v - ylo) / (yhi - ylo) * plot.height();
    let (xmin, xmax) = x_axis(svg, p, &plot, w);
    let x_of = |x: f64| {
        if let XAxis::Category(c) = &p.x {
            plot.left + (x + 0.5) * plot.width() / c.len().max(1) as f64
        } else if xmax > xmin {
            plot.left + (x - xmin) / (xmax - xmin) * plot.width()
        } else {
            (plot.left + plot.right) / 2.0
        }
    };
    frame(svg, &plot);
    let total: usize = p.lines.iter().map(|l| l.points.len()).sum();
    for (i, line) in p.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let _ = writeln!(svg.out, "<g class=\"series\" data-series=\"{}\">", escape(&line.name));
        let _ = writeln!(svg.out, "<title>{}</title>", escape(&line.name));
        // Gaps (non-finite values) split the line.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
        for &(x, y) in &line.points {
            match y {
                Some(y) => segment.push((x_of(x), y_of(y))),
                None if !segment.is_empty() => segments.push(std::mem::take(&mut segment)),
                None => {}
            }
        }
        if !segment.is_empty() {
            segments.push(segment);
        }
        for seg in &segments {
            if seg.len() == 1 {
                let _ = writeln!(
                    svg.out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{color}\"/>",
                    n(seg[0].0),
                    n(seg[0].1)
                );
                continue;
            }
            let pts: Vec<String> = seg.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
            let _ = writeln!(
                svg.out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                pts.join(" ")
            );
        }
        if total <= MAX_MARKERS {
            for &(x, y) in &line.points {
                let Some(y) = y else { continue };
                let _ = writeln!(
                    svg.out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{color}\"><title>{}</title></circle>",
                    n(x_of(x)),
                    n(y_of(y)),
                    escape(&format!("{}: {} = {}", line.name, p.format_x(x), with_unit(y, &p.y_label)))
                );
            }
        }
        svg.line("</g>");
    }
    legend(svg, &names, w - PAD - lw, plot.top, plot.bottom, lw);
    caption(svg, p, &plot, h);
}

/// Ticks and labels of a continuous or category x axis; returns the x range mapped to the plot.
fn x_axis(svg: &mut Svg, p: &Prepared, plot: &Plot, w: f64) -> (f64, f64) {
    let label_y = plot.bottom + FONT + 4.0;
    svg.line("<g class=\"axis x-axis\">");
    let range = match &p.x {
        XAxis::Time { min, max, bin } => {
            let ticks = time_ticks_on_bins(*min, *max, ((plot.width() / 70.0) as usize).max(2), *bin);
            let span = (*max - *min).max(1) as f64;
            // One instant only: its tick in the middle, where the points of a zero-width
            // domain are drawn (a tick at the left put the time far from its point).
            let x_of = |t: i64| {
                if max > min {
                    plot.left + (t - min) as f64 / span * plot.width()
                } else {
                    plot.left + plot.width() / 2.0
                }
            };
            let mut values = ticks.values.clone();
            if values.is_empty() {
                values.push(*min);
            }
            let mut last_date = String::new();
            for &t in &values {
                let x = x_of(t);
                tick_mark(svg, x, plot.bottom);
                svg.text(x, label_y, "middle", FONT, "#555555", "", &format_time_tick(t, ticks.step));
                // The date (or, for day steps, the year) under the first tick and where it changes.
                let date = format_tick_context(t, ticks.step);
                if date != last_date && !date.is_empty() {
                    svg.text(x, label_y + FONT + 2.0, "middle", FONT, "#777777", "", &date);
                    last_date = date;
                }
            }
            (*min as f64, *max as f64)
        }
        XAxis::Numeric { min, max } => {
            let ticks = nice_ticks(*min, *max, ((plot.width() / 70.0) as usize).max(2));
            for &t in &ticks.values {
                let x = plot.left + (t - ticks.lo) / (ticks.hi - ticks.lo) * plot.width();
                tick_mark(svg, x, plot.bottom);
                svg.text(x, label_y, "middle", FONT, "#555555", "", &format_tick(t, ticks.step));
            }
            (ticks.lo, ticks.hi)
        }
        XAxis::Category(labels) => {
            category_labels(svg, labels, plot, label_y, w);
            (0.0, labels.len() as f64)
        }
    };
    svg.line("</g>");
    range
}

fn tick_mark(svg: &mut Svg, x: f64, y: f64) {
    let _ = writeln!(
        svg.out,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888888\"/>",
        n(x),
        n(y),
        n(x),
        n(y + 4.0)
    );
}

/// How labels under evenly spaced categories are laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
struct CategoryLayout {
    /// Rows the labels take turns on (label `i` on row `i % rows`), so that each may be as
    /// wide as `rows` slots.
    rows: usize,
    /// Widest label, in pixels; longer ones lose their middle (`truncate_middle`), so
    /// `…:job-controller` and `…:cronjob-controller` stay apart.
    max_width: f64,
    /// Every how many categories a label is drawn: 1 (every bar is named) unless even three
    /// rows leave less than about 5 characters a label (dozens of time bins).
    every: usize,
}

/// Widest category label drawn, in pixels (about 24 characters).
const CATEGORY_WIDTH: f64 = 170.0;
/// Narrowest category label worth drawing, in pixels (about 5 characters).
const CATEGORY_MIN_WIDTH: f64 = 36.0;
/// Width of a label when they are thinned, in pixels (about 16 characters).
const CATEGORY_THIN_WIDTH: f64 = 115.0;
/// Most rows of category labels.
const CATEGORY_ROWS: usize = 3;

fn category_layout(labels: &[String], plot_width: f64) -> CategoryLayout {
    let slot = plot_width / labels.len().max(1) as f64;
    let fits = |rows: usize| (rows as f64 * slot - 6.0).max(0.0);
    let longest = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max).min(CATEGORY_WIDTH);
    if let Some(rows) = (1..=CATEGORY_ROWS).find(|&rows| fits(rows) >= longest) {
        return CategoryLayout { rows, max_width: longest, every: 1 };
    }
    if fits(CATEGORY_ROWS) >= CATEGORY_MIN_WIDTH {
        return CategoryLayout { rows: CATEGORY_ROWS, max_width: fits(CATEGORY_ROWS), every: 1 };
    }
    // Too many categories to name each: one row, thinned so that labels never overlap.
    let max_width = CATEGORY_THIN_WIDTH;
    let widest = labels.iter().map(|l| text_width(&fit_middle(l, max_width))).fold(0.0, f64::max) + 6.0;
    CategoryLayout { rows: 1, max_width, every: (widest / slot).ceil().max(1.0) as usize }
}

/// Labels under evenly spaced categories ([`category_layout`]): every one when they fit on up
/// to three staggered rows, cut in their middle, never overlapping and never past the
/// drawing's edges (0 to `w`), and no two alike unless their categories are.
///
/// Each label owns the span up to the midpoints between it and its neighbours on its row. A
/// label at either end of a row has no neighbour on one side: it may use the drawing's margin
/// there, and on its inner side the room its neighbour leaves (the neighbour stays centred
/// under its bar), so the last of a row of long names is cut no shorter than the others.
fn category_labels(svg: &mut Svg, labels: &[String], plot: &Plot, y: f64, w: f64) {
    let slot = plot.width() / labels.len().max(1) as f64;
    let layout = category_layout(labels, plot.width());
    let shown: Vec<usize> = (0..labels.len()).step_by(layout.every).collect();
    let names: Vec<String> = shown.iter().map(|&i| labels[i].clone()).collect();
    let r = layout.rows;
    let x_of = |k: usize| plot.left + (shown[k] as f64 + 0.5) * slot;
    // Half the width of each label centred with the common cut.
    let common = labels::distinct(&names, &vec![layout.max_width; names.len()], &px);
    let natural = |k: usize| text_width(&common[k]) / 2.0;
    let first = |k: usize| k < r;
    let last = |k: usize| k + r >= shown.len();
    // The boundary between label `k` and the next on its row, `k + r`.
    let boundary = |k: usize| {
        let mid = (x_of(k) + x_of(k + r)) / 2.0;
        if last(k + r) && !first(k) && !last(k) {
            mid.min(x_of(k) + natural(k) + 3.0)
        } else if first(k) && !first(k + r) && !last(k + r) {
            mid.max(x_of(k + r) - natural(k + r) - 3.0)
        } else {
            mid
        }
    };
    // Each label's span, then the labels cut to their spans together, so that they stay apart.
    let spans: Vec<(f64, f64)> = (0..shown.len())
        .map(|k| {
            let lo = if k >= r { boundary(k - r) + 3.0 } else { 2.0 }.max(2.0);
            let hi = if k + r < shown.len() { boundary(k) - 3.0 } else { w - 2.0 }.min(w - 2.0);
            (lo, hi)
        })
        .collect();
    let budgets: Vec<f64> = spans.iter().map(|(lo, hi)| (hi - lo).max(0.0).min(layout.max_width)).collect();
    let texts = labels::distinct(&names, &budgets, &px);
    for (k, ((&i, text), &(lo, hi))) in shown.iter().zip(&texts).zip(&spans).enumerate() {
        let x = x_of(k);
        let tw = text_width(text);
        // Centred under the bar when there is room, else as near as the span allows.
        let cx = x.clamp(lo + tw / 2.0, (hi - tw / 2.0).max(lo + tw / 2.0));
        tick_mark(svg, x, plot.bottom);
        let _ = writeln!(svg.out, "<g><title>{}</title>", escape(&labels[i]));
        svg.text(
            cx,
            y + (k % r) as f64 * (FONT + 2.0),
            "middle",
            FONT,
            "#555555",
            " class=\"category\"",
            text,
        );
        svg.line("</g>");
    }
}

/// Room the extra rows of category labels take under the plot.
fn category_rows_height(labels: &[String], plot_width: f64) -> f64 {
    (category_layout(labels, plot_width).rows - 1) as f64 * (FONT + 2.0)
}

/// Short category labels for bars: times shown as `HH:MM` when they share one day.
fn bar_labels(p: &Prepared, labels: Vec<String>) -> Vec<String> {
    if let XAxis::Time { min, max, bin } = &p.x
        && format_date(*min) == format_date(*max)
        && bin.is_some_and(|b| b < 24 * 3_600_000)
    {
        return labels.iter().map(|l| l.get(11..).unwrap_or(l).to_owned()).collect();
    }
    labels
}

/// Vertical bars, grouped by category.
fn columns(svg: &mut Svg, p: &Prepared, w: f64, h: f64, top: f64) {
    let names = series_names(p);
    let lw = bar_legend_width(p, &names, w);
    let (labels, values) = p.by_category();
    let labels = bar_labels(p, labels);
    let (left, right) = (value_axis_margin(p), w - PAD - lw);
    let extra = category_rows_height(&labels, right - left);
    let plot = Plot { left, top, right, bottom: h - bottom_margin(p) - extra };
    let (ylo, yhi) = value_axis_vertical(svg, p, &plot, PAD + FONT * 0.8);
    let y_of = |v: f64| plot.bottom - (v - ylo) / (yhi - ylo) * plot.height();
    svg.line("<g class=\"axis x-axis\">");
    category_labels(svg, &labels, &plot, plot.bottom + FONT + 4.0, w);
    if let XAxis::Time { min, .. } = &p.x {
        svg.text(
            plot.left,
            plot.bottom + extra + 2.0 * FONT + 6.0,
            "start",
            FONT,
            "#777777",
            "",
            &format_date(*min),
        );
    }
    svg.line("</g>");
    frame(svg, &plot);
    let slot = plot.width() / labels.len().max(1) as f64;
    let bar = slot * 0.8 / values.len().max(1) as f64;
    for (s, (line, vals)) in p.lines.iter().zip(&values).enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let _ = writeln!(svg.out, "<g class=\"series\" data-series=\"{}\">", escape(&line.name));
        let _ = writeln!(svg.out, "<title>{}</title>", escape(&line.name));
        for (c, v) in vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            let x = plot.left + c as f64 * slot + slot * 0.1 + s as f64 * bar;
            let (y0, y1) = (y_of(v.max(0.0)), y_of(v.min(0.0)));
            let _ = writeln!(
                svg.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"><title>{}</title></rect>",
                n(x),
                n(y0),
                n(bar.max(0.5)),
                n((y1 - y0).max(0.0)),
                escape(&format!(
                    "{}: {} = {}",
                    line.name,
                    labels.get(c).map_or("", String::as_str),
                    with_unit(v, &p.y_label)
                ))
            );
        }
        svg.line("</g>");
    }
    if lw > 0.0 {
        legend(svg, &names, w - PAD - lw + 12.0, plot.top, plot.bottom, lw - 12.0);
    }
    caption(svg, p, &plot, h);
}

/// Room for the legend of a bar or column chart and the space before it: none for a single
/// series whose name the title or the value axis already says (`requests` under a `requests`
/// axis), so the category labels get the width; its name stays every bar's tooltip.
fn bar_legend_width(p: &Prepared, names: &[String], w: f64) -> f64 {
    let said = |name: &str| {
        let name = name.trim().to_lowercase();
        name.is_empty() || p.y_label.to_lowercase().contains(&name) || p.title.to_lowercase().contains(&name)
    };
    match names {
        [one] if said(one) => 0.0,
        _ => legend_width(names, w) + 12.0,
    }
}

/// Horizontal bars: categories down the left, values along the bottom.
fn bars(svg: &mut Svg, p: &Prepared, w: f64, h: f64, top: f64) {
    let names = series_names(p);
    let lw = bar_legend_width(p, &names, w);
    let (labels, values) = p.by_category();
    // Category names down the left, in at most 30% of the width, no two alike.
    let max_width = (w * 0.3).max(30.0);
    let texts = labels::distinct(&labels, &vec![max_width; labels.len()], &px);
    let label_w = texts.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let bottom = h - PAD - FONT - 6.0 - if p.y_label.is_empty() { 0.0 } else { FONT + 6.0 };
    // Without a legend, room for half the last tick label past the plot.
    let plot = Plot { left: PAD + label_w + 8.0, top, right: w - PAD - lw.max(2.0 * FONT), bottom };
    let (lo, hi) = p.y_range();
    let ticks = nice_ticks(lo, hi, ((plot.width() / 70.0) as usize).max(2));
    let x_of = |v: f64| plot.left + (v - ticks.lo) / (ticks.hi - ticks.lo) * plot.width();
    svg.line("<g class=\"axis x-axis\">");
    for &t in &ticks.values {
        let x = x_of(t);
        let _ = writeln!(
            svg.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e4e4e4\"/>",
            n(x),
            n(plot.top),
            n(x),
            n(plot.bottom)
        );
        svg.text(x, plot.bottom + FONT + 4.0, "middle", FONT, "#555555", "", &format_tick(t, ticks.step));
    }
    svg.line("</g>");
    let slot = plot.height() / labels.len().max(1) as f64;
    svg.line("<g class=\"axis y-axis\">");
    let every = ((FONT + 2.0) / slot).ceil().max(1.0) as usize;
    for (i, (label, text)) in labels.iter().zip(&texts).enumerate().step_by(every) {
        let y = plot.top + (i as f64 + 0.5) * slot;
        let _ = writeln!(svg.out, "<g><title>{}</title>", escape(label));
        svg.text(plot.left - 6.0, y + FONT * 0.35, "end", FONT, "#555555", "", text);
        svg.line("</g>");
    }
    svg.line("</g>");
    let _ = writeln!(
        svg.out,
        "<path d=\"M{} {}V{}H{}\" fill=\"none\" stroke=\"#888888\"/>",
        n(plot.left),
        n(plot.top),
        n(plot.bottom),
        n(plot.right)
    );
    let bar = slot * 0.8 / values.len().max(1) as f64;
    for (s, (line, vals)) in p.lines.iter().zip(&values).enumerate() {
        let color = PALETTE[s % PALETTE.len()];
        let _ = writeln!(svg.out, "<g class=\"series\" data-series=\"{}\">", escape(&line.name));
        let _ = writeln!(svg.out, "<title>{}</title>", escape(&line.name));
        for (c, v) in vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            let y = plot.top + c as f64 * slot + slot * 0.1 + s as f64 * bar;
            let (x0, x1) = (x_of(v.min(0.0)), x_of(v.max(0.0)));
            let _ = writeln!(
                svg.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"><title>{}</title></rect>",
                n(x0),
                n(y),
                n((x1 - x0).max(0.0)),
                n(bar.max(0.5)),
                escape(&format!(
                    "{}: {} = {}",
                    line.name,
                    labels.get(c).map_or("", String::as_str),
                    with_unit(v, &p.y_label)
                ))
            );
        }
        svg.line("</g>");
    }
    if lw > 0.0 {
        legend(svg, &names, w - PAD - lw + 12.0, plot.top, plot.bottom, lw - 12.0);
    }
    if !p.y_label.is_empty() {
        svg.text(
            (plot.left + plot.right) / 2.0,
            h - PAD,
            "middle",
            FONT,
            "#333333",
            " class=\"axis-label\"",
            &fit_end(&p.y_label, plot.width()),
        );
    }
}

/// Pie slices: one series' points, or one slice per series (its total) when there are several.
pub(crate) fn pie_slices(p: &Prepared) -> Vec<(String, f64)> {
    let slices: Vec<(String, f64)> = if p.lines.len() == 1 {
        p.lines[0].points.iter().filter_map(|&(x, y)| y.map(|y| (p.format_x(x), y))).collect()
    } else {
        p.lines.iter().map(|l| (l.name.clone(), l.points.iter().filter_map(|q| q.1).sum())).collect()
    };
    // A slice cannot be negative or empty.
    slices.into_iter().filter(|(_, v)| *v > 0.0).collect()
}

fn pie(svg: &mut Svg, p: &Prepared, w: f64, h: f64, top: f64) {
    let slices = pie_slices(p);
    let total: f64 = slices.iter().map(|s| s.1).sum();
    let names: Vec<String> = slices
        .iter()
        .map(|(name, v)| format!("{name} — {} ({}%)", format_value(*v), format_value(v / total * 100.0)))
        .collect();
    let lw = legend_width(&names, w).max((w * 0.3).min(w - (h - top)));
    let area_w = w - PAD - lw - 12.0 - PAD;
    let r = ((area_w).min(h - top - PAD) / 2.0 - 2.0).max(10.0);
    let (cx, cy) = (PAD + area_w / 2.0, top + (h - top - PAD) / 2.0);
    if slices.is_empty() {
        svg.text(w / 2.0, (top + h) / 2.0, "middle", FONT, "#666666", " class=\"no-data\"", "no data");
        return;
    }
    svg.line("<g class=\"series\">");
    let mut angle = 0.0f64;
    for (i, ((name, v), label)) in slices.iter().zip(&names).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let share = v / total;
        if share >= 0.999_999 {
            let _ = writeln!(
                svg.out,
                "<circle class=\"slice\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{color}\"><title>{}</title></circle>",
                n(cx),
                n(cy),
                n(r),
                escape(label)
            );
            continue;
        }
        let a0 = angle;
        let a1 = angle + share * std::f64::consts::TAU;
        angle = a1;
        // Clockwise from twelve o'clock, as Kusto draws.
        let (x0, y0) = (cx + r * a0.sin(), cy - r * a0.cos());
        let (x1, y1) = (cx + r * a1.sin(), cy - r * a1.cos());
        let large = if a1 - a0 > std::f64::consts::PI { 1 } else { 0 };
        let _ = writeln!(
            svg.out,
            "<path class=\"slice\" data-name=\"{}\" d=\"M{} {}L{} {}A{} {} 0 {large} 1 {} {}Z\" fill=\"{color}\" stroke=\"#ffffff\"><title>{}</title></path>",
            escape(name),
            n(cx),
            n(cy),
            n(x0),
            n(y0),
            n(r),
            n(r),
            n(x1),
            n(y1),
            escape(label)
        );
    }
    svg.line("</g>");
    legend(svg, &names, w - PAD - lw, top, h - PAD, lw);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_control_characters() {
        assert_eq!(escape("<script>&\"'\u{1}"), "&lt;script&gt;&amp;&quot;&#39;\u{FFFD}");
    }

    /// Review 50 item 8: tooltips read `… 09:15 = 5.83k` with no unit.
    #[test]
    fn tooltips_carry_the_unit_of_the_value_axis() {
        assert_eq!(with_unit(5830.0, "avg latency (ms)"), "5.83k ms");
        assert_eq!(with_unit(5830.0, "ms"), "5.83k ms");
        assert_eq!(with_unit(10_800.0, "requests"), "10.8k requests");
        assert_eq!(with_unit(3.0, ""), "3");
    }

    #[test]
    fn coordinates_have_at_most_one_decimal() {
        assert_eq!(n(1.0), "1");
        assert_eq!(n(1.26), "1.3");
        assert_eq!(n(-0.04), "0");
    }
}
