//! The `--config` file: threshold overrides by name and the cluster's Kubernetes version.
//!
//! YAML, because the remedies are YAML and every Kubernetes user reads it:
//!
//! ```yaml
//! kubernetes_version: "1.28"     # API versions of the generated remedies
//! thresholds:
//!   p99_mutating_seconds: 2
//!   top_client_share_warning: 0.3
//! ```

use std::collections::BTreeMap;

use findings::Thresholds;
use remedy::KubernetesVersion;
use serde::Deserialize;

/// A parsed config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Thresholds with the file's overrides applied.
    pub thresholds: Thresholds,
    /// The Kubernetes version, when the file gives one.
    pub kubernetes_version: Option<KubernetesVersion>,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file name as the user gave it.
    pub origin: String,
    /// Line and column, when known.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    kubernetes_version: Option<yaml_serde::Value>,
    #[serde(default)]
    thresholds: BTreeMap<String, yaml_serde::Value>,
}

impl Config {
    /// Parses the text of a config file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let err = |location: Option<(usize, usize)>, message: String| ConfigError {
            origin: origin.to_owned(),
            location,
            message,
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        // A list or a line of text is no config (review s40: a list was "expected struct
        // RawConfig", the parser's name for our own type).
        let top = yaml_serde::from_str::<yaml_serde::Value>(text);
        // A key given twice: the parser's own error, which names it (review s40: the last one
        // won without a word). Other errors are left to the typed parse below.
        if let Err(e) = &top
            && e.to_string().contains("duplicate")
        {
            return Err(err(e.location().map(|l| (l.line(), l.column())), e.to_string()));
        }
        if let Ok(top) = top {
            let got = match top {
                yaml_serde::Value::Mapping(_) | yaml_serde::Value::Null => None,
                yaml_serde::Value::Sequence(_) => Some("a list"),
                yaml_serde::Value::String(_) => Some("a line of text"),
                _ => Some("a single value"),
            };
            if let Some(got) = got {
                return Err(err(
                    Some((1, 1)),
                    format!("expected a mapping of `kubernetes_version:` and `thresholds:`, got {got}"),
                ));
            }
        }
        let raw: RawConfig = yaml_serde::from_str(text).map_err(|e| {
            let location = e.location().map(|l| (l.line(), l.column()));
            // A whole number past 64 bits: the parser's words name its own types (review s42:
            // "invalid type: integer `99999999999999999999` as u128, expected any YAML value").
            let message = e.to_string();
            if message.contains("invalid type: integer `")
                && (message.contains(" as u128") || message.contains(" as i128"))
            {
                let number = message.split('`').nth(1).unwrap_or("the number");
                // The key on that line, under `thresholds:` when indented.
                let line = location.and_then(|(line, _)| text.lines().nth(line.checked_sub(1)?));
                let key = match line.and_then(|l| l.split_once(':')) {
                    Some((k, _)) if k.starts_with([' ', '\t']) => format!("thresholds.{}: ", k.trim()),
                    Some((k, _)) => format!("{}: ", k.trim()),
                    None => String::new(),
                };
                return err(location, format!("{key}{number} is too large a number"));
            }
            err(location, message)
        })?;
        let mut config = Config::default();
        if let Some(v) = raw.kubernetes_version {
            let at = key_location(text, "kubernetes_version");
            let err = |_: Option<(usize, usize)>, message: String| err(at, message);
            let text = match &v {
                yaml_serde::Value::String(s) => s.clone(),
                // `1.28` unquoted is a float: read it back as written (1.3 would be 1.30, so
                // say to quote it when it is ambiguous).
                yaml_serde::Value::Number(n) => n.to_string(),
                other => {
                    return Err(err(
                        None,
                        format!("kubernetes_version: expected a version like \"1.29\", got {}", shown(other)),
                    ));
                }
            };
            let version = text
                .parse::<KubernetesVersion>()
                .map_err(|e| err(None, format!("kubernetes_version: {e}")))?;
            if matches!(v, yaml_serde::Value::Number(_))
                && text.split('.').nth(1).is_some_and(|m| m.len() < 2)
            {
                return Err(err(
                    None,
                    format!(
                        "kubernetes_version: write it quoted (\"{text}0\" or \"{text}\"?): unquoted {text} is a number"
                    ),
                ));
            }
            config.kubernetes_version = Some(version);
        }
        for (name, value) in raw.thresholds {
            let at = key_location(text, &name);
            let number = value.as_f64().ok_or_else(|| {
                err(at, format!("thresholds.{name}: expected a number, got {}", shown(&value)))
            })?;
            config.thresholds.set(&name, number).map_err(|m| err(at, format!("thresholds.{name}: {m}")))?;
        }
        config
            .thresholds
            .check_order()
            .map_err(|m| err(key_location(text, "thresholds"), format!("thresholds: {m}")))?;
        Ok(config)
    }
}

