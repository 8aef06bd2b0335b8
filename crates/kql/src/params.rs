//! Workbook parameter substitution.
//!
//! Azure workbooks and Sentinel workbook templates hold queries with parameters such as
//! `{clustername}` or `{timeframe}`, replaced by text before the query runs. The published
//! queries keep them, so they must be substituted the same way before parsing.

use std::collections::BTreeMap;

/// Replaces every workbook parameter `{name}` or `{name:format}` whose key (`name` or
/// `name:format`, exactly as written) is in `values` with its value, textually, as a
/// workbook does (inside strings too). Parameters without a value are left as they are, so
/// the parser reports them by name.
pub fn substitute_parameters(query: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match parameter_key(after) {
            Some(key) if values.contains_key(key) => {
                out.push_str(&values[key]);
                rest = &after[key.len() + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The parameter key at the start of `text` (just after `{`) if a `}` closes it:
/// an identifier, optionally followed by `:` and a format name.
fn parameter_key(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut i = 1;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    if bytes.get(i) == Some(&b':') {
        i += 1;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
            i += 1;
        }
    }
    (bytes.get(i) == Some(&b'}')).then(|| &text[..i])
}

/// The parameters of the Microsoft Sentinel "AKS Security" workbook (`AksSecurity.json`)
/// with the values a workbook produces for one selected cluster over the last day:
/// `{clustername}` is a quoted, comma-separated list of lower-case resource IDs (the
/// workbook's resource picker quotes with `'`), `{timeframe}` a time filter continuing
/// `where TimeGenerated …`, `{timeframe:grain}` a bin size.
pub fn sentinel_workbook_defaults() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "clustername".to_string(),
            "'/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks'"
                .to_string(),
        ),
        ("timeframe".to_string(), "> ago(1d)".to_string()),
        ("timeframe:grain".to_string(), "1h".to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_known_parameters_only() {
        let values =
            BTreeMap::from([("a".to_string(), "1".to_string()), ("t:grain".to_string(), "5m".to_string())]);
        assert_eq!(
            substitute_parameters("x {a} {b} {t:grain} \"[{a}]\" dynamic({\"k\":1}) {", &values),
            "x 1 {b} 5m \"[1]\" dynamic({\"k\":1}) {"
        );
    }

    #[test]
    fn workbook_time_filter_makes_a_comparison() {
        let text = substitute_parameters(
            "T | where TimeGenerated {timeframe} | where tolower(ResourceId) in ({clustername})",
            &sentinel_workbook_defaults(),
        );
        assert!(text.starts_with(
            "T | where TimeGenerated > ago(1d) | where tolower(ResourceId) in ('/subscriptions/"
        ));
        assert!(!text.contains('{'));
    }
}
