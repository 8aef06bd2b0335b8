//! Reading manifests: files or directories of YAML or JSON, documents, `List`s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use remedy::WebhookKind;
use serde_json::Value;

use crate::selector::kind_of;
use crate::webhook::{WebhookConfiguration, parse_configuration};

/// Files larger than this are not read: a cluster's webhook configurations are kilobytes, and
/// the largest install manifest among the published ones is 270 KB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A document or object that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line it starts at (1-based), or the line of the error when the YAML says.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// The path as given (or found under a directory given).
    pub path: String,
    /// Webhook configurations read.
    pub webhook_configurations: u64,
    /// Namespaces read (their labels are what namespace selectors match).
    pub namespaces: u64,
    /// FlowSchemas read.
    pub flow_schemas: u64,
    /// PriorityLevelConfigurations read.
    pub priority_levels: u64,
    /// Objects of other kinds, left out.
    pub other_objects: u64,
    /// Of [`FileSummary::other_objects`], audit events (kind `Event` or the items of an
    /// `EventList`, apiVersion `audit.k8s.io/*`): an audit log given as manifests, which
    /// `diagnose` says to pass as an audit log instead.
    pub audit_events: u64,
    /// Objects of a kind and name read before (in this file or an earlier one), left out: the
    /// API server holds one of each, so each is judged once (review s51, item 6).
    pub duplicates: u64,
    /// Documents or objects skipped, with why.
    pub problems: Vec<Problem>,
}

impl FileSummary {
    /// Objects read and used.
    pub fn records(&self) -> u64 {
        self.webhook_configurations + self.namespaces + self.flow_schemas + self.priority_levels
    }
}

/// Everything read from the manifests given.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    /// The webhook configurations, in the order read.
    pub webhook_configurations: Vec<WebhookConfiguration>,
    /// The FlowSchemas, in the order read.
    pub flow_schemas: Vec<crate::apf::FlowSchema>,
    /// The PriorityLevelConfigurations, in the order read.
    pub priority_levels: Vec<crate::apf::PriorityLevel>,
    /// The labels of each Namespace given, by name.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Deployments, DaemonSets and StatefulSets given (an install manifest holds the webhook's
    /// own): their pods' labels, which a webhook's objectSelector matches. Counted with the
    /// objects of other kinds.
    pub workloads: Vec<Workload>,
    /// One summary per file read.
    pub files: Vec<FileSummary>,
    /// What the reader must know about how the manifests were read: a file given twice (read
    /// once), copies of one object that differ (the first read is judged).
    pub notes: Vec<String>,
    /// The objects read, by kind and name: where the first copy is and what the checks read of
    /// it, to keep one copy of each and say when another differs.
    seen: BTreeMap<(String, String), FirstCopy>,
    /// The files read, as their canonical paths, and the path each was first read as.
    read: BTreeMap<PathBuf, String>,
}

/// Where the first copy of an object was read, and what the checks read of it.
#[derive(Debug, Clone)]
struct FirstCopy {
    /// `file:line`.
    at: String,
    /// The parts the checks read (the webhooks and the API version, a spec, a namespace's
    /// labels), to compare copies by.
    content: Value,
}

impl Manifests {
    /// Whether an object of `kind` and `name` found at `path:line` is the first of its kind and
    /// name: a later copy is counted in `summary.duplicates` and left out, with a note when
    /// what the checks read of it differs from the first copy.
    fn first_copy(
        &mut self,
        summary: &mut FileSummary,
        (kind, name): (&str, &str),
        line: usize,
        content: Value,
    ) -> bool {
        if name.is_empty() {
            return true;
        }
        let at = format!("{}:{line}", summary.path);
        match self.seen.get(&(kind.to_owned(), name.to_owned())) {
            None => {
                self.seen.insert((kind.to_owned(), name.to_owned()), FirstCopy { at, content });
                true
            }
            Some(first) => {
                summary.duplicates += 1;
                if first.content != content {
                    self.notes.push(format!(
                        "{kind} {} is read twice and the copies differ: the one at {} is judged, the one at {} is \
                         left out (the API server holds one object of a kind and name: give the manifests of one \
                         cluster, as it is now)",
                        findings::text::one_line(name),
                        findings::text::one_line(&first.at),
                        findings::text::one_line(&at)
                    ));
                }
                false
            }
        }
    }

    /// Forgets the first copy of `kind` `name`, which could not be read: a later copy is then
    /// read as the first.
    fn forget(&mut self, kind: &str, name: &str) {
        self.seen.remove(&(kind.to_owned(), name.to_owned()));
    }
}

/// A Deployment, DaemonSet or StatefulSet: where its pods run and their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `Deployment`, `DaemonSet` or `StatefulSet`.
    pub kind: String,
    /// `metadata.namespace`, when given.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `spec.template.metadata.labels`: the labels of its pods.
    pub pod_labels: BTreeMap<String, String>,
}

