//! Every renderer on the fixed sample report: snapshots, order, determinism, escaping and
//! redaction.

mod common;

use common::{EVIL_AGENT, LEAKED_JWT, report_with, sample_report};
use findings::{Report, Severity};
use report::{Format, TextOptions};
use serde::Deserialize;

fn render(r: &Report, format: Format, options: &TextOptions) -> String {
    let mut out = Vec::new();
    match report::render(r, format, &mut out, options) {
        Ok(()) => {}
        Err(e) => panic!("rendering {format:?} failed: {e}"),
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => panic!("{format:?} output is not UTF-8: {e}"),
    }
}

fn plain() -> TextOptions {
    TextOptions { color: false, width: 100 }
}

fn all_formats(r: &Report) -> Vec<(Format, String)> {
    [Format::Text, Format::Json, Format::Markdown, Format::Html]
        .into_iter()
        .map(|f| (f, render(r, f, &plain())))
        .collect()
}

#[test]
fn text_snapshot() {
    insta::assert_snapshot!("text", render(&sample_report(), Format::Text, &plain()));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", render(&sample_report(), Format::Json, &plain()));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", render(&sample_report(), Format::Markdown, &plain()));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("html", render(&sample_report(), Format::Html, &plain()));
}

#[test]
fn empty_report_says_nothing_was_found_in_every_format() {
    let mut r = sample_report();
    r.findings.clear();
    for (format, out) in all_formats(&r) {
        let said =
            out.contains("no findings") || out.contains("Nothing found") || out.contains("\"findings\": []");
        assert!(said, "{format:?} does not say that nothing was found");
    }
    insta::assert_snapshot!("text_empty", render(&r, Format::Text, &plain()));
}

#[test]
fn nothing_found_with_inputs_left_out_does_not_claim_every_number_was_within_its_threshold() {
    // `diagnose --manifests webhooks.txt` said "every number was within its threshold" when the
    // webhook checks had read nothing (ux review item 6): the notes say what was left out.
    let mut r = sample_report();
    r.findings.clear();
    r.overview.notes =
        vec!["--manifests mdir: no webhook configuration in 0 files read; WHK001 did not run".into()];
    for format in [Format::Text, Format::Html] {
        let out = render(&r, format, &plain());
        assert!(!out.contains("every number was within its threshold"), "{format:?}: {out}");
        assert!(!out.contains("stayed within its thresholds"), "{format:?}: {out}");
        assert!(out.contains("the notes above say what was left out"), "{format:?}: {out}");
    }
}

#[test]
fn output_is_deterministic_and_independent_of_input_order() {
    let a = sample_report();
    let mut b = sample_report();
    b.findings.reverse();
    for ((format, x), (_, y)) in all_formats(&a).into_iter().zip(all_formats(&b)) {
        assert_eq!(x, y, "{format:?} depends on the order of the model's findings");
        assert_eq!(x, render(&a, format, &plain()), "{format:?} differs between two runs");
    }
}

#[test]
fn findings_are_worst_first_in_every_format() {
    let r = sample_report();
    // Worst first; within a severity causes (AUD008) before offenders (AUD006) and symptoms (AUD003).
    let expected = ["AUD004", "AUD007", "ETC001", "AUD008", "AUD006", "AUD003", "AUD001", "AUD009"];
    for (format, out) in all_formats(&r) {
        // Position of each finding's first full mention after the summary part.
        let marker = |code: &str| match format {
            Format::Text => format!(" {code}  "),
            Format::Json => format!("\"code\": \"{code}\""),
            Format::Markdown => format!(" {code} — "),
            Format::Html => format!("data-code=\"{code}\""),
        };
        let positions: Vec<usize> = expected
            .iter()
            .map(|c| out.find(&marker(c)).unwrap_or_else(|| panic!("{format:?} lacks finding {c}")))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{format:?} order: {positions:?}");
    }
}

#[test]
fn no_token_reaches_any_format() {
    let r = sample_report();
    for (format, out) in all_formats(&r) {
        assert!(!out.contains(LEAKED_JWT), "{format:?} leaks the token");
        // Not even a recognisable part of it.
        assert!(!out.contains("eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ"), "{format:?} leaks the token header");
        let shown = out.contains("[REDACTED]") || out.contains("\\[REDACTED\\]");
        assert!(shown, "{format:?} does not show where the token was");
    }
}

#[test]
fn html_escapes_markup_from_the_model() {
    let html = render(&sample_report(), Format::Html, &plain());
    assert!(!html.contains(EVIL_AGENT));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("evil-agent/1.0 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    // Our one inline script is the only script element.
    assert_eq!(html.matches("<script").count(), 1);
}

#[test]
fn html_fetches_nothing_from_the_network() {
    let html = render(&sample_report(), Format::Html, &plain());
    for needle in
        ["src=", "@import", "url(", "href=\"http", "href=\"//", "<link rel=\"stylesheet", "<iframe", "<img"]
    {
        assert!(!html.contains(needle), "HTML holds {needle:?}");
    }
    // The only URL is the SVG namespace, an identifier that browsers never fetch.
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 26).min(html.len())])
        .filter(|u| u.starts_with("http:") || u.starts_with("https:"))
        .collect();
    assert!(urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg")), "{urls:?}");
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn html_has_the_overview_charts_and_every_finding() {
    let html = render(&sample_report(), Format::Html, &plain());
    assert!(html.contains("id=\"top-clients\""));
    assert!(html.contains("id=\"latency-over-time\""));
    assert!(html.contains("id=\"p99\""));
    // Two overview charts and the two findings' charts.
    assert_eq!(html.matches("<svg ").count(), 4);
    assert_eq!(html.matches("<article class=\"finding").count(), 8);
    // Rows over their SLO are marked, the others are not.
    assert_eq!(html.matches("<tr class=\"over\">").count(), 3);
    assert!(html.contains("review first") && html.contains("safe to apply"));
}

#[test]
fn markdown_table_cells_escape_pipes_and_markup() {
    let md = render(&sample_report(), Format::Markdown, &plain());
    assert!(md.contains("kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f \\| plugin"));
    // Every row of every table has as many unescaped pipes as its header.
    let mut in_fence = false;
    let mut columns = None;
    for line in md.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        // Markup is inert only inside fenced blocks (charts drawn as text).
        assert!(in_fence || !line.contains("<script"), "raw markup outside a code block: {line}");
        if in_fence || !line.starts_with('|') {
            columns = None;
            continue;
        }
        let pipes = line.replace("\\|", "").matches('|').count();
        match columns {
            None => columns = Some(pipes),
            Some(n) => assert_eq!(pipes, n, "row with a stray pipe: {line}"),
        }
    }
}

