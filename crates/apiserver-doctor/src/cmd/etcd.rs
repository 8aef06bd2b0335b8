//! `apiserver-doctor etcd`: status, alarms, metrics and key statistics of a live etcd.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use super::metrics::{FailOn, Output, render};

/// Arguments of `apiserver-doctor etcd`.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Inspect a live etcd through its v3 JSON gateway.\n\n\
Read-only: it never writes to etcd. It only reads each member's status, the alarm list, the \
member list and /metrics, and scans the keys under --prefix page by page (bounded memory), \
--parallel slices of the key space at once, all at one revision. \
The remedies it prints (compact, defragment, alarm disarm) are for you to run.",
    after_help = "Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it (no member answering, \
refusing or timing out, is critical: etcd is down or cut off from here; one member not answering while others do, \
or an endpoint that is not a member, is a warning: exit 1 only with --fail-on warning); 2 a usage error: an endpoint \
that is not an http:// or https:// URL, a --cacert, --cert, --key or --config that cannot be read or used, a bad \
--user, or no endpoint answering as etcd should (a failed TLS handshake, a wrong password, something other than \
etcd's gateway on the port)."
)]
pub struct Args {
    /// Client URLs of the members, comma-separated (e.g. https://10.0.0.5:2379,https://10.0.0.6:2379).
    #[arg(long, value_name = "URL[,URL...]", value_delimiter = ',', required = true)]
    pub endpoints: Vec<String>,
    /// CA bundle to verify the members' certificates (TLS is always verified).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// etcd user, when etcd's authentication is on: NAME:PASSWORD, or NAME with the password
    /// in ETCDCTL_PASSWORD (as etcdctl's --user). Or give a client certificate whose common
    /// name is a user with read access.
    #[arg(long, value_name = "NAME[:PASSWORD]")]
    pub user: Option<String>,
    /// Key prefix to scan: the API server's --etcd-prefix, or a prefix under /registry/ (such as
    /// /registry/pods); "" reads the whole key space. Keys under /registry (for "" and any
    /// prefix under /registry/) are read by their full path as /registry/<resource>/…; any
    /// other prefix is taken as the API server's own --etcd-prefix.
    #[arg(long, default_value = "/registry")]
    pub prefix: String,
    /// Do not scan the keys (status, alarms and metrics only).
    #[arg(long)]
    pub no_keys: bool,
    /// Read keys only: counts per resource and namespace without value sizes (about a third
    /// of the work for etcd).
    #[arg(long, conflicts_with = "no_keys")]
    pub no_values: bool,
    /// Most keys per range request while scanning (at least 1). With values, each slice of the keys starts
    /// with 8 keys per request, and pages grow (at most twofold) while their values stay under
    /// 8 MiB, so large objects make small pages.
    #[arg(long, default_value_t = etcd::client::DEFAULT_PAGE_SIZE, allow_negative_numbers = true, value_parser = page_size)]
    pub page_size: u64,
    /// Range requests in flight at once while scanning, each over its own slice of the keys
    /// (1 to 64).
    #[arg(long, default_value_t = etcd::client::DEFAULT_PARALLEL, allow_negative_numbers = true, value_parser = parallel_requests)]
    pub parallel: usize,
    /// How many of the largest objects to list (0 lists none).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true, value_parser = largest)]
    pub largest: usize,
    /// Timeout of each request, in seconds (at least 1).
    #[arg(long, default_value_t = 30, allow_negative_numbers = true, value_parser = timeout_seconds)]
    pub timeout: u64,
    /// Output format.
    #[arg(short = 'o', long, value_enum, ignore_case = true, default_value = "text")]
    pub output: Output,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true, default_value = "critical")]
    pub fail_on: FailOn,
    /// YAML file overriding thresholds by name, as `diagnose --config` reads it (`apiserver-doctor
    /// checks --markdown` lists every threshold and the file's format).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `apiserver-doctor etcd`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Read before etcd is asked anything: a mistake in it is a usage error, not a scan's loss.
    let thresholds = super::read_config(args.config.as_deref())?.thresholds;
    let options = etcd::CollectOptions {
        endpoints: endpoints(&args.endpoints),
        tls: etcd::TlsFiles { cacert: args.cacert.clone(), cert: args.cert.clone(), key: args.key.clone() },
        user: args
            .user
            .as_deref()
            .map(|u| etcd::Credentials::parse(u, std::env::var(etcd::Credentials::PASSWORD_ENV).ok()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--user: {e}"))?,
        prefix: (!args.no_keys).then(|| args.prefix.clone()),
        page_size: args.page_size.max(1),
        parallel: args.parallel.max(1),
        values: !args.no_values,
        largest: args.largest,
        timeout_seconds: args.timeout,
    };
    let evidence = etcd::collect(&options)?;
    let report = etcd::report::live_report_with_tls(&evidence, &options.tls, &thresholds);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = (|| -> anyhow::Result<()> {
        match args.output {
            Output::Json => {
                serde_json::to_writer_pretty(
                    &mut out,
                    &serde_json::json!({"report": report::json_value(&report), "etcd": evidence}),
                )?;
                writeln!(out)?;
            }
            Output::Text | Output::Markdown => {
                let markdown = matches!(args.output, Output::Markdown);
                etcd::render::render_evidence(&evidence, markdown, &mut out)?;
                render(&report, args.output, &mut out)?;
            }
            Output::Html => {
                // The evidence tables go inside the report's <main>, after the findings.
                let mut page = Vec::new();
                render(&report, args.output, &mut page)?;
                let mut tables = Vec::new();
                etcd::render::render_evidence_as(&evidence, etcd::render::EvidenceFormat::Html, &mut tables)?;
                let page = String::from_utf8_lossy(&page);
                match page.rfind("</main>") {
                    Some(at) => {
                        out.write_all(page[..at].as_bytes())?;
                        out.write_all(&tables)?;
                        out.write_all(page[at..].as_bytes())?;
                    }
                    None => {
                        out.write_all(page.as_bytes())?;
                        out.write_all(&tables)?;
                    }
                }
            }
        }
        out.flush()?;
        Ok(())
    })();
    super::unless_closed_pipe(written)?;
    Ok(args.fail_on.exit_code(&report))
}

/// `--page-size`: a whole number of keys, at least 1 (0 keys per page would be turned into
/// something else without a word; `-10` was clap's "unexpected argument '-1'").
fn page_size(s: &str) -> Result<u64, String> {
    super::whole_number(s, "keys", 1, u64::MAX)
}

/// `--timeout`: whole seconds, at least 1 (0 became 1 s without a word, and `-1` was clap's
/// "unexpected argument '-1' found", naming no option).
fn timeout_seconds(s: &str) -> Result<u64, String> {
    super::whole_number(s, "seconds", 1, u64::MAX)
}

/// `--parallel`: 1 to 64 requests in flight (each one a thread).
fn parallel_requests(s: &str) -> Result<usize, String> {
    let n = super::whole_number(s, "requests", 1, 64)?;
    usize::try_from(n).map_err(|_| format!("`{s}` is more requests than this machine can count"))
}

/// `--largest`: how many objects to list, 0 or more (a negative count was clap's "unexpected
/// argument", naming no option).
fn largest(s: &str) -> Result<usize, String> {
    let n = super::whole_number(s, "objects", 0, u64::MAX)?;
    usize::try_from(n).map_err(|_| format!("`{s}` is more objects than this machine can count"))
}

/// The `--endpoints` given, spaces around each trimmed (`a, b` after a comma) and each URL
/// once: the same URL twice was probed twice and gave two identical findings (review s42). A
/// repeat is said on stderr.
fn endpoints(given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in given.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let key = |u: &str| u.trim_end_matches('/').to_ascii_lowercase();
        if out.iter().any(|o| key(o) == key(e)) {
            eprintln!("warning: --endpoints: {e} given more than once; read once");
        } else {
            out.push(e.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints_are_trimmed_and_each_read_once() {
        let given: Vec<String> = [
            "https://127.0.0.1:1",
            " https://127.0.0.1:3",
            "https://127.0.0.1:1/",
            "HTTPS://127.0.0.1:1",
            "",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(super::endpoints(&given), ["https://127.0.0.1:1", "https://127.0.0.1:3"]);
    }
}