/// A path that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Missing, unreadable, or too large.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Reads every path: files as they are, directories recursively (their `.yaml`, `.yml` and
/// `.json` files, in name order).
pub fn load_paths(paths: &[PathBuf]) -> Result<Manifests, LoadError> {
    let mut out = Manifests::default();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| io(p, &e))?;
        if meta.is_dir() {
            let mut files = Vec::new();
            let mut ancestors: Vec<PathBuf> = std::fs::canonicalize(p).into_iter().collect();
            walk(p, &mut ancestors, &mut files, &mut out.notes)?;
            files.sort();
            for f in files {
                read_file(&f, &mut out)?;
            }
        } else {
            read_file(p, &mut out)?;
        }
    }
    Ok(out)
}

fn io(p: &Path, e: &dyn std::fmt::Display) -> LoadError {
    LoadError::Io { path: p.display().to_string(), message: e.to_string() }
}

/// The manifests under `dir`. `ancestors`: the directories being walked, canonical, so that a
/// symbolic link back up the tree (`ln -s . loop`) is not walked into again (review s53, item
/// 12: each file was found again under `loop/loop/…` until the system refused the path). A
/// named pipe, socket or device is not opened (a FIFO waits for a writer for ever: review s53,
/// item 3) and is said so in `notes`.
fn walk(
    dir: &Path,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<PathBuf>,
    notes: &mut Vec<String>,
) -> Result<(), LoadError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, &e))? {
        let path = entry.map_err(|e| io(dir, &e))?.path();
        let meta = std::fs::metadata(&path);
        if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
            let Ok(canonical) = std::fs::canonicalize(&path) else { continue };
            if ancestors.contains(&canonical) {
                continue;
            }
            ancestors.push(canonical);
            walk(&path, ancestors, out, notes)?;
            ancestors.pop();
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["yaml", "yml", "json"].contains(&e.to_ascii_lowercase().as_str()))
        {
            match meta {
                Ok(m) if !m.is_file() => {
                    notes.push(format!(
                        "{}: {}, not read in a directory walk",
                        path.display(),
                        findings::text::special_kind(&m)
                    ));
                }
                _ => out.push(path),
            }
        }
    }
    Ok(())
}

/// The lines (1-based) of `bytes` holding bytes that are not UTF-8, and the first such byte of
/// each: at most one entry a line.
fn non_utf8_lines(bytes: &[u8]) -> Vec<(usize, u8)> {
    let mut out: Vec<(usize, u8)> = Vec::new();
    let (mut at, mut line) = (0usize, 1usize);
    while let Some(rest) = bytes.get(at..) {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let good = e.valid_up_to();
                line += rest[..good].iter().filter(|&&b| b == b'\n').count();
                if out.last().is_none_or(|(l, _)| *l != line) {
                    out.push((line, rest.get(good).copied().unwrap_or_default()));
                }
                let bad = e.error_len().unwrap_or(rest.len() - good).max(1);
                line += rest[good..good + bad].iter().filter(|&&b| b == b'\n').count();
                at += good + bad;
            }
        }
    }
    out
}

fn read_file(p: &Path, out: &mut Manifests) -> Result<(), LoadError> {
    // The same file named twice (the same path, or a file inside a directory also given): read
    // once, as `--metrics` does (review s51, item 6: its webhooks were judged and counted twice).
    let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if let Some(first) = out.read.get(&canonical) {
        let note = if *first == p.display().to_string() {
            format!("{first} is given twice: read once")
        } else {
            format!("{} is the same file as {first}: read once", p.display())
        };
        if !out.notes.contains(&note) {
            out.notes.push(note);
        }
        return Ok(());
    }
    out.read.insert(canonical, p.display().to_string());
    let len = std::fs::metadata(p).map_err(|e| io(p, &e))?.len();
    if len > MAX_FILE_BYTES {
        // Reported and skipped like any unreadable document: the other files are still judged.
        out.files.push(FileSummary {
            path: p.display().to_string(),
            problems: vec![Problem {
                line: 1,
                message: format!(
                    "{len} bytes: larger than the {MAX_FILE_BYTES} bytes read as manifests, not read"
                ),
            }],
            ..FileSummary::default()
        });
        return Ok(());
    }
    let bytes = match std::fs::read(p) {
        Ok(b) => b,
        // A file that cannot be read (permissions, a vanished file) is skipped like a bad
        // document; a path the user named that does not exist stopped `load_paths` already.
        Err(e) => {
            out.files.push(FileSummary {
                path: p.display().to_string(),
                problems: vec![Problem { line: 1, message: format!("cannot be read: {e}") }],
                ..FileSummary::default()
            });
            return Ok(());
        }
    };
    let name = p.display().to_string();
    // UTF-16, as Windows PowerShell 5 writes `kubectl get … > file` (with a byte order mark)
    // and other Windows tools write it (without one), is decoded (review s53, item 5: it was
    // "not UTF-8 text: not a manifest"); `findings::text::decode_utf16` tells it, for the
    // metrics reader too.
    if let Some(decoded) = findings::text::decode_utf16(&bytes) {
        let mut note = format!("{name}: {}, decoded and read", decoded.describe());
        if decoded.byte_order_mark {
            note.push_str(" (as Windows PowerShell 5 writes `>`)");
        }
        if decoded.replaced > 0 {
            note.push_str(&format!(" ({} bad UTF-16 code units replaced by U+FFFD)", decoded.replaced));
        }
        if decoded.odd_byte {
            note.push_str(" (its last, odd byte was left out)");
        }
        out.notes.push(note);
        parse_text(&name, &decoded.text, out);
        return Ok(());
    }
    match String::from_utf8(bytes) {
        Ok(text) => parse_text(&name, &text, out),
        // Only the documents holding bytes that are not UTF-8 are skipped (review s53, item 4:
        // one byte in a ConfigMap dropped both webhooks of the file).
        Err(e) => {
            let bad = non_utf8_lines(e.as_bytes());
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            parse_marked(&name, &text, &bad, out);
        }
    }
    Ok(())
}