#[test]
fn plain_text_holds_no_escape_sequences_and_colour_text_does() {
    let r = sample_report();
    let plain_out = render(&r, Format::Text, &plain());
    assert!(!plain_out.contains('\x1b'), "plain text holds an escape (the model's binary garbage?)");
    assert!(!plain_out.contains('\x07'));
    let colour = render(&r, Format::Text, &TextOptions { color: true, width: 100 });
    assert!(colour.contains("\x1b[1;31mCRITICAL"));
    // The model's own escape sequence never reaches the terminal, even in colour.
    assert!(!colour.contains("\x1b[31mbinary"));
}

#[test]
fn text_fits_the_width_except_copyable_blocks() {
    for width in [60, 100, 160] {
        let out = render(&sample_report(), Format::Text, &TextOptions { color: false, width });
        // Queries, YAML and commands are printed whole so that they can be copied: YAML and
        // commands flush left between their start and end lines.
        let mut in_block: Option<usize> = None;
        let mut in_copy = false;
        for line in out.lines() {
            if line.starts_with("# --- ") {
                in_copy = !line.starts_with("# --- end of ");
                continue;
            }
            if in_copy {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if !line.trim().is_empty() && indent <= 3 {
                in_block = None;
            }
            if line.trim_start().starts_with("Reproduce (") {
                in_block = Some(5);
            } else if line.trim_start() == "Remedies:" {
                in_block = Some(8);
            } else if in_block.is_some_and(|min| indent >= min) {
                continue;
            }
            if line.starts_with("Input:") {
                continue; // a file name as the user gave it
            }
            let w = charts::display_width(line);
            assert!(w <= width, "line wider than {width}: {line:?} ({w})");
        }
    }
}

#[test]
fn json_findings_carry_the_promised_keys() {
    let json = render(&sample_report(), Format::Json, &plain());
    let v: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => panic!("JSON does not parse: {e}"),
    };
    assert_eq!(v["schema_version"], findings::REPORT_SCHEMA_VERSION);
    assert_eq!(v["summary"]["critical"], 3);
    assert_eq!(v["summary"]["worst"], "critical");
    let Some(items) = v["findings"].as_array() else { panic!("findings is not an array") };
    assert_eq!(items.len(), 8);
    for f in items {
        for key in ["code", "severity", "title", "subject", "evidence", "remedies"] {
            assert!(f.get(key).is_some(), "finding {} lacks {key}", f["code"]);
        }
    }
    // The JSON reads back into the model (minus the summary, which is derived).
    let back: Result<Report, _> = serde_json::from_str(&json);
    let back = match back {
        Ok(b) => b,
        Err(e) => panic!("JSON does not read back as a Report: {e}"),
    };
    assert_eq!(back.findings.len(), 8);
    assert_eq!(back.findings[0].severity, Severity::Critical);
}

#[test]
fn fifty_findings_render_in_every_format() {
    let r = report_with(50);
    for (format, out) in all_formats(&r) {
        assert!(out.len() > 10_000, "{format:?} is suspiciously short");
    }
    let html = render(&r, Format::Html, &plain());
    assert_eq!(html.matches("<article class=\"finding").count(), 50);
}

