//! Prometheus text exposition (0.0.4) and OpenMetrics 1.0 text parsing.
//!
//! Written for this project after measuring the two permissively licensed crates on the real
//! dumps (docs/metrics.md, "Parser"): one rejects `{}`, exemplars and a whole file at its
//! first bad line and took 141 ms on 24,311 samples; the other splits labels on `,` and `=`,
//! drops lines whose label values hold `}`, and drops bad lines silently. This parser keeps
//! every good sample, reports every bad line with its number, unescapes label values, and
//! accepts what both formats allow (exemplars, `# UNIT`, `# EOF`, timestamps, quoted
//! UTF-8 metric names).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};

/// The two text formats a `/metrics` endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Prometheus text format 0.0.4: timestamps in milliseconds.
    Prometheus,
    /// OpenMetrics 1.0: ends with `# EOF` (or, cut before it, shows syntax only OpenMetrics has,
    /// or timestamps only plausible as seconds: see [`parse`]), timestamps in seconds.
    OpenMetrics,
}

/// The declared type of a metric family (`# TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// A monotonically increasing counter.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative buckets with `le`, plus `_sum` and `_count`.
    Histogram,
    /// Quantiles with `quantile`, plus `_sum` and `_count`.
    Summary,
    /// OpenMetrics gauge histogram.
    GaugeHistogram,
    /// OpenMetrics info (`_info`, value 1).
    Info,
    /// OpenMetrics state set.
    StateSet,
    /// No `# TYPE` line, or `untyped` / `unknown`.
    Untyped,
}

impl MetricType {
    fn parse(s: &str) -> Option<MetricType> {
        Some(match s {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "histogram" => MetricType::Histogram,
            "summary" => MetricType::Summary,
            "gaugehistogram" => MetricType::GaugeHistogram,
            "info" => MetricType::Info,
            "stateset" => MetricType::StateSet,
            "untyped" | "unknown" => MetricType::Untyped,
            _ => return None,
        })
    }
}

/// A metric family's metadata from `# HELP`, `# TYPE` and `# UNIT` lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Family {
    /// The family name (without `_bucket`, `_sum`, `_count`, `_total`).
    pub name: String,
    /// The declared type.
    pub metric_type: MetricType,
    /// The help text, unescaped.
    pub help: Option<String>,
    /// The OpenMetrics unit, if declared.
    pub unit: Option<String>,
}

/// A label set: `(name, value)` pairs in the order they appeared, values unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Labels(pub Vec<(String, String)>);

impl Labels {
    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The value of label `name`, or `""` when absent (as PromQL treats a missing label).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The same labels without `name`, sorted by label name: a key that identifies a series
    /// whatever order the exposition wrote its labels in.
    pub fn without(&self, name: &str) -> Labels {
        let mut rest: Vec<(String, String)> = self.0.iter().filter(|(k, _)| k != name).cloned().collect();
        rest.sort();
        Labels(rest)
    }

    /// Labels rendered as `{a="b",c="d"}` (empty string when there are none).
    pub fn to_selector(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let inner: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
        format!("{{{}}}", inner.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One sample line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sample {
    /// The series name as written (`foo_bucket`, `foo_sum`, `foo_total`, …).
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// The value (`+Inf`, `-Inf` and `NaN` included).
    pub value: f64,
    /// The sample's own timestamp in milliseconds since the epoch, when the line has one.
    pub timestamp_ms: Option<i64>,
}

/// A line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// Most bad lines kept with their message; the rest are only counted.
pub const MAX_LINE_ERRORS: usize = 100;

/// Everything read from one exposition text.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Exposition {
    /// The detected format (`None` for an empty text).
    pub format: Option<Format>,
    /// Families by name, from `# TYPE` / `# HELP` / `# UNIT` lines.
    pub families: BTreeMap<String, Family>,
    /// Every good sample, in file order.
    pub samples: Vec<Sample>,
    /// The first [`MAX_LINE_ERRORS`] bad lines.
    pub errors: Vec<LineError>,
    /// How many lines were bad in all.
    pub error_count: usize,
    /// Lines read whole that the reader should know about (the last line of a file that
    /// ends without a newline), with what to know: not bad lines, nothing was skipped.
    #[serde(skip)]
    pub notes: Vec<LineError>,
    /// The scrapes the text holds when it holds more than one (`cat a.prom b.prom`, a scrape
    /// appended with `>>`), in file order: each was parsed alone ([`parse`] says how they are
    /// told apart) and its samples and bad lines are those ranges of [`Exposition::samples`]
    /// and [`Exposition::errors`]. Empty for a text holding one scrape.
    #[serde(skip)]
    pub scrapes: Vec<ScrapePart>,
    /// Why the text is no `/metrics` scrape at all, quoting its start, when no sample was read
    /// from it (an HTML page, kubectl's `Error from server (Forbidden)`, `Unauthorized`).
    #[serde(skip)]
    pub not_a_scrape: Option<String>,
}

/// One scrape of a text holding several (see [`Exposition::scrapes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScrapePart {
    /// Its first line in the text (1-based).
    pub first_line: usize,
    /// Its samples: a range of [`Exposition::samples`].
    pub samples: std::ops::Range<usize>,
    /// Its bad lines kept with their message: a range of [`Exposition::errors`].
    pub errors: std::ops::Range<usize>,
    /// How many of its lines were bad in all.
    pub error_count: usize,
    /// Its format.
    pub format: Option<Format>,
}

impl Exposition {
    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_LINE_ERRORS {
            self.errors.push(LineError { line, message: message.into() });
        }
    }
}

