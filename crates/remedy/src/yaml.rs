//! A small YAML writer for the remedies' objects, in the block style `kubectl get -o yaml`
//! prints, that never lets a string from input be read as anything but that string.
//!
//! A general serializer quotes the scalars YAML 1.2 would misread, but kubectl, kustomize and
//! `sigs.k8s.io/yaml` read YAML 1.1 (go-yaml v2), where `yes`, `on` and `NO` are booleans,
//! `12:30` is a number, `2001-12-14` a date and `<<` a merge key. So a string is written plain
//! only when it is plainly a string in every YAML version (a letter, then letters, digits and
//! `-._/`, and not one of the words YAML 1.1 reads as a boolean or null); anything else is
//! double-quoted, with every character that could end the line or hide in it escaped.

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A mapping, in the order given.
    Map(Vec<(String, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A string: plain when that is safe in YAML 1.1 and 1.2, else double-quoted.
    Str(String),
    /// A non-negative integer.
    Int(u64),
    /// A non-negative integer written as a string, single-quoted as kubectl writes a quantity
    /// (`'100'`).
    IntString(u64),
    /// A boolean.
    Bool(bool),
}

impl Node {
    /// A mapping from `(key, value)` pairs.
    pub(crate) fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Node)>) -> Node {
        Node::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string.
    pub(crate) fn str(text: impl Into<String>) -> Node {
        Node::Str(text.into())
    }

    /// A sequence of strings.
    pub(crate) fn strs<'a>(items: impl IntoIterator<Item = &'a String>) -> Node {
        Node::Seq(items.into_iter().map(|s| Node::str(s.as_str())).collect())
    }
}

/// The YAML 1.1 words for booleans and null (compared ignoring case, which quotes a few more
/// words than needed, harmlessly).
const YAML_1_1_WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// `text` can be written as a plain scalar and still read back as this string in YAML 1.1 and
/// 1.2: it starts with an ASCII letter, holds only ASCII letters, digits and `-._/`, and is not
/// a boolean or null word. (Numbers, dates and sexagesimals start with a digit, a sign or a dot;
/// indicators such as `&*!|>'"%@#` and `: ` are not allowed at all.)
fn plain_is_safe(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
        && !YAML_1_1_WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
}

/// `text` as a double-quoted YAML scalar: `"` and `\` escaped, and every control, format,
/// line-break and separator character (U+0085, U+2028 and U+2029 included: YAML 1.1 folds them
/// like a line break inside quotes) and every non-printable character written as `\uXXXX` or
/// `\UXXXXXXXX`, so the value reads back exactly and stays on one line.
pub(crate) fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if crate::is_unsafe_in_line(c) || matches!(u32::from(c), 0xFFFE | 0xFFFF) => {
                let code = u32::from(c);
                if code <= 0xFFFF {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(text: &str) -> String {
    if plain_is_safe(text) { text.to_owned() } else { double_quoted(text) }
}

/// YAML limits an implicit key to 1024 characters; a longer one is written as an explicit
/// `? key` entry.
const IMPLICIT_KEY_MAX: usize = 1000;

fn inline(node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(scalar(s)),
        Node::Int(n) => Some(n.to_string()),
        Node::IntString(n) => Some(format!("'{n}'")),
        Node::Bool(b) => Some(b.to_string()),
        Node::Map(m) if m.is_empty() => Some("{}".to_owned()),
        Node::Seq(s) if s.is_empty() => Some("[]".to_owned()),
        Node::Map(_) | Node::Seq(_) => None,
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes the entries of a mapping at `depth`; the first one on the current line when
/// `first_inline` (after a sequence's `- `).
fn write_map(out: &mut String, entries: &[(String, Node)], depth: usize, first_inline: bool) {
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, depth);
        }
        let key = scalar(key);
        if key.chars().count() > IMPLICIT_KEY_MAX {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            indent(out, depth);
        } else {
            out.push_str(&key);
        }
        out.push(':');
        match (inline(value), value) {
            (Some(text), _) => {
                out.push(' ');
                out.push_str(&text);
                out.push('\n');
            }
            (None, Node::Map(m)) => {
                out.push('\n');
                write_map(out, m, depth + 2, false);
            }
            (None, Node::Seq(s)) => {
                out.push('\n');
                write_seq(out, s, depth);
            }
            (None, _) => out.push('\n'),
        }
    }
}

/// Writes the items of a sequence at `depth`, each after `- `.
fn write_seq(out: &mut String, items: &[Node], depth: usize) {
    for item in items {
        indent(out, depth);
        match (inline(item), item) {
            (Some(text), _) => {
                out.push_str("- ");
                out.push_str(&text);
                out.push('\n');
            }
            (None, Node::Map(m)) => {
                out.push_str("- ");
                write_map(out, m, depth + 2, true);
            }
            (None, Node::Seq(s)) => {
                out.push_str("-\n");
                write_seq(out, s, depth + 2);
            }
            (None, _) => out.push_str("-\n"),
        }
    }
}

/// `node` as one YAML document (no `---` marker), ending in a newline.
pub(crate) fn to_string(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(m) if !m.is_empty() => write_map(&mut out, m, 0, false),
        Node::Seq(s) if !s.is_empty() => write_seq(&mut out, s, 0),
        other => {
            out.push_str(&inline(other).unwrap_or_default());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_when_every_yaml_version_reads_a_string() {
        for plain in
            ["list", "pods/log", "flowcontrol.apiserver.k8s.io/v1", "kube-system", "count/jobs.batch"]
        {
            assert_eq!(scalar(plain), plain);
        }
        for quoted in
            ["", "*", "yes", "No", "ON", "y", "null", "12:30", "2001-12-14", "<<", "=", "~", "1e3", "-"]
        {
            assert_eq!(scalar(quoted), format!("\"{quoted}\""));
        }
        assert_eq!(double_quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            double_quoted("a\nb\u{85}c\u{2028}d\u{2029}e\u{202e}f\u{e0001}"),
            r#""a\nb\u0085c\u2028d\u2029e\u202Ef\U000E0001""#
        );
    }

    #[test]
    fn block_style_as_kubectl_prints_it() {
        let node = Node::map([
            ("kind", Node::str("FlowSchema")),
            ("count", Node::Int(3)),
            ("m", Node::map([("a", Node::Bool(true)), ("e", Node::Seq(vec![]))])),
            (
                "rules",
                Node::Seq(vec![Node::map([
                    ("subjects", Node::Seq(vec![Node::map([("kind", Node::str("User"))])])),
                    ("verbs", Node::Seq(vec![Node::str("list"), Node::str("")])),
                ])]),
            ),
        ]);
        assert_eq!(
            to_string(&node),
            "kind: FlowSchema\ncount: 3\nm:\n  a: true\n  e: []\nrules:\n- subjects:\n  - kind: User\n  verbs:\n  - list\n  - \"\"\n"
        );
    }
}