/// The first of `bad` (a line holding bytes that are not UTF-8, and its first such byte) from
/// line `from` to line `to`, both included.
fn bad_byte_in(bad: &[(usize, u8)], from: usize, to: usize) -> Option<(usize, u8)> {
    bad.iter().copied().find(|(l, _)| (from..=to).contains(l))
}

/// Why a document holding a byte that is not UTF-8 was skipped.
fn not_utf8(line: usize, byte: u8, what: &str) -> Problem {
    Problem {
        line,
        message: format!(
            "not UTF-8 text (byte 0x{byte:02X} on line {line}; a Latin-1 or Windows-1252 character?): {what} is \
             skipped, the others are read (`iconv -f LATIN1 -t UTF-8 FILE` converts the file)"
        ),
    }
}

/// Whether `doc` (a document that could not be read) is a Helm template: `{{ … }}` outside a
/// quoted string, which YAML reads as a mapping (`name: {{ include "x" . }}`) or cannot read.
fn helm_template_line(doc: &str) -> Option<usize> {
    doc.lines().position(|l| {
        let t = l.trim_start().trim_start_matches("- ");
        let value = t.split_once(": ").map_or(t, |(_, v)| v).trim_start();
        value.starts_with("{{") && l.contains("}}")
    })
}

/// What to do with a Helm template.
const HELM: &str = "a Helm template, not a manifest: render it with `helm template RELEASE CHART` (or `helm get \
                    manifest RELEASE` for an installed release) and give what it prints";

/// Reads the text of one file (`name` is how messages call it) into `out`.
///
/// JSON text may hold several values one after the other (`jq -c '.items[]'` writes one object
/// a line): each is read. A value that cannot be read is reported at its line, and reading
/// goes on at the next line that starts a value (`{` or `[` in its first column).
///
/// The objects of a `List` (or of a top-level array) are located at their own line: in YAML
/// the line of the item's `-`, in JSON the line of the item's opening brace. When an item's
/// line cannot be found (a flow-style YAML list), the List's line is used and messages about
/// the item say `item N of the list at line L`.
pub fn parse_text(name: &str, text: &str, out: &mut Manifests) {
    parse_marked(name, text, &[], out);
}

/// [`parse_text`] of a text whose lines `bad` held bytes that are not UTF-8 (replaced): the
/// documents holding them are skipped.
fn parse_marked(name: &str, text: &str, bad: &[(usize, u8)], out: &mut Manifests) {
    let mut summary = FileSummary { path: name.to_owned(), ..FileSummary::default() };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.trim_start().chars().next();
    if text.trim_start().starts_with("{{") {
        // `{{- if .Values.x }}` first: the file was parsed as JSON (review s53, item 12).
        let line = 1 + text.len() - text.trim_start().len();
        let line = 1 + text[..line - 1].matches('\n').count();
        summary.problems.push(Problem { line, message: HELM.to_owned() });
    } else if let Some(line) = metrics_scrape_line(text) {
        // A `/metrics` scrape is no YAML at all; the YAML parser's own complaint (several
        // documents, a bad mapping) would send the reader looking for a YAML mistake.
        summary.problems.push(Problem {
            line,
            message:
                "not YAML or JSON manifests: it looks like a Prometheus /metrics scrape (`# HELP`/`# TYPE` \
                      lines and samples); give it to `apiserver-doctor metrics`, or to `diagnose --metrics`"
                    .to_owned(),
        });
    } else if matches!(first, Some('{' | '[')) {
        json_values(text, bad, &mut summary, out);
    } else {
        for (start, doc) in yaml_documents(text) {
            if doc.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
                continue;
            }
            // Objects are located at their first line of content, past the marker and comments.
            let content = start
                + doc.lines().take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#')).count();
            if let Some((line, byte)) = bad_byte_in(bad, start, start + doc.lines().count().saturating_sub(1))
            {
                summary.problems.push(not_utf8(line, byte, &format!("the document at line {content}")));
                continue;
            }
            let problems_before = summary.problems.len();
            // The YAML parser's time grows about with the cube of a flow collection's depth:
            // a manifest nested absurdly deep is skipped unparsed, as audit YAML is.
            if let Some(deep) = brackets_too_deep(doc, 128) {
                summary.problems.push(Problem {
                    line: start + deep - 1,
                    message: "invalid YAML: brackets nested deeper than 128 levels, not parsed".to_owned(),
                });
                continue;
            }
            match yaml_serde::from_str::<Value>(doc) {
                Ok(v) => {
                    // `<<: *anchor` merge keys, which kubectl's YAML reader resolves (review s44: a
                    // webhook made `<<: *hook` plus `failurePolicy: Fail` was read without its
                    // rules, and its deadlock missed).
                    let v = if doc.contains("<<") {
                        match merged(doc) {
                            Ok(Some(m)) => m,
                            Ok(None) => v,
                            Err(e) => {
                                summary.problems.push(Problem {
                                    line: content,
                                    message: format!(
                                        "invalid YAML merge key (`<<`): {e}; the document was skipped"
                                    ),
                                });
                                continue;
                            }
                        }
                    } else {
                        v
                    };
                    let items: Vec<usize> = yaml_item_lines(doc).into_iter().map(|l| start + l).collect();
                    take(&v, content, &items, &mut summary, out)
                }
                Err(e) => {
                    // An error at the end of the stream points past the document's last line.
                    let last = start + doc.lines().count().saturating_sub(1);
                    let line = e.location().map_or(start, |l| (start + l.line().saturating_sub(1)).min(last));
                    let message = format!("invalid YAML: {}", file_lines(&e.to_string(), start));
                    summary.problems.push(Problem { line, message });
                }
            }
            // A document that could not be read because it is a Helm template says so, not
            // what YAML made of `{{ … }}` (review s53, item 12).
            if summary.problems.len() > problems_before
                && let Some(at) = helm_template_line(doc)
            {
                summary.problems.truncate(problems_before);
                summary.problems.push(Problem { line: start + at, message: HELM.to_owned() });
            }
        }
    }
    out.files.push(summary);
}

