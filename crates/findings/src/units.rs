//! Numbers with their units as people read them: one set of rules for every report and for
//! `explain` (a threshold's default reads the same in both).

use crate::Measure;

/// A number with at most `decimals` decimals, thousands separators and no trailing zeros.
pub fn number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "n/a".into()
        } else if v > 0.0 {
            "∞".into()
        } else {
            "-∞".into()
        };
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = frac.trim_end_matches('0');
    let int = int.parse::<u64>().map(|n| crate::thousands(i128::from(n))).unwrap_or_else(|_| int.to_owned());
    let sign = if v < 0.0 && (int != "0" || !frac.is_empty()) { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
}

/// Bytes in binary units: `1.5 GiB`.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = v;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let decimals = if unit == 0 { 0 } else { 2 };
    format!("{} {}", number(value, decimals), UNITS[unit])
}

/// A measure's value with its unit, as a person reads it.
pub fn measure_value(m: &Measure) -> String {
    let v = m.value;
    match m.unit.as_str() {
        "count" | "" => number(v, 2),
        "percent" | "%" => format!("{}%", number(v, 1)),
        "ms" => format!("{} ms", number(v, 1)),
        "s" => format!("{} s", number(v, 3)),
        "bytes" => bytes(v),
        "per-second" => per_second(v),
        "per-hour" => format!("{} an hour", number(v, 2)),
        "ratio" => number(v, 3),
        // A noun for a unit ("requests"): singular for exactly one (diagnose review s38, item 3:
        // "expensive LISTs in flight: 1 requests").
        other if v == 1.0 && other.len() > 1 => format!("1 {}", other.strip_suffix('s').unwrap_or(other)),
        other => format!("{} {other}", number(v, 3)),
    }
}

/// A rate given per second, in the first of per second, minute, hour and day that reaches 0.1
/// (`2.5/s`, `3/min`, `0.65/day`), as the checks' titles write rates: the real events' AUD001,
/// 0.027 requests a day in its title, showed `0/s` in its evidence.
fn per_second(v: f64) -> String {
    if !v.is_finite() || v == 0.0 || v.abs() >= 0.1 {
        return format!("{}/s", number(v, 2));
    }
    for (unit, seconds) in [("min", 60.0), ("h", 3600.0)] {
        if (v * seconds).abs() >= 0.1 {
            return format!("{}/{unit}", number(v * seconds, 2));
        }
    }
    let per_day = v * 86_400.0;
    // Two significant digits below 0.1 a day, so that it never reads 0.
    let decimals = ((-per_day.abs().log10().floor()) as usize + 1).clamp(2, 12);
    format!("{}/day", number(per_day, decimals))
}

/// A threshold's value with its unit.
pub fn threshold_value(value: f64, unit: &str) -> String {
    let shown = measure_value(&Measure::new("", value, unit));
    // A value set by --config below the unit's decimals (a ratio of 0.000000001) read `0`
    // (review s42): written with two significant digits instead.
    if value.is_finite() && value != 0.0 && !shown.chars().any(|c| matches!(c, '1'..='9')) {
        let decimals = ((-value.abs().log10().floor()) as usize + 1).clamp(1, 17);
        let rest = shown.trim_start_matches(['-', '0', '.']);
        return format!("{}{rest}", number(value, decimals));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::threshold_value;

    #[test]
    fn a_unit_that_is_a_noun_is_singular_for_one() {
        assert_eq!(threshold_value(1.0, "requests"), "1 request");
        assert_eq!(threshold_value(2.0, "requests"), "2 requests");
        assert_eq!(threshold_value(1.5, "requests"), "1.5 requests");
        assert_eq!(threshold_value(1.0, "days"), "1 day");
        // Units with their own form are left as they are.
        assert_eq!(threshold_value(1.0, "s"), "1 s");
        assert_eq!(threshold_value(1.0, "h"), "1 h");
        assert_eq!(threshold_value(1.0, "bytes"), "1 B");
        // Review s42: a tiny value from --config read `0`.
        assert_eq!(threshold_value(0.000000001, "ratio"), "0.000000001");
        assert_eq!(threshold_value(0.0000123, "s"), "0.000012 s");
        assert_eq!(threshold_value(0.0, "ratio"), "0");
        assert_eq!(threshold_value(0.8, "ratio"), "0.8");
    }
}
