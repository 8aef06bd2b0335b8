//! Charts for a terminal: braille dots for lines (2 × 4 dots per cell), eighth blocks for
//! bars. Every line of the output fits in the requested number of columns.

use crate::data::{Prepared, XAxis};
use crate::labels;
use crate::scale::{
    format_date, format_span, format_tick, format_time_tick, format_value, nice_ticks, time_ticks_on_bins,
};
use crate::{ChartKind, TextOptions, display_width, distinct_labels, truncate};

/// 256-colour codes close to [`crate::PALETTE`], in the same order.
const ANSI: [u8; 10] = [68, 208, 167, 109, 71, 221, 139, 217, 137, 249];
/// Fill characters that tell series apart without colour.
const FILLS: [char; 6] = ['█', '▓', '▒', '░', '#', '='];
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
/// Most lines a long title wraps to (the rest is cut with `…`).
const TITLE_LINES: usize = 3;

struct Out {
    lines: Vec<String>,
    color: bool,
}

impl Out {
    fn paint(&self, s: &str, series: usize) -> String {
        if self.color && !s.trim().is_empty() {
            format!("\x1b[38;5;{}m{s}\x1b[0m", ANSI[series % ANSI.len()])
        } else {
            s.to_owned()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.color && !s.is_empty() { format!("\x1b[2m{s}\x1b[0m") } else { s.to_owned() }
    }
    fn bold(&self, s: &str) -> String {
        if self.color && !s.is_empty() { format!("\x1b[1m{s}\x1b[0m") } else { s.to_owned() }
    }
}

/// Draws the chart as lines of text.
pub(crate) fn render(p: &Prepared, opts: &TextOptions) -> String {
    let cols = opts.cols.max(20);
    let rows = opts.rows.max(6);
    let mut out = Out { lines: Vec::new(), color: opts.color };
    // A long title wraps rather than losing its end (`…; 19 other clients not drawn`).
    for line in labels::wrap(&p.title, cols as f64, TITLE_LINES, &labels::columns) {
        out.lines.push(out.bold(&line));
    }
    if p.is_empty() {
        out.lines.push(out.dim("(no data)"));
    } else {
        match p.kind {
            ChartKind::Timechart | ChartKind::Linechart => lines(&mut out, p, cols, rows),
            ChartKind::Piechart => pie(&mut out, p, cols, rows),
            ChartKind::Barchart | ChartKind::Columnchart => bars(&mut out, p, cols, rows),
        }
    }
    // A last guarantee that every line fits, whatever the layout above computed.
    let mut s = String::new();
    for line in &out.lines {
        s.push_str(&fit(line, cols));
        s.push('\n');
    }
    s
}

/// Cuts a line to `cols` columns, keeping colour sequences whole and closing them.
fn fit(line: &str, cols: usize) -> String {
    if display_width(line) <= cols {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut width = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            out.push(c);
            for c in chars.by_ref() {
                out.push(c);
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if width + w + 1 > cols {
            break;
        }
        out.push(c);
        width += w;
    }
    out.push('…');
    if line.contains('\x1b') {
        out.push_str("\x1b[0m");
    }
    out
}

/// Legend lines: `● name` items wrapped to the width.
fn legend(out: &Out, names: &[String], cols: usize, markers: &dyn Fn(usize) -> String) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut width = 0;
    let max_name = cols.saturating_sub(3).max(4);
    for (i, name) in distinct_labels(names, max_name).into_iter().enumerate() {
        let item_w = 2 + display_width(&name);
        if width > 0 && width + 2 + item_w > cols {
            lines.push(std::mem::take(&mut line));
            width = 0;
        }
        if width > 0 {
            line.push_str("  ");
            width += 2;
        }
        line.push_str(&out.paint(&markers(i), i));
        line.push(' ');
        line.push_str(&name);
        width += item_w;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn lines(out: &mut Out, p: &Prepared, cols: usize, rows: usize) {
    let names: Vec<String> = p.lines.iter().map(|l| l.name.clone()).collect();
    let legend_lines = legend(out, &names, cols, &|_| "●".to_owned());
    let used_rows = out.lines.len() + usize::from(!p.y_label.is_empty()) + 2 + 1 + legend_lines.len().min(3);
    let plot_rows = rows.saturating_sub(used_rows).max(3);
    let (lo, hi) = p.y_range();
    let ticks = nice_ticks(lo, hi, (plot_rows / 3).max(1));
    let labels: Vec<String> = ticks.values.iter().map(|&t| format_tick(t, ticks.step)).collect();
    let yw = labels.iter().map(|l| display_width(l)).max().unwrap_or(1);
    let plot_cols = cols.saturating_sub(yw + 2).max(4);
    let (dot_w, dot_h) = (plot_cols * 2, plot_rows * 4);

    // x range in model units.
    let (xmin, xmax) = match &p.x {
        XAxis::Time { min, max, .. } => (*min as f64, *max as f64),
        XAxis::Numeric { min, max } => (*min, *max),
        XAxis::Category(c) => (0.0, c.len().saturating_sub(1) as f64),
    };
    let dx = |x: f64| -> i64 {
        if xmax > xmin {
            ((x - xmin) / (xmax - xmin) * (dot_w - 1) as f64).round() as i64
        } else {
            (dot_w / 2) as i64
        }
    };
    let dy = |y: f64| -> i64 { ((ticks.hi - y) / (ticks.hi - ticks.lo) * (dot_h - 1) as f64).round() as i64 };

    // Each cell: braille dot bits and the last series that drew in it.
    let mut cells = vec![(0u8, 0usize); plot_cols * plot_rows];
    let mut set = |x: i64, y: i64, s: usize| {
        if x < 0 || y < 0 || x >= dot_w as i64 || y >= dot_h as i64 {
            return;
        }
        let (x, y) = (x as usize, y as usize);
        let bit = match (x % 2, y % 4) {
            (0, 0) => 0x01,
            (0, 1) => 0x02,
            (0, 2) => 0x04,
            (1, 0) => 0x08,
            (1, 1) => 0x10,
            (1, 2) => 0x20,
            (0, _) => 0x40,
            _ => 0x80,
        };
        let cell = &mut cells[(y / 4) * plot_cols + x / 2];
        cell.0 |= bit;
        cell.1 = s;
    };
    for (s, line) in p.lines.iter().enumerate() {
        let mut prev: Option<(i64, i64)> = None;
        for &(x, y) in &line.points {
            let Some(y) = y else {
                prev = None;
                continue;
            };
            // Clamped to just outside the canvas, so that a wild value cannot make a huge segment.
            let here = (dx(x).clamp(-1, dot_w as i64), dy(y).clamp(-1, dot_h as i64));
            match prev {
                Some(from) => segment(from, here, &mut |x, y| set(x, y, s)),
                None => set(here.0, here.1, s),
            }
            prev = Some(here);
        }
    }

    if !p.y_label.is_empty() {
        out.lines.push(out.dim(&truncate(&p.y_label, cols)));
    }
    // The row of each tick (ticks from the top).
    let tick_row =
        |t: f64| ((ticks.hi - t) / (ticks.hi - ticks.lo) * (plot_rows - 1) as f64).round() as usize;
    for r in 0..plot_rows {
        let tick = ticks.values.iter().zip(&labels).rev().find(|(t, _)| tick_row(**t) == r);
        let mut line = match tick {
            Some((_, label)) => format!("{label:>yw$} ┤"),
            None => format!("{:yw$} │", ""),
        };
        for c in 0..plot_cols {
            let (bits, s) = cells[r * plot_cols + c];
            if bits == 0 {
                line.push(' ');
            } else {
                let ch = char::from_u32(0x2800 + u32::from(bits)).unwrap_or('⣿');
                line.push_str(&out.paint(&ch.to_string(), s));
            }
        }
        out.lines.push(line.trim_end().to_owned());
    }
    out.lines.push(format!("{:yw$} └{}", "", "─".repeat(plot_cols)));

    // Tick labels under the axis, left to right, skipping any that would overlap.
    let mut axis = " ".repeat(yw + 2);
    let place = |axis: &mut String, col: usize, label: &str| {
        let w = display_width(label);
        let now = display_width(axis);
        // Centred under its tick, but never left of the axis or into the previous label.
        let start = (yw + 2 + col).saturating_sub(w / 2).max(now + usize::from(now > yw + 2));
        if start <= yw + 2 + col && start + w <= cols {
            axis.push_str(&" ".repeat(start - now));
            axis.push_str(label);
        }
    };
    let caption = match &p.x {
        XAxis::Time { min, max, bin } => {
            let t = time_ticks_on_bins(*min, *max, (plot_cols / 10).max(2), *bin);
            for &v in &t.values {
                let col = (dx(v as f64) / 2) as usize;
                place(&mut axis, col, &format_time_tick(v, t.step));
            }
            let name = if p.x_label.is_empty() { "time" } else { p.x_label.as_str() };
            let bin = bin.map(|b| format!(", {} bins", format_span(b))).unwrap_or_default();
            format!("{} · {name} (UTC{bin})", format_date(*min))
        }
        XAxis::Numeric { min, max } => {
            let t = nice_ticks(*min, *max, (plot_cols / 8).max(2));
            for &v in t.values.iter().filter(|v| **v >= *min && **v <= *max) {
                place(&mut axis, (dx(v) / 2) as usize, &format_tick(v, t.step));
            }
            p.x_label.clone()
        }
        XAxis::Category(c) => {
            for (i, label) in distinct_labels(c, 12).iter().enumerate() {
                place(&mut axis, (dx(i as f64) / 2) as usize, label);
            }
            p.x_label.clone()
        }
    };
    out.lines.push(axis.trim_end().to_owned());
    if !caption.is_empty() {
        out.lines.push(out.dim(&truncate(&caption, cols)));
    }
    out.lines.extend(legend_lines);
}

/// Bresenham's line between two dots.
fn segment(from: (i64, i64), to: (i64, i64), set: &mut dyn FnMut(i64, i64)) {
    let (mut x, mut y) = from;
    let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
    let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        set(x, y);
        if (x, y) == to {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

/// A bar of `len` cells (fractional), in eighths with the first fill, whole cells otherwise.
fn bar(len: f64, series: usize) -> String {
    let len = if len.is_finite() { len.max(0.0) } else { 0.0 };
    let fill = FILLS[series % FILLS.len()];
    if fill == '█' {
        // A positive value always shows, however small next to the largest.
        let eighths = ((len * 8.0).round() as usize).max(usize::from(len > 0.0));
        let mut s = "█".repeat(eighths / 8);
        if eighths % 8 > 0 {
            s.push(EIGHTHS[eighths % 8]);
        }
        s
    } else {
        fill.to_string().repeat((len.round() as usize).max(usize::from(len > 0.0)))
    }
}

/// Horizontal bars for bar and column charts: one line per category and series.
fn bars(out: &mut Out, p: &Prepared, cols: usize, rows: usize) {
    let (labels, values) = p.by_category();
    let labels: Vec<String> = match &p.x {
        XAxis::Time { min, max, bin }
            if format_date(*min) == format_date(*max) && bin.is_some_and(|b| b < 86_400_000) =>
        {
            labels.iter().map(|l| l.get(11..).unwrap_or(l).to_owned()).collect()
        }
        _ => labels,
    };
    let names: Vec<String> = p.lines.iter().map(|l| l.name.clone()).collect();
    let many = names.len() > 1;
    if !p.y_label.is_empty() {
        out.lines.push(out.dim(&truncate(&p.y_label, cols)));
    }
    let legend_lines =
        if many { legend(out, &names, cols, &|i| FILLS[i % FILLS.len()].to_string()) } else { Vec::new() };
    let max = values.iter().flatten().flatten().fold(0.0f64, |m, v| m.max(*v));
    let texts: Vec<Vec<String>> = values
        .iter()
        .map(|vs| vs.iter().map(|v| v.map(format_value).unwrap_or_default()).collect())
        .collect();
    let vw = texts.iter().flatten().map(|t| display_width(t)).max().unwrap_or(1);
    let lw = labels.iter().map(|l| display_width(l)).max().unwrap_or(1).min(cols / 3).max(1);
    let bw = cols.saturating_sub(lw + vw + 2).max(1);
    let label_texts = distinct_labels(&labels, lw);
    let budget = rows.saturating_sub(out.lines.len() + legend_lines.len()).max(1);
    let per_category = names.len().max(1);
    let mut shown = 0;
    for (c, label) in label_texts.iter().enumerate() {
        if (c + 1) * per_category > budget && c + 1 < labels.len() {
            break;
        }
        for (s, vals) in values.iter().enumerate() {
            let Some(v) = vals.get(c).copied().flatten() else { continue };
            let name = if s == 0 { label.clone() } else { String::new() };
            let pad = lw.saturating_sub(display_width(&name));
            let b = bar(if max > 0.0 { v / max * bw as f64 } else { 0.0 }, s);
            out.lines.push(format!("{name}{} {} {}", " ".repeat(pad), out.paint(&b, s), texts[s][c]));
        }
        shown += 1;
    }
    if shown < labels.len() {
        out.lines.push(out.dim(&format!("… {} more", labels.len() - shown)));
    }
    out.lines.extend(legend_lines);
}

/// A pie as shares: one bar per slice with its percentage.
fn pie(out: &mut Out, p: &Prepared, cols: usize, rows: usize) {
    let slices = crate::svg::pie_slices(p);
    let total: f64 = slices.iter().map(|s| s.1).sum();
    if slices.is_empty() || total <= 0.0 {
        out.lines.push(out.dim("(no data)"));
        return;
    }
    let texts: Vec<String> = slices
        .iter()
        .map(|(_, v)| format!("{}% ({})", format_value(v / total * 100.0), format_value(*v)))
        .collect();
    let vw = texts.iter().map(|t| display_width(t)).max().unwrap_or(1);
    let lw = slices.iter().map(|s| display_width(&s.0)).max().unwrap_or(1).min(cols / 3).max(1);
    let bw = cols.saturating_sub(lw + vw + 2).max(1);
    let budget = rows.saturating_sub(out.lines.len()).max(2);
    let names: Vec<String> = slices.iter().map(|s| s.0.clone()).collect();
    let names = distinct_labels(&names, lw);
    for (i, (((_, v), text), name)) in slices.iter().zip(&texts).zip(names).enumerate() {
        if i + 1 >= budget && i + 1 < slices.len() {
            out.lines.push(out.dim(&format!("… {} more", slices.len() - i)));
            break;
        }
        let pad = lw.saturating_sub(display_width(&name));
        let b = bar(v / total * bw as f64, 0);
        out.lines.push(format!("{name}{} {} {text}", " ".repeat(pad), out.paint(&b, i)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagonal_segment_sets_every_step() {
        let mut dots = Vec::new();
        segment((0, 0), (3, 3), &mut |x, y| dots.push((x, y)));
        assert_eq!(dots, vec![(0, 0), (1, 1), (2, 2), (3, 3)]);
    }

    #[test]
    fn fit_cuts_by_columns_and_closes_colour() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("\x1b[1mabcdef\x1b[0m", 4), "\x1b[1mabc…\x1b[0m");
        assert_eq!(fit("abc", 4), "abc");
    }

    #[test]
    fn bars_use_eighth_blocks() {
        assert_eq!(bar(2.5, 0), "██▌");
        assert_eq!(bar(2.5, 1), "▓▓▓");
        assert_eq!(bar(f64::NAN, 0), "");
    }
}