/// Parses a Prometheus or OpenMetrics exposition. Never fails: bad lines are reported in
/// [`Exposition::errors`] with their line number and every good line is kept.
///
/// Sample timestamps are milliseconds in the Prometheus text format and seconds in
/// OpenMetrics, so the unit follows the format detected (review s51, item 8: an OpenMetrics
/// text without its `# EOF` had its integer-second timestamps read as milliseconds, and 300 s
/// between two scrapes became 0.3 s):
///
/// - a text ending in `# EOF` is OpenMetrics;
/// - so is one with what only OpenMetrics writes: a `# UNIT` line, a type only it has
///   (`info`, `stateset`, `gaugehistogram`, `unknown`), an exemplar, or a timestamp with a
///   fraction (the Prometheus format's are whole milliseconds);
/// - otherwise the format is ambiguous, and whole-number timestamps are read as milliseconds
///   unless every one is implausible so and plausible as seconds: from 10^9 to 10^11, which
///   as milliseconds falls between 12 January 1970 and March 1973, when no scrape of these
///   programs was taken, and as seconds between September 2001 and the year 5138. The text is
///   then taken as OpenMetrics.
///
/// A text may hold several scrapes one after the other (`cat a.prom b.prom`, a scrape appended
/// with `>>`): the later ones were read as thousands of duplicate series and lost (review s53,
/// item 2). One exposition writes each family's `# HELP` and `# TYPE` once, before its samples,
/// so a later scrape starts where a `# HELP` or `# TYPE` line repeats one of the same family
/// already read with samples after it ([`later_scrape_starts`]; for scrapes without `# HELP`
/// and `# TYPE` lines, where the first series of the scrape comes again; for OpenMetrics,
/// where `# HELP`, `# TYPE` or `# UNIT` follows `# EOF`). Each scrape is parsed alone and
/// listed in [`Exposition::scrapes`].
pub fn parse(input: &[u8]) -> Exposition {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let starts = later_scrape_starts(input);
    let mut out = if starts.is_empty() {
        parse_one(input, 0)
    } else {
        let mut out = Exposition::default();
        let bounds: Vec<(usize, usize)> =
            std::iter::once((0, 1)).chain(starts.iter().copied()).chain([(input.len(), 0)]).collect();
        for w in bounds.windows(2) {
            let [(from, first_line), (to, _)] = [w[0], w[1]];
            let Some(text) = input.get(from..to) else { continue };
            let part = parse_one(text, first_line - 1);
            let samples = out.samples.len()..out.samples.len() + part.samples.len();
            let errors = out.errors.len()..out.errors.len() + part.errors.len();
            out.scrapes.push(ScrapePart {
                first_line,
                samples,
                errors,
                error_count: part.error_count,
                format: part.format,
            });
            out.format = out.format.or(part.format);
            out.samples.extend(part.samples);
            out.errors.extend(part.errors);
            out.error_count += part.error_count;
            out.notes.extend(part.notes);
            for (name, family) in part.families {
                out.families.entry(name).or_insert(family);
            }
        }
        out
    };
    // `key: value` lines (YAML, a configuration file) parse as samples of a name ending in
    // `:`, which no metric has: a text holding only those is no scrape (UX review: a webhook
    // configuration given to `metrics` was read as a scrape of unknown kind).
    if !out.samples.is_empty() && out.samples.iter().all(|x| !is_metric_name_shape(&x.name)) {
        let n = out.samples.len();
        let first = out.samples.first().map(|x| format!("{} {}", x.name, x.value)).unwrap_or_default();
        let start = input.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).find(|l| !l.is_empty());
        let hint = start.and_then(|l| std::str::from_utf8(l).ok()).map_or("", what_it_is);
        out.not_a_scrape = Some(format!(
            "not a /metrics scrape: its {n} `key: value` lines (the first `{first}`) are YAML or a configuration \
             file's, not Prometheus samples (no metric name ends in `:`){hint}"
        ));
        out.samples.clear();
        out.scrapes.clear();
        return out;
    }
    if out.samples.is_empty() && out.error_count > 0 {
        out.not_a_scrape = not_a_scrape(input);
    }
    out
}

/// Whether `name` has the shape of a metric's name: not a `key:` of YAML or a configuration
/// file (the text format's names may hold `:`, as recording rules' do, but never end in one).
pub fn is_metric_name_shape(name: &str) -> bool {
    !name.is_empty() && !name.ends_with(':')
}