/// `doc` with its `<<` merge keys resolved (the keys of the mapping merged in, the mapping's
/// own keys first); `None` when it holds none.
fn merged(doc: &str) -> Result<Option<Value>, String> {
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(doc).map_err(|e| e.to_string())?;
    let before = yaml.clone();
    yaml.apply_merge().map_err(|e| e.to_string())?;
    if yaml == before {
        return Ok(None);
    }
    yaml_serde::from_value::<Value>(yaml).map(Some).map_err(|e| e.to_string())
}

/// The line (1-based, in `doc`) where `[` and `{` not yet closed first exceed `max` levels.
fn brackets_too_deep(doc: &str, max: usize) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    for b in doc.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
}

/// The line of the first sample when `text` reads as a Prometheus or OpenMetrics exposition:
/// its first 50 lines of content are all comments or samples (`name{labels} value`), with at
/// least one sample and one `# TYPE` or `# HELP` line or sample with labels; `None` otherwise.
fn metrics_scrape_line(text: &str) -> Option<usize> {
    let mut first_sample = None;
    let mut typed = false;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).take(50) {
        let line = line.trim_end();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            typed |= comment.starts_with("TYPE ") || comment.starts_with("HELP ");
            continue;
        }
        if !is_sample(line) {
            return None;
        }
        typed |= line.contains('{');
        first_sample.get_or_insert(i + 1);
    }
    first_sample.filter(|_| typed)
}

/// `name value`, `name{labels} value` or either with a timestamp after the value.
fn is_sample(line: &str) -> bool {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    let name_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    let rest = &line[name_end..];
    let rest = if rest.starts_with('{') {
        match rest.rfind('}') {
            Some(close) => &rest[close + 1..],
            None => return false,
        }
    } else {
        rest
    };
    let numbers: Vec<&str> = rest.split_whitespace().collect();
    let number = |t: &str| t.parse::<f64>().is_ok() || matches!(t, "+Inf" | "-Inf" | "NaN");
    name_ok && matches!(numbers.as_slice(), [v] | [v, _] if number(v)) && numbers.iter().all(|t| number(t))
}

/// Where the lines of a text start, to find the line of a byte offset without counting the
/// newlines before it each time (a file may hold tens of thousands of items).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i).collect())
    }

    /// 1-based line of byte `offset`.
    fn at(&self, offset: usize) -> usize {
        1 + self.0.partition_point(|&nl| nl < offset)
    }
}

