//! One module per subcommand: each turns its arguments into library calls and renders the result.

use std::path::PathBuf;

pub mod checks;
pub mod demo;
pub mod diagnose;
pub mod etcd;
pub mod explain;
pub mod ingest;
pub mod ingest_cache;
pub mod metrics;
pub mod probe;
pub mod progress;
pub mod query;
pub mod quota;
pub mod simulate;
pub mod stats;
pub mod throttle;

/// Where the store is: `--store`, else `APISERVER_DOCTOR_STORE`, else `./apiserver-doctor-store`.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArg {
    /// The store directory [default: `APISERVER_DOCTOR_STORE` when set and not empty, else
    /// ./apiserver-doctor-store]
    #[arg(long = "store", value_name = "DIR")]
    given: Option<PathBuf>,
}

impl StoreArg {
    /// The store: `--store`, else `APISERVER_DOCTOR_STORE` unless it is empty (an empty
    /// variable, `APISERVER_DOCTOR_STORE= cmd`, means unset, as for most tools), else
    /// `./apiserver-doctor-store`.
    pub fn dir(&self) -> PathBuf {
        self.given.clone().or_else(store_from_env).unwrap_or_else(|| PathBuf::from("apiserver-doctor-store"))
    }
}

impl StoreArg {
    /// How the store was named, for messages: `--store DIR`, `APISERVER_DOCTOR_STORE=DIR`, or
    /// the default — so that an error never names an option the user did not give.
    pub fn named(&self) -> String {
        match (&self.given, store_from_env()) {
            (Some(dir), _) => format!("--store {}", dir.display()),
            (None, Some(env)) => format!("APISERVER_DOCTOR_STORE={}", env.display()),
            (None, None) => "./apiserver-doctor-store (the default store)".to_owned(),
        }
    }

    /// The store directory, once [`check_store_dir`] found it is one.
    pub fn existing_dir(&self) -> anyhow::Result<PathBuf> {
        let dir = self.dir();
        check_store_dir(&dir, &self.named())?;
        Ok(dir)
    }
}

/// An error, naming the store as `named` says, when `dir` does not exist or is not a
/// directory (a directory that is not a store is the store's own error, which names it).
pub fn check_store_dir(dir: &std::path::Path, named: &str) -> anyhow::Result<()> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => anyhow::bail!(
            "{named}: is a file, not a store directory (to read an audit log file, give it as a path: \
             `apiserver-doctor diagnose FILE`, `apiserver-doctor query --input FILE`)"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "{named}: the store does not exist (create it with `apiserver-doctor ingest FILE... --store DIR`)"
        ),
        Err(e) => anyhow::bail!("{named}: cannot read it: {e}"),
    }
}

/// An error when `--out` (of `demo`, `simulate`) names something that is not a directory: they
/// write into a directory, made when missing, and a file there was the OS's "File exists (os
/// error 17)" or "Not a directory (os error 20)", after other work had begun.
pub fn check_out_dir(out: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::metadata(out) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(meta) => anyhow::bail!(
            "--out {}: is {}, not a directory; give a directory to write into (it is created if missing)",
            out.display(),
            if meta.is_file() { "a file" } else { findings::text::special_kind(&meta) }
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            anyhow::bail!("--out {}: {}", out.display(), findings::text::io_error_words(&e, "a directory"))
        }
    }
}