/// What a text that starts with `first` is, when its start tells, and what reads it: said
/// after "not a /metrics scrape" (UX review: `metrics webhooks.yaml` said only that it
/// starts with `---`).
fn what_it_is(first: &str) -> &'static str {
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body") {
        " (an HTML page: an error or login page, or a proxy's answer, saved in place of the scrape)"
    } else if first.starts_with('<') {
        " (HTML or XML, saved in place of the scrape)"
    } else if first.starts_with("Error from server") || first.starts_with("error:") {
        " (an error message from kubectl or the API server, saved in place of the scrape)"
    } else if ["Unauthorized", "Forbidden", "Not Found", "404 page not found", "Service Unavailable"]
        .iter()
        .any(|w| first.starts_with(w))
    {
        " (an HTTP error answer saved in place of the scrape: check the credentials and the URL)"
    } else if first.starts_with('{') && (first.contains("audit.k8s.io") || first.contains("\"auditID\"")) {
        " (Kubernetes audit events: read them with `apiserver-doctor ingest FILE` or `apiserver-doctor diagnose \
         FILE`)"
    } else if first == "---"
        || ["apiVersion:", "kind:", "items:", "metadata:", "webhooks:"].iter().any(|k| first.starts_with(k))
    {
        " (YAML: Kubernetes manifests, such as webhook configurations, FlowSchemas and \
         PriorityLevelConfigurations, are read by `apiserver-doctor diagnose --manifests FILE`)"
    } else {
        ""
    }
}

/// Parses a text holding one scrape whose first line is line `offset + 1` of the file.
fn parse_one(input: &[u8], offset: usize) -> Exposition {
    if is_openmetrics(input) {
        return parse_in(input, Unit::Seconds, offset).0;
    }
    let (mut out, clues) = parse_in(input, Unit::Undecided, offset);
    if clues.seconds() {
        // Read again, whole numbers as seconds (rare: OpenMetrics cut before its `# EOF`).
        if clues.whole > 0 {
            out = parse_in(input, Unit::Seconds, offset).0;
        }
        if out.format.is_some() {
            out.format = Some(Format::OpenMetrics);
        }
    }
    out
}

/// The longest quote of a text's start in a message.
const QUOTE_CHARS: usize = 60;

/// Why a text from which no sample was read is no `/metrics` scrape, quoting its first line:
/// `None` when its first line is a comment or not text (the bad lines say it then).
fn not_a_scrape(input: &[u8]) -> Option<String> {
    let first = input.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).find(|l| !l.is_empty())?;
    let first = std::str::from_utf8(first).ok()?;
    if first.starts_with('#') {
        return None;
    }
    // Tokens replaced before the quote is cut: a JWT cut short no longer looks like one, and
    // kept its header and the start of its payload (reports review s55, item 1).
    let redacted = findings::redact::redact(first);
    let first = redacted.as_deref().unwrap_or(first);
    let mut quote: String = first.chars().take(QUOTE_CHARS).collect();
    if first.chars().count() > QUOTE_CHARS {
        quote.push('…');
    }
    Some(format!("not a /metrics scrape: it starts with `{quote}`{}", what_it_is(first)))
}

/// The byte offset and 1-based line number of each scrape after the first in a text holding
/// several (see [`parse`]); empty for a text holding one.
///
/// A later scrape starts where a `# HELP` or `# TYPE` line repeats one read before in the
/// current scrape, for a family whose samples were read: within one exposition each is
/// written once, before the family's samples. The later scrape may begin with families the
/// earlier one did not have (a metric that appeared in between): the Go client, which
/// kube-apiserver and etcd use, writes families sorted by name, so when the names declared in
/// the current scrape fell back exactly once (from the earlier scrape's last family to the
/// later scrape's first) and every family declared since sorts before the repeated one, the
/// later scrape starts at that fall. Otherwise it starts at the block of comment lines holding
/// the repeated line.
///
/// The family last declared, declared again, is no new scrape by itself: a text written by hand
/// may repeat `# TYPE` for each histogram of a family. It is one when a series read before that
/// declaration comes again after it (before the next family is declared): a text written by
/// hand gives each histogram its own series, and one exposition never writes a series twice, so
/// a series repeated across a repeated declaration is a second scrape, not a duplicate. Two
/// scrapes of a single family each (`cat a.prom b.prom`, each holding only
/// `etcd_mvcc_db_total_size_in_bytes`) were read as one with duplicate series, the later lost.
/// The later scrape then starts at the block of comment lines declaring the family again.
/// Still read as one scrape: a later scrape of one family whose series are all new (a label's
/// value changed), which no rule tells from a text declaring each series' family again; and
/// scrapes of a single series without `# HELP`/`# TYPE` lines (`m 1` then `m 2`), which no rule
/// tells from one series given twice.
pub fn later_scrape_starts(input: &[u8]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut from = (0, 1);
    while let Some(next) = next_scrape_start(input, from) {
        starts.push(next);
        from = next;
    }
    starts
}

/// What [`next_scrape_start`] knows of the scrape it reads.
#[derive(Default)]
struct ScrapeScan<'a> {
    /// `# HELP` / `# TYPE` lines read: (keyword, family).
    declared: std::collections::HashSet<(&'a str, &'a str)>,
    /// Families declared, and the last one.
    families: std::collections::HashSet<&'a str>,
    last_family: Option<&'a str>,
    /// How many times the declared names fell back, and where the last fall's block started
    /// with the greatest name declared since.
    falls: usize,
    fall: Option<((usize, usize), &'a str)>,
    /// Series names read, the first series (its text before the value), how many samples.
    sample_names: std::collections::HashSet<&'a str>,
    first_series: Option<&'a str>,
    samples: usize,
    /// Where the last family was declared again after its samples (its block of comment
    /// lines), and the series read between its first declaration and that block: one of them
    /// coming again starts a later scrape there. Gathered only when the family is declared
    /// again, from `family_text` (the text from the family's first declaration) up to the block.
    redeclared: Option<(usize, usize)>,
    family_series: std::collections::HashSet<&'a str>,
    family_text: usize,
}