#[test]
fn every_json_key_is_documented_in_report_schema_md() {
    fn keys(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let doc_path = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../docs/report-schema.md");
    let doc = match std::fs::read_to_string(&doc_path) {
        Ok(d) => d,
        Err(e) => panic!("cannot read {}: {e}", doc_path.display()),
    };
    let json = render(&sample_report(), Format::Json, &plain());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    let mut all = std::collections::BTreeSet::new();
    keys(&v, &mut all);
    assert!(all.len() > 30, "too few keys seen: {all:?}");
    let missing: Vec<&String> = all.iter().filter(|k| !doc.contains(&format!("`{k}`"))).collect();
    assert!(missing.is_empty(), "keys not documented in docs/report-schema.md: {missing:?}");
    assert!(doc.contains(&format!("`schema_version` = {}", findings::REPORT_SCHEMA_VERSION)));
}

#[test]
fn odd_models_render_without_panic_in_every_format() {
    let mut r = sample_report();
    r.window = None;
    r.inputs.clear();
    r.overview = Default::default();
    r.tool_version = "\u{1b}]0;title\u{7}".into();
    for f in &mut r.findings {
        f.title = String::new();
        f.summary = "`unpaired and <b>bold</b> & \u{0}".into();
        for m in &mut f.evidence.measures {
            m.value = f64::NAN;
        }
        f.evidence.measures.push(findings::Measure::new("huge", 1e300, "bytes"));
        f.evidence.measures.push(findings::Measure::new("negative", -12.5, "percent"));
        f.evidence.table = Some(findings::Table {
            columns: vec![],
            rows: vec![vec!["ragged".into()], vec![], vec!["a".into(), "b|c".into(), "```".into()]],
        });
        for rem in &mut f.remedies {
            rem.body = "````\nbody with ``` fences\n".into();
        }
    }
    for (format, out) in all_formats(&r) {
        assert!(!out.is_empty(), "{format:?}");
        assert!(!out.contains('\u{1b}'), "{format:?} passes an escape sequence through");
        assert!(!out.contains('\u{0}'), "{format:?} passes a NUL through");
    }
    let md = render(&r, Format::Markdown, &plain());
    // A body holding ``` cannot close its fence early.
    assert!(md.contains("`````yaml") || md.contains("`````sh"));
    let json = render(&r, Format::Json, &plain());
    assert!(json.contains("\"value\": null"), "NaN must be null in JSON");
}

#[test]
fn json_round_trips_byte_for_byte() {
    // A saved JSON report rendered again as JSON is the same document.
    let first = render(&sample_report(), Format::Json, &plain());
    let model: Report = match serde_json::from_str(&first) {
        Ok(m) => m,
        Err(e) => panic!("JSON does not read back: {e}"),
    };
    assert_eq!(render(&model, Format::Json, &plain()), first);
    // And the HTML drawn from it is the HTML drawn from the original.
    assert_eq!(render(&model, Format::Html, &plain()), render(&sample_report(), Format::Html, &plain()));
}

#[test]
fn text_lists_every_finding_on_one_line_worst_first_before_the_details() {
    let r = sample_report();
    for width in [60, 160] {
        let out = render(&r, Format::Text, &TextOptions { color: false, width });
        let lines: Vec<&str> = out.lines().collect();
        let start = lines.iter().position(|l| *l == "Findings (details below):").expect("an overview");
        let overview: Vec<&str> = lines[start + 1..].iter().take_while(|l| !l.is_empty()).copied().collect();
        assert_eq!(overview.len(), r.findings.len(), "one line per finding: {overview:#?}");
        let details: Vec<&str> =
            lines.iter().filter(|l| l.contains(". ") && !l.starts_with(' ')).copied().collect();
        for (i, (line, detail)) in overview.iter().zip(&details).enumerate() {
            // The same number, severity and code as the finding's details, in the same order.
            let head = |l: &str| l.trim_start().split("  ").next().unwrap_or_default().to_owned();
            assert_eq!(head(line), head(detail), "line {}", i + 1);
            assert!(charts::display_width(line) <= width, "{line:?} wider than {width}");
        }
        let cut = overview.iter().filter(|l| l.ends_with('…')).count();
        if width == 60 {
            assert!(cut > 0, "long titles are cut at 60 columns: {overview:#?}");
        }
    }
    // One finding needs no overview.
    let mut one = sample_report();
    one.findings.truncate(1);
    assert!(!render(&one, Format::Text, &plain()).contains("Findings (details below):"));
}

/// Review item 8: three controllers of kube-controller-manager all read
/// `kube-controller-manager/system:…` in a narrow terminal. Cells are cut in their middle, so
/// the end that tells them apart stays, within the column's width.
#[test]
fn text_table_cells_cut_to_width_keep_the_end_that_tells_client_names_apart() {
    let names = [
        "kube-controller-manager/system:serviceaccount:kube-system:horizontal-pod-autoscaler",
        "kube-controller-manager/system:serviceaccount:kube-system:endpointslice-controller",
        "kube-controller-manager/system:serviceaccount:kube-system:replicaset-controller",
    ];
    let mut r = sample_report();
    r.findings.truncate(1);
    r.findings[0].evidence.table = Some(findings::Table {
        columns: vec!["client".into(), "requests".into()],
        rows: names
            .iter()
            .zip(["4,854", "1,228", "1,000"])
            .map(|(c, n)| vec![(*c).into(), n.into()])
            .collect(),
    });
    for width in [40, 60, 80] {
        let out = render(&r, Format::Text, &TextOptions { color: false, width });
        let lines: Vec<&str> =
            ["4,854", "1,228", "1,000"].iter().filter_map(|n| out.lines().find(|l| l.ends_with(n))).collect();
        assert!(lines.iter().all(|l| charts::display_width(l) <= width), "width {width}:\n{out}");
        let cells: Vec<&str> = lines
            .iter()
            .map(|l| l.split("  ").map(str::trim).find(|c| !c.is_empty()).unwrap_or_default())
            .collect();
        assert_eq!(cells.len(), 3, "width {width}:\n{out}");
        for (cell, name) in cells.iter().zip(names) {
            assert!(cell.contains('…'), "width {width}: {cell} was not cut");
            let end = cell.rsplit('…').next().unwrap_or_default();
            assert!(name.ends_with(end) && end.len() >= 10, "width {width}: {cell} lost the end of {name}");
        }
        let distinct: std::collections::BTreeSet<&&str> = cells.iter().collect();
        assert_eq!(distinct.len(), 3, "width {width}: {cells:?}");
    }
    // Numbers are never cut in the middle.
    assert!(!render(&r, Format::Text, &plain()).contains("4,…"));
}

/// A writer whose reader has gone, as `apiserver-doctor … -o json | head -c 10` leaves it.
struct ClosedPipe;

impl std::io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_closed_pipe_is_told_as_a_broken_pipe_in_every_format() {
    // JSON wrapped the error as "other", so the commands took a closed pipe for a failure
    // (exit 2) instead of keeping the findings' exit code.
    let report = sample_report();
    for format in [Format::Text, Format::Json, Format::Markdown, Format::Html] {
        let err = report::render(&report, format, &mut ClosedPipe, &TextOptions::default())
            .expect_err("nothing can be written");
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{format:?}: {err}");
    }
}

/// The characters that change how text reads without being seen: BiDi controls and the
/// Unicode line and paragraph separators (and NEL).
fn hidden(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// A client name holding U+202E reversed the rest of a finding's title, numbers included, in
/// every BiDi-aware renderer; U+2028 made JSON titles multi-line (report review item 3).
#[test]
fn bidi_overrides_in_a_client_name_cannot_reverse_a_title() {
    let evil = "OVERWRITE\u{202E}gnp.exe\u{2066}x\u{2069}\u{200F}\u{061C}\u{2028}---\u{2029}y\u{85}z\r";
    let mut r = sample_report();
    let f = &mut r.findings[0];
    f.title = format!("{evil} sends the most requests: 63% (57.9 per second)");
    f.subject.name = evil.into();
    f.summary = format!("`{evil}` sends most.\u{2028}Second line.\n\nAnd {evil} again.");
    f.evidence.measures[0].label = evil.into();
    if let Some(t) = &mut f.evidence.table {
        t.rows[0][0] = evil.into();
    }
    f.remedies.push(findings::remedy(
        &format!("Throttle {evil}"),
        findings::RemedyKind::Yaml,
        findings::Safety::ReviewFirst,
        format!("# Throttle {evil}\napiVersion: v1\nkind: ConfigMap\n"),
    ));
    f.remedies.push(findings::remedy(
        "Tune it",
        findings::RemedyKind::Advice,
        findings::Safety::Safe,
        format!("Ask the owner of {evil}."),
    ));
    if let Some(c) = &mut r.overview.top_clients {
        c.series[0].points[0].x = evil.into();
        c.series[0].name = evil.into();
    }
    for (format, out) in all_formats(&r) {
        if format == Format::Json {
            continue;
        }
        let found: Vec<String> =
            out.chars().filter(|&c| hidden(c)).map(|c| format!("U+{:04X}", c as u32)).collect();
        assert!(found.is_empty(), "{format:?} shows {found:?}");
        assert!(out.contains("OVERWRITE\u{FFFD}gnp.exe"), "{format:?} marks what it replaced");
    }
    let text = render(&r, Format::Text, &plain());
    assert!(text.lines().any(|l| l.contains("OVERWRITE\u{FFFD}gnp.exe") && l.ends_with("(57.9 per second)")));
    // JSON: the title and the subject are one plain line, the prose has no hidden character;
    // the YAML body is data for `kubectl apply` and stays as written (docs/report-schema.md).
    let json = render(&r, Format::Json, &plain());
    let v: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => panic!("JSON does not parse: {e}"),
    };
    let Some(all) = v["findings"].as_array() else { panic!("no findings array") };
    let Some(f) =
        all.iter().find(|f| f["subject"]["name"].as_str().is_some_and(|n| n.starts_with("OVERWRITE")))
    else {
        panic!("the finding is missing")
    };
    for key in [&f["title"], &f["subject"]["name"], &f["summary"], &f["remedies"][0]["title"]] {
        let s = key.as_str().unwrap_or_default();
        assert!(!s.is_empty() && !s.chars().any(|c| hidden(c) || c == '\r'), "hidden character in {s:?}");
    }
    let title = f["title"].as_str().unwrap_or_default();
    assert!(!title.contains('\n'), "{title:?}");
    let remedies = f["remedies"].as_array().map_or(0, Vec::len);
    let yaml = f["remedies"][remedies - 2]["body"].as_str().unwrap_or_default();
    assert!(yaml.contains('\u{2028}'), "the YAML body is kept as the remedy wrote it: {yaml:?}");
    let advice = f["remedies"][remedies - 1]["body"].as_str().unwrap_or_default();
    assert!(!advice.chars().any(hidden), "{advice:?}");
}

/// A `|` in a name showed as `\|` in the subject line and every code span outside tables, so
/// the name copied from the report was not the name in the log (report review item 4).
#[test]
fn a_pipe_in_a_name_is_literal_outside_tables_in_markdown() {
    let name = "kubelet]]>|c1|c2`bt`";
    let mut r = sample_report();
    r.findings[0].subject.name = name.into();
    r.findings[0].summary = "`kubelet|c1` sends the most requests.".into();
    let md = render(&r, Format::Markdown, &plain());
    let code = format!("`` {name} ``");
    let Some(subject) = md.lines().find(|l| l.starts_with("**client:**") && l.contains("c1")) else {
        panic!("no subject line for the name in\n{md}")
    };
    assert!(subject.contains(&code), "{subject}");
    assert!(
        md.lines().any(|l| l.starts_with("`kubelet|c1` sends")),
        "the summary's code span holds the name as it is"
    );
    // Inside the summary table the pipe is escaped, as GFM needs (it removes the backslash there).
    assert!(md.lines().any(|l| l.starts_with('|') && l.contains("`` kubelet]]>\\|c1\\|c2`bt` ``")), "{md}");
}

/// The overview's latency line was drawn across a 5-minute bin with no requests, and the JSON
/// had no point there, only the points on either side (report review item 6).
#[test]
fn an_empty_five_minute_bin_breaks_the_latency_line() {
    let mut r = sample_report();
    let Some(c) = &mut r.overview.latency_over_time else { panic!("the sample has a latency chart") };
    // kube-controller-manager has no requests in the 10:25 bin.
    c.series[1].points.remove(5);
    let name = c.series[1].name.clone();
    let json = render(&r, Format::Json, &plain());
    let v: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => panic!("JSON does not parse: {e}"),
    };
    let Some(series) = v["overview"]["latency_over_time"]["series"].as_array() else { panic!("no series") };
    let Some(s) = series.iter().find(|s| s["name"] == name.as_str()) else { panic!("no {name}") };
    let gap = &s["points"][5];
    assert_eq!(gap["x"], "2024-05-01T10:25:00Z");
    assert!(gap["y"].is_null(), "{gap}");
    assert_eq!(s["points"].as_array().map(Vec::len), Some(12));
    let html = render(&r, Format::Html, &plain());
    let group = html.split(&format!("data-series=\"{name}\"")).nth(1).and_then(|g| g.split("</g>").next());
    let Some(group) = group else { panic!("no {name} series in the HTML") };
    assert_eq!(group.matches("<polyline").count(), 2, "the line breaks at 10:25:\n{group}");
}