/// `APISERVER_DOCTOR_STORE`, unless unset or empty.
pub fn store_from_env() -> Option<PathBuf> {
    std::env::var_os("APISERVER_DOCTOR_STORE").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// True when the error is a write to a closed pipe (`apiserver-doctor … | head`): not a failure.
/// serde_json's own error hides the I/O error it wraps from the chain: its kind is asked.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind));
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// The result of writing a report to standard output, a closed pipe (`… | head`) taken as
/// written: the findings still decide the exit code, so that a gate with `set -o pipefail`
/// fails on a critical finding whatever was shown.
pub fn unless_closed_pipe<E: Into<anyhow::Error>>(written: Result<(), E>) -> anyhow::Result<()> {
    match written.map_err(Into::into) {
        Err(err) if is_broken_pipe(&err) => Ok(()),
        other => other,
    }
}

/// Standard output, locked, noting a failed write (see [`stdout_failure`]): `main` then says
/// that the command's output could not be written, and why, instead of a bare `No space left
/// on device` that reads as if the command itself had failed.
pub fn stdout() -> Stdout {
    Stdout(std::io::stdout().lock())
}

/// See [`stdout`].
pub struct Stdout(std::io::StdoutLock<'static>);

/// The first write to standard output that failed, as [`stdout_failure`] gives it.
static STDOUT_FAILED: std::sync::Mutex<Option<(std::io::ErrorKind, String)>> = std::sync::Mutex::new(None);

impl Stdout {
    fn noted<T>(result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            let mut failed = STDOUT_FAILED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if failed.is_none() {
                *failed = Some((e.kind(), e.to_string()));
            }
        }
        result
    }
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::noted(self.0.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Self::noted(self.0.flush())
    }
}

/// How a write to standard output through [`stdout`] failed, if one did: whether its reader
/// had gone (`… | head`: not a failure), and why, in plain words.
pub fn stdout_failure() -> Option<StdoutFailure> {
    let failed = STDOUT_FAILED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    failed.as_ref().map(|(kind, text)| StdoutFailure {
        closed_pipe: *kind == std::io::ErrorKind::BrokenPipe,
        why: why_not_written(*kind, text),
    })
}

/// See [`stdout_failure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdoutFailure {
    /// The reader of the pipe had gone (`… | head`).
    pub closed_pipe: bool,
    /// Why the write failed, in plain words.
    pub why: String,
}

/// The error of a write to standard output, with what it means there.
fn why_not_written(kind: std::io::ErrorKind, text: &str) -> String {
    match kind {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            format!("{text}: the disk (or device, such as /dev/full) that standard output goes to is full")
        }
        std::io::ErrorKind::BrokenPipe => format!("{text}: the program reading standard output had exited"),
        _ => text.to_owned(),
    }
}

/// A count as people read it, with thousands separators: `8,762,548`.
pub fn count(n: u64) -> String {
    findings::thousands(i128::from(n))
}

/// `ingest`'s error when its summary could not be written: the ingest itself completed and
/// was committed, which the bare write error would leave the user to guess.
pub fn summary_not_written(
    err: anyhow::Error,
    report: &audit::ingest::IngestReport,
    store: &std::path::Path,
) -> anyhow::Error {
    let done = if report.new_store_removed {
        format!("the ingest read no audit event and made no store at {}", store.display())
    } else {
        format!(
            "the ingest completed and was committed: {} {} into {} ({} read from {} {}, {} duplicates dropped)",
            count(report.kept),
            if report.kept == 1 { "event" } else { "events" },
            store.display(),
            count(report.events()),
            count(report.files.len() as u64),
            if report.files.len() == 1 { "file" } else { "files" },
            count(report.duplicates)
        )
    };
    let why = stdout_failure().map_or_else(|| message(&err), |f| f.why);
    anyhow::anyhow!(
        "{done}; only its summary could not be written to standard output: {why} \
         (`apiserver-doctor stats --store {}` shows what the store holds)",
        findings::text::shell_quote(&store.display().to_string())
    )
}

/// A writer for text meant for a person at a terminal: what the inputs named (file names,
/// user agents, messages from the logs) reaches it with every character no report shows as
/// it is ([`findings::text::is_hidden`]: escape sequences, carriage returns, bidirectional
/// overrides, U+2028) replaced by U+FFFD, as the reports do. Not for JSON, which escapes
/// what it must and whose strings scripts read as they are.
pub struct Shown<W>(pub W);