impl ScrapeScan<'_> {
    /// Whether samples of family `name` were read.
    fn sampled(&self, name: &str) -> bool {
        self.sample_names.contains(name)
            || ["_bucket", "_sum", "_count", "_total", "_created", "_info", "_gsum", "_gcount"]
                .iter()
                .any(|suffix| self.sample_names.contains(format!("{name}{suffix}").as_str()))
    }
}

/// The series of a sample line (its text before the value: the name, and the label set up to
/// its last `}`), and the name alone.
fn series_of(line: &str) -> (Option<&str>, &str) {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let series = match line.find('{') {
        Some(_) => line.split(" # ").next().and_then(|l| l.rfind('}').map(|e| &l[..=e])),
        None => Some(&line[..name_end]),
    };
    (series, &line[..name_end])
}

/// The series of the sample lines of `text` (comments and blank lines left out).
fn sample_series(text: &[u8]) -> impl Iterator<Item = &str> {
    text.split(|&b| b == b'\n').filter_map(|raw| {
        let line = std::str::from_utf8(raw).ok()?.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            return None;
        }
        series_of(line).0
    })
}

/// The start of the scrape after the one starting at `from` (byte offset, line number).
fn next_scrape_start(input: &[u8], from: (usize, usize)) -> Option<(usize, usize)> {
    let (mut offset, first_line) = from;
    let text = input.get(offset..)?;
    let mut scan = ScrapeScan::default();
    // Where the run of comment lines holding the current line started.
    let mut block: Option<(usize, usize)> = None;
    let mut after_eof = false;
    for (idx, raw) in text.split(|&b| b == b'\n').enumerate() {
        let here = (offset, first_line + idx);
        offset += raw.len() + 1;
        let Ok(line) = std::str::from_utf8(raw) else {
            block = None;
            continue;
        };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix('#') else {
            block = None;
            if after_eof {
                continue;
            }
            let (series, name) = series_of(line);
            scan.sample_names.insert(name);
            if let Some(at) = scan.redeclared
                && series.is_some_and(|s| scan.family_series.contains(s))
                && at.0 > from.0
            {
                return Some(at);
            }
            scan.samples += 1;
            match scan.first_series {
                None => scan.first_series = series,
                Some(first) if scan.declared.is_empty() && series == Some(first) && scan.samples > 2 => {
                    return Some(here);
                }
                Some(_) => {}
            }
            continue;
        };
        let start = *block.get_or_insert(here);
        if comment.trim() == "EOF" {
            after_eof = true;
            block = None;
            continue;
        }
        let comment = comment.trim_start_matches([' ', '\t']);
        let (keyword, rest) = comment.split_once([' ', '\t']).unwrap_or((comment, ""));
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            continue;
        }
        if after_eof {
            return (start.0 > from.0).then_some(start);
        }
        let name = rest.trim_start_matches([' ', '\t']).split([' ', '\t']).next().unwrap_or_default();
        // The family being written declared again after its samples: a new scrape only if one
        // of its series comes again (see [`later_scrape_starts`]). The series read since its
        // first declaration are gathered now, once for each block declaring it again.
        if keyword != "UNIT"
            && scan.last_family == Some(name)
            && scan.declared.contains(&(keyword, name))
            && scan.sampled(name)
            && scan.redeclared != Some(start)
        {
            let gathered = input.get(scan.family_text..start.0).unwrap_or_default();
            scan.family_series.extend(sample_series(gathered));
            scan.family_text = start.0;
            scan.redeclared = Some(start);
        }
        // Another family declared again: a new scrape.
        if keyword != "UNIT"
            && scan.last_family != Some(name)
            && scan.declared.contains(&(keyword, name))
            && scan.sampled(name)
        {
            let at = match scan.fall {
                Some((fall_start, greatest)) if scan.falls == 1 && greatest < name => fall_start,
                _ => start,
            };
            return (at.0 > from.0).then_some(at).or((start.0 > from.0).then_some(start));
        }
        if keyword != "UNIT" {
            scan.declared.insert((keyword, name));
        }
        if scan.families.insert(name) {
            match scan.last_family {
                Some(last) if name < last => {
                    scan.falls += 1;
                    scan.fall = Some((start, name));
                }
                _ => {
                    if let Some((_, greatest)) = &mut scan.fall
                        && name > *greatest
                    {
                        *greatest = name;
                    }
                }
            }
            scan.last_family = Some(name);
            scan.redeclared = None;
            scan.family_series.clear();
            scan.family_text = start.0;
        }
    }
    None
}

/// How sample timestamps are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// OpenMetrics: seconds, with or without a fraction.
    Seconds,
    /// Not known yet: whole numbers as milliseconds, fractions as seconds; [`Clues`] decides.
    Undecided,
}

/// What a text not ending in `# EOF` showed of its format.
#[derive(Debug, Clone, Copy, Default)]
struct Clues {
    /// A `# UNIT` line, an OpenMetrics-only type, or an exemplar.
    openmetrics_syntax: bool,
    /// A timestamp with a fraction or an exponent.
    fractional: bool,
    /// Whole-number timestamps read, and the lowest and highest.
    whole: usize,
    lowest: i64,
    highest: i64,
}

