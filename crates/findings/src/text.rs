//! Text from the evidence made safe to show: audit logs carry attacker-controlled strings
//! (user agents, user names, namespaces, webhook names), and every report shows them. One
//! set of rules for every renderer, so a name reads the same in the terminal, HTML, Markdown
//! and JSON.
//!
//! What is replaced (by U+FFFD, `�`, so the reader sees that something was there):
//!
//! - control characters (Unicode Cc: ESC, BEL, CR, NEL U+0085, …), which move a terminal's
//!   cursor, change its colours or write its clipboard;
//! - the bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E,
//!   U+2066–U+2069), which reverse how the rest of a line reads (a client name holding
//!   U+202E turns `63% (57.9 per second)` around);
//! - the line and paragraph separators U+2028 and U+2029, which many renderers and YAML
//!   parsers take as line breaks while a reader sees nothing;
//! - the invisible format characters ([`is_invisible`]): zero-width space, non-joiner and
//!   joiner (U+200B–U+200D), word joiner and the invisible operators (U+2060–U+2064), the
//!   byte-order mark U+FEFF, the soft hyphen U+00AD, U+034F, U+180E and the tag characters
//!   U+E0000–U+E007F. Two clients whose names differ only by one of them looked identical in
//!   every table and chart, and tags spell hidden ASCII. The joiners also glue emoji
//!   sequences (👨‍👩‍👧) and some scripts' letters, which then show a `�` between their parts:
//!   names in audit logs are ASCII in practice, and a visible mark is the lesser harm than two
//!   names that cannot be told apart.
//!
//! Line feeds and tabs are the only whitespace controls kept: in one-line fields they become
//! spaces ([`one_line`]), in multi-line bodies they stay ([`multi_line`]).

/// True for the bidirectional formatting characters: ALM (U+061C), LRM and RLM (U+200E,
/// U+200F), the embeddings and overrides U+202A–U+202E and the isolates U+2066–U+2069.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True for the format characters that take no space and show nothing (see the module docs):
/// U+00AD, U+034F, U+180E, U+200B–U+200D, U+2060–U+2064, U+FEFF and the tags U+E0000–U+E007F.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// True for a character no report shows as it is (see the module docs): a control character
/// other than line feed and tab, a bidirectional formatting character, U+2028/U+2029, or an
/// invisible format character ([`is_invisible`]).
pub fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || is_bidi_control(c)
        || matches!(c, '\u{2028}' | '\u{2029}')
        || is_invisible(c)
}

/// The character a hidden one is shown as.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Text for a one-line field (a title, a subject, a label, a table cell): every hidden
/// character ([`is_hidden`]) becomes U+FFFD, line feeds and tabs become spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\t' => ' ',
            c if is_hidden(c) => REPLACEMENT,
            c => c,
        })
        .collect()
}

/// Text for a multi-line body (a summary, a query, a remedy's YAML or commands): every hidden
/// character ([`is_hidden`]) becomes U+FFFD; line feeds and tabs stay.
pub fn multi_line(s: &str) -> String {
    s.chars().map(|c| if is_hidden(c) { REPLACEMENT } else { c }).collect()
}

/// The character a line feed inside a one-paragraph field is shown as: U+2424 SYMBOL FOR
/// NEWLINE, `␤`.
pub const LINE_FEED: char = '\u{2424}';

/// Text for a finding's summary in a report people read: one paragraph, which no check breaks
/// into lines, so a line feed in it comes from the log (a user name, a user agent) and becomes
/// `␤` instead of starting a line of the report that the log's author wrote (a forged
/// `1. CRITICAL …`); every other hidden character ([`is_hidden`]) becomes U+FFFD and a tab a
/// space. The report's own lines (its wrapping, indentation and headings) are the renderer's.
pub fn one_paragraph(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' => LINE_FEED,
            '\t' => ' ',
            c if is_hidden(c) => REPLACEMENT,
            c => c,
        })
        .collect()
}