impl<W: std::io::Write> std::io::Write for Shown<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // `write!` hands over whole `str` pieces, and each is written whole (a partial write
        // would hand the rest back cut inside a character); bytes that are not UTF-8 pass as
        // they are.
        match std::str::from_utf8(buf) {
            Ok(s) if s.chars().any(findings::text::is_hidden) => {
                self.0.write_all(findings::text::multi_line(s).as_bytes())?
            }
            _ => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The error and its causes, `: `-separated, each cause once: many error messages already
/// end with their cause (`nope.log: No such file or directory`), which the chain holds again.
pub fn message(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

pub use remedy::is_dns_label;

/// Reads `--config FILE` (thresholds by name and the Kubernetes version), as `diagnose`,
/// `metrics` and `etcd` take it; the defaults without one.
pub fn read_config(path: Option<&std::path::Path>) -> anyhow::Result<::checks::Config> {
    use anyhow::Context;
    let Some(path) = path else { return Ok(::checks::Config::default()) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--config: cannot read {}", path.display()))?;
    Ok(::checks::Config::parse(&text, &path.display().to_string())?)
}

/// Why a dotted name fails [`is_dns_label`] on length alone: its first part longer than 63
/// characters, named by its start and its length (review s41: a 300-letter resource was said to
/// be "not in lower case").
pub fn too_long_label<'a>(parts: impl IntoIterator<Item = &'a str>) -> Option<String> {
    parts.into_iter().find(|p| p.chars().count() > 63).map(|p| {
        let start: String = p.chars().take(16).collect();
        format!(
            "`{start}…` is {} characters long, and a resource or group name has at most 63 between dots",
            p.chars().count()
        )
    })
}

/// A numeric option's value as a whole number from `min` to `max` (`u64::MAX`: no upper
/// bound), refused in the tool's words: what is wrong with `text` and the range, in `unit`
/// (`seconds`, `requests`; empty for a bare number). The options that take it also set
/// `allow_negative_numbers`, without which `--timeout -1` was clap's "unexpected argument '-1'
/// found" (and `-10` was read as the flags `-1 -0`), naming neither the option nor its range.
pub fn whole_number(text: &str, unit: &str, min: u64, max: u64) -> Result<u64, String> {
    let what =
        if unit.is_empty() { "a whole number".to_owned() } else { format!("a whole number of {unit}") };
    let range = if max == u64::MAX { format!("{min} or more") } else { format!("from {min} to {max}") };
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    let negative = trimmed.starts_with('-') && digits.bytes().any(|b| b != b'0');
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if negative {
            return Err(format!("`{text}` is negative: give {what}, {range}"));
        }
        return match digits.parse::<u64>() {
            Ok(n) if n < min => Err(format!("`{text}` must be at least {min}: give {what}, {range}")),
            Ok(n) if n > max => Err(format!("`{text}` must be at most {max}: give {what}, {range}")),
            Ok(n) => Ok(n),
            // More digits than a u64 holds.
            Err(_) => Err(format!("`{text}` is too large: {what} is at most {}", u64::MAX)),
        };
    }
    Err(format!("`{text}` is not {what} ({range})"))
}

/// `text` with every line indented by two spaces (a remedy's body under its title).
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|l| if l.is_empty() { String::new() } else { format!("  {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone.
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
    fn a_closed_pipe_under_serde_json_is_taken_as_written_and_other_errors_are_not() {
        // `etcd -o json | head -c 10`: serde_json's error hid the broken pipe from the chain.
        let json = serde_json::to_writer(ClosedPipe, &serde_json::json!({"a": 1}));
        assert!(unless_closed_pipe(json.map_err(anyhow::Error::from)).is_ok());
        let io = std::io::Write::write_all(&mut ClosedPipe, b"x");
        assert!(unless_closed_pipe(io).is_ok());
        let other: Result<(), std::io::Error> =
            Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(unless_closed_pipe(other).is_err());
    }

    /// Review: negative values of numeric options were clap's "unexpected argument"; what
    /// `whole_number` says instead, for each way a value can be wrong, names the range.
    #[test]
    fn a_negative_number_is_said_with_the_range_the_option_takes() {
        assert_eq!(whole_number(" 7 ", "seconds", 1, u64::MAX), Ok(7));
        assert_eq!(whole_number("-0", "", 0, 10), Ok(0));
        assert_eq!(whole_number("64", "requests", 1, 64), Ok(64));
        for (text, min, max, says) in [
            ("-1", 1, u64::MAX, "`-1` is negative: give a whole number of seconds, 1 or more"),
            ("-10", 1, 64, "`-10` is negative: give a whole number of seconds, from 1 to 64"),
            ("0", 1, 64, "`0` must be at least 1: give a whole number of seconds, from 1 to 64"),
            ("65", 1, 64, "`65` must be at most 64: give a whole number of seconds, from 1 to 64"),
            ("1.5", 1, u64::MAX, "`1.5` is not a whole number of seconds (1 or more)"),
            ("-1.5", 1, u64::MAX, "`-1.5` is not a whole number of seconds (1 or more)"),
            ("", 1, u64::MAX, "`` is not a whole number of seconds (1 or more)"),
            (
                "99999999999999999999",
                0,
                u64::MAX,
                "`99999999999999999999` is too large: a whole number of seconds is at most 18446744073709551615",
            ),
        ] {
            assert_eq!(whole_number(text, "seconds", min, max), Err(says.to_owned()), "{text}");
        }
        assert_eq!(
            whole_number("-3", "", 0, u64::MAX),
            Err("`-3` is negative: give a whole number, 0 or more".to_owned())
        );
    }
}