impl Clues {
    /// Whether the timestamps are seconds: OpenMetrics syntax, a fraction, or whole numbers
    /// that are only plausible as seconds.
    fn seconds(&self) -> bool {
        const LOW: i64 = 1_000_000_000;
        const HIGH: i64 = 100_000_000_000;
        self.openmetrics_syntax
            || self.fractional
            || (self.whole > 0 && self.lowest >= LOW && self.highest < HIGH)
    }

    fn whole_timestamp(&mut self, t: i64) {
        if self.whole == 0 {
            (self.lowest, self.highest) = (t, t);
        } else {
            self.lowest = self.lowest.min(t);
            self.highest = self.highest.max(t);
        }
        self.whole += 1;
    }
}

fn parse_in(input: &[u8], unit: Unit, offset: usize) -> (Exposition, Clues) {
    let mut clues = Clues::default();
    let mut out = Exposition {
        format: if input.iter().all(u8::is_ascii_whitespace) {
            None
        } else if unit == Unit::Seconds {
            Some(Format::OpenMetrics)
        } else {
            Some(Format::Prometheus)
        },
        ..Exposition::default()
    };
    let mut eof_line: Option<usize> = None;
    let newlines = memchr_count(input);
    out.samples.reserve(newlines);
    // The text format ends every line with `\n`. A last line without one is what a scrape cut
    // short (Ctrl-C, a full disk, a dropped connection) leaves, and its value may be cut in
    // the middle of a number (`160000` read as `16`), so that sample is not trusted.
    let cut_line = (!input.is_empty() && !input.ends_with(b"\n")).then_some(offset + newlines + 1);
    let mut seen = SeriesSeen::default();
    for (idx, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line_no = offset + idx + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(line) = std::str::from_utf8(raw) else {
            out.error(line_no, "line is not valid UTF-8");
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(eof) = eof_line {
            out.error(line_no, format!("text after `# EOF` (line {eof})"));
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if comment.trim() == "EOF" {
                eof_line = Some(line_no);
            } else {
                match parse_comment(comment, &mut out.families) {
                    Ok(openmetrics_only) => clues.openmetrics_syntax |= openmetrics_only,
                    Err(message) => out.error(line_no, message),
                }
            }
            continue;
        }
        let last_without_newline = cut_line == Some(line_no);
        match parse_sample(line, unit, &mut clues) {
            Ok(sample) => match seen.first_line(&sample, line_no, &out.samples) {
                // Prometheus rejects a scrape with a series twice; the first one is kept, for
                // gauges, counters and histogram buckets alike.
                Some(first) => out.error(
                    line_no,
                    format!(
                        "duplicate series `{}{}` (first on line {first}): this one is skipped and the first kept; \
                         Prometheus would reject the whole scrape",
                        sample.name,
                        sample.labels.to_selector()
                    ),
                ),
                None => {
                    // A last line that parses whole is kept (review s53, item 12: the real
                    // datadog_kube_apiserver_metrics_slis_1.27.3.prom lost its last sample).
                    if last_without_newline {
                        out.notes.push(LineError {
                            line: line_no,
                            message: "the file ends without a newline after this line; the line parses whole, \
                                      so it is kept (a scrape cut short ends so too: if this value looks \
                                      short, the scrape was cut)"
                                .to_owned(),
                        });
                    }
                    out.samples.push(sample);
                }
            },
            // A last line that does not parse after good ones: the scrape was cut in it. Alone
            // it is no cut scrape but some other text (`not_a_scrape` says which).
            Err(message) if last_without_newline && !out.samples.is_empty() => out.error(
                line_no,
                format!(
                    "{message}: the file ends without a newline in this line, so the scrape was cut short here; \
                     the line is skipped"
                ),
            ),
            Err(message) => out.error(line_no, message),
        }
    }
    (out, clues)
}

/// The series read so far, by a hash of their name and label set (whatever the order the
/// labels were written in), with the sample index and line of each.
#[derive(Default)]
struct SeriesSeen {
    state: std::collections::hash_map::RandomState,
    by_hash: HashMap<u64, (usize, usize)>,
}

impl SeriesSeen {
    /// The line of an earlier sample with `sample`'s name and label set, or `None` after
    /// recording `sample` (the next one pushed to `samples`, read on `line`).
    fn first_line(&mut self, sample: &Sample, line: usize, samples: &[Sample]) -> Option<usize> {
        let mut h = self.state.build_hasher();
        sample.name.hash(&mut h);
        // Order-independent over the labels: the sum of each pair's own hash.
        let mut labels = 0u64;
        for pair in &sample.labels.0 {
            labels = labels.wrapping_add(self.state.hash_one(pair));
        }
        labels.hash(&mut h);
        sample.labels.0.len().hash(&mut h);
        let key = h.finish();
        if let Some(&(index, first)) = self.by_hash.get(&key) {
            // A different series with the same hash (vanishingly rare) is kept as new.
            if samples.get(index).is_some_and(|s| same_series(s, sample)) {
                return Some(first);
            }
            return None;
        }
        self.by_hash.insert(key, (samples.len(), line));
        None
    }
}

fn same_series(a: &Sample, b: &Sample) -> bool {
    a.name == b.name
        && a.labels.0.len() == b.labels.0.len()
        && a.labels.0.iter().all(|pair| b.labels.0.contains(pair))
}

/// Lines in the input: the number of samples to expect, at most.
fn memchr_count(input: &[u8]) -> usize {
    input.iter().filter(|&&b| b == b'\n').count()
}

/// OpenMetrics texts end with `# EOF`; Prometheus texts never contain it.
fn is_openmetrics(input: &[u8]) -> bool {
    let trimmed = input.trim_ascii_end();
    trimmed.ends_with(b"# EOF") && (trimmed.len() == 5 || trimmed[trimmed.len() - 6] == b'\n')
}

/// Reads a `# HELP`, `# TYPE` or `# UNIT` line into `families`; `true` when it is syntax only
/// OpenMetrics has (`# UNIT`, or a type the Prometheus format does not know).
fn parse_comment(comment: &str, families: &mut BTreeMap<String, Family>) -> Result<bool, String> {
    let comment = comment.trim_start_matches([' ', '\t']);
    let (keyword, rest) = comment.split_once([' ', '\t']).unwrap_or((comment, ""));
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
        return Ok(false); // a plain comment
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let (name, text) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    if name.is_empty() || !is_metric_name(name) {
        return Err(format!("`# {keyword}` line has no valid metric name"));
    }
    let family = families.entry(name.to_owned()).or_insert_with(|| Family {
        name: name.to_owned(),
        metric_type: MetricType::Untyped,
        help: None,
        unit: None,
    });
    match keyword {
        "HELP" => family.help = Some(unescape_help(text)),
        "TYPE" => {
            let ty = text.trim();
            family.metric_type =
                MetricType::parse(ty).ok_or_else(|| format!("unknown metric type `{ty}` for `{name}`"))?;
            return Ok(matches!(ty, "info" | "stateset" | "gaugehistogram" | "unknown"));
        }
        _ => {
            family.unit = Some(text.trim().to_owned());
            return Ok(true);
        }
    }
    Ok(false)
}

fn unescape_help(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}

fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_name_start(b[0]) && b[1..].iter().all(|&c| is_name_char(c))
}