/// A value from the log (a user agent, a user or webhook name) as summary text: each of its
/// backticks written `` \` ``. A summary marks code with backticks (`docs/report-schema.md`),
/// so a name holding them (``fence```user``) was cut into code spans by the HTML and Markdown
/// reports and shown without its backticks; escaped, they stay the name's own. Every renderer
/// reads a summary through [`unescape_backticks`] or `report::format::code_spans`.
pub fn literal_backticks(value: &str) -> String {
    value.replace('`', "\\`")
}

/// A summary as the reader sees it: each `` \` `` of [`literal_backticks`] back to `` ` ``.
pub fn unescape_backticks(text: &str) -> String {
    text.replace("\\`", "`")
}

/// What a command that lists every object of a type through the API server starts with: the
/// load it costs, and the way around it. Every such command (count, by namespace, by writer)
/// of MET002, ETC008, AUD008 and `quota` carries it and is marked review first (docs review
/// 51, item 1.2: AUD008's and `quota`'s count was marked safe where MET002's was not).
pub const FULL_LIST_NOTE: &str = "# This lists every one of them through the API server (in pages of 500), on a server that may\n\
# already struggle: run it once, off-peak. Where etcd is reachable, `apiserver-doctor etcd --endpoints URL`\n\
# counts them per namespace from the keys alone, without the API server.\n";

/// The commands that delete the Jobs that completed successfully, in `namespace` (`None`: in
/// every namespace), and only those: `status.completionTime` is set when a Job succeeds and
/// never otherwise (Kubernetes API reference, JobStatus). Review s44: the field selector
/// `status.successful=1` it replaced counts succeeded pods, so it deleted running Jobs that
/// need several completions and missed finished ones that had more than one.
pub fn delete_completed_jobs(namespace: Option<&str>) -> String {
    let listed = |scope: &str, what: &str| {
        format!(
            "kubectl get jobs.batch {scope} -o go-template='{{{{range .items}}}}{{{{if .status.completionTime}}}}{what}{{{{\"\\n\"}}}}{{{{end}}}}{{{{end}}}}'"
        )
    };
    let note = "# Jobs that completed (status.completionTime is set only when a Job succeeds; running and failed ones stay):";
    match namespace {
        Some(ns) => {
            let scope = format!("-n {}", shell_quote(ns));
            format!(
                "{note}\n{} \\\n  | xargs -r -n 100 kubectl delete jobs.batch {scope}",
                listed(&scope, "{{.metadata.name}}")
            )
        }
        None => format!(
            "{note}\n{} \\\n  | xargs -r -n 2 sh -c 'kubectl delete jobs.batch -n \"$0\" \"$1\"'",
            listed("-A", "{{.metadata.namespace}} {{.metadata.name}}")
        ),
    }
}