/// Review 26 §6: the YAML snippet of AUD008's advice (`spec:` / `  ttlSecondsAfterFinished:
/// 3600`) lost its indentation in the terminal and was joined into one paragraph line in
/// Markdown (and HTML), so a copy gave the field at the wrong level. An advice paragraph with
/// an indented line is now kept line for line: as it is in text, fenced in Markdown, `<pre>` in
/// HTML.
#[test]
fn yaml_in_advice_keeps_its_lines_and_indentation_in_text_markdown_and_html() {
    let mut r = sample_report();
    r.findings[0].remedies.push(findings::remedy(
        "Let Kubernetes delete finished Jobs: set ttlSecondsAfterFinished",
        findings::RemedyKind::Advice,
        findings::Safety::ReviewFirst,
        "Set `spec.ttlSecondsAfterFinished` on the Jobs the client creates, for example:\n\n\
         spec:\n  ttlSecondsAfterFinished: 3600\n\n\
         The TTL controller then deletes each Job an hour after it finishes.",
    ));
    let text = render(&r, Format::Text, &plain());
    let lines: Vec<&str> = text.lines().collect();
    let title =
        lines.iter().position(|l| l.contains("set ttlSecondsAfterFinished [review first]")).unwrap_or(0);
    let Some(at) = lines.iter().skip(title).position(|l| l.trim_end().ends_with("spec:")).map(|i| i + title)
    else {
        panic!("no `spec:` line in\n{text}")
    };
    let spec_col = lines[at].len() - "spec:".len();
    assert_eq!(lines[at + 1], format!("{}  ttlSecondsAfterFinished: 3600", " ".repeat(spec_col)), "{text}");
    assert!(lines[at - 1].trim().is_empty() && lines[at + 2].trim().is_empty(), "{text}");

    let md = render(&r, Format::Markdown, &plain());
    assert!(md.contains("```yaml\nspec:\n  ttlSecondsAfterFinished: 3600\n```\n"), "{md}");
    assert!(!md.contains("spec:   ttlSecondsAfterFinished"), "{md}");

    let html = render(&r, Format::Html, &plain());
    assert!(
        html.contains(
            "<pre><code class=\"language-yaml\">spec:\n  ttlSecondsAfterFinished: 3600</code></pre>"
        ),
        "{html}"
    );
}