/// A cursor over one sample line.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn name(&mut self) -> &'a str {
        let start = self.pos;
        if self.peek().is_some_and(is_name_start) {
            self.pos += 1;
            while self.peek().is_some_and(is_name_char) {
                self.pos += 1;
            }
        }
        &self.line[start..self.pos]
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; the cursor is on the quote.
    fn quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let bytes = self.line.as_bytes();
        // Fast path: no escape before the closing quote, one exact allocation.
        if let Some(end) = bytes[self.pos..].iter().position(|&b| b == b'"' || b == b'\\')
            && bytes[self.pos + end] == b'"'
        {
            let value = self.line[self.pos..self.pos + end].to_owned();
            self.pos += end + 1;
            return Ok(value);
        }
        let mut out = String::new();
        let mut run_start = self.pos;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    out.push_str(&self.line[run_start..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.line[run_start..self.pos]);
                    match bytes.get(self.pos + 1) {
                        Some(b'n') => out.push('\n'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        Some(_) => {
                            return Err(format!("unknown escape in label value at column {}", self.pos + 1));
                        }
                        None => break,
                    }
                    self.pos += 2;
                    run_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        Err("label value has no closing quote".to_owned())
    }

    /// `{name="value",…}`; the cursor is on `{`. Returns the labels and, for the quoted
    /// UTF-8 form `{"metric.name", a="b"}`, the metric name.
    fn labels(&mut self) -> Result<(Labels, Option<String>), String> {
        self.pos += 1;
        // kube-apiserver's request histograms carry 9 labels: one allocation for most lines.
        let mut labels = Vec::with_capacity(10);
        let mut quoted_name = None;
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok((Labels(labels), quoted_name));
                }
                None => return Err("label set has no closing `}`".to_owned()),
                _ => {}
            }
            let key = if self.peek() == Some(b'"') {
                self.quoted()?
            } else {
                let key = self.name();
                if key.is_empty() {
                    return Err(format!("expected a label name at column {}", self.pos + 1));
                }
                key.to_owned()
            };
            self.skip_space();
            match self.peek() {
                Some(b'=') => {
                    self.pos += 1;
                    self.skip_space();
                    if self.peek() != Some(b'"') {
                        return Err(format!("label `{key}` has no quoted value"));
                    }
                    let value = self.quoted()?;
                    labels.push((key, value));
                }
                // A quoted string alone is the metric name (Prometheus 3 UTF-8 names).
                Some(b',' | b'}') if quoted_name.is_none() && labels.is_empty() => quoted_name = Some(key),
                _ => return Err(format!("expected `=` after label `{key}`")),
            }
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected `,` or `}}` at column {}", self.pos + 1)),
            }
        }
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b' ' && b != b'\t') {
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }
}

/// Parses a value as Go's `strconv.ParseFloat` does for exposition texts.
pub fn parse_value(token: &str) -> Option<f64> {
    match token {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            let first = *token.as_bytes().first()?;
            // Rust also accepts "infinity" and friends; the exposition formats do not.
            if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
                return None;
            }
            token.parse::<f64>().ok()
        }
    }
}