/// The go-template of [`delete_finished_jobs`]: one line per Job that completed
/// (`status.completionTime` set) and that no CronJob owns, `NAME` or (`all`) `NAMESPACE NAME`
/// outside kube-system. A CronJob's finished Jobs are pruned by its own
/// `successfulJobsHistoryLimit`, and kube-system's belong to the platform: both are left out
/// unless the reader edits the test (the comment before the command says how).
fn finished_jobs_template(all: bool) -> String {
    let (test, line) = if all {
        (
            r#"{{if and .status.completionTime (ne .metadata.namespace "kube-system")}}"#,
            r#"{{.metadata.namespace}} {{.metadata.name}}{{"\n"}}"#,
        )
    } else {
        (r#"{{if .status.completionTime}}"#, r#"{{.metadata.name}}{{"\n"}}"#)
    };
    format!(
        r#"{{{{range .items}}}}{test}{{{{$cron := false}}}}{{{{range .metadata.ownerReferences}}}}{{{{if eq .kind "CronJob"}}}}{{{{$cron = true}}}}{{{{end}}}}{{{{end}}}}{{{{if not $cron}}}}{line}{{{{end}}}}{{{{end}}}}{{{{end}}}}"#
    )
}

/// The file [`delete_finished_jobs`] lists the Jobs in, read before anything is deleted.
pub const FINISHED_JOBS_FILE: &str = "finished-jobs.txt";

/// The commands that delete the Jobs that completed successfully in `namespace` (`None`: in
/// every namespace but kube-system), in three steps a reader can stop between: list them into
/// [`FINISHED_JOBS_FILE`] and count them, a server-side dry run of the delete, the delete.
/// Jobs a CronJob owns are left out (its history limit prunes them), and the comment says how
/// to take them in and to take out the Jobs a GitOps tool applies, which it would recreate
/// and run again. Reviewer item 2: MET002's `-A` pipeline deleted every succeeded Job in the
/// cluster, kube-system's and Argo CD's included, unseen and with no dry run.
/// [`delete_completed_jobs`] is the one-pipeline form `remedy::cleanup_remedies` still writes.
pub fn delete_finished_jobs(namespace: Option<&str>) -> String {
    let file = FINISHED_JOBS_FILE;
    // The delete, with `{DRY}` where the dry run's flag goes: by name in one namespace, by
    // namespace and name across them.
    let (scope, place, template, delete) = match namespace {
        Some(ns) => {
            let scope = format!("-n {}", shell_quote(ns));
            let delete = format!("xargs -r -n 100 kubectl delete jobs.batch {scope}{{DRY}} < {file}");
            (scope, format!("in namespace {}", one_line(ns)), finished_jobs_template(false), delete)
        }
        None => (
            "-A".to_owned(),
            "in every namespace but kube-system".to_owned(),
            finished_jobs_template(true),
            format!(
                "while read -r ns name; do kubectl delete jobs.batch -n \"$ns\" \"$name\"{{DRY}}; done < {file}"
            ),
        ),
    };
    let delete = |dry: &str| delete.replace("{DRY}", dry);
    let dry_run = server_dry_run_then_apply("the first command below, the delete with `--dry-run=server`");
    format!(
        "# Jobs that completed (status.completionTime is set only when a Job succeeds; running and failed ones stay)\n\
         # {place}, except those a CronJob owns: its successfulJobsHistoryLimit prunes them\n\
         # (to take them in, write {{{{if true}}}} for {{{{if not $cron}}}}).\n\
         # 1. List them into {file} and read it: a Job a GitOps tool (Argo CD, Flux) applies comes\n\
         #    back and runs again once deleted (a migration, a bootstrap): take its line out of the file.\n\
         kubectl get jobs.batch {scope} -o go-template='{template}' > {file}\n\
         wc -l < {file}; head -n 20 {file}\n\
         # 2. {dry_run}\n\
         {}\n\
         {}",
        delete(" --dry-run=server"),
        delete("")
    )
}

/// The step before a change every remedy states: `how` is the dry run, e.g.
/// `` `kubectl apply --dry-run=server -f FILE` ``. `throttle`, `quota` and `diagnose` say it in
/// these words (reviewer item 8: `diagnose` never said to dry-run first).
pub fn server_dry_run_then_apply(how: &str) -> String {
    format!("Review first (a server-side dry run: {how}), then apply.")
}

/// [`server_dry_run_then_apply`] for a manifest saved as `file`.
pub fn server_dry_run_first(file: &str) -> String {
    server_dry_run_then_apply(&format!("`kubectl apply --dry-run=server -f {file}`"))
}

/// The file name a YAML remedy is saved as: its first object's `metadata.name` and `.yaml`
/// (`throttle-sa-ci.runner.yaml`), `remedy.yaml` when that name is not a plain DNS name
/// (a placeholder, a quoted oddity): the text report's start line and the dry run name it.
pub fn yaml_file_name(body: &str) -> String {
    let mut in_metadata = false;
    for line in body.lines() {
        if line == "metadata:" {
            in_metadata = true;
            continue;
        }
        if in_metadata {
            if let Some(name) = line.strip_prefix("  name:") {
                let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
                let plain = !name.is_empty()
                    && name.len() <= 253
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
                return if plain { format!("{name}.yaml") } else { "remedy.yaml".to_owned() };
            }
            if !line.starts_with(' ') {
                in_metadata = false;
            }
        }
    }
    "remedy.yaml".to_owned()
}

/// `text` as one shell word: as it is when it holds only characters no shell treats specially,
/// else in single quotes (a `'` inside written `'\''`). The value a command receives is the
/// text exactly, whatever it holds.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c)) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as a PromQL (or jq) double-quoted string literal: `\` and `"` escaped, line breaks
/// and other control characters written as escapes, so a label value cannot end the string.
/// (KQL literals are `checks::kql::string_literal`'s: Kusto documents no `\u` escape.)
pub fn double_quoted_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str(r#"\""#),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() => out.push_str(&format!(r"\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a file that is neither a regular file nor a directory is, in words (a directory walk
/// names what it does not read: the audit, metrics and manifests readers).
pub fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// Why a file could not be read (or a connection failed), in words to put after its name, without the `(os error N)`
/// the standard library appends: `does not exist`, `is a directory, not a PEM file` (`expected`
/// says what the file should have been: `a PEM file`).
pub fn io_error_words(e: &std::io::Error, expected: &str) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "does not exist".to_owned(),
        ErrorKind::PermissionDenied => "permission denied: this user may not read it".to_owned(),
        ErrorKind::IsADirectory => format!("is a directory, not {expected}"),
        ErrorKind::NotADirectory => "a part of its path is a file, not a directory".to_owned(),
        // A connection's errors, as `probe` and `etcd` say them.
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::TimedOut => "timed out".to_owned(),
        ErrorKind::ConnectionReset => "connection reset by peer".to_owned(),
        ErrorKind::ConnectionAborted => "the connection was aborted".to_owned(),
        ErrorKind::BrokenPipe => "the connection was closed (broken pipe)".to_owned(),
        ErrorKind::HostUnreachable => "host is unreachable".to_owned(),
        ErrorKind::NetworkUnreachable => "network is unreachable".to_owned(),
        _ => {
            let text = e.to_string();
            let text = match e.raw_os_error() {
                Some(code) => {
                    text.strip_suffix(&format!(" (os error {code})")).map_or(text.clone(), str::to_owned)
                }
                None => text,
            };
            // The system's text starts a sentence (`Input/output error`); here it follows a name.
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => format!("cannot be read ({:?})", e.kind()),
            }
        }
    }
}