/// Review 26 §10: a user name holding a line feed (`sa|evil\n1. CRITICAL fake`) was printed raw
/// in the text report's summary, so the log's author wrote a line of the report that read as a
/// finding of its own. A line feed in a summary now shows as `␤`, in every format people read.
#[test]
fn a_line_feed_from_the_log_in_a_summary_cannot_forge_a_report_line() {
    let mut r = sample_report();
    let user = "sa|evil\n1. CRITICAL fake\n\n## 2. CRITICAL forged\r\n- item";
    r.findings[0].summary = format!("pipe|tool/1.0 ({user}) sent 240 LISTs of pods.");
    let text = render(&r, Format::Text, &plain());
    for forged in ["1. CRITICAL fake", "## 2. CRITICAL forged", "- item"] {
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with(forged)),
            "{forged:?} starts a line:\n{text}"
        );
    }
    assert!(text.contains("(sa|evil␤1. CRITICAL fake␤␤## 2. CRITICAL forged�␤- item) sent 240"), "{text}");
    let md = render(&r, Format::Markdown, &plain());
    for forged in ["1. CRITICAL fake", "\\#\\# 2. CRITICAL forged", "## 2.", "- item"] {
        assert!(!md.lines().any(|l| l.trim_start().starts_with(forged)), "{forged:?} starts a line:\n{md}");
    }
    assert!(md.contains("sa\\|evil␤1. CRITICAL fake␤␤\\#\\# 2. CRITICAL forged�␤- item"), "{md}");
    let html = render(&r, Format::Html, &plain());
    assert!(html.contains("sa|evil␤1. CRITICAL fake␤␤## 2. CRITICAL forged�␤- item"), "{html}");
    // JSON keeps the summary as the model holds it (docs/report-schema.md): data for scripts.
    let json = render(&r, Format::Json, &plain());
    assert!(json.contains("sa|evil\\n1. CRITICAL fake"), "{json}");
}