/// Reads every JSON value of `text`, one after the other. After a value that cannot be read,
/// reading goes on at the next line that starts with `{` or `[`.
fn json_values(text: &str, bad: &[(usize, u8)], summary: &mut FileSummary, out: &mut Manifests) {
    let lines = Lines::new(text);
    let mut from = 0;
    while from < text.len() {
        let rest = &text[from..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let mut resume = text.len();
        loop {
            // Where the next value starts: past the whitespace after the previous one.
            let before = values.byte_offset();
            let start = from + before + (rest[before..].len() - rest[before..].trim_start().len());
            match values.next() {
                None => break,
                Some(Ok(v)) => {
                    let end = from + values.byte_offset();
                    if let Some((line, byte)) = bad_byte_in(bad, lines.at(start), lines.at(end)) {
                        let what = format!("the value at line {}", lines.at(start));
                        summary.problems.push(not_utf8(line, byte, &what));
                        continue;
                    }
                    let items: Vec<usize> = json_item_offsets(&text[start..end])
                        .into_iter()
                        .map(|o| lines.at(start + o))
                        .collect();
                    take(&v, lines.at(start), &items, summary, out);
                }
                Some(Err(e)) => {
                    resume = next_json_line(text, start);
                    // The bad value alone says best what is wrong with it (an object cut short
                    // reads as one that runs into the next line's).
                    let alone = text[start..resume].trim_end();
                    let (e, base) = match serde_json::from_str::<Value>(alone) {
                        Err(alone_e) => (alone_e, lines.at(start)),
                        Ok(_) => (e, lines.at(from)),
                    };
                    let line = base + e.line().saturating_sub(1);
                    let message = format!("invalid JSON: {}", file_lines(&e.to_string(), base));
                    summary.problems.push(Problem { line, message });
                    break;
                }
            }
        }
        from = resume;
    }
}

/// The byte offset of the first line after the one holding byte `at` that starts with `{` or
/// `[` (where the next value of a JSON Lines or `jq` output starts), or the end of `text`.
fn next_json_line(text: &str, at: usize) -> usize {
    let mut offset = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    while offset < text.len() {
        if text[offset..].starts_with(['{', '[']) {
            return offset;
        }
        offset = text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1);
    }
    text.len()
}

/// The byte offsets in `json` (one valid JSON value) where the elements of its list of objects
/// start: the elements of a top-level array, or of the top-level object's `items`.
fn json_item_offsets(json: &str) -> Vec<usize> {
    let bytes = json.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    // The depth whose elements are the items, once found.
    let mut items_depth = None;
    let mut expect_element = false;
    let mut last_key: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if expect_element && !b.is_ascii_whitespace() && b != b']' {
            out.push(i);
            expect_element = false;
        }
        match b {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1 {
                    last_key = Some((start, i.min(bytes.len())));
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth == 1 && b == b'[' {
                    items_depth = Some(1);
                    expect_element = true;
                } else if depth == 2
                    && b == b'['
                    && items_depth.is_none()
                    && last_key.is_some_and(|(s, e)| &json[s..e] == "items")
                {
                    items_depth = Some(2);
                    expect_element = true;
                }
            }
            b'}' | b']' => {
                if items_depth == Some(depth) {
                    return out;
                }
                depth = depth.saturating_sub(1);
            }
            b',' if items_depth == Some(depth) => expect_element = true,
            _ => {}
        }
        i += 1;
    }
    out
}

/// The lines (0-based, in `doc`) where the items of a YAML document's top-level list start:
/// its top-level sequence, or the block sequence under its top-level `items:` key. Empty
/// when there is none in block style.
fn yaml_item_lines(doc: &str) -> Vec<usize> {
    let content = |l: &str| !(l.trim().is_empty() || l.trim_start().starts_with('#'));
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let is_item = |l: &str, at: usize| {
        indent(l) == at && {
            let t = &l[at..];
            t == "-" || t.starts_with("- ") || t.starts_with("-\t")
        }
    };
    let lines: Vec<&str> = doc.lines().map(|l| l.trim_end_matches('\r')).collect();
    let Some(first) = lines.iter().position(|l| content(l)) else { return Vec::new() };
    // Where the sequence starts, and its indentation.
    let (from, at) = if is_item(lines[first], 0) {
        (first, 0)
    } else {
        let Some(key) = lines.iter().position(|l| {
            l.strip_prefix("items:").is_some_and(|r| r.trim().is_empty() || r.trim_start().starts_with('#'))
        }) else {
            return Vec::new();
        };
        let Some(seq) = lines.iter().skip(key + 1).position(|l| content(l)).map(|p| key + 1 + p) else {
            return Vec::new();
        };
        let at = indent(lines[seq]);
        if !is_item(lines[seq], at) {
            return Vec::new();
        }
        (seq, at)
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(from) {
        if !content(l) {
            continue;
        }
        if is_item(l, at) {
            out.push(i);
        } else if indent(l) <= at {
            // Back at the sequence's own level or above: it ended.
            break;
        }
    }
    out
}

/// A YAML error message with its `line N` positions (relative to the document) made lines of
/// the file, the document starting at line `start`.
fn file_lines(message: &str, start: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("line ") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(start + n.saturating_sub(1)).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The documents of a YAML stream with the line each starts at: split at `---` (and `...`)
/// marker lines, which YAML allows only at the start of a line, outside any block.
fn yaml_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare == "---"
            || bare.starts_with("--- ")
            || bare.starts_with("---\t")
            || bare == "..."
            || bare.starts_with("... ");
        if marker {
            docs.push((start_line, &text[start_byte..offset]));
            // Content after `--- ` on the marker line belongs to the next document.
            let rest = if bare.starts_with("---") { 3 } else { line.len() };
            start_byte = offset + rest.min(line.len());
            start_line = i + 1;
            if bare.starts_with("...") {
                start_line = i + 2;
            }
        }
        offset += line.len();
    }
    docs.push((start_line, &text[start_byte..]));
    docs
}