/// Text decoded from UTF-16, and how it was told to be UTF-16 ([`decode_utf16`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf16Text {
    /// The text, each code unit that is no character (an unpaired surrogate) replaced by U+FFFD.
    pub text: String,
    /// Little-endian (what Windows writes), else big-endian.
    pub little_endian: bool,
    /// Whether the text started with a byte order mark (left out of [`Utf16Text::text`]).
    pub byte_order_mark: bool,
    /// How many code units were replaced by U+FFFD.
    pub replaced: usize,
    /// Whether the bytes ended in half a code unit (left out).
    pub odd_byte: bool,
}

impl Utf16Text {
    /// What the text was, in words for a note: `UTF-16LE text with a byte order mark`, or
    /// `UTF-16LE text without a byte order mark (told from its zero bytes)`.
    pub fn describe(&self) -> String {
        format!(
            "UTF-16{} text {}",
            if self.little_endian { "LE" } else { "BE" },
            if self.byte_order_mark {
                "with a byte order mark"
            } else {
                "without a byte order mark (told from its zero bytes)"
            }
        )
    }
}

/// How many bytes at the start of a text without a byte order mark tell whether it is UTF-16.
const UTF16_SNIFF_BYTES: usize = 512;

/// `text` as UTF-16, little- or big-endian, after its byte order mark when `bom`: the bytes
/// [`decode_utf16`] reads back (for tests and fixtures of Windows-written files).
pub fn encode_utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
    let mark: &[u8] = match (bom, little) {
        (false, _) => &[],
        (true, true) => &[0xff, 0xfe],
        (true, false) => &[0xfe, 0xff],
    };
    let units = text.encode_utf16().flat_map(|u| if little { u.to_le_bytes() } else { u.to_be_bytes() });
    mark.iter().copied().chain(units).collect()
}