/// A YAML value as the user wrote it, for a message (docs review 27 §10: `min_requests: "2"`
/// was said to be `String("2")`, the parser's own Debug form).
fn shown(value: &yaml_serde::Value) -> String {
    match value {
        yaml_serde::Value::Null => "nothing".to_owned(),
        yaml_serde::Value::Bool(b) => b.to_string(),
        yaml_serde::Value::Number(n) => n.to_string(),
        // `1e400` unquoted: a number too large for a float, which the parser keeps as text.
        yaml_serde::Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_infinite) => {
            format!("{s}, too large a number")
        }
        // Text that reads as a number was quoted: unquoted, YAML makes it a number.
        yaml_serde::Value::String(s) if s.trim().parse::<f64>().is_ok() => {
            format!("the string \"{s}\" (a number is written without quotes)")
        }
        // `2s`, `500ms`: a number with a unit (bad-input review s53: it was called quoted).
        yaml_serde::Value::String(s) if with_unit(s) => format!(
            "\"{s}\", a number with a unit: write the number alone, in the unit the threshold's name says \
             (`_seconds`: seconds, `_bytes`: bytes, `_ratio`: a fraction such as 0.9)"
        ),
        yaml_serde::Value::String(s) => format!("the text \"{s}\", not a number"),
        yaml_serde::Value::Sequence(_) => "a list".to_owned(),
        yaml_serde::Value::Mapping(_) => "a mapping".to_owned(),
        yaml_serde::Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

/// Whether `s` is a number followed by letters (`2s`, `1.5 ms`, `90%`).
fn with_unit(s: &str) -> bool {
    let s = s.trim();
    let digits = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    number.parse::<f64>().is_ok()
        && !unit.trim().is_empty()
        && unit.trim().chars().all(|c| c.is_alphabetic() || c == '%')
}

/// Line and column (1-based) of the first mapping key `key` in `text`: serde reports no place
/// for a value that parses but is refused afterwards, and the user needs the line to fix it.
fn key_location(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let unquoted = body.trim_start_matches(['"', '\'']);
        let rest = unquoted.strip_prefix(key)?;
        rest.trim_start_matches(['"', '\'']).trim_start().starts_with(':').then_some((i + 1, indent + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use findings::threshold_names as th;

    #[test]
    fn overrides_apply_by_name() {
        let config = Config::parse(
            "kubernetes_version: \"1.27\"\nthresholds:\n  p99_mutating_seconds: 2\n  top_client_share_warning: 0.3\n",
            "doctor.yaml",
        )
        .expect("valid");
        assert_eq!(config.kubernetes_version, Some(KubernetesVersion::new(1, 27)));
        assert_eq!(config.thresholds.value(th::P99_MUTATING_SECONDS), 2.0);
        assert_eq!(config.thresholds.value(th::TOP_CLIENT_SHARE_WARNING), 0.3);
        assert_eq!(config.thresholds.value(th::LOG_GAP_SECONDS), 300.0, "others keep their default");
        assert_eq!(Config::parse("", "empty.yaml").expect("empty is fine"), Config::default());
    }

    #[test]
    fn errors_name_the_file_the_place_and_the_fix() {
        let e = Config::parse("thresholds:\n  p99_mutatin_seconds: 2\n", "doctor.yaml").expect_err("typo");
        assert_eq!(
            e.to_string(),
            "doctor.yaml:2:3: thresholds.p99_mutatin_seconds: unknown threshold `p99_mutatin_seconds`; did you mean `p99_mutating_seconds`?"
        );
        let e =
            Config::parse("thresholds:\n  min_requests: many\n", "doctor.yaml").expect_err("not a number");
        assert!(
            e.to_string().starts_with("doctor.yaml:2:3: thresholds.min_requests: expected a number"),
            "{e}"
        );
        // Bad-input review s53: `2s` and `many`, not quoted, were said to be quoted.
        let e = Config::parse("thresholds:\n  p99_mutating_seconds: 2s\n", "doctor.yaml").expect_err("unit");
        assert!(e.to_string().ends_with("got \"2s\", a number with a unit: write the number alone, in the unit the threshold's name says (`_seconds`: seconds, `_bytes`: bytes, `_ratio`: a fraction such as 0.9)"), "{e}");
        let e = Config::parse("thresholds:\n  min_requests: many\n", "doctor.yaml").expect_err("text");
        assert!(e.to_string().ends_with("got the text \"many\", not a number"), "{e}");
        let e = Config::parse("thresholds:\n  min_requests: \"2\"\n", "doctor.yaml").expect_err("quoted");
        assert_eq!(
            e.to_string(),
            "doctor.yaml:2:3: thresholds.min_requests: expected a number, got the string \"2\" (a number is written without quotes)"
        );
        // Review s42: numbers too large were "the string \"1e400\" (… without quotes)" and
        // "invalid type: integer … as u128, expected any YAML value".
        for (yaml, says) in [
            (
                "thresholds:\n  min_requests: 1e400\n",
                "doctor.yaml:2:3: thresholds.min_requests: expected a number, got 1e400, too large a number",
            ),
            (
                "thresholds:\n  min_requests: 99999999999999999999\n",
                "doctor.yaml:2:17: thresholds.min_requests: 99999999999999999999 is too large a number",
            ),
            (
                "thresholds:\n  min_requests: -99999999999999999999\n",
                "doctor.yaml:2:17: thresholds.min_requests: -99999999999999999999 is too large a number",
            ),
        ] {
            assert_eq!(Config::parse(yaml, "doctor.yaml").expect_err(yaml).to_string(), says);
        }
        let e = Config::parse("kubernetes_version: [1]\n", "doctor.yaml").expect_err("a list");
        assert!(e.to_string().ends_with("expected a version like \"1.29\", got a list"), "{e}");
        let e = Config::parse("threshold:\n  min_requests: 3\n", "doctor.yaml").expect_err("unknown key");
        assert!(e.to_string().contains("unknown field `threshold`"), "{e}");
        let e = Config::parse("thresholds: [1, 2\n", "doctor.yaml").expect_err("bad yaml");
        assert!(e.location.is_some(), "{e}");
        assert!(e.to_string().starts_with("doctor.yaml:"), "{e}");
        let e = Config::parse("kubernetes_version: 1.3\n", "doctor.yaml").expect_err("ambiguous");
        assert!(e.message.contains("quoted"), "{e}");
        assert_eq!(
            Config::parse("kubernetes_version: 1.28\n", "d.yaml").expect("unambiguous").kubernetes_version,
            Some(KubernetesVersion::new(1, 28))
        );
        let e = Config::parse("thresholds:\n  min_requests: .nan\n", "doctor.yaml").expect_err("nan");
        assert!(e.message.contains("finite"), "{e}");
        // Review s40: a list at the top, and a fraction of a count.
        let e = Config::parse("- min_requests: 3\n", "doctor.yaml").expect_err("a list");
        assert_eq!(
            e.to_string(),
            "doctor.yaml:1:1: expected a mapping of `kubernetes_version:` and `thresholds:`, got a list"
        );
        let e = Config::parse("thresholds:\n  min_requests: 2.5\n", "doctor.yaml").expect_err("a fraction");
        assert_eq!(
            e.to_string(),
            "doctor.yaml:2:3: thresholds.min_requests: threshold `min_requests` is a whole number, got 2.5"
        );
        let e = Config::parse("thresholds:\n  min_requests: 3\n  min_requests: 5\n", "doctor.yaml")
            .expect_err("a key twice");
        assert!(e.to_string().starts_with("doctor.yaml:"), "{e}");
        assert!(e.message.contains("duplicate") && e.message.contains("min_requests"), "{e}");
        let c = Config::parse("thresholds:\n  expensive_list_concurrency_warning: 0.25\n", "d.yaml")
            .expect("a share of a request");
        assert_eq!(c.thresholds.value(th::EXPENSIVE_LIST_CONCURRENCY_WARNING), 0.25);
    }
}