/// The kinds of the API groups whose objects the checks read: those read, and those the group
/// also serves (left out without a word).
const GROUP_KINDS: [(&str, &[&str]); 2] = [
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
        ],
    ),
    ("flowcontrol.apiserver.k8s.io", &["FlowSchema", "PriorityLevelConfiguration"]),
];

/// Why an object of `kind` and `api` (not one read) is most likely a mistake: a kind its group
/// (admissionregistration, flowcontrol) does not have, or a kind read by the checks under
/// another group. `None` for anything else.
fn unknown_kind(kind: &str, api: &str) -> Option<String> {
    if let Some((g, _)) = GROUP_KINDS.iter().find(|(_, kinds)| kinds[..2].contains(&kind)) {
        // A kind the checks read, not read: its apiVersion is not one of its group.
        return Some(format!(
            "apiVersion {api:?} is not a version of {g}, the group of {kind}: left out, not checked"
        ));
    }
    let group = api.split_once('/').map_or(api, |(g, _)| g);
    let (g, kinds) = GROUP_KINDS.iter().find(|(g, _)| *g == group)?;
    if kinds.contains(&kind) || kind.ends_with("List") {
        return None;
    }
    let nearest = findings::spelling::nearest(kind, kinds.iter().copied(), usize::MAX);
    let hint = nearest.map_or(String::new(), |k| format!(" (did you mean {k}?)"));
    Some(format!("{g} has no kind {kind}{hint}: left out, not checked"))
}

/// The apiVersion prefix of audit events (`audit.k8s.io/v1`).
const AUDIT_GROUP: &str = "audit.k8s.io/";

/// Takes each element of a list found at `line` whose elements start at `items` (their lines,
/// when found).
fn take_items(list: &[Value], line: usize, items: &[usize], summary: &mut FileSummary, out: &mut Manifests) {
    let located = items.len() == list.len();
    for (i, item) in list.iter().enumerate() {
        let before = summary.problems.len();
        match items.get(i).filter(|_| located) {
            Some(&at) => take(item, at, &[], summary, out),
            None => {
                take(item, line, &[], summary, out);
                for p in &mut summary.problems[before..] {
                    p.message = format!("item {} of the list at line {line}: {}", i + 1, p.message);
                }
            }
        }
    }
}