fn parse_sample(line: &str, unit: Unit, clues: &mut Clues) -> Result<Sample, String> {
    let mut cur = Cursor { line, pos: 0 };
    let mut name = cur.name().to_owned();
    let mut labels = Labels::default();
    if name.is_empty() && cur.peek() != Some(b'{') {
        return Err("expected a metric name".to_owned());
    }
    let mut spaced = cur.skip_space() > 0;
    if cur.peek() == Some(b'{') {
        // `}` ends the label set: the value may follow without a space.
        spaced = true;
        let (parsed, quoted_name) = cur.labels()?;
        if let Some(dup) = duplicate_label_name(&parsed) {
            return Err(format!(
                "duplicate label name `{dup}` in `{}`: Prometheus rejects a sample with a label given twice",
                if name.is_empty() { quoted_name.as_deref().unwrap_or_default() } else { name.as_str() }
            ));
        }
        labels = parsed;
        if let Some(q) = quoted_name {
            if !name.is_empty() {
                return Err("metric name given twice".to_owned());
            }
            name = q;
        }
    }
    if name.is_empty() {
        return Err("expected a metric name".to_owned());
    }
    if cur.skip_space() == 0 && !spaced {
        return Err(format!("expected a space before the value of `{name}`"));
    }
    let token = cur.token();
    let value = parse_value(token).ok_or_else(|| format!("`{token}` is not a number (value of `{name}`)"))?;
    cur.skip_space();
    let mut timestamp_ms = None;
    if cur.peek().is_some_and(|b| b != b'#') {
        let token = cur.token();
        timestamp_ms =
            Some(parse_timestamp(token, unit, clues).ok_or_else(|| format!("`{token}` is not a timestamp"))?);
        cur.skip_space();
    }
    match cur.peek() {
        None => {}
        // An OpenMetrics exemplar: ` # {trace_id="…"} value [timestamp]`; checked, then ignored.
        Some(b'#') => {
            cur.pos += 1;
            cur.skip_space();
            if cur.peek() != Some(b'{') {
                return Err("exemplar must start with `{`".to_owned());
            }
            clues.openmetrics_syntax = true;
            cur.labels()?;
            cur.skip_space();
            let token = cur.token();
            parse_value(token).ok_or_else(|| format!("exemplar value `{token}` is not a number"))?;
        }
        Some(_) => return Err(format!("unexpected text after the value of `{name}`")),
    }
    Ok(Sample { name, labels, value, timestamp_ms })
}

/// A label name the set holds twice, if any: which of the values is meant cannot be known.
fn duplicate_label_name(labels: &Labels) -> Option<&str> {
    let pairs = &labels.0;
    // A dozen labels at most on real series: pairwise is cheaper than a set there, but
    // quadratic: 300,000 labels on one line took minutes (review s53, item 10).
    if pairs.len() <= 32 {
        return pairs
            .iter()
            .enumerate()
            .find(|(i, (k, _))| pairs[i + 1..].iter().any(|(other, _)| other == k))
            .map(|(_, (k, _))| k.as_str());
    }
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    pairs.iter().map(|(k, _)| k.as_str()).find(|k| !seen.insert(*k))
}

