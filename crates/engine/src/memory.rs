//! The memory a query's operators may hold. Past it, the ones that can (aggregations, sorts)
//! spill to temporary files and go on; without a limit, a query grouping every event of a big
//! store by a nearly unique column grew until the operating system killed it.

use crate::EngineError;

/// The environment variable that sets the limit.
pub const MEMORY_LIMIT_ENV: &str = "APISERVER_DOCTOR_MEMORY_LIMIT";

/// The limit: `APISERVER_DOCTOR_MEMORY_LIMIT` when set (bytes, or a number with `K`, `M`, `G`
/// or `T`, 1024-based), else half of the memory this process may use (the machine's, or its
/// cgroup's when smaller), and at least 1 GiB.
pub fn memory_limit() -> Result<usize, EngineError> {
    match std::env::var(MEMORY_LIMIT_ENV) {
        Ok(v) if !v.trim().is_empty() => parse_size(&v).ok_or_else(|| {
            EngineError::Input(format!(
                "{MEMORY_LIMIT_ENV}={v:?} is not a size: write bytes, or a number with K, M, G or T \
                 (1024-based), e.g. 4G"
            ))
        }),
        _ => Ok(default_limit(available_memory())),
    }
}

/// Half of `available` (unknown: 8 GiB), at least 1 GiB.
fn default_limit(available: Option<usize>) -> usize {
    (available.unwrap_or(8 << 30) / 2).max(1 << 30)
}

/// The memory this process may use: `MemTotal` of `/proc/meminfo`, or the cgroup v2 limit
/// (`/sys/fs/cgroup/memory.max`) when smaller; `None` where neither can be read.
fn available_memory() -> Option<usize> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| meminfo_total(&t));
    let cgroup =
        std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(usize::min(t, c)),
        (t, c) => t.or(c),
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn meminfo_total(text: &str) -> Option<usize> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `4G`, `512M`, `1.5g`, `2GiB`, `1048576`: bytes, `None` for anything else (or zero).
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = (s[..split].trim(), s[split..].trim().to_ascii_uppercase());
    let shift = match unit.as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    let bytes = value * (1u64 << shift) as f64;
    // Fractions of a byte round down; beyond usize is not a size.
    (bytes.is_finite() && bytes >= 1.0 && bytes < usize::MAX as f64).then_some(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_bytes_and_1024_based_suffixes() {
        for (text, want) in [
            ("1048576", Some(1 << 20)),
            ("4G", Some(4 << 30)),
            ("4g", Some(4 << 30)),
            ("512M", Some(512 << 20)),
            ("512 MiB", Some(512 << 20)),
            ("1.5G", Some(3 << 29)),
            ("64KB", Some(64 << 10)),
            (" 2T ", Some(2 << 40)),
            ("0", None),
            ("0.1", None),
            ("-1G", None),
            ("G", None),
            ("4 gigs", None),
            ("lots", None),
            ("NaN", None),
            ("1e300G", None),
        ] {
            assert_eq!(parse_size(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_default_is_half_the_memory_and_at_least_a_gibibyte() {
        assert_eq!(default_limit(Some(24 << 30)), 12 << 30);
        assert_eq!(default_limit(Some(1 << 30)), 1 << 30);
        assert_eq!(default_limit(None), 4 << 30);
        assert_eq!(meminfo_total("MemTotal:       24684132 kB\nMemFree: 1 kB\n"), Some(24684132 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB\n"), None);
    }
}
