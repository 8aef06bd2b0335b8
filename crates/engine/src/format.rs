//! Writing query results: an aligned text table, CSV, a JSON array, NDJSON.
//!
//! Every format prints values the same way: datetimes and timespans in Kusto's text forms,
//! reals without a trailing `.0`, `dynamic` values as JSON (embedded as JSON in the JSON
//! formats), nulls empty (in JSON: `null`).

use std::io::{self, Write};

use arrow::array::{Array, RecordBatch};

use crate::types::KType;
use crate::udf::dynamic::{json_at, parse_text, string_at};
use crate::{QueryResult, ResultColumn};

/// The output formats of `query -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl OutputFormat {
    /// Parses `table`, `csv`, `json`, `ndjson`.
    pub fn parse(s: &str) -> Option<OutputFormat> {
        Some(match s {
            "table" => OutputFormat::Table,
            "csv" => OutputFormat::Csv,
            "json" => OutputFormat::Json,
            "ndjson" | "jsonl" => OutputFormat::Ndjson,
            _ => return None,
        })
    }
}

/// A cell as text (null is empty).
pub fn cell_text(a: &dyn Array, i: usize) -> String {
    string_at(a, i)
}

/// A cell as a table or CSV shows it: as [`cell_text`], except that a `dynamic` string value is
/// shown without its JSON quotes, as Kusto shows it (`mv-expand` of an array of strings).
pub fn cell_display(a: &dyn Array, i: usize, ty: KType) -> String {
    let text = cell_text(a, i);
    if ty == KType::Dynamic
        && text.starts_with('"')
        && let Ok(unquoted) = serde_json::from_str::<String>(&text)
    {
        return unquoted;
    }
    text
}

/// A cell as a JSON value, `dynamic` columns embedded as JSON.
pub fn cell_json(a: &dyn Array, i: usize, ty: KType) -> serde_json::Value {
    if a.is_null(i) {
        return serde_json::Value::Null;
    }
    match ty {
        KType::Dynamic => parse_text(&string_at(a, i)),
        // A datetime cell prints as in the other formats (`…T00:00:00Z`); the seven digits
        // of `json_at` are for datetimes inside a dynamic value.
        _ if matches!(a.data_type(), arrow::datatypes::DataType::Timestamp(..)) => {
            serde_json::Value::String(string_at(a, i))
        }
        _ => json_at(a, i).unwrap_or(serde_json::Value::Null),
    }
}

fn rows(result: &QueryResult) -> impl Iterator<Item = (&RecordBatch, usize)> {
    result.batches.iter().flat_map(|b| (0..b.num_rows()).map(move |i| (b, i)))
}

/// Writes the result in a format.
pub fn write(result: &QueryResult, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        OutputFormat::Table => write_table(result, out),
        OutputFormat::Csv => write_csv(result, out),
        OutputFormat::Json => write_json(result, out, false),
        OutputFormat::Ndjson => write_json(result, out, true),
    }
}

/// Longest cell shown in a table; longer ones are cut with `…` (CSV and JSON never cut).
const MAX_CELL: usize = 120;

/// The cell as a table shows it: on one line, with every character a terminal would act on
/// or hide (ESC, BEL, the bidirectional overrides, zero-width characters:
/// [`findings::text::is_hidden`]) shown as U+FFFD, cut to [`MAX_CELL`] characters; and whether
/// it was cut. A user agent from the log holding `ESC]52;…` wrote the reader's clipboard, and
/// one holding U+202E turned the rest of its row around (review 27, html §1). CSV and JSON
/// keep the values exactly as stored: they are data for other tools.
fn clip(s: String) -> (String, bool) {
    let s = findings::text::one_line(&s.replace('\r', " "));
    if s.chars().count() > MAX_CELL {
        let cut: String = s.chars().take(MAX_CELL - 1).collect();
        (format!("{cut}…"), true)
    } else {
        (s, false)
    }
}

fn is_right_aligned(ty: KType) -> bool {
    ty.is_numeric()
}