/// A timestamp in milliseconds: OpenMetrics' seconds (a fraction allowed), or, while the
/// unit is undecided, whole milliseconds (noted in `clues`, which may decide for seconds and
/// have the text read again) and seconds with a fraction (which only OpenMetrics writes).
fn parse_timestamp(token: &str, unit: Unit, clues: &mut Clues) -> Option<i64> {
    let seconds = |token: &str| {
        let secs = parse_value(token)?;
        let ms = (secs * 1000.0).round();
        (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
    };
    match unit {
        Unit::Seconds => seconds(token),
        Unit::Undecided => match token.parse::<i64>() {
            Ok(t) => {
                clues.whole_timestamp(t);
                Some(t)
            }
            Err(_) => {
                let ms = seconds(token)?;
                clues.fractional = true;
                Some(ms)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Sample {
        let e = parse(format!("{text}\n").as_bytes());
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert_eq!(e.samples.len(), 1);
        e.samples[0].clone()
    }

    #[test]
    fn label_values_keep_commas_braces_equals_and_escaped_quotes() {
        let s = one(
            r#"apiserver_request_duration_seconds_bucket{component="apiserver",group="a,b=c",subresource="say \"hi\" }{",path="x\\y\nz",le="+Inf"} 4"#,
        );
        assert_eq!(s.labels.value("group"), "a,b=c");
        assert_eq!(s.labels.value("subresource"), "say \"hi\" }{");
        assert_eq!(s.labels.value("path"), "x\\y\nz");
        assert_eq!(s.labels.value("le"), "+Inf");
        assert_eq!(s.value, 4.0);
    }

    #[test]
    fn empty_label_set_trailing_comma_and_spaces() {
        assert_eq!(one("m{} 1").labels, Labels::default());
        assert_eq!(one("m{a=\"b\",} 2").labels.value("a"), "b");
        assert_eq!(one("m { a = \"b\" , c=\"d\" } 3").labels.value("c"), "d");
    }

    #[test]
    fn special_values_and_timestamps() {
        assert!(one("m NaN").value.is_nan());
        assert_eq!(one("m +Inf").value, f64::INFINITY);
        assert_eq!(one("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("m 1.5e+06").value, 1.5e6);
        assert_eq!(one("m{a=\"b\"} 1 1395066363000").timestamp_ms, Some(1_395_066_363_000));
        let e = parse(b"m infinity\n");
        assert_eq!(e.error_count, 1);
    }

    #[test]
    fn openmetrics_eof_units_exemplars_and_second_timestamps() {
        let text = "# TYPE h histogram\n# UNIT h seconds\nh_bucket{le=\"1\"} 3 # {trace_id=\"abc\"} 0.5 123\nh_bucket{le=\"+Inf\"} 4 1700000000.5\n# EOF\n";
        let e = parse(text.as_bytes());
        assert_eq!(e.format, Some(Format::OpenMetrics));
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert_eq!(e.samples.len(), 2);
        assert_eq!(e.samples[1].timestamp_ms, Some(1_700_000_000_500));
        assert_eq!(e.families["h"].unit.as_deref(), Some("seconds"));
        assert_eq!(e.families["h"].metric_type, MetricType::Histogram);
    }

    /// Review s51, item 8: without `# EOF`, OpenMetrics' whole-second timestamps were read as
    /// milliseconds (and its fractional ones refused).
    #[test]
    fn timestamps_follow_the_format_detected_without_eof() {
        let stamps = |text: &str| {
            let e = parse(text.as_bytes());
            assert!(e.errors.is_empty(), "{text}: {:?}", e.errors);
            (e.format, e.samples.iter().map(|s| s.timestamp_ms).collect::<Vec<_>>())
        };
        let om = Some(Format::OpenMetrics);
        let prom = Some(Format::Prometheus);
        // A fraction: only OpenMetrics writes one.
        assert_eq!(stamps("m 1 1700000000.5\n"), (om, vec![Some(1_700_000_000_500)]));
        // Whole and fractional seconds: all seconds.
        assert_eq!(
            stamps("m 1 1700000000\nn 2 1700000000.25\n"),
            (om, vec![Some(1_700_000_000_000), Some(1_700_000_000_250)])
        );
        // OpenMetrics syntax (`# UNIT`, an exemplar, its own types) with whole seconds.
        assert_eq!(stamps("# UNIT m seconds\nm 1 1700000000\n"), (om, vec![Some(1_700_000_000_000)]));
        assert_eq!(stamps("m 1 5 # {a=\"b\"} 1\n"), (om, vec![Some(5_000)]));
        assert_eq!(stamps("# TYPE i info\ni_info 1 5\n"), (om, vec![Some(5_000)]));
        // Ambiguous: whole milliseconds stay milliseconds, as the Prometheus format writes them…
        assert_eq!(stamps("m 1 1700000000000\n"), (prom, vec![Some(1_700_000_000_000)]));
        assert_eq!(stamps("m 1 5\n"), (prom, vec![Some(5)]));
        // … unless every one is only plausible as seconds (as milliseconds: 1970–1973).
        assert_eq!(
            stamps("m 1 1741683600\nn 1 1741683607\n"),
            (om, vec![Some(1_741_683_600_000), Some(1_741_683_607_000)])
        );
        assert_eq!(stamps("m 1 1741683600\nn 1 1741683600000\n").0, prom, "one is plausible as ms");
        assert_eq!(stamps("m 1\n"), (prom, vec![None]));
    }

    #[test]
    fn bad_lines_are_reported_with_their_number_and_good_lines_kept() {
        let text = b"a 1\ngarbage line here\nb{x=\"1} 2\nc{x=1} 3\n\xff\xfe 4\nd 5\n# TYPE d bogus\n";
        let e = parse(text);
        let names: Vec<&str> = e.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "d"]);
        let lines: Vec<usize> = e.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 7]);
        assert!(e.errors[0].message.contains("not a number"), "{}", e.errors[0].message);
        assert!(e.errors[1].message.contains("closing"), "{}", e.errors[1].message);
        assert!(e.errors[3].message.contains("UTF-8"));
        assert!(e.errors[4].message.contains("bogus"));
    }

    #[test]
    fn a_label_name_given_twice_is_a_bad_line() {
        let e = parse(b"a 1\nm{le=\"1\",x=\"y\",le=\"2\"} 1\n{\"my.metric\", a=\"1\", a=\"1\"} 2\nb 3\n");
        let names: Vec<&str> = e.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let lines: Vec<usize> = e.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(
            e.errors[0].message.starts_with("duplicate label name `le` in `m`"),
            "{}",
            e.errors[0].message
        );
        assert!(
            e.errors[1].message.starts_with("duplicate label name `a` in `my.metric`"),
            "{}",
            e.errors[1].message
        );
    }

    #[test]
    fn text_after_eof_is_an_error() {
        let e = parse(b"a 1\n# EOF\nb 2\n");
        assert_eq!(e.samples.len(), 1);
        assert_eq!(e.errors[0].line, 3);
    }

    #[test]
    fn quoted_utf8_metric_name() {
        let s = one("{\"my.metric\", a=\"b\"} 7");
        assert_eq!(s.name, "my.metric");
        assert_eq!(s.labels.value("a"), "b");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let e = parse(b"\xEF\xBB\xBF# HELP a x\r\na 1\r\n");
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        assert_eq!(e.samples[0].value, 1.0);
        assert_eq!(e.families["a"].help.as_deref(), Some("x"));
    }
}