/// The bytes decoded from UTF-16, or `None` when they are not UTF-16. One rule for every
/// reader of text (metrics scrapes, manifests), so that a file one reads the other reads too.
///
/// Windows PowerShell 5 writes `>` as UTF-16LE with a byte order mark; other Windows tools
/// (`Out-File -Encoding unicode` piped through some editors, .NET's `UnicodeEncoding(false,
/// false)`) write it without one. Without the mark, the pattern of zero bytes tells: the
/// scrapes and manifests read here are mostly ASCII, and each ASCII character in UTF-16 is one
/// zero byte and one that is not, the zero second in little-endian and first in big-endian.
/// UTF-8 text holds no zero byte at all. So the first [`UTF16_SNIFF_BYTES`] bytes are UTF-16
/// when at least three quarters of their byte pairs are a zero and a non-zero byte in the same
/// order (characters outside U+0001–U+00FF make the other quarter) and no pair is two zeros: a
/// NUL character is in no text, and runs of zeros are binary data (a tar header, UTF-32).
pub fn decode_utf16(bytes: &[u8]) -> Option<Utf16Text> {
    let (little_endian, body, byte_order_mark) = match bytes {
        [0xff, 0xfe, rest @ ..] => (true, rest, true),
        [0xfe, 0xff, rest @ ..] => (false, rest, true),
        _ => (utf16_without_bom(bytes)?, bytes, false),
    };
    let units = body.chunks_exact(2).map(|p| {
        let pair = [p[0], p[1]];
        if little_endian { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
    });
    let mut replaced = 0usize;
    let text: String = char::decode_utf16(units)
        .map(|c| {
            c.unwrap_or_else(|_| {
                replaced += 1;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    Some(Utf16Text { text, little_endian, byte_order_mark, replaced, odd_byte: body.len() % 2 == 1 })
}

/// Whether `bytes`, which start with no byte order mark, are UTF-16 (see [`decode_utf16`]):
/// `Some(true)` for little-endian, `Some(false)` for big-endian.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let head = &bytes[..bytes.len().min(UTF16_SNIFF_BYTES) & !1];
    let pairs = head.len() / 2;
    // One character tells nothing.
    if pairs < 2 {
        return None;
    }
    let (mut little, mut big) = (0usize, 0usize);
    for p in head.chunks_exact(2) {
        match (p[0], p[1]) {
            (0, 0) => return None,
            (_, 0) => little += 1,
            (0, _) => big += 1,
            _ => {}
        }
    }
    if little * 4 >= pairs * 3 {
        Some(true)
    } else if big * 4 >= pairs * 3 {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `--cacert` that was a directory said `Is a directory (os error 21)`: the errors of
    /// reading a file are said in words, never with the OS's error number.
    #[test]
    fn io_errors_of_reading_a_file_are_said_in_words_without_the_os_error_number() {
        let words = |code| io_error_words(&std::io::Error::from_raw_os_error(code), "a PEM file");
        if cfg!(target_os = "linux") {
            assert_eq!(words(2), "does not exist");
            assert_eq!(words(13), "permission denied: this user may not read it");
            assert_eq!(words(21), "is a directory, not a PEM file");
            assert_eq!(words(20), "a part of its path is a file, not a directory");
            assert_eq!(words(5), "input/output error");
        }
        for code in 1..=40 {
            assert!(!words(code).contains("os error"), "{code}: {}", words(code));
        }
        let made = std::io::Error::other("Something odd");
        assert_eq!(io_error_words(&made, "a PEM file"), "something odd");
    }

    #[test]
    fn bidi_controls_and_unicode_line_breaks_are_replaced_and_newlines_kept_only_in_bodies() {
        let s = "a\u{202E}b\u{2066}c\u{2069}d\u{200F}e\u{061C}f\u{2028}g\u{2029}h\u{85}i\rj\x1b[31mk\n\tl";
        assert_eq!(one_line(s), "a�b�c�d�e�f�g�h�i�j�[31mk  l");
        assert_eq!(multi_line(s), "a�b�c�d�e�f�g�h�i�j�[31mk\n\tl");
        // Ordinary text, CJK and emoji are untouched.
        assert_eq!(one_line("kube-proxy 日本語 🔴"), "kube-proxy 日本語 🔴");
    }

    /// Review 27 (html, item 15): the client `rlo…exe.txt\u{200b}\u{200d}zw` and a BOM in a
    /// user agent reached every format, so two names differing only by them looked the same.
    #[test]
    fn zero_width_characters_and_the_byte_order_mark_are_shown_as_replacement_characters() {
        assert_eq!(one_line("exe.txt\u{200b}\u{200d}zw"), "exe.txt��zw");
        assert_eq!(one_paragraph("bidi\u{feff}bom/v1"), "bidi�bom/v1");
        assert_eq!(multi_line("a\u{200c}b\u{2060}c\u{ad}d\u{e0041}e"), "a�b�c�d�e");
        // Visible text around them is untouched, variation selectors included.
        assert_eq!(one_line("ok ✔\u{fe0f} 日本"), "ok ✔\u{fe0f} 日本");
    }

    #[test]
    fn a_log_value_s_backticks_survive_the_escape_for_summaries() {
        let name = "fence```user\\`x";
        assert_eq!(literal_backticks(name), "fence\\`\\`\\`user\\\\`x");
        assert_eq!(unescape_backticks(&literal_backticks(name)), name);
    }

    #[test]
    fn quoted_names_cannot_end_their_shell_word_or_string_literal() {
        assert_eq!(shell_quote("validate.kyverno.svc-fail"), "validate.kyverno.svc-fail");
        assert_eq!(shell_quote("a'; touch /tmp/x; '"), r"'a'\''; touch /tmp/x; '\'''");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(double_quoted_literal(r#"w") or vector(1) #\"#), r#""w\") or vector(1) #\\""#);
        assert_eq!(double_quoted_literal("a\nb"), r#""a\nb""#);
    }

    /// UTF-16 with a byte order mark, and without one when its zero bytes say so; UTF-8,
    /// binary data and UTF-32 are not taken for it.
    #[test]
    fn utf16_is_told_by_its_byte_order_mark_or_its_zero_bytes() {
        let text = "apiVersion: v1\nkind: Namespace # é 日本\n";
        let le = encode_utf16(text, true, false);
        for (bytes, little, bom) in [
            (encode_utf16(text, true, true), true, true),
            (encode_utf16(text, false, true), false, true),
            (le.clone(), true, false),
            (encode_utf16(text, false, false), false, false),
        ] {
            let d = decode_utf16(&bytes).expect("UTF-16");
            assert_eq!((d.text.as_str(), d.little_endian, d.byte_order_mark), (text, little, bom));
            assert_eq!((d.replaced, d.odd_byte), (0, false));
        }
        assert_eq!(
            decode_utf16(&le).map(|d| d.describe()).as_deref(),
            Some("UTF-16LE text without a byte order mark (told from its zero bytes)")
        );
        // A lone surrogate is replaced, a last odd byte left out.
        let d = decode_utf16(&[0xff, 0xfe, b'a', 0, 0x00, 0xd8, b'b', 0, b'c']).expect("UTF-16");
        assert_eq!((d.text.as_str(), d.replaced, d.odd_byte), ("a\u{fffd}b", 1, true));
        let utf32: Vec<u8> = "abcd".chars().flat_map(|c| u32::from(c).to_le_bytes()).collect();
        let mut tar = vec![0u8; 512];
        tar[..6].copy_from_slice(b"a.prom");
        for not in [text.as_bytes(), &utf32[..], &tar[..], &b"a\0"[..], &[][..]] {
            assert_eq!(decode_utf16(not), None, "{not:?}");
        }
    }
}