/// An aligned text table with a header and a rule; numbers right-aligned.
pub fn write_table(result: &QueryResult, out: &mut dyn Write) -> io::Result<()> {
    let cols: &[ResultColumn] = &result.columns;
    let mut cells: Vec<Vec<String>> = Vec::new();
    let mut cut = 0usize;
    for (b, i) in rows(result) {
        let mut row = Vec::with_capacity(cols.len());
        for (c, col) in cols.iter().enumerate() {
            let (text, was_cut) = clip(cell_display(b.column(c).as_ref(), i, col.ty));
            cut += usize::from(was_cut);
            row.push(text);
        }
        cells.push(row);
    }
    let mut widths: Vec<usize> =
        cols.iter().map(|c| findings::text::one_line(&c.name).chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |values: &[String], out: &mut dyn Write| -> io::Result<()> {
        let mut s = String::new();
        for (k, (v, w)) in values.iter().zip(&widths).enumerate() {
            if k > 0 {
                s.push_str("  ");
            }
            let pad = w.saturating_sub(v.chars().count());
            if is_right_aligned(cols[k].ty) {
                s.push_str(&" ".repeat(pad));
                s.push_str(v);
            } else {
                s.push_str(v);
                if k + 1 < values.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    let header: Vec<String> = cols.iter().map(|c| findings::text::one_line(&c.name)).collect();
    line(&header, out)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&rule, out)?;
    for row in &cells {
        line(row, out)?;
    }
    // The cut part is often what was looked for (the URL and "context deadline exceeded" at
    // the end of a webhook error), so the table says where the whole values are.
    if cut > 0 {
        let s = if cut == 1 { "" } else { "s" };
        writeln!(out, "({cut} value{s} cut to {MAX_CELL} characters; -o csv or -o json shows them whole)")?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// CSV with a header line (RFC 4180 quoting).
pub fn write_csv(result: &QueryResult, out: &mut dyn Write) -> io::Result<()> {
    write_streamed(result, OutputFormat::Csv, out)
}

/// A JSON array of row objects, or one object per line.
pub fn write_json(result: &QueryResult, out: &mut dyn Write, ndjson: bool) -> io::Result<()> {
    write_streamed(result, if ndjson { OutputFormat::Ndjson } else { OutputFormat::Json }, out)
}

/// `result` through a [`RowWriter`]: what CSV and JSON print, held rows or streamed alike.
fn write_streamed(result: &QueryResult, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    let mut w = RowWriter::new(format, out);
    for b in &result.batches {
        w.batch(&result.columns, b)?;
    }
    w.finish(&result.columns)
}

/// Whether a format is written row by row, so that a query's rows can be written as they come
/// ([`crate::Engine::query_streamed`]): CSV and JSON. A table is aligned on all its rows.
pub fn streams(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Table)
}

/// Writes CSV, JSON or NDJSON a batch at a time, so that a result of any size is never held
/// (review s56: a query returning every event held them all, 1.5 GB for one file's hour, and
/// the memory limit did not cover it). The header (or `[`) comes with the first batch, or at
/// [`RowWriter::finish`] when there was none.
pub struct RowWriter<'w> {
    format: OutputFormat,
    out: &'w mut dyn Write,
    started: bool,
    rows: usize,
}

impl<'w> RowWriter<'w> {
    /// A writer of `format` (a table is written as CSV: use [`write_table`] for a table).
    pub fn new(format: OutputFormat, out: &'w mut dyn Write) -> RowWriter<'w> {
        RowWriter { format, out, started: false, rows: 0 }
    }

    fn start(&mut self, columns: &[ResultColumn]) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        match self.format {
            OutputFormat::Json => writeln!(self.out, "["),
            OutputFormat::Ndjson => Ok(()),
            OutputFormat::Csv | OutputFormat::Table => {
                let header: Vec<String> = columns.iter().map(|c| csv_field(&c.name)).collect();
                writeln!(self.out, "{}", header.join(","))
            }
        }
    }

    /// Writes the rows of `b`, whose columns are `columns`.
    pub fn batch(&mut self, columns: &[ResultColumn], b: &RecordBatch) -> io::Result<()> {
        self.start(columns)?;
        for i in 0..b.num_rows() {
            match self.format {
                OutputFormat::Ndjson => writeln!(self.out, "{}", row_object(columns, b, i))?,
                OutputFormat::Json => {
                    if self.rows > 0 {
                        writeln!(self.out, ",")?;
                    }
                    write!(self.out, "  {}", row_object(columns, b, i))?;
                }
                OutputFormat::Csv | OutputFormat::Table => {
                    let fields: Vec<String> = (0..columns.len())
                        .map(|c| csv_field(&cell_display(b.column(c).as_ref(), i, columns[c].ty)))
                        .collect();
                    writeln!(self.out, "{}", fields.join(","))?;
                }
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Ends the output: the header of an empty result, the JSON array's `]`.
    pub fn finish(&mut self, columns: &[ResultColumn]) -> io::Result<()> {
        self.start(columns)?;
        if self.format == OutputFormat::Json {
            if self.rows > 0 {
                writeln!(self.out)?;
            }
            writeln!(self.out, "]")?;
        }
        Ok(())
    }
}

/// One row as a JSON object whose keys are in the query's column order (a `serde_json::Map`
/// sorts them: `project TimeGenerated, Verb, User` came out as `TimeGenerated, User, Verb`).
/// A name repeated cannot happen: the planner names every column apart.
fn row_object(columns: &[ResultColumn], b: &RecordBatch, i: usize) -> String {
    let mut obj = String::from("{");
    for (c, col) in columns.iter().enumerate() {
        if c > 0 {
            obj.push(',');
        }
        obj.push_str(&serde_json::Value::String(col.name.clone()).to_string());
        obj.push(':');
        obj.push_str(&cell_json(b.column(c).as_ref(), i, col.ty).to_string());
    }
    obj.push('}');
    obj
}