/// Re-review s26 item 9: a line feed in a title (a user agent) was `<br>` in the Markdown
/// findings table, a real line break when rendered, and a space elsewhere; it is `␤` in every
/// format people read, as in a summary.
#[test]
fn a_line_feed_from_the_log_in_a_title_shows_as_the_newline_symbol_in_every_format() {
    let mut r = sample_report();
    r.findings[0].title = "inv\n\n# forged\r keeps 0.9 expensive LISTs in flight".to_owned();
    let md = render(&r, Format::Markdown, &plain());
    assert!(!md.contains("<br>"), "{md}");
    assert!(md.contains("| inv␤␤\\# forged� keeps 0.9 expensive LISTs in flight |"), "{md}");
    assert!(md.contains("inv␤␤\\# forged� keeps 0.9"), "{md}");
    let text = render(&r, Format::Text, &plain());
    assert!(text.contains("inv␤␤# forged� keeps 0.9"), "{text}");
    assert!(!text.lines().any(|l| l.trim_start().starts_with("# forged")), "{text}");
    let html = render(&r, Format::Html, &plain());
    assert!(html.contains("inv␤␤# forged� keeps 0.9"), "{html}");
}

/// Review 50 item 1: `…:pv-protection-controller` and `…:pvc-protection-controller` made two
/// identical rows `kube-contr…protection-controller` in a terminal table.
#[test]
fn two_clients_that_share_start_and_end_get_different_rows_in_text_tables() {
    let names = [
        "kube-controller-manager/system:serviceaccount:kube-system:pv-protection-controller",
        "kube-controller-manager/system:serviceaccount:kube-system:pvc-protection-controller",
    ];
    let mut r = sample_report();
    r.findings.truncate(1);
    r.findings[0].evidence.table = Some(findings::Table {
        columns: vec!["client".into(), "requests".into()],
        rows: names.iter().zip(["10,800", "10,801"]).map(|(c, n)| vec![(*c).into(), n.into()]).collect(),
    });
    for width in [40, 60, 80, 100] {
        let out = render(&r, Format::Text, &TextOptions { color: false, width });
        let cells: Vec<&str> = ["10,800", "10,801"]
            .iter()
            .filter_map(|n| out.lines().find(|l| l.ends_with(n)))
            .map(|l| l.split("  ").map(str::trim).find(|c| !c.is_empty()).unwrap_or_default())
            .collect();
        assert_eq!(cells.len(), 2, "width {width}:\n{out}");
        assert_ne!(cells[0], cells[1], "width {width}:\n{out}");
    }
}

/// Review 50 item 7: a log of watches only gave an overview with the top clients and then
/// nothing: no latency chart, no P99 table, and no word why.
#[test]
fn a_log_of_long_running_requests_only_says_why_it_has_no_latency_chart() {
    let mut r = sample_report();
    r.overview.latency_over_time = None;
    r.overview.p99_table = None;
    r.overview.notes.clear();
    for (format, out) in all_formats(&r) {
        assert!(out.contains("No latency chart and no P99 table"), "{format:?}:\n{out}");
        assert!(out.contains("Long-running requests (watch;"), "{format:?}:\n{out}");
    }
    // With the chart and the table, or without the checks that draw them, no such note.
    assert!(!render(&sample_report(), Format::Text, &plain()).contains("No latency chart"));
    r.checks_run.retain(|c| c != "AUD002" && c != "AUD003");
    assert!(!render(&r, Format::Json, &plain()).contains("No latency chart"));
}

/// Review 50 item 8: a line feed in a title showed as `␤` in the text, Markdown and HTML
/// reports but as a space in the JSON one.
#[test]
fn a_line_feed_in_a_title_reads_the_same_in_json_as_in_the_other_formats() {
    let mut r = sample_report();
    r.findings.truncate(1);
    r.findings[0].title = "line1\n1. CRITICAL AUD000 fake".to_owned();
    let json = render(&r, Format::Json, &plain());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(v["findings"][0]["title"], "line1␤1. CRITICAL AUD000 fake", "{json}");
}

/// Review s54 item 5: the tuning advice, a list of `- ` lines, was joined into one paragraph
/// in Markdown and HTML ("… watch cache. - Paginate LISTs …"), and its items' second lines
/// started under the dash in the terminal.
#[test]
fn an_advice_list_was_one_run_on_paragraph_in_markdown_and_html() {
    let mut r = sample_report();
    r.findings[0].remedies.push(findings::remedy(
        "Tune inventory-exporter: fewer, cheaper requests",
        findings::RemedyKind::Advice,
        findings::Safety::Safe,
        "- Set `resourceVersion=0` on LISTs (or use an informer, which does): without it every LIST is a quorum \
         read served from etcd instead of the API server's watch cache.\n\
         - Paginate LISTs with `limit`.",
    ));
    let md = render(&r, Format::Markdown, &plain());
    assert!(
        md.contains(
            "\n- Set `resourceVersion=0` on LISTs (or use an informer, which does): without it every LIST is a \
             quorum read served from etcd instead of the API server's watch cache.\n- Paginate LISTs with `limit`.\n"
        ),
        "{md}"
    );
    let html = render(&r, Format::Html, &plain());
    assert!(
        html.contains("<ul>\n<li>Set <code>resourceVersion=0</code> on LISTs")
            && html.contains("</li>\n<li>Paginate LISTs with <code>limit</code>.</li>\n</ul>"),
        "{html}"
    );
    let text = render(&r, Format::Text, &plain());
    let lines: Vec<&str> = text.lines().collect();
    let Some(at) = lines.iter().position(|l| l.trim_start().starts_with("- Set `resourceVersion=0`")) else {
        panic!("no list item in\n{text}")
    };
    let dash = lines[at].len() - lines[at].trim_start().len();
    assert!(lines[at + 1].starts_with(&" ".repeat(dash + 2)), "hangs under the text:\n{text}");
    assert!(!lines[at + 1].trim_start().starts_with('-'), "{text}");
    assert!(lines.iter().any(|l| l.trim_start() == "- Paginate LISTs with `limit`."), "{text}");
}