/// Takes one object (or a list of them) found at `line`; `items` are the lines of the list's
/// elements, when known.
fn take(v: &Value, line: usize, items: &[usize], summary: &mut FileSummary, out: &mut Manifests) {
    match v {
        Value::Null => {}
        Value::Array(list) => take_items(list, line, items, summary, out),
        Value::Object(o) => {
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
            let api = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
            let webhook_kind = match kind {
                "MutatingWebhookConfiguration" => Some(WebhookKind::Mutating),
                "ValidatingWebhookConfiguration" => Some(WebhookKind::Validating),
                _ => None,
            };
            if kind.is_empty() {
                summary
                    .problems
                    .push(Problem { line, message: "not a Kubernetes object: no `kind`".to_owned() });
            } else if kind == "EventList" && api.starts_with(AUDIT_GROUP) {
                // An audit log's items (their own `kind` often left out): counted as audit
                // events, not reported one by one as objects without a kind.
                let n = o.get("items").and_then(Value::as_array).map_or(0, |items| items.len() as u64);
                summary.audit_events += n;
                summary.other_objects += n;
            } else if kind == "List" || (kind.ends_with("List") && o.get("items").is_some()) {
                match o.get("items") {
                    Some(Value::Array(list)) => take_items(list, line, items, summary, out),
                    Some(Value::Null) | None => {}
                    Some(other) => summary.problems.push(Problem {
                        line,
                        message: format!("{kind}: items: expected a list, got {}", kind_of(other)),
                    }),
                }
            } else if let Some(wk) = webhook_kind.filter(|_| api.starts_with("admissionregistration.k8s.io/"))
            {
                let content = serde_json::json!([api, o.get("webhooks")]);
                if !out.first_copy(summary, (kind, name), line, content) {
                    return;
                }
                match parse_configuration(wk, v, &summary.path, line) {
                    Ok((config, problems)) => {
                        for p in problems {
                            summary.problems.push(Problem { line, message: format!("{kind} {name}: {p}") });
                        }
                        summary.webhook_configurations += 1;
                        out.webhook_configurations.push(config);
                    }
                    Err(e) => {
                        out.forget(kind, name);
                        summary.problems.push(Problem { line, message: format!("{kind}: {e}") })
                    }
                }
            } else if kind == "FlowSchema" && api.starts_with("flowcontrol.apiserver.k8s.io/") {
                if !out.first_copy(summary, (kind, name), line, o.get("spec").cloned().unwrap_or_default()) {
                    return;
                }
                match crate::apf::parse_flow_schema(v, &summary.path, line) {
                    Ok(fs) => {
                        summary.flow_schemas += 1;
                        out.flow_schemas.push(fs);
                    }
                    Err(e) => {
                        out.forget(kind, name);
                        summary.problems.push(Problem { line, message: format!("FlowSchema {name}: {e}") })
                    }
                }
            } else if kind == "PriorityLevelConfiguration" && api.starts_with("flowcontrol.apiserver.k8s.io/")
            {
                if !out.first_copy(summary, (kind, name), line, o.get("spec").cloned().unwrap_or_default()) {
                    return;
                }
                match crate::apf::parse_priority_level(v, &summary.path, line) {
                    Ok(pl) => {
                        summary.priority_levels += 1;
                        out.priority_levels.push(pl);
                    }
                    Err(e) => {
                        out.forget(kind, name);
                        summary.problems.push(Problem {
                            line,
                            message: format!("PriorityLevelConfiguration {name}: {e}"),
                        })
                    }
                }
            } else if let Some(message) = unknown_kind(kind, api) {
                let named = if name.is_empty() { String::new() } else { format!(" {name}") };
                summary.problems.push(Problem { line, message: format!("{kind}{named}: {message}") });
            } else if kind == "Namespace" && api == "v1" && !name.is_empty() {
                let content = v.pointer("/metadata/labels").cloned().unwrap_or_default();
                if !out.first_copy(summary, (kind, name), line, content) {
                    return;
                }
                let mut labels = BTreeMap::new();
                crate::selector::string_entries(v, "/metadata/labels", &mut labels);
                // The API server sets this label on every namespace (1.21 and later).
                labels.entry(crate::selector::NAME_LABEL.to_owned()).or_insert_with(|| name.to_owned());
                out.namespace_labels.insert(name.to_owned(), labels);
                summary.namespaces += 1;
            } else {
                if matches!(kind, "Deployment" | "DaemonSet" | "StatefulSet")
                    && api.starts_with("apps/")
                    && !name.is_empty()
                {
                    let mut pod_labels = BTreeMap::new();
                    crate::selector::string_entries(v, "/spec/template/metadata/labels", &mut pod_labels);
                    out.workloads.push(Workload {
                        kind: kind.to_owned(),
                        namespace: v
                            .pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned),
                        name: name.to_owned(),
                        pod_labels,
                    });
                }
                if kind == "Event" && api.starts_with(AUDIT_GROUP) {
                    summary.audit_events += 1;
                }
                summary.other_objects += 1;
            }
        }
        other => summary
            .problems
            .push(Problem { line, message: format!("not a Kubernetes object: {}", kind_of(other)) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Manifests {
        let mut m = Manifests::default();
        parse_text("t.yaml", text, &mut m);
        m
    }

    const HOOK: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: NAME\nwebhooks:\n- name: v.example.com\n";

    #[test]
    fn documents_are_split_at_markers_with_their_lines() {
        let text = "# header\n---\na: 1\n--- \nb: 2\n...\n---\nc: |\n  text\n  --- not a marker\n";
        let docs = yaml_documents(text);
        let starts: Vec<usize> = docs.iter().map(|d| d.0).collect();
        assert_eq!(starts, vec![1, 2, 4, 7, 7]);
        assert!(docs[4].1.contains("--- not a marker"));
    }

    #[test]
    fn a_broken_document_is_reported_at_its_line_and_the_others_are_kept() {
        let text = format!(
            "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\nkind: [unclosed\n---\n{}---\n- 3\n---\njust text\n",
            HOOK.replace("NAME", "first"),
            HOOK.replace("NAME", "second")
        );
        let m = parse(&text);
        let names: Vec<&str> = m.webhook_configurations.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["first", "second"]);
        assert_eq!(m.webhook_configurations[1].line, 15, "the first line after the marker");
        let f = &m.files[0];
        assert_eq!(f.other_objects, 1);
        assert_eq!(f.problems.len(), 3, "{:?}", f.problems);
        assert_eq!(f.problems[0].line, 13, "the last line of the broken document");
        assert!(f.problems[0].message.starts_with("invalid YAML"), "{}", f.problems[0].message);
        // Positions inside the message are lines of the file, not of the document.
        assert!(f.problems[0].message.contains("at line 13 column"), "{}", f.problems[0].message);
        assert_eq!(f.problems[1], Problem { line: 22, message: "not a Kubernetes object: a number".into() });
        assert_eq!(f.problems[2], Problem { line: 24, message: "not a Kubernetes object: a string".into() });
    }

    #[test]
    fn lists_json_and_namespaces_are_read() {
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
             "metadata": {"name": "m"}, "webhooks": []},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {"control-plane": "true"}}}
        ]});
        let m = parse(&format!("\u{feff}  {list}"));
        assert_eq!(m.webhook_configurations.len(), 1);
        assert_eq!(m.webhook_configurations[0].kind, WebhookKind::Mutating);
        let ks = &m.namespace_labels["kube-system"];
        assert_eq!(ks.get("control-plane").map(String::as_str), Some("true"));
        assert_eq!(ks.get(crate::selector::NAME_LABEL).map(String::as_str), Some("kube-system"));
        let bad = parse("{\"kind\": ");
        assert_eq!(bad.files[0].problems.len(), 1);
        assert!(bad.files[0].problems[0].message.starts_with("invalid JSON"));
    }

    /// Review s51 item 6: the same object in two exports (a per-kind file and an all-kinds one,
    /// or `--cluster` beside `--manifests`) was judged twice, and a file given twice counted
    /// its webhooks twice.
    #[test]
    fn an_object_read_twice_is_kept_once_and_differing_copies_are_noted() {
        let mut m = Manifests::default();
        let hook = HOOK.replace("NAME", "policy");
        parse_text("mwc.yaml", &hook, &mut m);
        parse_text("cluster.yaml", &format!("{hook}---\n{}", HOOK.replace("NAME", "other")), &mut m);
        let names: Vec<&str> = m.webhook_configurations.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["policy", "other"]);
        assert_eq!((m.files[1].webhook_configurations, m.files[1].duplicates), (1, 1));
        assert!(m.notes.is_empty(), "identical copies need no note: {:?}", m.notes);
        // A copy that differs: the first is judged, a note says so.
        let changed = hook.replace("v.example.com", "w.example.com");
        parse_text("later.yaml", &changed, &mut m);
        assert_eq!(m.webhook_configurations.len(), 2);
        assert_eq!(m.files[2].duplicates, 1);
        assert_eq!(
            m.notes,
            vec![
                "ValidatingWebhookConfiguration policy is read twice and the copies differ: the one at mwc.yaml:1 \
                 is judged, the one at later.yaml:1 is left out (the API server holds one object of a kind and \
                 name: give the manifests of one cluster, as it is now)"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn manifests_holding_the_same_object_twice_are_judged_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("multi.yaml");
        std::fs::write(&p, HOOK.replace("NAME", "policy")).expect("write");
        let other = dir.path().join(".").join("multi.yaml");
        let m = load_paths(&[p.clone(), p.clone(), other.clone(), dir.path().to_path_buf()]).expect("reads");
        assert_eq!(m.files.len(), 1, "{:?}", m.files);
        assert_eq!(m.webhook_configurations.len(), 1);
        assert_eq!(
            m.notes,
            vec![
                format!("{} is given twice: read once", p.display()),
                format!("{} is the same file as {}: read once", other.display(), p.display())
            ]
        );
    }

    #[test]
    fn a_missing_path_is_an_error_naming_it() {
        let err = load_paths(&[PathBuf::from("/nonexistent/webhooks.yaml")]).expect_err("missing");
        assert!(err.to_string().starts_with("/nonexistent/webhooks.yaml: "), "{err}");
    }

    #[test]
    fn a_file_too_large_is_reported_and_the_others_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("a-big.yaml");
        let f = std::fs::File::create(&big).expect("create");
        f.set_len(MAX_FILE_BYTES + 1).expect("sparse file");
        std::fs::write(dir.path().join("b.yaml"), HOOK.replace("NAME", "kept")).expect("write");
        let m = load_paths(&[dir.path().to_path_buf()]).expect("reads the rest");
        assert_eq!(m.webhook_configurations.len(), 1);
        assert!(m.files[0].problems[0].message.ends_with("read as manifests, not read"), "{:?}", m.files[0]);
    }

    #[test]
    fn a_file_that_is_not_text_is_reported_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.yaml");
        std::fs::write(&p, b"a: 1\nb: \xff\xfe\n").expect("write");
        let m = load_paths(&[dir.path().to_path_buf()]).expect("reads");
        // Only the document holding the bytes is skipped (review s53, item 4), named at the line.
        assert_eq!(m.files[0].problems.len(), 1, "{:?}", m.files[0]);
        assert_eq!(m.files[0].problems[0].line, 2);
        assert!(
            m.files[0].problems[0].message.starts_with(
                "not UTF-8 text (byte 0xFF on line 2; a Latin-1 or Windows-1252 character?): the document at \
                 line 1 is skipped"
            ),
            "{:?}",
            m.files[0]
        );
    }

    /// UX review: an audit log given as `--manifests` was counted only among "objects of other
    /// kinds", and `diagnose` advised exporting them with `kubectl get`; its events are counted
    /// as audit events, and an `EventList`'s items without a `kind` are not each a problem.
    #[test]
    fn an_audit_log_given_as_manifests_was_counted_as_objects_of_other_kinds() {
        let lines = "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"a\"}\n\
                     {\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"b\"}\n\
                     {\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e\"}}\n";
        let f = &parse(lines).files[0];
        assert_eq!((f.audit_events, f.other_objects), (2, 3), "a core Event is not an audit event");
        let list = serde_json::json!({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
            "items": [{"auditID": "a", "verb": "list"}, {"auditID": "b", "verb": "get"}]});
        let f = &parse(&list.to_string()).files[0];
        assert_eq!((f.audit_events, f.other_objects), (2, 2));
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }
}