/// Reports review s55, item 6: past the first six inputs, one that gave no record at all (a
/// file that is not an audit log) was folded into "… and 47 more inputs", though a file
/// dropped whole is the input the reader most needs to see.
#[test]
fn an_input_that_gave_no_record_was_folded_into_the_rest() {
    let mut r = sample_report();
    r.inputs = (0..10)
        .map(|i| findings::InputSummary {
            kind: "audit".into(),
            source: format!("audit-{i}.log"),
            records: if i == 8 { 0 } else { 100 },
            skipped: 0,
            detected: Some(if i == 8 { "not an audit log".into() } else { "k8s-log".into() }),
        })
        .collect();
    let text = render(&r, Format::Text, &plain());
    assert!(text.contains("Input:   audit audit-8.log: 0 records [not an audit log]"), "{text}");
    assert!(text.contains("Input:   … and 3 more inputs with 300 records"), "{text}");
}

/// The lines of the text report's overview: from its `Overview` heading to the first
/// finding's details (or the end).
fn text_overview(text: &str) -> Vec<&str> {
    text.lines()
        .skip_while(|l| *l != "Overview")
        .take_while(|l| !l.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// A P99 table of `n` groups within their SLO, then one over it, as a model from elsewhere
/// than AUD003 (which puts the breaches first) may order it.
fn long_p99_table(n: usize) -> findings::Table {
    let mut t = common::p99_table();
    t.rows = (0..n)
        .map(|i| {
            let resource = format!("widgets{i}.example.com");
            ["GET", &resource, "resource", "1,000", "0.2 s", "1 s", "ok"].map(String::from).to_vec()
        })
        .collect();
    t.rows.push(
        ["LIST", "pods", "cluster", "2,893,004", "41.2 s", "30 s", "over SLO"].map(String::from).to_vec(),
    );
    t
}

/// The terminal report printed the findings but not the overview the HTML and Markdown reports
/// open with: the top clients, the latency per client and the P99 table against the SLOs. It
/// comes after the one-line findings and before their details, drawn as the findings' charts
/// and tables are, in colour only when asked; without an overview nothing is added.
#[test]
fn the_text_report_had_no_overview_of_top_clients_latency_and_p99() {
    let text = render(&sample_report(), Format::Text, &plain());
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s:?} in\n{text}"));
    assert!(at("Findings (details below):") < at("\nOverview\n"), "{text}");
    assert!(at("\nOverview\n") < at("\n1. CRITICAL"), "{text}");
    let overview = text_overview(&text);
    for part in [
        "  Top clients by request count",
        "  Average latency per client (5-minute bins)",
        "  P99 latency against the SLOs",
        "  ● list-storm-operator/v0.3.1  ● kube-controller-manager  ● kubelet  ● kyverno",
    ] {
        assert!(overview.contains(&part), "no {part:?} in {overview:#?}");
    }
    assert!(overview.iter().any(|l| l.starts_with("  kubelet ") && l.ends_with(" 4.1M")), "{overview:#?}");
    // Every row of the table, those over their SLO first, then the others in the table's order.
    let rows: Vec<&str> = overview
        .iter()
        .filter_map(|l| {
            l.split_whitespace().next().filter(|w| ["LIST", "CREATE", "PATCH", "GET"].contains(w))
        })
        .collect();
    assert_eq!(rows, ["LIST", "LIST", "CREATE", "PATCH", "GET"], "{overview:#?}");
    assert!(
        overview.iter().any(|l| l.trim_start().starts_with("Long-running requests (watch;")),
        "{overview:#?}"
    );
    assert!(!text.contains("more rows"), "five rows are all shown:\n{text}");
    // In colour only when asked.
    let colour = render(&sample_report(), Format::Text, &TextOptions { color: true, width: 100 });
    assert!(colour.contains("\x1b[1mOverview\x1b[0m"), "{colour}");
    assert!(colour.contains("\x1b[1mP99 latency against the SLOs\x1b[0m"), "{colour}");
    // Without an overview, nothing new: the report as it was, notes and all.
    let mut r = sample_report();
    r.overview = Default::default();
    let without = render(&r, Format::Text, &plain());
    assert!(text_overview(&without).is_empty(), "{without}");
    assert!(!without.contains("P99 latency against") && !without.contains("Top clients"), "{without}");
    assert!(
        without.contains("Findings (details below):\n") && without.contains("\n\n1. CRITICAL"),
        "{without}"
    );
}

/// A P99 table longer than a terminal's screen shows its first fifteen rows, those over their
/// SLO among them wherever the table put them, and counts the rest, saying which reports have
/// every row.
#[test]
fn the_text_p99_table_shows_fifteen_rows_the_breaches_first_and_counts_the_rest() {
    let mut r = sample_report();
    r.overview.p99_table = Some(long_p99_table(29));
    let text = render(&r, Format::Text, &plain());
    let overview = text_overview(&text);
    let rows: Vec<&&str> =
        overview.iter().filter(|l| l.ends_with(" ok") || l.ends_with(" over SLO")).collect();
    assert_eq!(rows.len(), 15, "{overview:#?}");
    assert!(
        rows[0].starts_with("  LIST") && rows[0].ends_with("over SLO"),
        "the breach first: {overview:#?}"
    );
    assert!(
        rows[1].contains("widgets0.example.com") && rows[14].contains("widgets13.example.com"),
        "{overview:#?}"
    );
    assert!(
        overview.contains(&"  … 15 more rows (-o html, -o markdown and -o json show them all)"),
        "{overview:#?}"
    );
    // The other formats have every row.
    let md = render(&r, Format::Markdown, &plain());
    assert!(md.contains("widgets28.example.com"), "{md}");
}

/// Every line of the overview, its charts, the P99 table and the line counting the rows left
/// out, fits a narrow terminal (60 columns, as `text_fits_the_width_except_copyable_blocks`:
/// the seven columns of the P99 table need 56 at their narrowest).
#[test]
fn every_line_of_the_text_overview_fits_a_narrow_terminal() {
    let mut r = sample_report();
    r.overview.p99_table = Some(long_p99_table(29));
    for width in [60, 72, 80] {
        let text = render(&r, Format::Text, &TextOptions { color: false, width });
        let overview = text_overview(&text);
        assert!(overview.len() > 30, "width {width}:\n{text}");
        assert!(overview.iter().any(|l| l.contains("more rows")), "width {width}:\n{text}");
        for line in overview {
            let w = charts::display_width(line);
            assert!(w <= width, "line wider than {width}: {line:?} ({w})");
        }
    }
}

/// The lines of each YAML or command block of a text report, as the reader copies them: from
/// the line after its start line to the one before its end line.
fn copied_blocks(text: &str, start: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut block {
            None if line.starts_with(start) => block = Some(Vec::new()),
            Some(lines) if line.starts_with("# --- end of ") => {
                blocks.push(lines.join("\n"));
                block = None;
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    assert!(block.is_none(), "a block without its end line:\n{text}");
    blocks
}

/// Reviewer item 3: `diagnose -o text` printed YAML remedies indented by 8 columns, the `---`
/// between a PriorityLevelConfiguration and its FlowSchema too; pasted into `kubectl apply -f -`
/// it failed (`yaml: line 27: could not find expected ':'`). Copied as displayed, between its
/// start and end lines (or with them: they are comments), it is the two documents; in colour
/// no escape code is inside it.
#[test]
fn text_yaml_remedy_indented_so_its_document_separator_did_not_split_the_objects() {
    let mut r = sample_report();
    let two = "# Throttle ci/runner (generated by apiserver-doctor)\napiVersion: flowcontrol.apiserver.k8s.io/v1\n\
               kind: PriorityLevelConfiguration\nmetadata:\n  name: throttle-sa-ci.runner\nspec:\n  type: Limited\n  \
               limited:\n    nominalConcurrencyShares: 5\n---\napiVersion: flowcontrol.apiserver.k8s.io/v1\n\
               kind: FlowSchema\nmetadata:\n  name: throttle-sa-ci.runner\nspec:\n  matchingPrecedence: 90\n";
    r.findings[0].remedies.push(findings::Remedy {
        title: "Throttle ci/runner".into(),
        kind: findings::RemedyKind::Yaml,
        body: two.into(),
        safety: findings::Safety::ReviewFirst,
    });
    r.findings[0].remedies.push(findings::Remedy {
        title: "Patch it".into(),
        kind: findings::RemedyKind::Command,
        body: "kubectl get x \\\n  | xargs -r kubectl delete x".into(),
        safety: findings::Safety::ReviewFirst,
    });
    for color in [false, true] {
        let text = render(&r, Format::Text, &TextOptions { color, width: 100 });
        let start = if color {
            "\x1b[2m# --- YAML: save as throttle-sa-ci.runner.yaml"
        } else {
            "# --- YAML: save as throttle-sa-ci.runner.yaml"
        };
        let end_marker = if color { "\x1b[2m# --- end of " } else { "# --- end of " };
        let blocks: Vec<String> = {
            let mut blocks = Vec::new();
            let mut block: Option<Vec<&str>> = None;
            for line in text.lines() {
                match &mut block {
                    None if line.starts_with(start) => block = Some(Vec::new()),
                    Some(lines) if line.starts_with(end_marker) => {
                        blocks.push(lines.join("\n") + "\n");
                        block = None;
                    }
                    Some(lines) => lines.push(line),
                    None => {}
                }
            }
            blocks
        };
        assert_eq!(blocks.len(), 1, "{text}");
        let yaml = &blocks[0];
        assert_eq!(yaml, two, "the block is the remedy's YAML byte for byte");
        assert!(!yaml.contains('\x1b'), "{yaml:?}");
        let documents: Vec<yaml_serde::Value> = yaml_serde::Deserializer::from_str(yaml)
            .map(|d| match yaml_serde::Value::deserialize(d) {
                Ok(v) => v,
                Err(e) => panic!("the copied YAML does not parse: {e}\n{yaml}"),
            })
            .collect();
        assert_eq!(documents.len(), 2, "{yaml}");
        assert_eq!(documents[0]["kind"].as_str(), Some("PriorityLevelConfiguration"));
        assert_eq!(documents[1]["kind"].as_str(), Some("FlowSchema"));
    }
    // With its start and end lines too (they are comments), it still parses into the two.
    let plain_text = render(&r, Format::Text, &plain());
    let with_markers: String = plain_text
        .lines()
        .skip_while(|l| !l.starts_with("# --- YAML: save as throttle-sa-ci.runner.yaml"))
        .take_while(|l| !l.starts_with("# --- end of throttle"))
        .map(|l| format!("{l}\n"))
        .collect();
    let n = yaml_serde::Deserializer::from_str(&with_markers).count();
    assert_eq!(n, 2, "{with_markers}");
    // Commands too: flush left, their continuation lines as they are.
    let commands = copied_blocks(&plain_text, "# --- commands");
    assert!(commands.contains(&"kubectl get x \\\n  | xargs -r kubectl delete x".to_owned()), "{commands:?}");
}
